#version 450
// hinge_bwd: the gradients of L = scale * sum_i max(0, t_i), t_i = margin - y_i (a_i - b_i):
//   da_i = -scale y_i dL [t_i >= 0],   db_i = -da_i
// each written only when wanted (has_da, has_db), overwriting or adding (acc_da, acc_db). At
// the kink t_i = 0 the term counts as active, as PyTorch's clamp_min backward (self >= min).
// t is recomputed with the forward's fp32 operations, so both passes agree on every flag. dL
// is the gradient of the loss scalar: its weight from the step-parameter buffer when the loss
// is registered with a slot. y gets no gradient.
// Bindings: 0 a, 1 b, 2 y (a again without y, never read), 3 dL (1), 4 da, 5 db (count each;
// an absent gradient is bound to the present one and never written).
// Grid: 1-D over count. Mirrors vkd_pairsum_ref_bwd with hinge_grad (engine/ops/hinge.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_pairsum_params p; } pc;
layout(std430, binding = 0) readonly buffer A { float a[]; };
layout(std430, binding = 1) readonly buffer B { float b[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer DL { float dl[]; };
layout(std430, binding = 4) buffer DA { float da[]; };
layout(std430, binding = 5) buffer DB { float db[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    float yi = pc.p.has_c != 0u ? y[i] : 1.0;
    precise float d = a[i] - b[i]; // as hinge_fwd: no contraction, the same t bit for bit
    precise float t = pc.p.margin - (pc.p.has_c != 0u ? yi * d : d);
    float g = t >= 0.0 ? -pc.p.scale * dl[0] * yi : 0.0;
    if (pc.p.has_da != 0u)
        da[i] = pc.p.acc_da != 0u ? da[i] + g : g;
    if (pc.p.has_db != 0u)
        db[i] = pc.p.acc_db != 0u ? db[i] - g : -g;
}
