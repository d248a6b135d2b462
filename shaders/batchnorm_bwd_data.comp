#version 450
// batchnorm_bwd_data: backward, pass 2 of 2. Every workgroup sums its channel's chunk partials
// (fixed tree order: bit-identical in every workgroup of the channel) into
//     dbeta = sum dy,   dgamma = sum dy * xhat;
// the workgroup of chunk 0 writes dgamma and dbeta (those that exist, honouring acc), and every
// workgroup writes dx for its chunk (when x has a gradient):
//     training: dx = gamma * invstd * (dy - dbeta / m - xhat * dgamma / m)
//     eval:     dx = gamma * invstd * dy            (running statistics are constants)
// with xhat = (x - mean) * invstd. Gradients that do not exist (has_* = 0) are bound to a
// placeholder buffer that is never accessed; without has_sums the partials are not read either.
// Bindings: 0 x (n, c, h, w), 1 dy (n, c, h, w), 2 gamma (c), 3 mean (c), 4 invstd or var (c),
// 5 partials (c, chunks, 2) from batchnorm_bwd_reduce, 6 dx (n, c, h, w), 7 dgamma (c),
// 8 dbeta (c).
// Grid: (chunks, c) workgroups of WG. Mirrors ref_batchnorm_bwd_data (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Mean { float mean_in[]; };
layout(std430, binding = 4) readonly buffer Stat { float stat_in[]; };
layout(std430, binding = 5) readonly buffer Part { float part[]; };
layout(std430, binding = 6) buffer DX { float dx[]; };
layout(std430, binding = 7) buffer DGamma { float dgamma[]; };
layout(std430, binding = 8) buffer DBeta { float dbeta[]; };

shared float s_dy[WG], s_dyx[WG];

void main()
{
    uint tid = gl_LocalInvocationID.x, k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float sum_dy = 0.0, sum_dyx = 0.0;
    // has_sums comes from a push constant: the barriers below are in uniform control flow.
    if (pc.p.has_sums != 0u) {
        float a = 0.0, b = 0.0;
        for (uint q = tid; q < pc.p.chunks; q += WG) {
            uint o = 2 * (c * pc.p.chunks + q);
            a += part[o];
            b += part[o + 1];
        }
        s_dy[tid] = a;
        s_dyx[tid] = b;
        barrier();
        // Only the first min(chunks, WG) slots hold sums: the tree starts there.
        for (uint len = min(pc.p.chunks, WG); len > 1;) {
            uint half_len = (len + 1) / 2;
            if (tid < len - half_len) {
                s_dy[tid] += s_dy[tid + half_len];
                s_dyx[tid] += s_dyx[tid + half_len];
            }
            barrier();
            len = half_len;
        }
        sum_dy = s_dy[0];
        sum_dyx = s_dyx[0];
        if (k == 0 && tid == 0) {
            if (pc.p.has_dgamma != 0u)
                dgamma[c] = pc.p.acc_dgamma != 0u ? dgamma[c] + sum_dyx : sum_dyx;
            if (pc.p.has_dbeta != 0u)
                dbeta[c] = pc.p.acc_dbeta != 0u ? dbeta[c] + sum_dy : sum_dy;
        }
    }
    if (pc.p.has_dx == 0u)
        return; // after the last barrier

    float mean = mean_in[c];
    float invstd = pc.p.stats_is_var != 0u ? inversesqrt(stat_in[c] + pc.p.eps) : stat_in[c];
    float a = gamma[c] * invstd;
    // Training: dx = a * (dy - b - (x - mean) * kx), the two means folded into b and kx.
    // Eval: b = kx = 0.
    float inv_m = 1.0 / float(pc.p.m);
    float b = pc.p.training != 0u ? sum_dy * inv_m : 0.0;
    float kx = pc.p.training != 0u ? sum_dyx * inv_m * invstd : 0.0;
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    for (uint j = j0 + tid; j < j1; j += WG) {
        uint i = bn_addr(j, c, pc.p.c, pc.p.hw);
        float g = a * (dy[i] - b - (x[i] - mean) * kx);
        dx[i] = pc.p.acc_dx != 0u ? dx[i] + g : g;
    }
}
