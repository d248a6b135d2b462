#version 450
// softmax_sce_bwd: gradient of the soft-target cross-entropy L = -1/N sum_n sum_k s_nk log q_nk,
// q = softmax(z / T), with respect to the logits:
//   dz[n,k] = (acc ? dz[n,k] : 0) + dL / (N T) * (S_n q_nk - s_nk),   S_n = sum_k s_nk
// (d(-sum_c s_c log q_c)/da_k = S q_k - s_k: exact for rows of s that do not sum to 1). q from
// the saved maximum and log-sum; S_n saved too. The targets s get no gradient.
// Bindings: 0 z, 1 s (rows*classes), 2 per-row results (rows*VKD_KD_ROW), 3 dL (1),
// 4 dz (rows*classes). Grid: 1-D over rows*classes. Mirrors ref_softmax_sce_bwd.
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_softmax_kd_params p; } pc;
layout(std430, binding = 0) readonly buffer Z { float z[]; };
layout(std430, binding = 1) readonly buffer S { float s[]; };
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
    float inv_t = 1.0 / pc.p.t; // as softmax_sce_fwd forms a = z / T
    float q = exp(z[i] * inv_t - rows[o + VKD_SCE_ROW_M] - rows[o + VKD_SCE_ROW_L]);
    float g = dl[0] / (float(pc.p.rows) * pc.p.t) * (rows[o + VKD_SCE_ROW_S] * q - s[i]);
    dz[i] = pc.p.acc != 0u ? dz[i] + g : g;
}
