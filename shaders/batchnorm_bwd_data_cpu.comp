#version 450
// batchnorm_bwd_data_cpu: batchnorm_bwd_data for CPU devices (shaders/batchnorm.h). Every
// workgroup sums its channel's chunk partials (lane l takes chunks l, l + L, ... in order, then
// the fixed butterfly of batchnorm_cpu.glsl: the same bits in every workgroup of the channel)
// into
//     dbeta = sum dy,   dgamma = sum dy * xhat;
// lane 0 of chunk 0 writes dgamma and dbeta (those that exist, honouring acc), and every
// workgroup writes dx for its chunk (when x has a gradient):
//     training: dx = gamma * invstd * (dy - dbeta / m - xhat * dgamma / m)
//     eval:     dx = gamma * invstd * dy            (running statistics are constants)
// with xhat = (x - mean) * invstd. Gradients that do not exist (has_* = 0) are bound to a
// placeholder buffer that is never accessed; without has_sums the partials are not read either.
// Bindings: 0 x (n, c, h, w), 1 dy (n, c, h, w), 2 gamma (c), 3 mean (c), 4 invstd or var (c),
// 5 partials (c, chunks, 2) from batchnorm_bwd_reduce_cpu, 6 dx (n, c, h, w), 7 dgamma (c),
// 8 dbeta (c).
// Grid: (chunks, c) workgroups of VKD_BN_CPU_WG. Mirrors ref_batchnorm_bwd_data
// (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x = VKD_BN_CPU_WG) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 2) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 3) readonly buffer Mean { float mean_in[]; };
layout(std430, binding = 4) readonly buffer Stat { float stat_in[]; };
layout(std430, binding = 5) readonly buffer Part { float part[]; };
layout(std430, binding = 6) buffer DX { float dx[]; };
layout(std430, binding = 6) buffer DX4 { vec4 dx4[]; };
layout(std430, binding = 7) buffer DGamma { float dgamma[]; };
layout(std430, binding = 8) buffer DBeta { float dbeta[]; };
#define BN_PART(o) part[o]
#include "batchnorm_cpu.glsl"

void main()
{
    uint k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float sum_dy = 0.0, sum_dyx = 0.0;
    // has_sums is a push constant: the lanes' shuffles stay in uniform control flow.
    if (pc.p.has_sums != 0u) {
        vec2 s = bn_sum_chunks(c, pc.p.chunks);
        sum_dy = s.x;
        sum_dyx = s.y;
        if (k == 0 && bn_lane() == 0) {
            if (pc.p.has_dgamma != 0u)
                dgamma[c] = pc.p.acc_dgamma != 0u ? dgamma[c] + sum_dyx : sum_dyx;
            if (pc.p.has_dbeta != 0u)
                dbeta[c] = pc.p.acc_dbeta != 0u ? dbeta[c] + sum_dy : sum_dy;
        }
    }
    if (pc.p.has_dx == 0u)
        return;

    float mean = mean_in[c];
    float invstd = pc.p.stats_is_var != 0u ? inversesqrt(stat_in[c] + pc.p.eps) : stat_in[c];
    float a = gamma[c] * invstd;
    // Training: dx = a * (dy - b - (x - mean) * kx), the two means folded into b and kx.
    // Eval: b = kx = 0.
    float inv_m = 1.0 / float(pc.p.m);
    float b = pc.p.training != 0u ? sum_dy * inv_m : 0.0;
    float kx = pc.p.training != 0u ? sum_dyx * inv_m * invstd : 0.0;
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    // acc_dx is uniform: one loop per case keeps the select out of the loop.
    if (bn_quads(pc.p.hw, pc.p.chunk)) { // vec4s (batchnorm_cpu.glsl)
        bn_walk w = bn_walk_start(j0 / 4 + bn_lane(), c, pc.p.c, pc.p.hw / 4);
        if (pc.p.acc_dx != 0u) {
            for (uint j = j0 / 4 + bn_lane(); j < j1 / 4; j += L) {
                dx4[w.addr] += a * (dy4[w.addr] - b - (x4[w.addr] - mean) * kx);
                bn_walk_next(w);
            }
        } else {
            for (uint j = j0 / 4 + bn_lane(); j < j1 / 4; j += L) {
                dx4[w.addr] = a * (dy4[w.addr] - b - (x4[w.addr] - mean) * kx);
                bn_walk_next(w);
            }
        }
        return;
    }
    bn_walk w = bn_walk_start(j0 + bn_lane(), c, pc.p.c, pc.p.hw);
    if (pc.p.acc_dx != 0u) {
        for (uint j = j0 + bn_lane(); j < j1; j += L) {
            dx[w.addr] += a * (dy[w.addr] - b - (x[w.addr] - mean) * kx);
            bn_walk_next(w);
        }
    } else {
        for (uint j = j0 + bn_lane(); j < j1; j += L) {
            dx[w.addr] = a * (dy[w.addr] - b - (x[w.addr] - mean) * kx);
            bn_walk_next(w);
        }
    }
}
