/* sqdiff.h - push constants of the squared-difference family (engine/ops/sqdiff.c):
 *   L = scale * sum_i w_i (a_i - b_i)^2   (w_i = 1 without a weight tensor)
 * the weighted/masked MSE-type reduction every feature-distillation method ends in
 * (methods.md section 6). */
#ifndef VKD_SQDIFF_H
#define VKD_SQDIFF_H

/* sqdiff_fwd: one workgroup of VKD_SQDIFF_WG per chunk of VKD_SQDIFF_CHUNK consecutive elements,
 * one partial sum each; sqdiff_sum: one workgroup adds the partials. The chunk is a constant, so
 * the partials, their order and the bits of L depend on the element count alone. */
#define VKD_SQDIFF_WG 128
#define VKD_SQDIFF_CHUNK 4096

struct vkd_sqdiff_params {
    vkd_u32 count;  /* elements of a, b (and w) */
    vkd_u32 chunks; /* ceil(count / VKD_SQDIFF_CHUNK) partial sums */
    vkd_u32 has_w;  /* a weight tensor is bound */
    vkd_f32 scale;
    /* backward, per dispatch */
    vkd_u32 has_da, acc_da;
    vkd_u32 has_db, acc_db;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_sqdiff_params) == 8 * 4, "sqdiff push constants");
#endif

#endif
