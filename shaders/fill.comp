#version 450
// fill: out[i] = slot >= 0 ? step[slot] : value. Seeds loss gradients with their weight (read
// from the step-parameter buffer, so weights can change without re-recording) and zero-fills.
// Bindings: 0 step parameters (VKD_SP_COUNT floats), 1 out (count floats).
// Grid: 1-D over count (vkd_rec_groups_1d). Mirrors ref_fill_fwd (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_fill_params p; } pc;
layout(std430, binding = 0) readonly buffer Step { float step[]; };
layout(std430, binding = 1) writeonly buffer Out { float dst[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    dst[i] = pc.p.slot >= 0 ? step[pc.p.slot] : pc.p.value;
}
