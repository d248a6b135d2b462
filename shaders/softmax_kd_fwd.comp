#version 450
// softmax_kd_fwd: the per-row half of Hinton's distillation term (RepDistiller's DistillKL),
// one workgroup per row n of student logits z_s and teacher logits z_t (K classes):
//   a = z_s / T, b = z_t / T;  ms = max a, ls = log sum_k exp(a_k - ms)  (mt, lt likewise)
//   log q_k = a_k - ms - ls,   log p_k = b_k - mt - lt
//   kl_n = sum_k p_k (log p_k - log q_k)
// log p is never log(0): it is formed from the logits, so an underflowed p_k = 0 contributes
// exactly 0 (the p log p = 0 convention). The sums keep s - 1 apart (the maxima's exact 1s
// counted separately) and use log1p_pos, so a peaked row keeps its precision (see mathx.glsl).
// Bindings: 0 z_s (rows*classes), 1 z_t (rows*classes), 2 per-row results (rows*VKD_KD_ROW).
// Grid: one workgroup of VKD_KD_WG per row, folded into (x, y). Deterministic: fixed-order
// per-invocation loops, then fixed-order trees. Mirrors ref_softmax_kd_fwd (engine/ops/kd.c).
#include "common.glsl"
#include "mathx.glsl"
layout(local_size_x = VKD_KD_WG) in;
layout(push_constant) uniform PC { vkd_softmax_kd_params p; } pc;
layout(std430, binding = 0) readonly buffer ZS { float zs[]; };
layout(std430, binding = 1) readonly buffer ZT { float zt[]; };
layout(std430, binding = 2) writeonly buffer Rows { float rows[]; };

shared float s_a[VKD_KD_WG];
shared float s_b[VKD_KD_WG];
shared uint s_ca[VKD_KD_WG];
shared uint s_cb[VKD_KD_WG];

void reduce_max(uint tid)
{
    for (uint h = VKD_KD_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_a[tid] = max(s_a[tid], s_a[tid + h]);
            s_b[tid] = max(s_b[tid], s_b[tid + h]);
        }
        barrier();
    }
}

void reduce_sum(uint tid)
{
    for (uint h = VKD_KD_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_a[tid] += s_a[tid + h];
            s_b[tid] += s_b[tid + h];
            s_ca[tid] += s_ca[tid + h];
            s_cb[tid] += s_cb[tid + h];
        }
        barrier();
    }
}

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    bool live = row < pc.p.rows; // folded-grid tail: recompute the last row, write nothing
    row = min(row, pc.p.rows - 1u);
    uint K = pc.p.classes, base = row * K;
    float inv_t = 1.0 / pc.p.t;

    float ma = uintBitsToFloat(0xff800000u), mb = ma;
    for (uint k = tid; k < K; k += VKD_KD_WG) {
        ma = max(ma, zs[base + k] * inv_t);
        mb = max(mb, zt[base + k] * inv_t);
    }
    s_a[tid] = ma;
    s_b[tid] = mb;
    barrier();
    reduce_max(tid);
    ma = s_a[0];
    mb = s_b[0];
    barrier();

    float ta = 0.0, tb = 0.0;
    uint ca = 0u, cb = 0u;
    for (uint k = tid; k < K; k += VKD_KD_WG) {
        float a = zs[base + k] * inv_t, b = zt[base + k] * inv_t;
        if (a == ma)
            ca++;
        else
            ta += exp(a - ma);
        if (b == mb)
            cb++;
        else
            tb += exp(b - mb);
    }
    s_a[tid] = ta;
    s_b[tid] = tb;
    s_ca[tid] = ca;
    s_cb[tid] = cb;
    barrier();
    reduce_sum(tid);
    float la = log1p_pos(float(s_ca[0] - 1u) + s_a[0]);
    float lb = log1p_pos(float(s_cb[0] - 1u) + s_b[0]);
    barrier();

    // log p_k - log q_k = (z_t - z_s)_k / T - c with one per-row constant c: the logits'
    // difference is formed first (one rounding), not as the difference of two
    // log-probabilities that each carry their row's max and log-sum.
    float c = (mb - ma) + (lb - la), kl = 0.0;
    for (uint k = tid; k < K; k += VKD_KD_WG) {
        float lp = zt[base + k] * inv_t - mb - lb;
        kl += exp(lp) * ((zt[base + k] - zs[base + k]) * inv_t - c);
    }
    s_a[tid] = kl;
    s_b[tid] = 0.0;
    s_ca[tid] = 0u;
    s_cb[tid] = 0u;
    barrier();
    reduce_sum(tid);
    if (live && tid == 0u) {
        uint o = row * VKD_KD_ROW;
        rows[o + VKD_KD_ROW_KL] = s_a[0];
        rows[o + VKD_KD_ROW_MS] = ma;
        rows[o + VKD_KD_ROW_LS] = la;
        rows[o + VKD_KD_ROW_MT] = mb;
        rows[o + VKD_KD_ROW_LT] = lb;
    }
}
