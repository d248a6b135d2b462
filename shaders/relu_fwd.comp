#version 450
// relu_fwd: y = max(x, 0).
// Bindings: 0 x, 1 y (count floats each). Grid: 1-D over count. Mirrors ref_relu_fwd.
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
    y[i] = max(x[i], 0.0);
}
