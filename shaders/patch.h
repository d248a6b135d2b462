/* patch.h - push constants of the patch family (engine/ops/patch.c): the permutation between a
 * feature map x (n, c, h, w) and the rows of its non-overlapping ph x pw patches (LKD's patch
 * vectors, methods.md section 2):
 *   rows (R, d),  R = n * (h / ph) * (w / pw),  d = c * ph * pw
 *   row r = (s * (h / ph) + a) * (w / pw) + b     sample s, patch row a, patch column b
 *   col e = (k * ph + i) * pw + j                 channel k, pixel (i, j) inside the patch
 *   rows[r][e] = x[s][k][a * ph + i][b * pw + j]
 * i.e. a row is the patch's C x ph x pw block flattened channel-major, then row-major: the
 * order of torch's F.unfold(x, (ph, pw), stride=(ph, pw)).transpose(1, 2).reshape(R, d).
 * patch_copy moves elements one way or the other; a pure permutation, so it is exact. */
#ifndef VKD_PATCH_H
#define VKD_PATCH_H

#define VKD_PATCH_TO_ROWS 0u /* dir: map -> rows (src is the map) */
#define VKD_PATCH_TO_MAP 1u  /* dir: rows -> map (dst is the map) */

struct vkd_patch_params {
    vkd_u32 n, c, h, w; /* the map */
    vkd_u32 ph, pw;     /* patch height and width (divide h and w) */
    vkd_u32 count;      /* n * c * h * w elements, one invocation each */
    vkd_u32 dir;        /* VKD_PATCH_TO_ROWS or VKD_PATCH_TO_MAP */
    vkd_u32 acc;        /* add into dst instead of overwriting it (backward) */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_patch_params) == 9 * 4, "patch push constants");
#endif

#endif
