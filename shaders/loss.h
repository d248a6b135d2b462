/* loss.h - push constants and shared constants of the loss family (engine/ops/loss.c). */
#ifndef VKD_LOSS_H
#define VKD_LOSS_H

/* softmax_ce_fwd / softmax_ce_mean: one workgroup of VKD_CE_WG invocations per row (fwd) and one
 * workgroup for the whole batch (mean). A fixed size, not spec constant 0: the shared-memory
 * reduction arrays are sized by it, and 128 covers K = 10..1000 with 1..8 loads per invocation. */
#define VKD_CE_WG 128

/* Per-row results of softmax_ce_fwd, saved as an (N, VKD_CE_ROW, 1, 1) activation: what the
 * mean pass sums and what the backward pass needs (softmax = exp(z - max) / (1 + sum_m1)).
 * sum_m1 = sum_k exp(z_n[k] - max) - 1 is summed without one maximum's exp(0) = 1 term, so a
 * row sum close to 1 (a confident prediction) keeps full precision in log(sum) and in
 * softmax - 1. */
#define VKD_CE_ROW_LOSS 0   /* loss_n = logsumexp(z_n) - z_n[y_n]; NaN when y_n >= K, 0 ignored */
#define VKD_CE_ROW_TOP1 1   /* 1.0 when rank(y_n) < 1, else 0.0 */
#define VKD_CE_ROW_TOP5 2   /* 1.0 when rank(y_n) < 5, else 0.0 */
#define VKD_CE_ROW_MAX 3    /* max_k z_n[k] */
#define VKD_CE_ROW_SUM_M1 4 /* sum_k exp(z_n[k] - max) - 1 */
#define VKD_CE_ROW_COUNTED 5 /* 1.0, or 0.0 for an ignored row */
#define VKD_CE_ROW 6

/* A label equal to this is ignored, as PyTorch's ignore_index: the row adds nothing to the loss,
 * the counts or the gradient, and the mean is over the rows that are not ignored. Evaluation
 * fills the unused rows of a last, partial batch with it. */
#define VKD_CE_IGNORE 0xffffffffu

/* All three passes: logits are (rows, classes) row-major; acc (backward only) = add into
 * dlogits instead of overwriting it. */
struct vkd_softmax_ce_params {
    vkd_u32 rows;    /* N */
    vkd_u32 classes; /* K */
    vkd_u32 acc;
};

#endif
