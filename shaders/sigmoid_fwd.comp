#version 450
// sigmoid_fwd: y = 1 / (1 + exp(-x)), evaluated through e = exp(-|x|) in (0, 1] so that no exp
// overflows for any x: y = 1 / (1 + e) for x >= 0, e / (1 + e) for x < 0 (the tiny side keeps
// its relative precision, e.g. y(-30) = 9.4e-14, not 1 - 1). A NaN x gives a NaN y.
// Bindings: 0 x, 1 y (count floats each). Grid: 1-D over count. Mirrors ref_sigmoid_fwd
// (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float v = x[i];
    float e = exp(-abs(v));
    y[i] = v >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
}
