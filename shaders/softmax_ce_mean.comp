#version 450
// softmax_ce_mean: the batch half of mean softmax cross-entropy, over the per-row results of
// softmax_ce_fwd:
//   loss = (1/M) sum_n loss_n,  top1 = sum_n top1_n,  top5 = sum_n top5_n,
// M = the number of rows not ignored (VKD_CE_IGNORE labels; 0/0 = NaN when all are, as PyTorch).
// If any loss_n is NaN (a label out of range, or a NaN logit) the loss is NaN. That is decided
// on the bits, and the NaN stored as bits, because float arithmetic need not preserve NaN on
// every device, and the host's NaN guard relies on it.
// Bindings: 0 per-row results (rows*VKD_CE_ROW), 1 loss (1), 2 top-1 count (1),
// 3 top-5 count (1), 4 M (1, read by the backward pass).
// Grid: one workgroup of VKD_CE_WG. Deterministic: fixed per-invocation order, then a
// fixed-order tree (counts are exact integers).
// Mirrors the batch part of ref_softmax_ce_fwd (engine/ops/loss.c).
#include "common.glsl"
layout(local_size_x = VKD_CE_WG) in;
layout(push_constant) uniform PC { vkd_softmax_ce_params p; } pc;
layout(std430, binding = 0) readonly buffer Rows { float rows[]; };
layout(std430, binding = 1) writeonly buffer Loss { float loss[]; };
layout(std430, binding = 2) writeonly buffer Top1 { float top1[]; };
layout(std430, binding = 3) writeonly buffer Top5 { float top5[]; };
layout(std430, binding = 4) writeonly buffer Counted { float counted[]; };

shared float s_loss[VKD_CE_WG];
shared uint s_top1[VKD_CE_WG];
shared uint s_top5[VKD_CE_WG];
shared uint s_bad[VKD_CE_WG];
shared uint s_counted[VKD_CE_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float sum = 0.0;
    uint h1 = 0u, h5 = 0u, bad = 0u, cnt = 0u;
    for (uint n = tid; n < pc.p.rows; n += VKD_CE_WG) {
        uint o = n * VKD_CE_ROW;
        float l = rows[o + VKD_CE_ROW_LOSS];
        sum += l;
        bad += (floatBitsToUint(l) & 0x7fffffffu) > 0x7f800000u ? 1u : 0u;
        h1 += rows[o + VKD_CE_ROW_TOP1] > 0.5 ? 1u : 0u;
        h5 += rows[o + VKD_CE_ROW_TOP5] > 0.5 ? 1u : 0u;
        cnt += rows[o + VKD_CE_ROW_COUNTED] > 0.5 ? 1u : 0u;
    }
    s_loss[tid] = sum;
    s_top1[tid] = h1;
    s_top5[tid] = h5;
    s_bad[tid] = bad;
    s_counted[tid] = cnt;
    barrier();
    for (uint h = VKD_CE_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_loss[tid] += s_loss[tid + h];
            s_top1[tid] += s_top1[tid + h];
            s_top5[tid] += s_top5[tid + h];
            s_bad[tid] += s_bad[tid + h];
            s_counted[tid] += s_counted[tid + h];
        }
        barrier();
    }
    if (tid == 0u) {
        bool nan = s_bad[0] != 0u || s_counted[0] == 0u;
        loss[0] = nan ? uintBitsToFloat(0x7fc00000u) : s_loss[0] / float(s_counted[0]);
        counted[0] = float(s_counted[0]);
        top1[0] = float(s_top1[0]);
        top5[0] = float(s_top5[0]);
    }
}
