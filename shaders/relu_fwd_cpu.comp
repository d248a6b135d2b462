#version 450
// relu_fwd_cpu: relu_fwd for CPU devices (shaders/eltwise.h): y = max(x, 0), a vec4 per
// invocation; the invocation after the last whole vec4 does the count % 4 left over.
// Bindings: 0 x, 1 y (count floats each). Grid: 1-D over ceil(count / 4). Mirrors ref_relu_fwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 0) readonly buffer X4 { vec4 x4[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };
layout(std430, binding = 1) writeonly buffer Y4 { vec4 y4[]; };

void main()
{
    uint i = vkd_gid(), q = pc.p.count / 4;
    if (i < q)
        y4[i] = max(x4[i], vec4(0.0));
    else if (i == q)
        for (uint e = 4 * q; e < pc.p.count; e++)
            y[e] = max(x[e], 0.0);
}
