#version 450
// conv2d_bwd_wsum_cpu: conv2d_bwd_wsum (same result, same bindings) for CPU devices (see
// shaders/conv2d.h), where the CPU-device weight kernel leaves only a few splits and the lane
// groups of conv2d_bwd_wsum would cost a barrier each. One invocation per output adds the
// splits in order z = 0, 1, ...:
//   v = sum over z < splits of part[z][k][col]
//   col < cols - bias: dw[k][col] (+)= v   (when pc.p.want_w; += when pc.p.acc)
//   col = cols - 1 with pc.p.bias: db[k] (+)= v   (+= when pc.p.acc_b)
// with cols = (c / groups) r s + bias.
// Bindings: 0 part (splits k cols), 1 dw (k cg r s), 2 db (k; untouched when pc.p.bias == 0).
// Grid: ceil(k cols / WG) workgroups folded into (x, y); WG = 64.
// Mirrors the sums of ref_conv2d_bwd_weight (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x = VKD_CONV_CPU_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer Part { float part[]; };
layout(std430, binding = 1) restrict buffer DW { float dw[]; };
layout(std430, binding = 2) restrict buffer DB { float db[]; };

void main()
{
    uint crs = pc.p.c / pc.p.groups * pc.p.r * pc.p.s, cols = crs + pc.p.bias;
    uint kc = pc.p.k * cols;
    uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * VKD_CONV_CPU_WG +
             gl_LocalInvocationIndex;
    if (i >= kc)
        return;
    float v = 0.0;
    for (uint z = 0; z < pc.p.splits; z++)
        v += part[z * kc + i];
    uint k = i / cols, col = i % cols;
    if (col < crs) {
        if (pc.p.want_w != 0u) {
            uint w = k * crs + col;
            dw[w] = pc.p.acc != 0u ? dw[w] + v : v;
        }
    } else {
        db[k] = pc.p.acc_b != 0u ? db[k] + v : v;
    }
}
