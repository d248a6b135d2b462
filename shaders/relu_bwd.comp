#version 450
// relu_bwd: dx = (acc ? dx : 0) + (y > 0 ? dy : 0). The mask comes from the output y (y > 0
// exactly when x > 0), as PyTorch does, so x need not be kept.
// Bindings: 0 y, 1 dy, 2 dx (count floats each). Grid: 1-D over count. Mirrors ref_relu_bwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float g = y[i] > 0.0 ? dy[i] : 0.0;
    dx[i] = pc.p.acc != 0u ? dx[i] + g : g;
}
