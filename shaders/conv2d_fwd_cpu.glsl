// conv2d_fwd_cpu.glsl - the body of conv2d_fwd_cpu.comp and conv2d_fwd_cpu_s1.comp: the forward
// of conv2d_fwd (same result, same bindings) for CPU devices (shaders/conv2d.h), per group g:
//   y[n][g kg + k][p][q] = b[g kg + k] + sum over (c, r, s) of
//       w[g kg + k][c][r][s] * x[n][g cg + c][p st - pad + r][q st - pad + s]
// Each invocation computes MB channels k0.. of NB consecutive outputs q0.. of one output row
// (n, p); the whole workgroup shares k0, so the weights are shuffled round clusters
// (shaders/conv2d_cpu.glsl). Per step, NB loads of x feed MB NB FMAs. Without VKD_CONV_S1 a step
// is one tap (c, r, s), any stride. With VKD_CONV_S1 (stride 1 only) a step is CH taps
// (c, r, s..s + CH - 1) whose x columns overlap: NB + CH - 1 loads feed CH MB NB FMAs (taps past
// the filter's width get zero weights).
// Bindings: 0 x (n c h w), 1 w (k cg r s), 2 b (k; unread when pc.p.bias == 0), 3 y (n k p q).
// Grid: (ceil(n p ceil(q / NB) / WG) from pc.p.tile0, ceil(kg / MB), groups); WG = 64.
// Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#include "common.glsl"
#include "conv2d_cpu.glsl"
layout(local_size_x = VKD_CONV_CPU_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 2) restrict readonly buffer B { float b[]; };
layout(std430, binding = 3) restrict writeonly buffer Y { float y[]; };

void main()
{
    const uint grp = gl_WorkGroupID.z, cg = pc.p.c / pc.p.groups, kg = pc.p.k / pc.p.groups;
    const uint st = pc.p.stride, qblocks = (pc.p.q + NB - 1) / NB;
    const uint total = pc.p.n * pc.p.p * qblocks;
    const uint blk = (pc.p.tile0 + gl_WorkGroupID.x) * VKD_CONV_CPU_WG + gl_LocalInvocationIndex;
    // Invocations past the end compute a copy of the last block (every lane must take part in
    // the shuffles) and store nothing.
    const uint bc = min(blk, total - 1);
    const uint n = bc / (pc.p.p * qblocks), rem = bc % (pc.p.p * qblocks);
    const uint op = rem / qblocks, q0 = rem % qblocks * NB;
    const int h0 = int(op * st) - int(pc.p.pad), w0 = int(q0 * st) - int(pc.p.pad);
    const uint k0 = gl_WorkGroupID.y * MB;
    const uint hw = pc.p.h * pc.p.w, crs = cg * pc.p.r * pc.p.s;

    // The weight rows this lane loads (channels past kg repeat the last; they are not stored).
    uint wrow[MH];
    [[unroll]] for (uint m = 0; m < MH; m++)
        wrow[m] = (grp * kg + min(k0 + m * CL + cpu_lane(), kg - 1)) * crs;
    cpu_zero();

    // The step's first tap (c, r, s): the x offset of channel c's plane, r, s, and the offset of
    // (c, r, 0) in a filter.
    uint tc = (n * pc.p.c + grp * cg) * hw, tr = 0, ts = 0, tw = 0;
    // (one tap a step: crs steps, without a division the compiler keeps)
    const uint CH = CONV_CH, steps = CH == 1u ? crs : cg * pc.p.r * ((pc.p.s + CH - 1) / CH);
    for (uint step = 0; step < steps; step++) {
        int h = h0 + int(tr), v = w0 + int(ts);
        bool row_ok = uint(h) < pc.p.h;
        uint xr = tc + uint(h) * pc.p.w;
        float win[NB + CH - 1];
        // Branch-free: a load under a divergent condition costs lavapipe an execution-mask
        // if/else around its per-lane loop, so every lane loads (element 0 when outside) and a
        // select zeroes the padding.
        [[unroll]] for (uint i = 0; i < NB + CH - 1; i++, v += int(st)) {
            bool in_x = row_ok && uint(v) < pc.p.w;
            float xv = x[in_x ? xr + uint(v) : 0u];
            win[i] = in_x ? xv : 0.0;
        }
        float rows[CH][MH];
        [[unroll]] for (uint d = 0; d < CH; d++) {
            bool tap_ok = ts + d < pc.p.s;
            [[unroll]] for (uint m = 0; m < MH; m++) {
                float wv = wt[tap_ok ? wrow[m] + tw + ts + d : 0u];
                rows[d][m] = tap_ok ? wv : 0.0;
            }
        }
        conv_taps_fma(rows, win, false);
        ts += CH;
        if (ts >= pc.p.s) {
            ts = 0;
            tw += pc.p.s;
            if (++tr == pc.p.r) {
                tr = 0;
                tc += hw;
            }
        }
    }

    if (blk >= total)
        return;
    const uint pq = pc.p.p * pc.p.q;
    [[unroll]] for (uint j = 0; j < MB; j++) {
        uint k = grp * kg + k0 + j;
        if (k0 + j >= kg)
            break;
        float bias = pc.p.bias != 0u ? b[k] : 0.0;
        uint yo = (n * pc.p.k + k) * pq + op * pc.p.q + q0;
        [[unroll]] for (uint i = 0; i < NB; i++)
            if (q0 + i < pc.p.q)
                y[yo + i] = acc[j][i] + bias;
    }
}
