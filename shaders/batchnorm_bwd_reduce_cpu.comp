#version 450
// batchnorm_bwd_reduce_cpu: batchnorm_bwd_reduce for CPU devices (shaders/batchnorm.h): for
// one chunk of one channel, with xhat = (x - mean) * invstd,
//     sum dy,   sum dy * xhat   (= invstd * sum dy * (x - mean))
// from the saved batch statistics (training) or the running ones (eval: stats_is_var, the
// second buffer holds running_var and invstd = 1/sqrt(var + eps)). Each lane sums its strided
// share in registers (vec4s and a sum of the four components when bn_quads); the lanes add in a
// fixed butterfly (batchnorm_cpu.glsl): deterministic.
// Bindings: 0 x (n, c, h, w), 1 dy (n, c, h, w), 2 mean (c), 3 invstd or var (c),
// 4 partials (c, chunks, 2): (sum dy, sum dy * xhat) of each chunk.
// Grid: (chunks, c) workgroups of VKD_BN_CPU_WG. Mirrors ref_batchnorm_bwd_reduce
// (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x = VKD_BN_CPU_WG) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 2) readonly buffer Mean { float mean_in[]; };
layout(std430, binding = 3) readonly buffer Stat { float stat_in[]; };
layout(std430, binding = 4) writeonly buffer Part { float part[]; };
#include "batchnorm_cpu.glsl"

void main()
{
    uint k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float mean = mean_in[c];
    float invstd = pc.p.stats_is_var != 0u ? inversesqrt(stat_in[c] + pc.p.eps) : stat_in[c];

    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    float sdy = 0.0, sdyx = 0.0;
    if (bn_quads(pc.p.hw, pc.p.chunk)) {
        vec4 a = vec4(0.0), b = vec4(0.0);
        bn_walk w = bn_walk_start(j0 / 4 + bn_lane(), c, pc.p.c, pc.p.hw / 4);
        for (uint j = j0 / 4 + bn_lane(); j < j1 / 4; j += L) {
            vec4 g = dy4[w.addr];
            a += g;
            b += g * (x4[w.addr] - mean);
            bn_walk_next(w);
        }
        sdy = bn_quad_sum(a);
        sdyx = bn_quad_sum(b);
    } else {
        bn_walk w = bn_walk_start(j0 + bn_lane(), c, pc.p.c, pc.p.hw);
        for (uint j = j0 + bn_lane(); j < j1; j += L) {
            float g = dy[w.addr];
            sdy += g;
            sdyx += g * (x[w.addr] - mean);
            bn_walk_next(w);
        }
    }
    sdy = bn_lanes_sum(sdy);
    sdyx = bn_lanes_sum(sdyx);
    if (bn_lane() == 0) {
        uint o = 2 * (c * pc.p.chunks + k);
        part[o] = sdy;
        part[o + 1] = sdyx * invstd;
    }
}
