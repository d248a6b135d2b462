/* eltwise.h - push constants of the elementwise family (engine/ops/eltwise.c). */
#ifndef VKD_ELTWISE_H
#define VKD_ELTWISE_H

/* fill: out[i] = slot >= 0 ? step[slot] : value, for i < count. */
struct vkd_fill_params {
    vkd_u32 count;
    vkd_f32 value;
    vkd_i32 slot;
};

/* copy: dst[i] = (acc ? dst[i] : 0) + src[i], for i < count. Also the backward of add and copy. */
struct vkd_copy_params {
    vkd_u32 count;
    vkd_u32 acc;
};

/* relu / add: count elements; acc = accumulate into the (one) gradient a backward writes. */
struct vkd_eltwise_params {
    vkd_u32 count;
    vkd_u32 acc;
};

#endif
