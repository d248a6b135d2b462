/* conv2d.h - push constants and tile sizes of the conv2d family (engine/ops/conv2d.c). */
#ifndef VKD_CONV2D_H
#define VKD_CONV2D_H

/*
 * Implicit-GEMM tiles (conv2d_fwd, conv2d_bwd_data, conv2d_bwd_weight): a workgroup of
 * VKD_CONV_WG invocations computes a bm x bn tile of outputs, 4x4 per invocation, with
 * bm * bn = VKD_CONV_TILE and bm in {16, 32, 64} chosen per dispatch from the GEMM's row count,
 * so 16-channel layers do not waste three quarters of a 64-row tile. The reduction is staged
 * through shared memory VKD_CONV_BK at a time.
 */
#define VKD_CONV_WG 256
#define VKD_CONV_TILE 4096
#define VKD_CONV_BK 16
#define VKD_CONV_BM_MIN 16
#define VKD_CONV_BM_MAX 64
/*
 * CPU-device kernels (conv2d_*_cpu, recorded when vkd_rec_cpu_variant): for Vulkan drivers that
 * run a workgroup on one CPU thread with its invocations as SIMD lanes (lavapipe: 8 lanes). There
 * a storage-buffer load costs about a dozen instructions per lane (a scalar loop over the lanes),
 * a barrier splits the shader into coroutines, and a multiply-add is one instruction for all
 * lanes. So: no shared memory, no barriers; each invocation keeps an MB x NB block of sums in
 * registers and uses every value it loads MB or NB times. A value that every lane of a workgroup
 * needs (a weight in forward, a dy in backward weight) is loaded once per cluster of CL lanes,
 * one element per lane, and handed round with subgroupShuffle (shaders/conv2d_cpu.glsl), so the
 * subgroup size must be a multiple of CL. Stride-1 kernels (_s1) share one window of loads among
 * VKD_CONV_CPU_CH neighbouring taps of a filter row.
 */
#define VKD_CONV_CPU_WG 64  /* invocations per workgroup: forward, backward data */
#define VKD_CONV_CPU_WG_W 8 /* invocations per workgroup: backward weight (one cluster) */
#define VKD_CONV_CPU_CL VKD_CPU_CL /* lanes of a shuffle cluster */
#define VKD_CONV_CPU_MB 16  /* GEMM rows (channels) per invocation, a multiple of CL */
#define VKD_CONV_CPU_NB 8   /* GEMM columns (positions or taps) per invocation */
#define VKD_CONV_CPU_CH 3   /* _s1 kernels: taps per window */
/* conv2d_bwd_wsum: outputs per workgroup; each gets VKD_CONV_WG / VKD_CONV_WSUM_OUTS lanes. */
#define VKD_CONV_WSUM_OUTS 32

/*
 * One struct for every conv2d kernel. x is (n, c, h, w), w is (k, c / groups, r, s), y is
 * (n, k, p, q) with p = (h + 2 pad - r) / stride + 1 (q likewise).
 *
 * Backward-weight splits the n*p*q reduction into `splits` ranges of `chunk` positions; the
 * partial sums go to a scratch tensor (splits, k, cols) with cols = (c / groups) r s + bias
 * (the bias gradient rides along as one more GEMM column whose input is 1), and
 * conv2d_bwd_wsum adds them up in a fixed order.
 */
struct vkd_conv2d_params {
    vkd_u32 n, c, h, w;
    vkd_u32 k, r, s;
    vkd_u32 p, q;
    vkd_u32 stride, pad, groups;
    vkd_u32 bias;          /* fwd: add b; bwd weight and wsum: the db column exists */
    vkd_u32 splits, chunk; /* bwd weight: the n*p*q split (depthwise: chunk is a multiple of q) */
    vkd_u32 bm;            /* GEMM tile rows (set per dispatch) */
    vkd_u32 tile0;         /* first column tile of this dispatch (grids wider than the limit) */
    vkd_u32 acc;           /* bwd data: dx += (else =); wsum: dw += */
    vkd_u32 acc_b;         /* wsum: db += */
    vkd_u32 want_w;        /* wsum: write dw (0 when only the bias needs a gradient) */
};

#ifndef VKD_GLSL
_Static_assert(sizeof(struct vkd_conv2d_params) == 20 * 4, "conv2d push constants: 32-bit only");
#endif

#endif
