#version 450
// softmax_kd_mean: the batch half of the distillation term: L = T^2 / N * sum_n kl_n (KL
// "batchmean" times T^2, RepDistiller's DistillKL); with scale = VKD_KD_SCALE_1, L = 1/N *
// sum_n of the rows' first value (the plain KL, the soft-target CE: both put their per-row
// loss there). A NaN row (a NaN logit) makes L NaN, decided on the bits so no device's
// arithmetic can lose it.
// Bindings: 0 per-row results (rows*VKD_KD_ROW), 1 L (1).
// Grid: one workgroup of VKD_KD_WG; a fixed per-invocation order, then a fixed-order tree.
// Mirrors the batch part of ref_softmax_kd_fwd (engine/ops/kd.c).
#include "common.glsl"
layout(local_size_x = VKD_KD_WG) in;
layout(push_constant) uniform PC { vkd_softmax_kd_params p; } pc;
layout(std430, binding = 0) readonly buffer Rows { float rows[]; };
layout(std430, binding = 1) writeonly buffer Loss { float loss[]; };

shared float s_sum[VKD_KD_WG];
shared uint s_bad[VKD_KD_WG];

void main()
{
    uint tid = gl_LocalInvocationID.x;
    float sum = 0.0;
    uint bad = 0u;
    for (uint n = tid; n < pc.p.rows; n += VKD_KD_WG) {
        float v = rows[n * VKD_KD_ROW + VKD_KD_ROW_KL];
        sum += v;
        bad += (floatBitsToUint(v) & 0x7fffffffu) > 0x7f800000u ? 1u : 0u;
    }
    s_sum[tid] = sum;
    s_bad[tid] = bad;
    barrier();
    for (uint h = VKD_KD_WG / 2; h > 0; h >>= 1) {
        if (tid < h) {
            s_sum[tid] += s_sum[tid + h];
            s_bad[tid] += s_bad[tid + h];
        }
        barrier();
    }
    if (tid == 0u) {
        float l = pc.p.scale == VKD_KD_SCALE_1 ? s_sum[0] / float(pc.p.rows)
                                               : s_sum[0] * (pc.p.t * pc.p.t / float(pc.p.rows));
        loss[0] = s_bad[0] != 0u ? uintBitsToFloat(0x7fc00000u) : l;
    }
}
