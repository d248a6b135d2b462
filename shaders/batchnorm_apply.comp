#version 450
// batchnorm_apply: training forward, pass 2 of 2. Every workgroup merges its channel's chunk
// summaries (Chan, fixed tree order: every workgroup of a channel gets bit-identical statistics)
// into mean and biased variance var = M2 / m, then normalises its chunk:
//     y = (x - mean) * (gamma / sqrt(var + eps)) + beta
// (subtracting the mean first: no cancellation between x*scale and mean*scale). The workgroup
// of chunk 0 also saves mean and 1/std for backward and updates the running statistics as
// PyTorch does, with the unbiased variance M2 / (m - 1) (the builder guarantees m > 1):
//     running_mean = (1 - momentum) running_mean + momentum mean
//     running_var  = (1 - momentum) running_var  + momentum M2 / (m - 1)
// Bindings: 0 x (n, c, h, w), 1 gamma (c), 2 beta (c), 3 partials (c, chunks, 2) from
// batchnorm_stats, 4 running_mean (c), 5 running_var (c), 6 saved mean (c), 7 saved 1/std (c),
// 8 y (n, c, h, w).
// Grid: (chunks, c) workgroups of WG. Mirrors ref_batchnorm_apply (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) readonly buffer Part { float part[]; };
layout(std430, binding = 4) buffer RunMean { float run_mean[]; };
layout(std430, binding = 5) buffer RunVar { float run_var[]; };
layout(std430, binding = 6) writeonly buffer SaveMean { float save_mean[]; };
layout(std430, binding = 7) writeonly buffer SaveInvstd { float save_invstd[]; };
layout(std430, binding = 8) writeonly buffer Y { float y[]; };

shared float s_n[WG], s_mean[WG], s_m2[WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;

    // Each invocation merges chunks tid, tid + WG, ... (usually just one: chunks <= WG).
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint q = tid; q < pc.p.chunks; q += WG) {
        uint o = 2 * (c * pc.p.chunks + q);
        bn_chan_merge(n, mean, m2, bn_chunk_count(q, pc.p.chunk, pc.p.m), part[o], part[o + 1]);
    }
    s_n[tid] = n;
    s_mean[tid] = mean;
    s_m2[tid] = m2;
    barrier();
    // Only the first min(chunks, WG) slots hold summaries: the tree starts there (a uniform
    // bound, so every workgroup of every channel still merges in the same order).
    for (uint len = min(pc.p.chunks, WG); len > 1;) {
        uint half_len = (len + 1) / 2;
        if (tid < len - half_len) {
            float na = s_n[tid], ma = s_mean[tid], m2a = s_m2[tid];
            bn_chan_merge(na, ma, m2a, s_n[tid + half_len], s_mean[tid + half_len],
                          s_m2[tid + half_len]);
            s_n[tid] = na;
            s_mean[tid] = ma;
            s_m2[tid] = m2a;
        }
        barrier();
        len = half_len;
    }
    mean = s_mean[0];
    m2 = s_m2[0];
    float invstd = inversesqrt(m2 / float(pc.p.m) + pc.p.eps);
    float scale = gamma[c] * invstd, shift = beta[c];

    if (k == 0 && tid == 0) {
        float mom = pc.p.momentum;
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        run_mean[c] = (1.0 - mom) * run_mean[c] + mom * mean;
        run_var[c] = (1.0 - mom) * run_var[c] + mom * (m2 / float(pc.p.m - 1));
    }

    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    for (uint j = j0 + tid; j < j1; j += WG) {
        uint i = bn_addr(j, c, pc.p.c, pc.p.hw);
        y[i] = (x[i] - mean) * scale + shift;
    }
}
