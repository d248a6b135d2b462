#version 450
// batchnorm_eval: evaluation forward, normalising with the running statistics (nothing is
// updated):  y = (x - running_mean) * (gamma / sqrt(running_var + eps)) + beta.
// Bindings: 0 x (n, c, h, w), 1 gamma (c), 2 beta (c), 3 running_mean (c), 4 running_var (c),
// 5 y (n, c, h, w).
// Grid: (chunks, c) workgroups of WG. Mirrors ref_batchnorm_eval (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) readonly buffer RunMean { float run_mean[]; };
layout(std430, binding = 4) readonly buffer RunVar { float run_var[]; };
layout(std430, binding = 5) writeonly buffer Y { float y[]; };

void main()
{
    uint tid = gl_LocalInvocationID.x, k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    float mean = run_mean[c];
    float scale = gamma[c] * inversesqrt(run_var[c] + pc.p.eps), shift = beta[c];
    uint j0 = k * pc.p.chunk, j1 = min(j0 + pc.p.chunk, pc.p.m);
    for (uint j = j0 + tid; j < j1; j += WG) {
        uint i = bn_addr(j, c, pc.p.c, pc.p.hw);
        y[i] = (x[i] - mean) * scale + shift;
    }
}
