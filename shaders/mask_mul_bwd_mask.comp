#version 450
// mask_mul_bwd_mask: the mask half of mask_mul's backward, dm[n][p] = (acc ? dm : 0) +
// sum_{c < C} dy[n][c][p] x[n][c][p]. One invocation per mask element sums its C products in
// channel order (deterministic, no atomics); neighbouring invocations read neighbouring pixels,
// so every load of the loop is coalesced.
// Bindings: 0 x (count), 1 dy (count), 2 dm (count / c). Grid: 1-D over count / c = n * hw.
// Mirrors ref_mask_mul_bwd (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_mask_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DM { float dm[]; };

void main()
{
    uint j = vkd_gid();
    uint hw = pc.p.hw, c = pc.p.c;
    if (j >= pc.p.count / c)
        return;
    uint base = (j / hw) * c * hw + j % hw; // element (n, 0, p)
    float s = 0.0;
    for (uint k = 0u; k < c; k++)
        s += dy[base + k * hw] * x[base + k * hw];
    dm[j] = pc.p.acc != 0u ? dm[j] + s : s;
}
