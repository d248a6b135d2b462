#version 450
// channel_copy: copies a channel range of src into a channel range of dst (same N, H, W):
// for dst channels cd in [base, base + span), v = src[n][src_c0 + cd - dst_c0][p] when cd is in
// [dst_c0, dst_c0 + cn), else 0, and dst[n][cd][p] = (acc ? dst[n][cd][p] : 0) + v.
// One kernel for the four passes of the shape family: concat forward (each input into its
// range of y), concat backward (each range of dy into dx_i), split forward (a range of x into
// y) and split backward (dy into its range of dx, zeros elsewhere when it overwrites); and the
// same two passes of a batch slice, with a tensor read as (1, N, C*H*W, 1) (a sample = a
// "channel" of C*H*W pixels).
// Bindings: 0 src (n * src_c * hw), 1 dst (n * dst_c * hw).
// Grid: 1-D over n * span * hw. Mirrors ref_channel_copy (engine/ops/shape.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_channel_copy_params p; } pc;
layout(std430, binding = 0) readonly buffer Src { float src[]; };
layout(std430, binding = 1) buffer Dst { float dst[]; };

void main()
{
    uint i = vkd_gid();
    uint hw = pc.p.hw, span = pc.p.span;
    if (i >= pc.p.n * span * hw)
        return;
    uint q = i % hw, k = (i / hw) % span, n = i / (hw * span);
    uint cd = pc.p.base + k;
    float v = 0.0;
    if (cd >= pc.p.dst_c0 && cd < pc.p.dst_c0 + pc.p.cn)
        v = src[(n * pc.p.src_c + pc.p.src_c0 + cd - pc.p.dst_c0) * hw + q];
    uint o = (n * pc.p.dst_c + cd) * hw + q;
    dst[o] = pc.p.acc != 0u ? dst[o] + v : v;
}
