#version 450
// batchnorm_eval_cpu: batchnorm_eval for CPU devices (shaders/batchnorm.h), normalising with
// the running statistics (nothing is updated):
//     y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta.
// Bindings: 0 x (n, c, h, w), 1 gamma (c), 2 beta (c), 3 running_mean (c), 4 running_var (c),
// 5 y (n, c, h, w).
// Grid: (chunks, c) workgroups of VKD_BN_CPU_WG. Mirrors ref_batchnorm_eval
// (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x = VKD_BN_CPU_WG) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) readonly buffer RunMean { float run_mean[]; };
layout(std430, binding = 4) readonly buffer RunVar { float run_var[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };
layout(std430, binding = 5) writeonly buffer Y4 { vec4 y4[]; };
#include "batchnorm_cpu.glsl"

void main()
{
    uint k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float mean = run_mean[c];
    float scale = gamma[c] * inversesqrt(run_var[c] + pc.p.eps), shift = beta[c];
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    if (bn_quads(pc.p.hw, pc.p.chunk)) { // vec4s (batchnorm_cpu.glsl)
        bn_walk w = bn_walk_start(j0 / 4 + bn_lane(), c, pc.p.c, pc.p.hw / 4);
        for (uint j = j0 / 4 + bn_lane(); j < j1 / 4; j += L) {
            y4[w.addr] = (x4[w.addr] - mean) * scale + shift;
            bn_walk_next(w);
        }
    } else {
        bn_walk w = bn_walk_start(j0 + bn_lane(), c, pc.p.c, pc.p.hw);
        for (uint j = j0 + bn_lane(); j < j1; j += L) {
            y[w.addr] = (x[w.addr] - mean) * scale + shift;
            bn_walk_next(w);
        }
    }
}
