#version 450
// conv2d_bwd_wsum: adds the split partial sums of conv2d_bwd_weight / conv2d_dw_bwd_weight in a
// fixed order, so the weight gradient is the same bit for bit on every run:
//   v = sum over z < splits of part[z][k][col]
//   col < cols - bias: dw[k][col] (+)= v   (when pc.p.want_w; += when pc.p.acc)
//   col = cols - 1 with pc.p.bias: db[k] (+)= v   (+= when pc.p.acc_b)
// with cols = (c / groups) r s + bias. The splits are hundreds for a large layer while k cols is
// a few thousand, so one invocation per output would be a handful of long serial loops: each
// output instead gets LANES invocations that take every LANES-th split, and their sums are added
// in lane order.
// Bindings: 0 part (splits k cols), 1 dw (k cg r s), 2 db (k; untouched when pc.p.bias == 0).
// Grid: 1-D over ceil(k cols / OUTS) workgroups, folded into (x, y); 256 invocations = OUTS (32)
// outputs x LANES (8). Mirrors the sums of ref_conv2d_bwd_weight (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x = VKD_CONV_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer Part { float part[]; };
layout(std430, binding = 1) restrict buffer DW { float dw[]; };
layout(std430, binding = 2) restrict buffer DB { float db[]; };

const uint OUTS = VKD_CONV_WSUM_OUTS, LANES = VKD_CONV_WG / OUTS;
shared float lane_sum[LANES][OUTS];

void main()
{
    uint crs = pc.p.c / pc.p.groups * pc.p.r * pc.p.s, cols = crs + pc.p.bias;
    uint kc = pc.p.k * cols, t = gl_LocalInvocationIndex, o = t % OUTS, lane = t / OUTS;
    uint i = (gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x) * OUTS + o;
    float v = 0.0;
    if (i < kc)
        for (uint z = lane; z < pc.p.splits; z += LANES)
            v += part[z * kc + i];
    lane_sum[lane][o] = v;
    barrier();
    if (lane != 0 || i >= kc)
        return;
    v = 0.0;
    for (uint l = 0; l < LANES; l++)
        v += lane_sum[l][o];
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
