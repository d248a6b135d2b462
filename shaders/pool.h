/* pool.h - push constants of the pooling family (engine/ops/pool.c). */
#ifndef VKD_POOL_H
#define VKD_POOL_H

/* Global average pooling over (h, w) of each of nc = n * c planes; maxpool2x2 over (h, w)
 * planes into (h / 2, w / 2) (floor). acc (backward) = add into dx instead of overwriting it. */
struct vkd_pool_params {
    vkd_u32 nc; /* planes: batch x channels */
    vkd_u32 h, w;
    vkd_u32 acc;
};

/* Adaptive average pooling of each of nc = n * c planes (h, w) into (oh, ow), as PyTorch's
 * adaptive_avg_pool2d: output row i averages input rows [floor(i h / oh), ceil((i + 1) h / oh)),
 * columns likewise (bins may overlap by one row/column, and oh > h repeats rows). acc
 * (backward) = add into dx instead of overwriting it. */
struct vkd_adaptive_pool_params {
    vkd_u32 nc;
    vkd_u32 h, w;
    vkd_u32 oh, ow;
    vkd_u32 acc;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_adaptive_pool_params) == 6 * 4, "adaptive pool push constants");
#endif

#endif
