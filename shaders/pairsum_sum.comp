#version 450
// pairsum_sum: the batch half of the elementwise pair losses L = scale * sum_i f(a_i, b_i, c_i)
// (shaders/pairsum.h: sqdiff, hinge): the partials of sqdiff_fwd or hinge_fwd added in a fixed
// order, times scale. A NaN partial makes L NaN, decided on the bits.
// Bindings: 0 partials (chunks), 1 L (1).
// Grid: one workgroup of VKD_PAIRSUM_WG; a fixed per-invocation order, then a fixed tree.
// Mirrors the last step of vkd_pairsum_ref_fwd (engine/ops/pairsum.c).
#include "common.glsl"
layout(local_size_x = VKD_PAIRSUM_WG) in;
layout(push_constant) uniform PC { vkd_pairsum_params p; } pc;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Loss { float loss[]; };

shared float s_sum[VKD_PAIRSUM_WG];
shared uint s_bad[VKD_PAIRSUM_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float s = 0.0;
    uint bad = 0u;
    for (uint k = tid; k < pc.p.chunks; k += VKD_PAIRSUM_WG) {
        float v = part[k];
        s += v;
        bad += (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u ? 1u : 0u;
    }
    s_sum[tid] = s;
    s_bad[tid] = bad;
    barrier();
    for (uint h = VKD_PAIRSUM_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_sum[tid] += s_sum[tid + h];
            s_bad[tid] += s_bad[tid + h];
        }
        barrier();
    }
    if (tid == 0u)
        loss[0] = s_bad[0] != 0u ? uintBitsToFloat(0x7fc00000u) : s_sum[0] * pc.p.scale;
}
