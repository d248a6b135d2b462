#version 450
// avgpool_global_bwd: dx[p][i] = (acc ? dx[p][i] : 0) + dy[p] / (h w).
// Bindings: 0 dy (nc), 1 dx (nc * h * w). Grid: 1-D over nc*h*w.
// Mirrors ref_avgpool_global_bwd (engine/ops/pool.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer DX { float dx[]; };

void main()
{
    uint i = vkd_gid();
    uint hw = pc.p.h * pc.p.w;
    if (i >= pc.p.nc * hw)
        return;
    float g = dy[i / hw] / float(hw);
    dx[i] = pc.p.acc != 0u ? dx[i] + g : g;
}
