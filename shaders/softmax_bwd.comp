#version 450
// softmax_bwd: the gradient of y = softmax(s x) over rows of len elements, from the saved
// output y and the upstream gradient dy, one workgroup per row:
//   dot = sum_j dy_j y_j,   dx_j = s y_j (dy_j - dot)
// written into dx, overwriting or adding (acc). The row dot product is the only reduction; y
// is the forward's output, so nothing is recomputed from x.
// Bindings: 0 y (rows * len), 1 dy (rows * len), 2 dx (rows * len).
// Grid: one workgroup of VKD_SOFTMAX_WG per row, folded into (x, y). Deterministic: fixed
// per-invocation order, then a fixed tree. Mirrors ref_softmax_bwd (engine/ops/softmax.c).
#include "common.glsl"
layout(local_size_x = VKD_SOFTMAX_WG) in;
layout(push_constant) uniform PC { vkd_softmax_params p; } pc;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

shared float s_red[VKD_SOFTMAX_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < pc.p.rows; // folded-grid tail: recompute the last row, write nothing
    row = min(row, pc.p.rows - 1u);
    uint L = pc.p.len, base = row * L;

    float d = 0.0;
    for (uint j = tid; j < L; j += VKD_SOFTMAX_WG)
        d = fma(dy[base + j], y[base + j], d);
    s_red[tid] = d;
    barrier();
    for (uint h = VKD_SOFTMAX_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_red[tid] += s_red[tid + h];
        barrier();
    }
    float dot = s_red[0];
    if (live)
        for (uint j = tid; j < L; j += VKD_SOFTMAX_WG) {
            float g = pc.p.scale * (y[base + j] * (dy[base + j] - dot));
            dx[base + j] = pc.p.acc != 0u ? dx[base + j] + g : g;
        }
}
