/* attention.h - push constants of the self-attention family (engine/ops/attention.c): SAKD's
 * parameter-free spatial self-attention (methods.md section 5). Per sample, X is x's C x P
 * matrix (P = H * W, pixels row-major) and
 *   A = rowsoftmax(s X^T X),  s = fl32(1 / sqrt(C))                       (P x P)
 *   backward: dZ = A (.) (dA - rowsum(dA (.) A)),  dX = s X (dZ + dZ^T)
 * The forward is the correlation family's spatial Gram (correlation_fwd, upper-triangle tiles)
 * followed by softmax_fwd in place; the backward is correlation_nrm_bwd (the row dots
 * dA . A) followed by attention_bwd, the correlation GEMM core with dZ + dZ^T formed while it
 * is staged (never stored). */
#ifndef VKD_ATTENTION_H
#define VKD_ATTENTION_H

#ifdef VKD_GLSL
#define VKD_GRAM_PARAMS_T vkd_gram_params
#else
#define VKD_GRAM_PARAMS_T struct vkd_gram_params
#endif

/* attention_bwd declares its push-constant block member by member, { vkd_gram_params p; float
 * scale; }, because shaders/correlation.glsl reads pc.p: the same layout (asserted below). */
struct vkd_attention_params {
    VKD_GRAM_PARAMS_T p; /* x's spatial Gram: mode spatial, grid 1 x 1, raw; rows = P, depth = C */
    vkd_f32 scale;       /* s = fl32(1 / sqrt(C)), the same number forward and backward */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_attention_params) == sizeof(struct vkd_gram_params) + 4,
               "attention push constants");
#endif

#endif
