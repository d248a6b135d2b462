/* attmap.h - push constants of the attention-map family (engine/ops/attmap.c): the sign-free
 * spatial activation map of a feature map, the channel mean of squares, optionally
 * L2-normalised over the positions of each sample (attention transfer's form with p = 2; LAKD's
 * non-directional activation map, methods.md section 3):
 *   a[n][j] = (1/C) sum_c x[n][c][j]^2,   A[n][j] = a[n][j] / max(||a[n]||_2, 1e-12) */
#ifndef VKD_ATTMAP_H
#define VKD_ATTMAP_H

/* One workgroup per sample: its invocations take positions j in strides of VKD_ATTMAP_WG and the
 * norm and the backward's dot product are fixed trees over them, so the bits do not depend on
 * the device. */
#define VKD_ATTMAP_WG 128
#define VKD_ATTMAP_EPS 1e-12f

struct vkd_attmap_params {
    vkd_u32 n, c, p;   /* samples, channels, positions (h * w) */
    vkd_u32 normalize; /* 1: divide by the sample's L2 norm */
    vkd_u32 acc;       /* backward: dx += (else =) */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_attmap_params) == 5 * 4, "attmap push constants");
#endif

#endif
