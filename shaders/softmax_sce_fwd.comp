#version 450
// softmax_sce_fwd: the per-row half of the soft-target cross-entropy (CORSD's negative-pair
// aux classifier term), one workgroup per row n of logits z against targets s (K classes):
//   a = z / T;  m = max a,  l = log sum_k exp(a_k - m),  log q_k = a_k - m - l
//   loss_n = -sum_k s_k log q_k = sum_k s_k ((m - a_k) + l),   S_n = sum_k s_k
// (m - a_k) + l = -log q_k >= 0 is formed from the logits, never as log(q): a q_k that
// underflows still has its exact (large) -log q_k, and with s >= 0 every term is >= 0 (no
// cancellation). The exp sum keeps its maxima's exact 1s apart and uses log1p_pos, as
// softmax_kd_fwd, so a peaked row keeps its precision.
// Bindings: 0 z (rows*classes), 1 s (rows*classes), 2 per-row results (rows*VKD_KD_ROW:
// VKD_SCE_ROW_*). Grid: one workgroup of VKD_KD_WG per row, folded into (x, y).
// Deterministic: fixed-order per-invocation loops, then fixed-order trees.
// Mirrors ref_softmax_sce_fwd (engine/ops/kd.c).
#include "common.glsl"
#include "mathx.glsl"
layout(local_size_x = VKD_KD_WG) in;
layout(push_constant) uniform PC { vkd_softmax_kd_params p; } pc;
layout(std430, binding = 0) readonly buffer Z { float z[]; };
layout(std430, binding = 1) readonly buffer S { float s[]; };
layout(std430, binding = 2) writeonly buffer Rows { float rows[]; };

shared float s_a[VKD_KD_WG];
shared float s_b[VKD_KD_WG];
shared uint s_c[VKD_KD_WG];

// s_a: maximum; s_b: sum.
void reduce_max_sum(uint tid)
{
    for (uint h = VKD_KD_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_a[tid] = max(s_a[tid], s_a[tid + h]);
            s_b[tid] += s_b[tid + h];
        }
        barrier();
    }
}

// s_a and s_c: sums.
void reduce_sum(uint tid)
{
    for (uint h = VKD_KD_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_a[tid] += s_a[tid + h];
            s_c[tid] += s_c[tid + h];
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

    float m = uintBitsToFloat(0xff800000u), ss = 0.0;
    for (uint k = tid; k < K; k += VKD_KD_WG) {
        m = max(m, z[base + k] * inv_t);
        ss += s[base + k];
    }
    s_a[tid] = m;
    s_b[tid] = ss;
    barrier();
    reduce_max_sum(tid);
    m = s_a[0];
    ss = s_b[0];
    barrier();

    float te = 0.0;
    uint cnt = 0u;
    for (uint k = tid; k < K; k += VKD_KD_WG) {
        float a = z[base + k] * inv_t;
        if (a == m)
            cnt++;
        else
            te += exp(a - m);
    }
    s_a[tid] = te;
    s_c[tid] = cnt;
    barrier();
    reduce_sum(tid);
    float l = log1p_pos(float(s_c[0] - 1u) + s_a[0]);
    barrier();

    float loss = 0.0;
    for (uint k = tid; k < K; k += VKD_KD_WG)
        loss += s[base + k] * ((m - z[base + k] * inv_t) + l);
    s_a[tid] = loss;
    s_c[tid] = 0u;
    barrier();
    reduce_sum(tid);
    if (live && tid == 0u) {
        uint o = row * VKD_KD_ROW;
        rows[o + VKD_SCE_ROW_LOSS] = s_a[0];
        rows[o + VKD_SCE_ROW_M] = m;
        rows[o + VKD_SCE_ROW_L] = l;
        rows[o + VKD_SCE_ROW_S] = ss;
        rows[o + VKD_SCE_ROW_ZERO] = 0.0;
    }
}
