#version 450
// avgpool_adaptive_bwd: dx[p][r][c] = (acc ? dx : 0) + sum over the bins (i, j) that hold
// (r, c) of dy[p][i][j] / area(i, j). A gather, so each dx element has one writer and a fixed
// summation order (deterministic, no atomics). Row r lies in the bins i with
// floor(i h / oh) <= r < ceil((i + 1) h / oh), i.e. i in [floor(r oh / h), ceil((r + 1) oh / h))
// (start(i) <= r <=> i h / oh < r + 1; end(i) > r <=> (i + 1) h / oh > r), columns likewise.
// Bindings: 0 dy (nc * oh * ow), 1 dx (nc * h * w). Grid: 1-D over nc * h * w.
// Mirrors ref_avgpool_adaptive_bwd (engine/ops/pool.c), which scatters instead.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_adaptive_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) buffer DX { float dx[]; };

void main()
{
    uint e = vkd_gid();
    uint h = pc.p.h, w = pc.p.w, oh = pc.p.oh, ow = pc.p.ow;
    if (e >= pc.p.nc * h * w)
        return;
    uint c = e % w, r = (e / w) % h, plane = e / (h * w);
    uint i0 = r * oh / h, i1 = min(((r + 1u) * oh + h - 1u) / h, oh);
    uint j0 = c * ow / w, j1 = min(((c + 1u) * ow + w - 1u) / w, ow);
    float g = 0.0;
    for (uint i = i0; i < i1; i++) {
        uint rows = ((i + 1u) * h + oh - 1u) / oh - i * h / oh;
        for (uint j = j0; j < j1; j++) {
            uint cols = ((j + 1u) * w + ow - 1u) / ow - j * w / ow;
            g += dy[(plane * oh + i) * ow + j] / float(rows * cols);
        }
    }
    dx[e] = pc.p.acc != 0u ? dx[e] + g : g;
}
