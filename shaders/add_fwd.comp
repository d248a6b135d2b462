#version 450
// add_fwd: y = a + b (the residual add). Its backward is two copies (copy.comp).
// Bindings: 0 a, 1 b, 2 y (count floats each). Grid: 1-D over count. Mirrors ref_add_fwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    y[i] = a[i] + b[i];
}
