#version 450
// batchnorm_bwd_reduce: backward, pass 1 of 2. For one chunk of one channel, the two sums the
// gradients need, with xhat = (x - mean) * invstd:
//     sum dy,   sum dy * xhat   (= invstd * sum dy * (x - mean): one multiply per chunk)
// mean/invstd are the saved batch statistics (training) or the running statistics (eval:
// stats_is_var, the second buffer holds running_var and invstd = 1/sqrt(var + eps)).
// Per-invocation sums, then a fixed-order tree in shared memory: deterministic.
// Bindings: 0 x (n, c, h, w), 1 dy (n, c, h, w), 2 mean (c), 3 invstd or var (c),
// 4 partials (c, chunks, 2): (sum dy, sum dy * xhat) of each chunk.
// Grid: (chunks, c) workgroups of WG. Mirrors ref_batchnorm_bwd_reduce (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean_in[]; };
layout(std430, binding = 3) readonly buffer Stat { float stat_in[]; };
layout(std430, binding = 4) writeonly buffer Part { float part[]; };

shared float s_dy[WG], s_dyx[WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float mean = mean_in[c];
    float invstd = pc.p.stats_is_var != 0u ? inversesqrt(stat_in[c] + pc.p.eps) : stat_in[c];

    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    float sdy = 0.0, sdyx = 0.0;
    for (uint j = j0 + tid; j < j1; j += WG) {
        uint i = bn_addr(j, c, pc.p.c, pc.p.hw);
        float g = dy[i];
        sdy += g;
        sdyx += g * (x[i] - mean);
    }
    s_dy[tid] = sdy;
    s_dyx[tid] = sdyx;
    barrier();
    for (uint len = WG; len > 1;) {
        uint half_len = (len + 1) / 2;
        if (tid < len - half_len) {
            s_dy[tid] += s_dy[tid + half_len];
            s_dyx[tid] += s_dyx[tid + half_len];
        }
        barrier();
        len = half_len;
    }
    if (tid == 0) {
        uint o = 2 * (c * pc.p.chunks + k);
        part[o] = s_dy[0];
        part[o + 1] = s_dyx[0] * invstd;
    }
}
