/* batchnorm.h - push constants of the batchnorm family (engine/ops/batchnorm.c). */
#ifndef VKD_BATCHNORM_H
#define VKD_BATCHNORM_H

/* PyTorch's nn.BatchNorm2d defaults. */
#define VKD_BN_EPS 1e-5f
#define VKD_BN_MOMENTUM 0.1f

/* Every kernel of the family splits the m = n*h*w values of a channel into `chunks` chunks of
 * `chunk` consecutive values (in (n, h, w) order) and runs one workgroup per (chunk, channel):
 * enough workgroups to fill a large GPU even with 16 channels, and the per-chunk partial results
 * are merged in a fixed order, so every reduction is deterministic. The builder picks chunk from
 * the shape alone: about VKD_BN_CHUNK values, at most VKD_BN_MAX_CHUNKS chunks. */
#define VKD_BN_CHUNK 2048
#define VKD_BN_MAX_CHUNKS 256
/*
 * CPU-device kernels (batchnorm_*_cpu, recorded when vkd_rec_cpu_kernels): same grid, bindings,
 * partials and results, for drivers that run a workgroup on one CPU thread with its invocations
 * as SIMD lanes (lavapipe). There a barrier splits the shader into coroutines, shared memory is
 * memory like any other, and an integer division per element is a scalar loop over the lanes; a
 * storage-buffer load is about a dozen instructions per lane whatever the address. So each
 * (chunk, channel) gets one workgroup of VKD_BN_CPU_WG lanes, a single subgroup cluster: every
 * lane walks its strided share of the chunk with an incremental (plane, offset) address (one
 * division per lane per dispatch), keeps its sums in registers, and the lanes combine in a fixed
 * butterfly of subgroupShuffleXor (shaders/batchnorm_cpu.glsl). No barriers, no shared memory.
 */
#define VKD_BN_CPU_WG VKD_CPU_CL

/*
 * One struct for the whole family. The node keeps the first block as its attr; the record
 * functions fill in the per-dispatch block.
 *   x: (n, c, h, w); gamma, beta, running mean/var, saved mean/invstd: c floats;
 *   partials: (c, chunks, 2) floats, per chunk: (mean, M2) after forward (training),
 *             (sum dy, sum dy*xhat) after the backward reduction.
 */
struct vkd_batchnorm_params {
    vkd_u32 n, c, hw; /* x's shape, hw = h*w */
    vkd_u32 m;        /* n*hw values per channel */
    vkd_u32 chunk;    /* values of one channel per workgroup */
    vkd_u32 chunks;   /* ceil(m / chunk) */
    vkd_u32 training; /* 1: batch statistics, running statistics updated; 0: running statistics */
    vkd_f32 eps;
    vkd_f32 momentum;
    /* per dispatch (backward) */
    vkd_u32 stats_is_var; /* the second statistic bound is a variance (eval), not 1/std */
    vkd_u32 has_sums;     /* bwd_data: partial sums bound (training, or dgamma/dbeta wanted) */
    vkd_u32 has_dx, acc_dx;
    vkd_u32 has_dgamma, acc_dgamma;
    vkd_u32 has_dbeta, acc_dbeta;
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_batchnorm_params) == 17 * 4, "batchnorm push constants");
#endif

#endif
