/* eltwise.h - push constants of the elementwise family (engine/ops/eltwise.c). */
#ifndef VKD_ELTWISE_H
#define VKD_ELTWISE_H

/* CPU-device kernels (relu_fwd_cpu, relu_bwd_cpu, add_fwd_cpu, copy_cpu; recorded when
 * vkd_rec_cpu_kernels): the same results, a vec4 per invocation through a second, vec4-typed
 * declaration of each binding. lavapipe turns every storage-buffer access into a scalar loop
 * over the SIMD lanes, a vec4 costing little more than a float, so these move about 3x fewer
 * loads per value. Every tensor view starts on a 256-byte boundary (graph.c, plan.c), so the
 * vec4s are aligned; the count % 4 values left over go to one more invocation. */
#define VKD_ELT_CPU_VEC 4

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

/* relu / add / sigmoid: count elements; acc = accumulate into the (one) gradient a backward
 * writes. */
struct vkd_eltwise_params {
    vkd_u32 count;
    vkd_u32 acc;
};

/* mask_mul: y[n][c][p] = x[n][c][p] * m[n][p] over count = n * c * hw elements, m (n, 1, h, w)
 * broadcast over the c channels; acc = add into the destination (dx) instead of writing it. */
struct vkd_mask_params {
    vkd_u32 count; /* n * c * hw */
    vkd_u32 c;     /* channels of x */
    vkd_u32 hw;    /* pixels per plane */
    vkd_u32 acc;
};

/* threshold: y[i] = x[i] >= h ? x[i] : 0 over count elements (h > 0: LKD's mask threshold).
 * Its backward is relu_bwd's (y > 0 exactly when x >= h, because h > 0). */
struct vkd_threshold_params {
    vkd_u32 count;
    vkd_f32 h;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_threshold_params) == 2 * 4, "threshold push constants");
_Static_assert(sizeof(struct vkd_mask_params) == 4 * 4, "mask push constants");
#endif

#endif
