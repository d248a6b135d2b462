#version 450
// add_fwd_cpu: add_fwd for CPU devices (shaders/eltwise.h): y = a + b, a vec4 per invocation;
// the invocation after the last whole vec4 does the count % 4 left over.
// Bindings: 0 a, 1 b, 2 y (count floats each). Grid: 1-D over ceil(count / 4).
// Mirrors ref_add_fwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 0) readonly buffer A4 { vec4 a4[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 1) readonly buffer B4 { vec4 b4[]; };
layout(std430, binding = 2) writeonly buffer Y { float y[]; };
layout(std430, binding = 2) writeonly buffer Y4 { vec4 y4[]; };

void main()
{
    uint i = vkd_gid(), q = pc.p.count / 4;
    if (i < q)
        y4[i] = a4[i] + b4[i];
    else if (i == q)
        for (uint e = 4 * q; e < pc.p.count; e++)
            y[e] = a[e] + b[e];
}
