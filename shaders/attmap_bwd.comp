#version 450
// attmap_bwd: dx of the attention map of sample n = the workgroup. With normalisation,
//   da[j] = (dy[j] - (dy . y) y[j]) / ||a||   (||a|| > eps),   da[j] = dy[j] / eps (else);
// without, da = dy; then dx[n][c][j] (+)= da[j] * (2/C) * x[n][c][j].
// Bindings: 0 x (n c p), 1 y (n p), 2 norm (n), 3 dy (n p), 4 dx (n c p).
// Grid: one workgroup of VKD_ATTMAP_WG per sample, folded into (x, y); the dot product is a
// fixed tree as in attmap_fwd. Mirrors ref_attmap_bwd (engine/ops/attmap.c).
#include "common.glsl"
layout(local_size_x = VKD_ATTMAP_WG) in;
layout(push_constant) uniform PC { vkd_attmap_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer Y { float y[]; };
layout(std430, binding = 2) restrict readonly buffer Norm { float norm[]; };
layout(std430, binding = 3) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 4) restrict buffer DX { float dx[]; };

shared float s_dot[VKD_ATTMAP_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint n = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = n < pc.p.n;
    n = min(n, pc.p.n - 1u);
    uint row = n * pc.p.p;
    float dot = 0.0;
    if (pc.p.normalize != 0u)
        for (uint j = tid; j < pc.p.p; j += VKD_ATTMAP_WG)
            dot += dy[row + j] * y[row + j];
    s_dot[tid] = dot;
    barrier();
    for (uint h = VKD_ATTMAP_WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h)
            s_dot[tid] += s_dot[tid + h];
        barrier();
    }
    if (!live)
        return; // after the last barrier
    float nr = norm[n];
    bool small = nr <= VKD_ATTMAP_EPS;
    float scale = 2.0 / float(pc.p.c);
    uint base = n * pc.p.c * pc.p.p;
    for (uint j = tid; j < pc.p.p; j += VKD_ATTMAP_WG) {
        float da = dy[row + j];
        if (pc.p.normalize != 0u)
            da = small ? da / VKD_ATTMAP_EPS : (da - s_dot[0] * y[row + j]) / nr;
        for (uint c = 0u; c < pc.p.c; c++) {
            uint i = base + c * pc.p.p + j;
            float g = da * scale * x[i];
            dx[i] = pc.p.acc != 0u ? dx[i] + g : g;
        }
    }
}
