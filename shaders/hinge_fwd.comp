#version 450
// hinge_fwd: the per-chunk half of L = scale * sum_i max(0, margin - y_i (a_i - b_i)):
// partial[k] = sum over chunk k (VKD_PAIRSUM_CHUNK consecutive elements) of max(0, t_i),
// t_i = margin - y_i (a_i - b_i), y_i = 1 when has_c is 0. A NaN t makes the partial NaN,
// decided on the bits so that no device's max() or arithmetic can lose it.
// Bindings: 0 a (count), 1 b (count), 2 y (count; a again without y, never read),
// 3 partials (chunks).
// Grid: one workgroup of VKD_PAIRSUM_WG per chunk, folded into (x, y). Deterministic: each
// invocation sums its strided share in order, then a fixed tree. Mirrors vkd_pairsum_ref_fwd
// (engine/ops/pairsum.c) with hinge_term (engine/ops/hinge.c).
#include "common.glsl"
layout(local_size_x = VKD_PAIRSUM_WG) in;
layout(push_constant) uniform PC { vkd_pairsum_params p; } pc;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) writeonly buffer Part { float part[]; };

shared float s_sum[VKD_PAIRSUM_WG];
shared uint s_bad[VKD_PAIRSUM_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint k = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = k < pc.p.chunks; // folded-grid tail: recompute the last chunk, write nothing
    k = min(k, pc.p.chunks - 1u);
    uint j0 = k * VKD_PAIRSUM_CHUNK, j1 = min(j0 + VKD_PAIRSUM_CHUNK, pc.p.count);

    float s = 0.0;
    uint bad = 0u;
    for (uint j = j0 + tid; j < j1; j += VKD_PAIRSUM_WG) {
        // precise: no fused multiply-add here or in hinge_bwd, so both passes round t alike
        precise float d = a[j] - b[j];
        precise float t = pc.p.margin - (pc.p.has_c != 0u ? y[j] * d : d);
        s += t > 0.0 ? t : 0.0;
        bad += (floatBitsToUint(t) & 0x7fffffffu) > 0x7f800000u ? 1u : 0u;
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
    if (live && tid == 0u)
        part[k] = s_bad[0] != 0u ? uintBitsToFloat(0x7fc00000u) : s_sum[0];
}
