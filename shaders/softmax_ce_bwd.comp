#version 450
// softmax_ce_bwd: gradient of the mean softmax cross-entropy with respect to the logits,
//   dz[n,k] = (acc ? dz[n,k] : 0) + dloss * (softmax(z_n)[k] - [k == y_n]) / M,
// M the rows not ignored (from softmax_ce_mean); an ignored row's gradient is 0.
// softmax(z_n)[k] = exp(z[n,k] - m_n) / s_n with m_n and s_n - 1 from the saved per-row results.
// At the label, when it holds the maximum, softmax - 1 = -(s - 1) / s is formed from the saved
// s - 1 instead of by cancellation, so a confident, correct row keeps its small gradient exact.
// A row whose label is out of range (y >= K) gets NaN, like its loss (stored as bits; see
// softmax_ce_mean). dloss is the gradient of the loss scalar (its weight: 1 or a step slot).
// Bindings: 0 logits (rows*classes), 1 labels (rows, u32), 2 per-row results
// (rows*VKD_CE_ROW), 3 dloss (1), 4 dlogits (rows*classes), 5 M (1).
// Grid: 1-D over rows*classes (vkd_rec_groups_1d). Mirrors ref_softmax_ce_bwd (engine/ops/loss.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_softmax_ce_params p; } pc;
layout(std430, binding = 0) readonly buffer Z { float z[]; };
layout(std430, binding = 1) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 2) readonly buffer Rows { float rows[]; };
layout(std430, binding = 3) readonly buffer DLoss { float dloss[]; };
layout(std430, binding = 4) buffer DZ { float dz[]; };
layout(std430, binding = 5) readonly buffer Counted { float counted[]; };

void main()
{
    uint i = vkd_gid();
    uint K = pc.p.classes;
    if (i >= pc.p.rows * K)
        return;
    uint n = i / K, k = i - n * K;
    uint y = labels[n];
    if (y == VKD_CE_IGNORE) {
        dz[i] = pc.p.acc != 0u ? dz[i] : 0.0;
        return;
    }
    if (y >= K) {
        dz[i] = uintBitsToFloat(0x7fc00000u);
        return;
    }
    uint o = n * VKD_CE_ROW;
    float m = rows[o + VKD_CE_ROW_MAX], sum_m1 = rows[o + VKD_CE_ROW_SUM_M1];
    float inv_sum = 1.0 / (1.0 + sum_m1);
    float zk = z[i];
    float d;
    if (k != y)
        d = exp(zk - m) * inv_sum;
    else if (zk == m)
        d = -sum_m1 * inv_sum;
    else
        d = exp(zk - m) * inv_sum - 1.0; // softmax <= 1/2 here: no cancellation
    float g = d * (dloss[0] / counted[0]);
    dz[i] = pc.p.acc != 0u ? dz[i] + g : g;
}
