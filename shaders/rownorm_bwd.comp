#version 450
// rownorm_bwd: dx of y = x / max(||x||, eps) for row r = the workgroup, from the saved output y
// and norm (the forward's, before the clamp) and the upstream dy:
//   dx[r, j] (+)= (dy[r, j] - (dy . y) y[r, j]) / norm[r]   (norm > eps),   dy[r, j] / eps (else)
// Bindings: 0 y (rows * len), 1 norm (rows), 2 dy (rows * len), 3 dx (rows * len).
// Grid: one workgroup of VKD_ROWNORM_WG per row, folded into (x, y); the dot product is a fixed
// tree as in rownorm_fwd. Mirrors ref_rownorm_bwd (engine/ops/rownorm.c).
#include "common.glsl"
layout(local_size_x = VKD_ROWNORM_WG) in;
layout(push_constant) uniform PC { vkd_rownorm_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer Y { float y[]; };
layout(std430, binding = 1) restrict readonly buffer Norm { float norm[]; };
layout(std430, binding = 2) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 3) restrict buffer DX { float dx[]; };

shared float s_dot[VKD_ROWNORM_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < pc.p.rows;
    row = min(row, pc.p.rows - 1u);
    uint L = pc.p.len, base = row * L;
    float d = 0.0;
    for (uint j = tid; j < L; j += VKD_ROWNORM_WG)
        d = fma(dy[base + j], y[base + j], d);
    s_dot[tid] = d;
    barrier();
    for (uint h = VKD_ROWNORM_WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h)
            s_dot[tid] += s_dot[tid + h];
        barrier();
    }
    if (!live)
        return; // after the last barrier
    float nr = norm[row], dot = s_dot[0];
    bool small = nr <= VKD_ROWNORM_EPS;
    for (uint j = tid; j < L; j += VKD_ROWNORM_WG) {
        float g = small ? dy[base + j] / VKD_ROWNORM_EPS : (dy[base + j] - dot * y[base + j]) / nr;
        dx[base + j] = pc.p.acc != 0u ? dx[base + j] + g : g;
    }
}
