#version 450
// copy_cpu: copy for CPU devices (shaders/eltwise.h): dst = (acc ? dst : 0) + src, a vec4 per
// invocation; the invocation after the last whole vec4 does the count % 4 left over.
// Bindings: 0 src (count floats), 1 dst (count floats). Grid: 1-D over ceil(count / 4).
// Mirrors ref_copy_fwd (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_copy_params p; } pc;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 0) readonly buffer Src4 { vec4 src4[]; };
layout(std430, binding = 1) buffer Dst { float dst[]; };
layout(std430, binding = 1) buffer Dst4 { vec4 dst4[]; };

void main()
{
    uint i = vkd_gid(), q = pc.p.count / 4;
    if (i < q)
        dst4[i] = pc.p.acc != 0u ? dst4[i] + src4[i] : src4[i];
    else if (i == q)
        for (uint e = 4 * q; e < pc.p.count; e++)
            dst[e] = pc.p.acc != 0u ? dst[e] + src[e] : src[e];
}
