#version 450
// conv2d_bwd_wsum: adds the split partial sums of conv2d_bwd_weight / conv2d_dw_bwd_weight in a
// fixed order (split 0 first), so the weight gradient is deterministic:
//   v = sum over z < splits of part[z][k][col]
//   col < cols - bias: dw[k][col] (+)= v   (when pc.p.want_w; += when pc.p.acc)
//   col = cols - 1 with pc.p.bias: db[k] (+)= v   (+= when pc.p.acc_b)
// with cols = (c / groups) r s + bias.
// Bindings: 0 part (splits k cols), 1 dw (k cg r s), 2 db (k; untouched when pc.p.bias == 0).
// Grid: 1-D over k cols. Mirrors the sums of ref_conv2d_bwd_weight (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) readonly buffer Part { float part[]; };
layout(std430, binding = 1) buffer DW { float dw[]; };
layout(std430, binding = 2) buffer DB { float db[]; };

void main()
{
    uint crs = pc.p.c / pc.p.groups * pc.p.r * pc.p.s, cols = crs + pc.p.bias;
    uint i = vkd_gid(), k = i / cols, col = i % cols, kc = pc.p.k * cols;
    if (i >= kc)
        return;
    float v = 0.0;
    for (uint z = 0; z < pc.p.splits; z++)
        v += part[z * kc + i];
    if (col < crs) {
        if (pc.p.want_w != 0u) {
            uint o = k * crs + col;
            dw[o] = pc.p.acc != 0u ? dw[o] + v : v;
        }
    } else {
        db[k] = pc.p.acc_b != 0u ? db[k] + v : v;
    }
}
