/* linear.h - push constants and tile sizes of the linear family (engine/ops/linear.c).
 *
 * The three passes of y (batch, out) = x (batch, in) w^T (out, in) + b (out) are one tiled GEMM
 * C (M x N) = sum over K of A(m, k) B(k, n) (shaders/linear_gemm.glsl) with different index maps:
 *   linear_fwd         y  = x  w^T   M = batch, N = out,           K = in
 *   linear_bwd_data    dx = dy w     M = batch, N = in,            K = out
 *   linear_bwd_weight  dw = dy^T x   M = out,   N = in (+1 for db), K = batch
 */
#ifndef VKD_LINEAR_H
#define VKD_LINEAR_H

/* Each workgroup computes a VKD_LINEAR_TILE x VKD_LINEAR_TILE block of C with VKD_LINEAR_WG x
 * VKD_LINEAR_WG invocations (each TILE/WG x TILE/WG outputs), staging VKD_LINEAR_BK-deep slices
 * of A and B in shared memory: 2 * 16 * 65 floats = 8.1 KiB. */
#define VKD_LINEAR_TILE 64
#define VKD_LINEAR_WG 16
#define VKD_LINEAR_BK 16

/* One struct for all three kernels; each reads the fields its header comment names. */
struct vkd_linear_params {
    vkd_u32 batch;        /* rows of x, y */
    vkd_u32 in_features;  /* columns of x (its c*h*w), row length of w */
    vkd_u32 out_features; /* columns of y, rows of w */
    vkd_u32 bias;         /* fwd: add b; bwd_weight: also compute db */
    vkd_u32 acc;          /* bwd_data: add into dx; bwd_weight: add into dw */
    vkd_u32 acc_b;        /* bwd_weight: add into db */
    vkd_u32 weight;       /* bwd_weight: compute dw (0 when w is frozen and only db is wanted) */
};

#endif
