/* softmax.h - push constants of the row-softmax family (engine/ops/softmax.c): the non-logit
 * softmax over rows of an attention map or any other tensor (methods.md sections 5 and 6),
 *   y[r, :] = softmax(scale * x[r, :])     over rows of len consecutive elements
 *   dx[r, :] = scale * y[r, :] (.) (dy[r, :] - dy[r, :] . y[r, :])
 * The self-attention family (shaders/attention.h) runs softmax_fwd in place on its Gram. */
#ifndef VKD_SOFTMAX_H
#define VKD_SOFTMAX_H

/* softmax_fwd / softmax_bwd: one workgroup of VKD_SOFTMAX_WG invocations per row. A power of
 * two (the reduction trees halve it); 128 covers rows of 64 .. 1024 (SAKD's P) with 1 .. 8
 * elements per invocation. */
#define VKD_SOFTMAX_WG 128

struct vkd_softmax_params {
    vkd_u32 rows;  /* number of rows */
    vkd_u32 len;   /* L: elements per row (consecutive in memory) */
    vkd_u32 acc;   /* backward: add into dx */
    vkd_f32 scale; /* s: the softmax's input is s * x */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_softmax_params) == 4 * 4, "softmax push constants");
#endif

#endif
