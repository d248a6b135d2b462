#version 450
// avgpool_global_fwd: y[p] = (1 / (h w)) sum_{i < h w} x[p][i] for each plane p = (n, c), as
// F.adaptive_avg_pool2d(x, 1). One subgroup-free workgroup of 64 per plane: each invocation sums
// a strided slice, then a fixed-order tree in shared memory (deterministic).
// Bindings: 0 x (nc * h * w), 1 y (nc). Grid: nc workgroups, folded into (x, y).
// Mirrors ref_avgpool_global_fwd (engine/ops/pool.c).
#include "common.glsl"
#define POOL_WG 64
layout(local_size_x = POOL_WG) in;
layout(push_constant) uniform PC { vkd_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

shared float s_sum[POOL_WG];

void main()
{
    uint plane = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    uint tid = gl_LocalInvocationID.x;
    uint hw = pc.p.h * pc.p.w;
    bool live = plane < pc.p.nc;
    float s = 0.0;
    if (live)
        for (uint i = tid; i < hw; i += POOL_WG)
            s += x[plane * hw + i];
    s_sum[tid] = s;
    barrier();
    for (uint h = POOL_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_sum[tid] += s_sum[tid + h];
        barrier();
    }
    if (live && tid == 0u)
        y[plane] = s_sum[0] / float(hw);
}
