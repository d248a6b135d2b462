/* correlation.h - push constants and tile sizes of the correlation family
 * (engine/ops/correlation.c): the batched Gram of feature-map cells, with optional row
 * L2-normalisation (methods.md sections 1, 2, 5 and 6).
 *
 * x is (n, c, h, w); the h x w map is cut into grid_h x grid_w cells of ch x cw pixels
 * (ch = h / grid_h, cw = w / grid_w, p = ch * cw), one matrix z = sample * cells + cell per cell,
 * cell = gi * grid_w + gj (row-major). F_z is the c x p matrix F_z[k][q] = x[sample, k,
 * gi*ch + q / cw, gj*cw + q % cw]: a strided view of x, never copied. Then
 *   channel mode: G_z = F_z F_z^T   (R = c rows, reduction depth D = p)
 *   spatial mode: G_z = F_z^T F_z   (R = p rows, reduction depth D = c)
 * stored as (n, cells, R, R). With normalize, every row of G_z becomes row / max(||row||, eps).
 *
 * Every GEMM of the family is one shared-memory tiled core (shaders/correlation.glsl),
 *   C (M x N) = sum over j < K of A(m, j) B(n, j),
 * VKD_CORR_TILE x VKD_CORR_TILE outputs per workgroup of VKD_CORR_WG x VKD_CORR_WG invocations,
 * VKD_CORR_BK-deep slices of A and B in shared memory (2 * 16 * 65 floats = 8.1 KiB):
 *   correlation_fwd  G = A A^T        M = N = R, K = D; upper-triangle tiles only, mirrored
 *   correlation_bwd  dF = S F (chan.)  M = c, N = p, K = R, S = D' + D'^T (see below)
 *                    dF = F S (spat.)
 * where D' is the upstream gradient of G, passed through the row-normalisation backward.
 */
#ifndef VKD_CORRELATION_H
#define VKD_CORRELATION_H

#ifdef VKD_GLSL
#define VKD_GRAM_CHANNEL 0u
#define VKD_GRAM_SPATIAL 1u
#else
enum vkd_gram_mode { VKD_GRAM_CHANNEL = 0, VKD_GRAM_SPATIAL = 1 };
#endif

#define VKD_CORR_TILE 64
#define VKD_CORR_WG 16
#define VKD_CORR_BK 16

/* The GEMM grids take the matrices in (y, z): slices of at most VKD_CORR_FOLD along y, far below
 * any device's maxComputeWorkGroupCount[1], so that every shape, not only one with 65536+
 * matrices, runs the same folded path (and the tests cover it). */
#define VKD_CORR_FOLD 1024

/*
 * CPU-device kernels (correlation_fwd_cpu, correlation_bwd_cpu; recorded when the context asks
 * for CPU-device kernels, as conv2d's: shaders/conv2d.h says why): no shared memory and no
 * barriers. A cluster of VKD_CORR_CPU_CL lanes owns VKD_CORR_CPU_MB output rows (their operand
 * values loaded once per cluster and shuffled, shaders/cpu_block.glsl) and CL * VKD_CORR_CPU_NB
 * columns, VKD_CORR_CPU_NB per invocation: per reduction step MB / CL + NB loads feed MB * NB
 * FMAs. tiles_n counts the column chunks per row block; clusters enumerate (row block, chunk),
 * VKD_CORR_CPU_WG / CL of them per workgroup.
 */
#define VKD_CORR_CPU_WG 64
#define VKD_CORR_CPU_MB 16
#define VKD_CORR_CPU_NB 8
#define VKD_CORR_CPU_CL VKD_CPU_CL /* lanes of a shuffle cluster (vkd_shared.h) */

/* correlation_nrm_fwd / correlation_nrm_bwd: one workgroup of VKD_CORR_ROW_WG per row of G. */
#define VKD_CORR_ROW_WG 128

/* PyTorch's F.normalize eps: a row whose norm is at most this is divided by eps instead. */
#define VKD_CORR_EPS 1e-12f

/*
 * One struct for the whole family; the node keeps it as its attr and the record functions fill
 * in the per-dispatch fields.
 */
struct vkd_gram_params {
    vkd_u32 n, c, h, w;     /* x */
    vkd_u32 grid_h, grid_w; /* cells per column / row of the map */
    vkd_u32 ch, cw;         /* pixels of a cell: h / grid_h, w / grid_w */
    vkd_u32 mode;           /* VKD_GRAM_CHANNEL or VKD_GRAM_SPATIAL */
    vkd_u32 normalize;      /* 1: rows of G L2-normalised */
    vkd_u32 rows;           /* R: c (channel) or ch*cw (spatial) */
    vkd_u32 depth;          /* D: ch*cw (channel) or c (spatial) */
    vkd_u32 batches;        /* matrices: n * grid_h * grid_w */
    vkd_f32 eps;            /* VKD_CORR_EPS */
    /* per dispatch */
    vkd_u32 acc;     /* bwd: add into dx */
    vkd_u32 tiles_n; /* GEMM output tiles along N (fwd: along R) */
    vkd_u32 fold;    /* matrices per step of gl_WorkGroupID.z (the grid's y extent) */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_gram_params) == 17 * 4, "correlation push constants");
#endif

#endif
