#version 450
// batchnorm_apply_cpu: batchnorm_apply for CPU devices (shaders/batchnorm.h): every workgroup
// merges its channel's chunk summaries (Chan: lane l takes chunks l, l + L, ... in order, then
// the fixed butterfly of batchnorm_cpu.glsl, so every workgroup of the channel gets the same
// bits) into mean and var = M2 / m, and normalises its chunk:
//     y = (x - mean) * (gamma / sqrt(var + eps)) + beta.
// Lane 0 of chunk 0 saves mean and 1/std and updates the running statistics with the unbiased
// variance M2 / (m - 1) (the builder guarantees m > 1), as batchnorm_apply does.
// Bindings: 0 x (n, c, h, w), 1 gamma (c), 2 beta (c), 3 partials (c, chunks, 2) from
// batchnorm_stats_cpu, 4 running_mean (c), 5 running_var (c), 6 saved mean (c), 7 saved 1/std
// (c), 8 y (n, c, h, w).
// Grid: (chunks, c) workgroups of VKD_BN_CPU_WG. Mirrors ref_batchnorm_apply
// (engine/ops/batchnorm.c).
#include "common.glsl"
#include "batchnorm.glsl"
layout(local_size_x = VKD_BN_CPU_WG) in;
layout(push_constant) uniform PC { vkd_batchnorm_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) readonly buffer Gamma { float gamma[]; };
layout(std430, binding = 2) readonly buffer Beta { float beta[]; };
layout(std430, binding = 3) readonly buffer Part { float part[]; };
layout(std430, binding = 4) buffer RunMean { float run_mean[]; };
layout(std430, binding = 5) buffer RunVar { float run_var[]; };
layout(std430, binding = 6) writeonly buffer SaveMean { float save_mean[]; };
layout(std430, binding = 7) writeonly buffer SaveInvstd { float save_invstd[]; };
layout(std430, binding = 8) writeonly buffer Y { float y[]; };
layout(std430, binding = 8) writeonly buffer Y4 { vec4 y4[]; };
#define BN_PART(o) part[o]
#include "batchnorm_cpu.glsl"

void main()
{
    uint k = gl_WorkGroupID.x, c = gl_WorkGroupID.y;
    vec2 st = bn_merge_chunks(c, pc.p.chunks, pc.p.chunk, pc.p.m);
    float mean = st.x, m2 = st.y;
    float invstd = inversesqrt(m2 / float(pc.p.m) + pc.p.eps);
    float scale = gamma[c] * invstd, shift = beta[c];

    if (k == 0 && bn_lane() == 0) {
        float mom = pc.p.momentum;
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        run_mean[c] = (1.0 - mom) * run_mean[c] + mom * mean;
        run_var[c] = (1.0 - mom) * run_var[c] + mom * (m2 / float(pc.p.m - 1));
    }

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
