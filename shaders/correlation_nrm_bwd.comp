#version 450
// correlation_nrm_bwd: the per-row half of the row-normalisation backward. For y = nrm(g),
// upstream dy and r = max(||g||, eps) the gradient is
//   dg = (dy - (dy . y) y) / r   when ||g|| > eps,   dy / eps   otherwise;
// this pass computes the row dot products dot_r = dy[r, :] . y[r, :]; correlation_bwd forms dg
// on the fly while it stages (dg + dg^T), so dg is never stored.
// Bindings: 0 y = G (rows_total, R), 1 dy = dG (rows_total, R), 2 dots (rows_total).
// Grid: one workgroup of VKD_CORR_ROW_WG per row, folded into (x, y). Deterministic: fixed
// per-invocation order, then a fixed tree. Mirrors ref_gram_bwd (engine/ops/correlation.c).
#include "common.glsl"
layout(local_size_x = VKD_CORR_ROW_WG) in;
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) writeonly buffer Dots { float dots[]; };

shared float s_sum[VKD_CORR_ROW_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, R = pc.p.rows, total = pc.p.batches * R;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < total;
    row = min(row, total - 1u);
    uint base = row * R;

    float s = 0.0;
    for (uint j = tid; j < R; j += VKD_CORR_ROW_WG)
        s = fma(dy[base + j], y[base + j], s);
    s_sum[tid] = s;
    barrier();
    for (uint h = VKD_CORR_ROW_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_sum[tid] += s_sum[tid + h];
        barrier();
    }
    if (live && tid == 0u)
        dots[row] = s_sum[0];
}
