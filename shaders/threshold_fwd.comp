#version 450
// threshold_fwd: y = x >= h ? x : 0 (h > 0; the backward is relu_bwd on y).
// Bindings: 0 x, 1 y (count floats each). Grid: 1-D over count. Mirrors ref_threshold_fwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_threshold_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer Y { float y[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    y[i] = x[i] >= pc.p.h ? x[i] : 0.0;
}
