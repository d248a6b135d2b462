#version 450
// copy: dst[i] = (acc ? dst[i] : 0) + src[i]. Forward of copy; backward of copy and add (the
// gradient of each addend is the output gradient, accumulated when the addend feeds other nodes).
// Bindings: 0 src (count floats), 1 dst (count floats).
// Grid: 1-D over count. Mirrors ref_copy_fwd (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_copy_params p; } pc;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) buffer Dst { float dst[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    dst[i] = pc.p.acc != 0u ? dst[i] + src[i] : src[i];
}
