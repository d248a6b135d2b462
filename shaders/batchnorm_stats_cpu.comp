#version 450
// batchnorm_stats_cpu: batchnorm_stats for CPU devices (shaders/batchnorm.h): the same chunk
// summaries, (mean, M2) of the chunk's values of the channel. Each lane runs Welford's update
// over its strided share (values j0 + lane, j0 + lane + L, ...), then the lanes merge (Chan) in
// a fixed butterfly (batchnorm_cpu.glsl): deterministic, and accurate even when |mean| >> std.
// When planes and chunks are whole vec4s (bn_quads), a lane's share is every L-th vec4 and it
// keeps four summaries (one per component), merged before the lanes are.
// Bindings: 0 x (n, c, h, w), 1 partials (c, chunks, 2): (mean, M2) of each chunk.
// Grid: (chunks, c) workgroups of VKD_BN_CPU_WG. Mirrors ref_batchnorm_stats
// (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x = VKD_BN_CPU_WG) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Part { float part[]; };
#include "batchnorm_cpu.glsl"

void main()
{
    uint k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);

    float n = 0.0, mean = 0.0, m2 = 0.0;
    if (bn_quads(pc.p.hw, pc.p.chunk)) {
        vec4 mean4 = vec4(0.0), m24 = vec4(0.0);
        bn_walk w = bn_walk_start(j0 / 4 + bn_lane(), c, pc.p.c, pc.p.hw / 4);
        for (uint j = j0 / 4 + bn_lane(); j < j1 / 4; j += L) {
            vec4 v = x4[w.addr];
            n += 1.0;
            vec4 d = v - mean4;
            mean4 += d / n;
            m24 += d * (v - mean4);
            bn_walk_next(w);
        }
        bn_quad_merge(n, mean4, m24, mean, m2);
    } else {
        bn_walk w = bn_walk_start(j0 + bn_lane(), c, pc.p.c, pc.p.hw);
        for (uint j = j0 + bn_lane(); j < j1; j += L) {
            float v = x[w.addr];
            n += 1.0;
            float d = v - mean;
            mean += d / n;
            m2 += d * (v - mean);
            bn_walk_next(w);
        }
    }
    bn_lanes_merge(n, mean, m2);
    if (bn_lane() == 0) {
        uint o = 2 * (c * pc.p.chunks + k);
        part[o] = mean;
        part[o + 1] = m2;
    }
}
