#version 450
// hinge_sum: the batch half of L = scale * sum_i max(0, margin - y_i (a_i - b_i)): the partials
// of hinge_fwd added in a fixed order, times scale. A NaN partial makes L NaN, decided on the
// bits.
// Bindings: 0 partials (chunks), 1 L (1).
// Grid: one workgroup of VKD_HINGE_WG; a fixed per-invocation order, then a fixed tree.
// Mirrors the last step of ref_hinge_fwd (engine/ops/hinge.c).
#include "common.glsl"
layout(local_size_x = VKD_HINGE_WG) in;
layout(push_constant) uniform PC { vkd_hinge_params p; } pc;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) writeonly buffer Loss { float loss[]; };

shared float s_sum[VKD_HINGE_WG];
shared uint s_bad[VKD_HINGE_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float s = 0.0;
    uint bad = 0u;
    for (uint k = tid; k < pc.p.chunks; k += VKD_HINGE_WG) {
        float v = part[k];
        s += v;
        bad += (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u ? 1u : 0u;
    }
    s_sum[tid] = s;
    s_bad[tid] = bad;
    barrier();
    for (uint h = VKD_HINGE_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_sum[tid] += s_sum[tid + h];
            s_bad[tid] += s_bad[tid + h];
        }
        barrier();
    }
    if (tid == 0u)
        loss[0] = s_bad[0] != 0u ? uintBitsToFloat(0x7fc00000u) : s_sum[0] * pc.p.scale;
}
