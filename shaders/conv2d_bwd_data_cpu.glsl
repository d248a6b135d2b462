// conv2d_bwd_data_cpu.glsl - the body of conv2d_bwd_data_cpu.comp and conv2d_bwd_data_cpu_s1.comp:
// the input gradient of conv2d_bwd_data (same result, same bindings) for CPU devices
// (shaders/conv2d.h), per group g and stride phase (ph, pw) as there:
//   dx[n][g cg + m][h][w] (+)= sum over (k, i, j) of
//       w[g kg + k][m][ph + st i][pw + st j] * dy[n][g kg + k][hb - i][wb - j]
// for h = h0 + st hi, w = w0 + st wi in the phase, hb = (h + pad - ph) / st, wb likewise
// (exact), taps i < rn, j < sn of the phase. Overwrites dx, or adds to it when pc.p.acc.
// Each invocation computes MB channels m0.. of NB consecutive columns wi0.. of one phase row
// (n, hi), whose dy columns wb - j are consecutive too; the whole workgroup shares m0, so the
// weights are shuffled round clusters (shaders/conv2d_cpu.glsl). Per step, NB loads of dy feed
// MB NB FMAs. Without VKD_CONV_S1 a step is one tap (k, i, j). With VKD_CONV_S1 (stride 1 only:
// one phase) a step is CH taps (k, i, j..j + CH - 1) whose dy columns overlap: NB + CH - 1 loads
// feed CH MB NB FMAs (taps past the filter's width get zero weights). A phase with no taps
// writes zeros (or adds nothing).
// Bindings: 0 w (k cg r s), 1 dy (n k p q), 2 dx (n c h w).
// Grid: (ceil(n ceil(h / st) ceil(ceil(w / st) / NB) / WG) from pc.p.tile0, ceil(cg / MB),
// groups st st); WG = 64. Mirrors ref_conv2d_bwd_data (engine/ops/conv2d.c).
#include "common.glsl"
#include "conv2d_cpu.glsl"
layout(local_size_x = VKD_CONV_CPU_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict buffer DX { float dx[]; };

// The first index >= 0 with (index + pad) mod st == phase, and the count of such indices < size.
uint phase_first(uint phase)
{
    uint st = pc.p.stride;
    return (phase + st - pc.p.pad % st) % st;
}

uint phase_count(uint first, uint size)
{
    return first < size ? (size - first + pc.p.stride - 1) / pc.p.stride : 0;
}

void main()
{
    const uint st = pc.p.stride, phase = gl_WorkGroupID.z / pc.p.groups;
    const uint grp = gl_WorkGroupID.z % pc.p.groups;
    const uint cg = pc.p.c / pc.p.groups, kg = pc.p.k / pc.p.groups;
    const uint ph = phase / st, pw = phase % st;
    const uint h0 = phase_first(ph), w0 = phase_first(pw);
    const uint hn = phase_count(h0, pc.p.h), wn = phase_count(w0, pc.p.w);
    const uint rn = phase_count(ph, pc.p.r), sn = phase_count(pw, pc.p.s);
    // Blocks are laid out for the largest phase; this one may have fewer rows or columns.
    const uint hmax = (pc.p.h + st - 1) / st, wblocks = ((pc.p.w + st - 1) / st + NB - 1) / NB;
    const uint total = pc.p.n * hmax * wblocks;
    const uint blk = (pc.p.tile0 + gl_WorkGroupID.x) * VKD_CONV_CPU_WG + gl_LocalInvocationIndex;
    // Invocations past the end compute a copy of the last block (every lane must take part in
    // the shuffles) and store nothing.
    const uint bc = min(blk, total - 1);
    const uint n = bc / (hmax * wblocks), rem = bc % (hmax * wblocks);
    const uint hi = rem / wblocks, wi0 = rem % wblocks * NB;
    // dy row and first column at tap (0, 0): p = hb - i, q = wb0 + t - j for column wi0 + t
    const int hb = int(hi) + int(h0 + pc.p.pad - ph) / int(st);
    const int wb0 = int(wi0) + int(w0 + pc.p.pad - pw) / int(st);
    const uint m0 = gl_WorkGroupID.y * MB;
    const uint pq = pc.p.p * pc.p.q, rs = pc.p.r * pc.p.s;

    // The weights this lane loads: channel m0 + m CL + lane (channels past cg repeat the last;
    // they are not stored) of filter g kg + k, at tap (ph + st i, pw + st j).
    uint wm[MH];
    [[unroll]] for (uint m = 0; m < MH; m++)
        wm[m] = (grp * kg * cg + min(m0 + m * CL + cpu_lane(), cg - 1)) * rs + ph * pc.p.s + pw;
    cpu_zero();

    // The step's first tap (k, i, j): the dy offset of channel k's plane, i, j, and the offset
    // of (k, i, 0) among the weights.
    uint tk = (n * pc.p.k + grp * kg) * pq, ti = 0, tj = 0, tw = 0;
    const uint CH = CONV_CH, steps = CH == 1u ? kg * rn * sn : kg * rn * ((sn + CH - 1) / CH);
    for (uint step = 0; step < steps; step++) {
        // the window starts at the column of tap j + CH - 1 (the leftmost)
        int p = hb - int(ti), q = wb0 - int(tj + CH - 1);
        bool row_ok = uint(p) < pc.p.p;
        uint dr = tk + uint(p) * pc.p.q;
        float win[NB + CH - 1];
        // Branch-free, as in conv2d_fwd_cpu.glsl: element 0 is loaded outside dy, then zeroed.
        [[unroll]] for (uint i = 0; i < NB + CH - 1; i++, q++) {
            bool in_dy = row_ok && uint(q) < pc.p.q;
            float dv = dy[in_dy ? dr + uint(q) : 0u];
            win[i] = in_dy ? dv : 0.0;
        }
        float rows[CH][MH];
        [[unroll]] for (uint d = 0; d < CH; d++) {
            bool tap_ok = tj + d < sn;
            [[unroll]] for (uint m = 0; m < MH; m++) {
                float wv = wt[tap_ok ? wm[m] + tw + (tj + d) * st : 0u];
                rows[d][m] = tap_ok ? wv : 0.0;
            }
        }
        conv_taps_fma(rows, win, true);
        tj += CH;
        if (tj >= sn) {
            tj = 0;
            tw += st * pc.p.s;
            if (++ti == rn) {
                ti = 0;
                tk += pq;
                tw += cg * rs - rn * st * pc.p.s;
            }
        }
    }

    if (blk >= total || hi >= hn)
        return;
    const uint h = h0 + hi * st;
    [[unroll]] for (uint j = 0; j < MB; j++) {
        if (m0 + j >= cg)
            break;
        uint xo = ((n * pc.p.c + grp * cg + m0 + j) * pc.p.h + h) * pc.p.w + w0;
        [[unroll]] for (uint i = 0; i < NB; i++) {
            uint o = xo + (wi0 + i) * st;
            if (wi0 + i < wn)
                dx[o] = pc.p.acc != 0u ? dx[o] + acc[j][i] : acc[j][i];
        }
    }
}
