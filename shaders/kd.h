/* kd.h - push constants and shared constants of the knowledge-distillation family
 * (engine/ops/kd.c). */
#ifndef VKD_KD_H
#define VKD_KD_H

/* softmax_kd_fwd: one workgroup of VKD_KD_WG per row; softmax_kd_mean: one workgroup. */
#define VKD_KD_WG 128

/* Per-row results of softmax_kd_fwd (an (N, VKD_KD_ROW) activation), for the mean pass and the
 * backward pass: with a = z_s / T and b = z_t / T,
 *   log q_k = a_k - ms - ls,  log p_k = b_k - mt - lt  (ms = max a, ls = log sum exp(a - ms)) */
#define VKD_KD_ROW_KL 0 /* sum_k p_k (log p_k - log q_k) */
#define VKD_KD_ROW_MS 1
#define VKD_KD_ROW_LS 2
#define VKD_KD_ROW_MT 3
#define VKD_KD_ROW_LT 4
#define VKD_KD_ROW 5

struct vkd_softmax_kd_params {
    vkd_u32 rows;    /* N */
    vkd_u32 classes; /* K */
    vkd_u32 acc;     /* backward: add into dz_s */
    vkd_f32 t;       /* temperature T */
};

#endif
