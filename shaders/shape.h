/* shape.h - push constants of the shape family (engine/ops/shape.c): channel concat and split,
 * both done by one strided copy between channel ranges of two NCHW tensors with the same N, H,
 * W; and batch slice, the same copy between sample ranges (tensors read as (1, N, C*H*W, 1)). */
#ifndef VKD_SHAPE_H
#define VKD_SHAPE_H

/* Most inputs of one concat node (the node's input slots, VKD_NODE_IO). */
#define VKD_CONCAT_MAX 8

/*
 * channel_copy: for every dst element (n, cd, p) with cd in [base, base + span):
 *   v = src[n][src_c0 + cd - dst_c0][p]  if dst_c0 <= cd < dst_c0 + cn,  else 0
 *   dst[n][cd][p] = (acc ? dst[n][cd][p] : 0) + v
 * The dispatch covers n * span * hw elements. A split's backward that overwrites covers all of
 * dx's channels (span = dst_c: zeros outside the range); every other use covers the range only.
 */
struct vkd_channel_copy_params {
    vkd_u32 n, hw;         /* batch, pixels per plane (both tensors) */
    vkd_u32 src_c, src_c0; /* src channels, first channel read */
    vkd_u32 dst_c, dst_c0; /* dst channels, first channel written */
    vkd_u32 cn;            /* channels copied */
    vkd_u32 base, span;    /* dst channels the dispatch covers */
    vkd_u32 acc;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_channel_copy_params) == 10 * 4, "shape push constants");
#endif

#endif
