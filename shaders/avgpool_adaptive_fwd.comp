#version 450
// avgpool_adaptive_fwd: y[p][i][j] = the mean of x[p] over rows [hs, he) and columns [ws, we),
// hs = floor(i h / oh), he = ceil((i + 1) h / oh), ws, we likewise from (j, w, ow): PyTorch's
// adaptive_avg_pool2d (sum, then one division by the bin's area). One invocation per output
// element sums its bin row by row (a fixed order: deterministic).
// Bindings: 0 x (nc * h * w), 1 y (nc * oh * ow). Grid: 1-D over nc * oh * ow.
// Mirrors ref_avgpool_adaptive_fwd (engine/ops/pool.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_adaptive_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    uint o = vkd_gid();
    uint h = pc.p.h, w = pc.p.w, oh = pc.p.oh, ow = pc.p.ow;
    if (o >= pc.p.nc * oh * ow)
        return;
    uint j = o % ow, i = (o / ow) % oh, plane = o / (oh * ow);
    uint hs = i * h / oh, he = ((i + 1u) * h + oh - 1u) / oh;
    uint ws = j * w / ow, we = ((j + 1u) * w + ow - 1u) / ow;
    float s = 0.0;
    for (uint r = hs; r < he; r++)
        for (uint c = ws; c < we; c++)
            s += x[(plane * h + r) * w + c];
    y[o] = s / float((he - hs) * (we - ws));
}
