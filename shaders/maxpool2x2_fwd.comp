#version 450
// maxpool2x2_fwd: y[p][r][q] = max of the 2x2 window x[p][2r..2r+1][2q..2q+1] (stride 2, floor:
// an odd last row or column is not read), as nn.MaxPool2d(2, 2). The scan is row-major with
// "v > best || isnan(v)", PyTorch's rule: the first maximum wins, and a NaN propagates.
// Bindings: 0 x (nc * h * w), 1 y (nc * (h/2) * (w/2)). Grid: 1-D over the outputs.
// Mirrors ref_maxpool2x2_fwd (engine/ops/pool.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    uint i = vkd_gid();
    uint oh = pc.p.h / 2u, ow = pc.p.w / 2u;
    if (i >= pc.p.nc * oh * ow)
        return;
    uint q = i % ow, r = (i / ow) % oh, plane = i / (ow * oh);
    uint base = (plane * pc.p.h + 2u * r) * pc.p.w + 2u * q;
    float best = x[base];
    for (uint k = 1u; k < 4u; k++) {
        float v = x[base + (k >> 1) * pc.p.w + (k & 1u)];
        if (v > best || isnan(v))
            best = v;
    }
    y[i] = best;
}
