/* hinge.h - push constants of the hinge family (engine/ops/hinge.c), the margin-ranking loss
 *   L = scale * sum_i max(0, margin - y_i (a_i - b_i))        (y_i = 1 without a y tensor)
 * as F.margin_ranking_loss(a, b, y, margin, reduction="sum") * scale (CORSD's triplet hinge on
 * relation scores, methods.md section 4). */
#ifndef VKD_HINGE_H
#define VKD_HINGE_H

/* hinge_fwd: one workgroup of VKD_HINGE_WG per chunk of VKD_HINGE_CHUNK consecutive elements,
 * one partial sum each; hinge_sum: one workgroup adds the partials. The chunk is a constant,
 * so the partials, their order and the bits of L depend on the element count alone. */
#define VKD_HINGE_WG 128
#define VKD_HINGE_CHUNK 4096

struct vkd_hinge_params {
    vkd_u32 count;  /* elements of a, b (and y) */
    vkd_u32 chunks; /* ceil(count / VKD_HINGE_CHUNK) partial sums */
    vkd_u32 has_y;  /* a y tensor is bound */
    vkd_f32 margin;
    vkd_f32 scale;
    /* backward, per dispatch */
    vkd_u32 has_da, acc_da;
    vkd_u32 has_db, acc_db;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_hinge_params) == 9 * 4, "hinge push constants");
#endif

#endif
