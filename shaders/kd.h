/* kd.h - push constants and shared constants of the knowledge-distillation family
 * (engine/ops/kd.c): Hinton's KD term, the plain two-sided KL and the soft-target
 * cross-entropy. All three share one push struct, one per-row result layout and the mean
 * pass. */
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

/* Per-row results of softmax_sce_fwd (same stride, so softmax_kd_mean averages them), with
 * a = z / T:  log q_k = a_k - m - l. */
#define VKD_SCE_ROW_LOSS 0 /* -sum_k s_k log q_k */
#define VKD_SCE_ROW_M 1
#define VKD_SCE_ROW_L 2
#define VKD_SCE_ROW_S 3    /* sum_k s_k (not necessarily 1) */
#define VKD_SCE_ROW_ZERO 4 /* unused, written 0 */

/* What softmax_kd_mean scales the row sum by. */
#define VKD_KD_SCALE_T2 0 /* T^2 / N: the KD term */
#define VKD_KD_SCALE_1 1  /* 1 / N: the plain KL, the soft-target CE */

struct vkd_softmax_kd_params {
    vkd_u32 rows;    /* N */
    vkd_u32 classes; /* K */
    vkd_u32 acc;     /* backward: add into the gradient it writes */
    vkd_f32 t;       /* temperature T */
    vkd_u32 scale;   /* VKD_KD_SCALE_* */
    vkd_u32 wrt;     /* softmax_kl_bwd: 0 writes dz_s, 1 writes dz_t */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_softmax_kd_params) == 6 * 4, "kd push constants");
#endif

#endif
