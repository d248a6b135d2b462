#version 450
// softmax_ce_fwd: the per-row half of mean softmax cross-entropy (torch.nn.functional
// .cross_entropy), one workgroup per row n of logits z (K classes), label y = labels[n]:
//   m    = max_k z[k]
//   s    = sum_k exp(z[k] - m)                    (numerically stable: every term <= 1)
//   loss = (m - z[y]) + log(s)                    (= logsumexp(z) - z[y], both terms >= 0)
//   rank = #{k : z[k] > z[y]} + #{k < y : z[k] == z[y]}
//   top1 = rank < 1, top5 = rank < 5              (K < 5: every row is a top-5 hit)
// The rank follows torch.argmax / torch.topk, which return the first index among equal values:
// a tied label counts as a hit only when no tied class precedes it.
// A label equal to VKD_CE_IGNORE makes the row count for nothing (loss 0, weight 0).
// Any other label y >= K is never read: its row gets loss NaN (so the host's NaN guard stops the run)
// and no hits.
// Bindings: 0 logits (rows*classes), 1 labels (rows, u32), 2 per-row results
// (rows*VKD_CE_ROW, layout in shaders/loss.h).
// Grid: one workgroup of VKD_CE_WG per row, folded into (x, y) (vkd_rec_groups_1d(rows, 1)).
// Deterministic: each invocation walks its classes in a fixed order, then fixed-order trees.
// Mirrors the per-row part of ref_softmax_ce_fwd (engine/ops/loss.c).
#include "common.glsl"
#include "mathx.glsl"
layout(local_size_x = VKD_CE_WG) in;
layout(push_constant) uniform PC { vkd_softmax_ce_params p; } pc;
layout(std430, binding = 0) readonly buffer Z { float z[]; };
layout(std430, binding = 1) readonly buffer Labels { uint labels[]; };
layout(std430, binding = 2) writeonly buffer Rows { float rows[]; };

shared float s_f[VKD_CE_WG];
shared uint s_c[VKD_CE_WG];
shared uint s_r[VKD_CE_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    uint row = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    // A folded grid's tail workgroups (row >= rows) redo the last row and write nothing, so no
    // load leaves the tensors and every invocation reaches every barrier.
    bool live = row < pc.p.rows;
    row = min(row, pc.p.rows - 1u);
    uint K = pc.p.classes;
    uint base = row * K;

    // Row maximum.
    float m = uintBitsToFloat(0xff800000u); // -inf
    for (uint k = tid; k < K; k += VKD_CE_WG)
        m = max(m, z[base + k]);
    s_f[tid] = m;
    barrier();
    for (uint h = VKD_CE_WG / 2; h > 0; h >>= 1) {
        if (tid < h)
            s_f[tid] = max(s_f[tid], s_f[tid + h]);
        barrier();
    }
    m = s_f[0];
    barrier(); // everyone has read s_f[0] before it is reused

    // Sum of exp(z - m) over the classes below the maximum, the count of classes equal to it
    // (each contributes exactly exp(0) = 1), and the label's rank.
    // The label's index is clamped, not guarded by a ?: (which a compiler may turn into a
    // select that performs the load anyway): a bad label never reads out of bounds.
    uint y = labels[row];
    bool valid = y < K;
    float zy = z[base + min(y, K - 1u)];
    float t = 0.0;
    uint c = 0u, rank = 0u;
    for (uint k = tid; k < K; k += VKD_CE_WG) {
        float v = z[base + k];
        if (v == m)
            c++;
        else
            t += exp(v - m);
        rank += v > zy || (v == zy && k < y) ? 1u : 0u;
    }
    s_f[tid] = t;
    s_c[tid] = c;
    s_r[tid] = rank;
    barrier();
    for (uint h = VKD_CE_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_f[tid] += s_f[tid + h];
            s_c[tid] += s_c[tid + h];
            s_r[tid] += s_r[tid + h];
        }
        barrier();
    }

    if (live && tid == 0u) {
        // s = c + t, so log(s) = log1p((c - 1) + t): full precision when s is close to 1.
        float cm = float(s_c[0]), tsum = s_f[0];
        float sum_m1 = (cm - 1.0) + tsum;
        float loss = (m - zy) + log1p_pos(sum_m1);
        rank = s_r[0];
        uint o = row * VKD_CE_ROW;
        // The NaN is stored as bits: float arithmetic need not preserve NaN on every device.
        bool ignored = y == VKD_CE_IGNORE;
        rows[o + VKD_CE_ROW_LOSS] = valid ? loss : ignored ? 0.0 : uintBitsToFloat(0x7fc00000u);
        rows[o + VKD_CE_ROW_COUNTED] = ignored ? 0.0 : 1.0;
        rows[o + VKD_CE_ROW_TOP1] = valid && rank < 1u ? 1.0 : 0.0;
        rows[o + VKD_CE_ROW_TOP5] = valid && rank < 5u ? 1.0 : 0.0;
        rows[o + VKD_CE_ROW_MAX] = m;
        rows[o + VKD_CE_ROW_SUM_M1] = sum_m1;
    }
}
