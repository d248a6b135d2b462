#version 450
// correlation_nrm_fwd: row L2-normalisation of G in place, as PyTorch's F.normalize(G, dim=-1):
//   norm_r = ||G[r, :]||_2,  G[r, :] = G[r, :] / max(norm_r, eps)
// and the un-clamped norm saved for the backward pass (which needs it to tell the eps branch
// from the other). The norm is sqrt of a plain fp32 sum of squares, as torch's: rows beyond
// 1.8e19 in magnitude would overflow, features of trained networks are far below that.
// Bindings: 0 G (rows_total, R) read and written, 1 norms (rows_total).
// Grid: one workgroup of VKD_CORR_ROW_WG per row (rows_total = batches * R), folded into
// (x, y). Deterministic: fixed per-invocation order, then a fixed tree. Each invocation
// rescales exactly the elements it read, so the in-place update needs no extra barrier.
// Mirrors ref_gram_fwd (engine/ops/correlation.c).
#include "common.glsl"
layout(local_size_x = VKD_CORR_ROW_WG) in;
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) buffer G { float g[]; };
layout(std430, binding = 1) writeonly buffer Norms { float norms[]; };

shared float s_sum[VKD_CORR_ROW_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, R = pc.p.rows, total = pc.p.batches * R;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < total; // folded-grid tail: recompute the last row, write nothing
    row = min(row, total - 1u);
    uint base = row * R;

    float s = 0.0;
    for (uint j = tid; j < R; j += VKD_CORR_ROW_WG)
        s = fma(g[base + j], g[base + j], s);
    s_sum[tid] = s;
    barrier();
    for (uint h = VKD_CORR_ROW_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_sum[tid] += s_sum[tid + h];
        barrier();
    }
    float norm = sqrt(s_sum[0]);
    float r = max(norm, pc.p.eps);
    if (live) {
        for (uint j = tid; j < R; j += VKD_CORR_ROW_WG)
            g[base + j] = g[base + j] / r;
        if (tid == 0u)
            norms[row] = norm;
    }
}
