#version 450
// batchnorm_stats: training forward, pass 1 of 2. For one chunk of one channel: the mean and
// M2 = sum (x - mean)^2 of the chunk's values. Each invocation runs Welford's update over its
// strided share, then the workgroup merges the summaries pairwise (Chan) in a fixed tree order:
// deterministic, and accurate even when |mean| >> std (no sum of squares minus a squared sum).
// Bindings: 0 x (n, c, h, w), 1 partials (c, chunks, 2): (mean, M2) of each chunk.
// Grid: (chunks, c) workgroups of WG. Mirrors ref_batchnorm_stats (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Part { float part[]; };

shared float s_n[WG], s_mean[WG], s_m2[WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);

    // Consecutive invocations read consecutive values of a plane: coalesced.
    float n = 0.0, mean = 0.0, m2 = 0.0;
    for (uint j = j0 + tid; j < j1; j += WG) {
        float v = x[bn_addr(j, c, pc.p.c, pc.p.hw)];
        n += 1.0;
        float d = v - mean;
        mean += d / n;
        m2 += d * (v - mean);
    }
    s_n[tid] = n;
    s_mean[tid] = mean;
    s_m2[tid] = m2;
    barrier();

    // Tree merge for any WG (not only powers of two): the upper half folds onto the lower.
    for (uint len = WG; len > 1;) {
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
    if (tid == 0) {
        uint o = 2 * (c * pc.p.chunks + k);
        part[o] = s_mean[0];
        part[o + 1] = s_m2[0];
    }
}
