#version 450
// attmap_fwd: the attention map of sample n = the workgroup:
//   a[j] = (1/C) sum_c x[n][c][j]^2,  y[n][j] = a[j] / max(||a||, eps) (normalize) or a[j],
// and norm[n] = ||a|| (before the eps clamp: backward needs to know which branch it took).
// Bindings: 0 x (n c p), 1 y (n p), 2 norm (n).
// Grid: one workgroup of VKD_ATTMAP_WG per sample, folded into (x, y). Deterministic: each
// invocation sums its own positions' channels in order, then a fixed tree for the norm.
// Mirrors ref_attmap_fwd (engine/ops/attmap.c).
#include "common.glsl"
layout(local_size_x = VKD_ATTMAP_WG) in;
layout(push_constant) uniform PC { vkd_attmap_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict buffer Y { float y[]; };
layout(std430, binding = 2) restrict writeonly buffer Norm { float norm[]; };

shared float s_sq[VKD_ATTMAP_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint n = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = n < pc.p.n; // folded-grid tail: compute sample n - 1 again, write nothing
    n = min(n, pc.p.n - 1u);
    uint base = n * pc.p.c * pc.p.p;
    float inv_c = 1.0 / float(pc.p.c), sq = 0.0;
    for (uint j = tid; j < pc.p.p; j += VKD_ATTMAP_WG) {
        float s = 0.0;
        for (uint c = 0u; c < pc.p.c; c++) {
            float v = x[base + c * pc.p.p + j];
            s += v * v;
        }
        float a = s * inv_c;
        sq += a * a;
        if (live)
            y[n * pc.p.p + j] = a;
    }
    s_sq[tid] = sq;
    barrier();
    for (uint h = VKD_ATTMAP_WG / 2u; h > 0u; h >>= 1u) {
        if (tid < h)
            s_sq[tid] += s_sq[tid + h];
        barrier();
    }
    float nr = sqrt(s_sq[0]);
    if (live && tid == 0u)
        norm[n] = nr;
    if (live && pc.p.normalize != 0u) {
        float inv = 1.0 / max(nr, VKD_ATTMAP_EPS);
        // each invocation rescales the positions it wrote itself: no barrier needed
        for (uint j = tid; j < pc.p.p; j += VKD_ATTMAP_WG)
            y[n * pc.p.p + j] *= inv;
    }
}
