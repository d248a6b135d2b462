#version 450
// softmax_kd_bwd: gradient of the distillation term with respect to the student's logits,
//   dz_s[n,k] = (acc ? dz_s[n,k] : 0) + dL * (T / N) * (q_nk - p_nk)
// (one 1/T of the softened softmax cancels one T of T^2), with q and p from the saved per-row
// maxima and log-sums. dL is the gradient of the loss scalar (its weight). The teacher's
// logits get no gradient.
// Bindings: 0 z_s, 1 z_t (rows*classes), 2 per-row results (rows*VKD_KD_ROW), 3 dL (1),
// 4 dz_s (rows*classes). Grid: 1-D over rows*classes. Mirrors ref_softmax_kd_bwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_softmax_kd_params p; } pc;
layout(std430, binding = 0) readonly buffer ZS { float zs[]; };
layout(std430, binding = 1) readonly buffer ZT { float zt[]; };
layout(std430, binding = 2) readonly buffer Rows { float rows[]; };
layout(std430, binding = 3) readonly buffer DL { float dl[]; };
layout(std430, binding = 4) buffer DZ { float dz[]; };

void main()
{
    uint i = vkd_gid();
    uint K = pc.p.classes;
    if (i >= pc.p.rows * K)
        return;
    uint o = (i / K) * VKD_KD_ROW;
    float inv_t = 1.0 / pc.p.t;
    float q = exp(zs[i] * inv_t - rows[o + VKD_KD_ROW_MS] - rows[o + VKD_KD_ROW_LS]);
    float p = exp(zt[i] * inv_t - rows[o + VKD_KD_ROW_MT] - rows[o + VKD_KD_ROW_LT]);
    float g = dl[0] * (pc.p.t / float(pc.p.rows)) * (q - p);
    dz[i] = pc.p.acc != 0u ? dz[i] + g : g;
}
