#version 450
// conv2d_bwd_data_cpu: the input gradient of conv2d_bwd_data (same result, same bindings) for
// CPU devices (see shaders/conv2d.h), per group g and stride phase (ph, pw) as there:
//   dx[n][g cg + m][h][w] (+)= sum over (k, i, j) of
//       w[g kg + k][m][ph + st i][pw + st j] * dy[n][g kg + k][hb - i][wb - j]
// for h = h0 + st hi, w = w0 + st wi in the phase, hb = (h + pad - ph) / st, wb likewise
// (exact), taps i < rn, j < sn of the phase. Overwrites dx, or adds to it when pc.p.acc.
// Each invocation computes MB (8) channels m0.. of NB (8) consecutive columns wi0.. of one phase
// row (n, hi); their dy columns wb - j are consecutive too. The whole workgroup shares m0, so the
// weight of a tap for channel m0 + l is loaded by lane l of each cluster of 8 and shuffled to the
// others. The reduction over (k, i, j) walks one flat index U taps per iteration: per tap, NB
// loads of dy and one of w feed 64 FMAs. A phase with no taps writes zeros (or adds nothing).
// Bindings: 0 w (k cg r s), 1 dy (n k p q), 2 dx (n c h w).
// Grid: (ceil(n ceil(h / st) ceil(ceil(w / st) / NB) / WG) from pc.p.tile0, ceil(cg / MB),
// groups st st); WG = 64. Mirrors ref_conv2d_bwd_data (engine/ops/conv2d.c).
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
layout(local_size_x = VKD_CONV_CPU_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict buffer DX { float dx[]; };

const uint MB = VKD_CONV_CPU_MB, NB = VKD_CONV_CPU_NB;
const uint U = 4; // taps per iteration: their loads are issued together, before the FMAs

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
    const uint pq = pc.p.p * pc.p.q, rs = pc.p.r * pc.p.s, taps = kg * rn * sn;
    const uint lane = gl_SubgroupInvocationID % MB, cluster = gl_SubgroupInvocationID - lane;

    float acc[MB][NB];
    [[unroll]] for (uint j = 0; j < MB; j++)
        [[unroll]] for (uint i = 0; i < NB; i++)
            acc[j][i] = 0.0;

    // This lane's weights: channel m0 + lane (channels past cg repeat the last one; their sums
    // are not stored) of filter g kg + k, at tap (ph + st i, pw + st j).
    const uint wm = (grp * kg * cg + min(m0 + lane, cg - 1)) * rs + ph * pc.p.s + pw;
    // The next tap (k, i, j) as the dy offset of channel k's plane, i and j.
    uint tk = (n * pc.p.k + grp * kg) * pq, tw = wm, ti = 0, tj = 0;
    for (uint t0 = 0; t0 < taps; t0 += U) {
        float dv[U][NB], wl[U];
        [[unroll]] for (uint u = 0; u < U; u++) {
            int p = hb - int(ti), q = wb0 - int(tj);
            bool row_ok = t0 + u < taps && uint(p) < pc.p.p;
            uint dr = tk + uint(p) * pc.p.q;
            [[unroll]] for (uint i = 0; i < NB; i++, q++)
                dv[u][i] = row_ok && uint(q) < pc.p.q ? dy[dr + uint(q)] : 0.0;
            wl[u] = t0 + u < taps ? wt[tw + (ti * pc.p.s + tj) * st] : 0.0;
            if (++tj == sn) {
                tj = 0;
                if (++ti == rn) {
                    ti = 0;
                    tk += pq;
                    tw += cg * rs;
                }
            }
        }
        [[unroll]] for (uint u = 0; u < U; u++)
            [[unroll]] for (uint j = 0; j < MB; j++) {
                float wj = subgroupShuffle(wl[u], cluster + j);
                [[unroll]] for (uint i = 0; i < NB; i++)
                    acc[j][i] = fma(wj, dv[u][i], acc[j][i]);
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
