#version 450
// sigmoid_bwd: dx = (acc ? dx : 0) + dy * s(x) (1 - s(x)), with s(x) (1 - s(x)) evaluated from
// x as e / (1 + e)^2, e = exp(-|x|) (sigmoid' is even). The usual y (1 - y) loses everything
// once y rounds to 1 in fp32 (x > 17: PyTorch's fp32 gradient is then exactly 0); this form
// keeps the relative precision of the tiny gradient, e.g. 9.4e-14 at x = +-30.
// Bindings: 0 x, 1 dy, 2 dx (count floats each). Grid: 1-D over count. Mirrors ref_sigmoid_bwd
// (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float e = exp(-abs(x[i]));
    float d = 1.0 + e;
    float g = dy[i] * (e / (d * d));
    dx[i] = pc.p.acc != 0u ? dx[i] + g : g;
}
