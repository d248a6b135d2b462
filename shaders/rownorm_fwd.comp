#version 450
// rownorm_fwd: the L2 normalisation of row r = the workgroup, rows of len elements:
//   norm[r] = ||x[r, :]||,  y[r, j] = x[r, j] / max(norm[r], eps)
// norm is stored before the eps clamp: the backward needs to know which branch was taken.
// Bindings: 0 x (rows * len), 1 y (rows * len), 2 norm (rows).
// Grid: one workgroup of VKD_ROWNORM_WG per row, folded into (x, y). Deterministic: each
// invocation sums its own elements in order, then a fixed tree. Mirrors ref_rownorm_fwd
// (engine/ops/rownorm.c).
#include "common.glsl"
layout(local_size_x = VKD_ROWNORM_WG) in;
layout(push_constant) uniform PC { vkd_rownorm_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict writeonly buffer Y { float y[]; };
layout(std430, binding = 2) restrict writeonly buffer Norm { float norm[]; };

shared float s_sq[VKD_ROWNORM_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < pc.p.rows; // folded-grid tail: recompute the last row, write nothing
    row = min(row, pc.p.rows - 1u);
    uint L = pc.p.len, base = row * L;
    float sq = 0.0;
    for (uint j = tid; j < L; j += VKD_ROWNORM_WG)
        sq = fma(x[base + j], x[base + j], sq);
    s_sq[tid] = sq;
    barrier();
    for (uint h = VKD_ROWNORM_WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h)
            s_sq[tid] += s_sq[tid + h];
        barrier();
    }
    float nr = sqrt(s_sq[0]);
    if (!live)
        return; // after the last barrier
    if (tid == 0u)
        norm[row] = nr;
    float inv = 1.0 / max(nr, VKD_ROWNORM_EPS);
    for (uint j = tid; j < L; j += VKD_ROWNORM_WG)
        y[base + j] = x[base + j] * inv;
}
