/* rownorm.h - push constants of the row L2-normalise family (engine/ops/rownorm.c): every row of
 * len consecutive elements divided by its L2 norm, F.normalize(x, dim=-1) semantics (LKD's cosine
 * patch similarity, methods.md "Conventions" nrm and section 2):
 *   y[r, :] = x[r, :] / max(||x[r, :]||_2, 1e-12)
 *   dx[r, :] = (dy - (dy . y) y) / ||x[r, :]||   (||x|| > eps),   dy / eps (else) */
#ifndef VKD_ROWNORM_H
#define VKD_ROWNORM_H

/* rownorm_fwd / rownorm_bwd: one workgroup of VKD_ROWNORM_WG invocations per row, fixed-order
 * sums and a fixed tree (the same bits on every device). A power of two (the tree halves it);
 * 128 covers LKD's patch rows of d = 64 .. 4096 elements with 1 .. 32 per invocation. */
#define VKD_ROWNORM_WG 128
#define VKD_ROWNORM_EPS 1e-12f

struct vkd_rownorm_params {
    vkd_u32 rows; /* number of rows */
    vkd_u32 len;  /* L: elements per row (consecutive in memory) */
    vkd_u32 acc;  /* backward: dx += (else =) */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_rownorm_params) == 3 * 4, "rownorm push constants");
#endif

#endif
