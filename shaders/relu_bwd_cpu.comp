#version 450
// relu_bwd_cpu: relu_bwd for CPU devices (shaders/eltwise.h): dx = (acc ? dx : 0) +
// (y > 0 ? dy : 0), the mask from the output y, a vec4 per invocation (a select, not a multiply
// by the mask: an infinite dy where y <= 0 gives 0, as relu_bwd does); the invocation after the
// last whole vec4 does the count % 4 left over.
// Bindings: 0 y, 1 dy, 2 dx (count floats each). Grid: 1-D over ceil(count / 4).
// Mirrors ref_relu_bwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_eltwise_params p; } pc;
layout(std430, binding = 0) readonly buffer Y { float y[]; };
layout(std430, binding = 0) readonly buffer Y4 { vec4 y4[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer DY4 { vec4 dy4[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };
layout(std430, binding = 2) buffer DX4 { vec4 dx4[]; };

void main()
{
    uint i = vkd_gid(), q = pc.p.count / 4;
    if (i < q) {
        vec4 g = mix(vec4(0.0), dy4[i], greaterThan(y4[i], vec4(0.0)));
        dx4[i] = pc.p.acc != 0u ? dx4[i] + g : g;
    } else if (i == q) {
        for (uint e = 4 * q; e < pc.p.count; e++) {
            float g = y[e] > 0.0 ? dy[e] : 0.0;
            dx[e] = pc.p.acc != 0u ? dx[e] + g : g;
        }
    }
}
