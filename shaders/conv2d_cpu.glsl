// conv2d_cpu.glsl - what the CPU-device conv2d kernels share (shaders/conv2d.h says why): the
// register-block core (shaders/cpu_block.glsl) with conv2d's block sizes: MB output channels
// (forward; the reduction's "rows" of the other passes) shuffled round clusters, NB columns per
// lane.
// NB may be set by the including shader (VKD_CONV_NB) before this file.
#ifndef VKD_CONV_NB
#define VKD_CONV_NB VKD_CONV_CPU_NB
#endif
#define CPU_MB VKD_CONV_CPU_MB
#define CPU_NB VKD_CONV_NB
#define CPU_CL VKD_CONV_CPU_CL
#include "cpu_block.glsl"

// The taps one step of the forward and backward-data kernels covers: VKD_CONV_CPU_CH
// overlapping taps with VKD_CONV_S1 (stride 1), else 1.
#ifdef VKD_CONV_S1
#define CONV_CH VKD_CONV_CPU_CH
#else
#define CONV_CH 1u
#endif

// A step's CONV_CH taps, channel by channel: acc[j][i] += rows[d][j'] * win[i + d] (forward;
// flip: win[i + CONV_CH - 1 - d], backward data, whose window runs the other way), row j being
// rows[d][j / CL] of lane j % CL of this cluster. Each sum still adds tap d after tap d - 1, but
// a channel's NB sums stay in registers for its CH NB FMAs instead of being reloaded once per
// tap (MB NB sums do not fit 16 AVX registers); 8% faster on lavapipe (docs/RESULTS.md).
void conv_taps_fma(float rows[CONV_CH][MH], float win[NB + CONV_CH - 1], const bool flip)
{
    uint base = gl_SubgroupInvocationID - cpu_lane();
    [[unroll]] for (uint j = 0; j < MB; j++)
        [[unroll]] for (uint d = 0; d < CONV_CH; d++) {
            float a = subgroupShuffle(rows[d][j / CL], base + j % CL);
            [[unroll]] for (uint i = 0; i < NB; i++)
                acc[j][i] = fma(a, win[flip ? i + CONV_CH - 1u - d : i + d], acc[j][i]);
        }
}
