#version 450
// sqdiff_bwd: the gradients of L = scale * sum_i w_i (a_i - b_i)^2,
//   da_i = 2 scale w_i (a_i - b_i) dL,   db_i = -da_i
// each written only when wanted (has_da, has_db), overwriting or adding (acc_da, acc_db). dL is
// the gradient of the loss scalar: its weight from the step-parameter buffer when the loss is
// registered with a slot. The weights w get no gradient.
// Bindings: 0 a, 1 b, 2 w (a again without weights, never read), 3 dL (1), 4 da, 5 db (count
// each; an absent gradient is bound to the present one and never written).
// Grid: 1-D over count. Mirrors vkd_pairsum_ref_bwd with sqdiff_grad (engine/ops/sqdiff.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_pairsum_params p; } pc;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer W { float w[]; };
layout(std430, binding = 3) readonly buffer DL { float dl[]; };
layout(std430, binding = 4) buffer DA { float da[]; };
layout(std430, binding = 5) buffer DB { float db[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float g = 2.0 * pc.p.scale * dl[0] * (a[i] - b[i]);
    if (pc.p.has_c != 0u)
        g *= w[i];
    if (pc.p.has_da != 0u)
        da[i] = pc.p.acc_da != 0u ? da[i] + g : g;
    if (pc.p.has_db != 0u)
        db[i] = pc.p.acc_db != 0u ? db[i] - g : -g;
}
