#version 450
// softmax_kl_bwd: gradients of the plain two-sided KL term L = 1/N sum_n KL(p_n || q_n),
// p = softmax(z_t / T), q = softmax(z_s / T) (CORSD's repaired aux distillation, whose teacher
// side is not detached), one of the two per dispatch (wrt):
//   wrt 0:  dz_s[n,k] = (acc ? dz_s : 0) + dL / (N T) * (q_nk - p_nk)
//   wrt 1:  dz_t[n,k] = (acc ? dz_t : 0) + dL / (N T) * p_nk ((log p_nk - log q_nk) - kl_n)
// with the maxima, log-sums and kl_n saved by softmax_kd_fwd. log p - log q is formed as in
// the forward pass, (z_t - z_s) / T minus one per-row constant, so the logits' difference is
// rounded once; an underflowed p_nk = 0 gives exactly 0 (p log p = 0).
// Bindings: 0 z_s, 1 z_t (rows*classes), 2 per-row results (rows*VKD_KD_ROW), 3 dL (1),
// 4 dz (rows*classes): dz_s or dz_t. Grid: 1-D over rows*classes.
// Mirrors ref_softmax_kl_bwd (engine/ops/kd.c).
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
    float ms = rows[o + VKD_KD_ROW_MS], ls = rows[o + VKD_KD_ROW_LS];
    float mt = rows[o + VKD_KD_ROW_MT], lt = rows[o + VKD_KD_ROW_LT];
    float p = exp(zt[i] * inv_t - mt - lt);
    float d;
    if (pc.p.wrt == 0u) {
        d = exp(zs[i] * inv_t - ms - ls) - p;
    } else {
        float c = (mt - ms) + (lt - ls);
        d = p * (((zt[i] - zs[i]) * inv_t - c) - rows[o + VKD_KD_ROW_KL]);
    }
    float g = dl[0] / (float(pc.p.rows) * pc.p.t) * d;
    dz[i] = pc.p.acc != 0u ? dz[i] + g : g;
}
