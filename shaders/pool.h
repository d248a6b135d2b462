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

#endif
