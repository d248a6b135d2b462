/* pairsum.h - push constants of the elementwise pair losses (engine/ops/pairsum.c), the
 * reductions L = scale * sum_i f(a_i, b_i, c_i) over all elements of a and b, with c an
 * optional constant tensor:
 *   sqdiff (engine/ops/sqdiff.c)   f = c_i (a_i - b_i)^2                 c: weights w
 *   hinge  (engine/ops/hinge.c)    f = max(0, margin - c_i (a_i - b_i))  c: targets y
 * (c_i = 1 without a c tensor): the weighted/masked MSE every feature-distillation method ends
 * in and CORSD's margin-ranking loss (methods.md sections 4 and 6). */
#ifndef VKD_PAIRSUM_H
#define VKD_PAIRSUM_H

/* <family>_fwd: one workgroup of VKD_PAIRSUM_WG per chunk of VKD_PAIRSUM_CHUNK consecutive
 * elements, one partial sum each; pairsum_sum: one workgroup adds the partials. The chunk is a
 * constant, so the partials, their order and the bits of L depend on the element count alone. */
#define VKD_PAIRSUM_WG 128
#define VKD_PAIRSUM_CHUNK 4096

struct vkd_pairsum_params {
    vkd_u32 count;  /* elements of a, b (and c) */
    vkd_u32 chunks; /* ceil(count / VKD_PAIRSUM_CHUNK) partial sums */
    vkd_u32 has_c;  /* a c tensor is bound */
    vkd_f32 scale;
    vkd_f32 margin; /* hinge only */
    /* backward, per dispatch */
    vkd_u32 has_da, acc_da;
    vkd_u32 has_db, acc_db;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_pairsum_params) == 9 * 4, "pairsum push constants");
#endif

#endif
