#version 450
// softmax_fwd: the row softmax of scale * x, one workgroup per row of len elements:
//   t_j = s x_j,  m = max_j t_j,  S = sum_j exp(t_j - m),  y_j = exp(t_j - m) / S
// Subtracting the row maximum keeps every exp in (0, 1]: no overflow for any finite input, and
// S >= 1 (the maximum's own term), so the division is safe.
// In place: the self-attention op binds its Gram as both x and y (the same range). Each
// invocation reads only the elements j = tid + k * VKD_SOFTMAX_WG it later writes, and writes
// them last, so no invocation can see another's output; a folded-grid tail workgroup reads but
// never writes. (The bindings may alias: neither block is declared restrict.)
// Bindings: 0 x (rows * len), 1 y (rows * len).
// Grid: one workgroup of VKD_SOFTMAX_WG per row, folded into (x, y). Deterministic: fixed
// per-invocation order, then a fixed tree. Mirrors ref_softmax_fwd (engine/ops/softmax.c).
#include "common.glsl"
layout(local_size_x = VKD_SOFTMAX_WG) in;
layout(push_constant) uniform PC { vkd_softmax_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

shared float s_red[VKD_SOFTMAX_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < pc.p.rows; // folded-grid tail: recompute the last row, write nothing
    row = min(row, pc.p.rows - 1u);
    uint L = pc.p.len, base = row * L;
    float s = pc.p.scale;

    float m = uintBitsToFloat(0xff800000u); // -inf: the identity of max
    for (uint j = tid; j < L; j += VKD_SOFTMAX_WG)
        m = max(m, s * x[base + j]);
    s_red[tid] = m;
    barrier();
    for (uint h = VKD_SOFTMAX_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_red[tid] = max(s_red[tid], s_red[tid + h]);
        barrier();
    }
    m = s_red[0];
    barrier(); // everyone has read the maximum before s_red is reused

    float t = 0.0;
    for (uint j = tid; j < L; j += VKD_SOFTMAX_WG)
        t += exp(s * x[base + j] - m);
    s_red[tid] = t;
    barrier();
    for (uint h = VKD_SOFTMAX_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_red[tid] += s_red[tid + h];
        barrier();
    }
    float sum = s_red[0];
    if (live)
        for (uint j = tid; j < L; j += VKD_SOFTMAX_WG)
            y[base + j] = exp(s * x[base + j] - m) / sum;
}
