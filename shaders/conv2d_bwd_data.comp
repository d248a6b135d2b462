#version 450
// conv2d_bwd_data: the input gradient as an implicit GEMM per group g over the transposed problem:
//   dx[n][g cg + m][h][w] (+)= sum over (k, r, s) of w[g kg + k][m][r][s] * dy[n][g kg + k][p][q]
// where h + pad - r = p st and w + pad - s = q st. Overwrites dx, or adds to it when pc.p.acc.
//
// With stride st > 1 most taps of a given (h, w) fall between outputs: only r = (h + pad) mod st
// (+ multiples of st) can contribute, and likewise s. So the dx positions are split into st * st
// phases (ph, pw) = ((h + pad) mod st, (w + pad) mod st), each its own dense GEMM over the taps
// r = ph + st i, s = pw + st j that serve it, with p = (h + pad - ph) / st - i (q likewise):
// no wasted multiplications and no divisions in the loads. Stride 1 is the one phase (0, 0).
// A phase with no taps (a 1x1 filter at stride 2 serves only phase (0, 0)) writes zeros.
//
// GEMM of a phase: rows m < cg = c / groups, columns (n, h, w) of the phase, reduction (k, i, j)
// < kg = k / groups times the phase's taps.
// Bindings: 0 w (k cg r s), 1 dy (n k p q), 2 dx (n c h w).
// Grid: (column tiles from pc.p.tile0, row tiles of cg, groups * st * st); 256 invocations.
// Mirrors ref_conv2d_bwd_data (engine/ops/conv2d.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict buffer DX { float dx[]; };

uint g_m, g_n, g_kbeg, g_kend;
uint grp, kg;
uint ph, pw;           // the phase
uint h0, w0, hn, wn;   // its first h and w, and how many there are
uint rn, sn;           // its taps: r = ph + st i (i < rn), s = pw + st j (j < sn)
int col_dy, col_p, col_q; // this invocation's B column: dy offset of (n, group, p, q) at tap i = j = 0

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

void conv_setup()
{
    uint st = pc.p.stride, phase = gl_WorkGroupID.z / pc.p.groups;
    grp = gl_WorkGroupID.z % pc.p.groups;
    ph = phase / st;
    pw = phase % st;
    h0 = phase_first(ph);
    w0 = phase_first(pw);
    hn = phase_count(h0, pc.p.h);
    wn = phase_count(w0, pc.p.w);
    rn = phase_count(ph, pc.p.r);
    sn = phase_count(pw, pc.p.s);
    kg = pc.p.k / pc.p.groups;
    g_m = pc.p.c / pc.p.groups;
    g_n = pc.p.n * hn * wn;
    g_kbeg = 0;
    g_kend = kg * rn * sn;
}

// Column col of the phase: image n, h = h0 + st hi, w = w0 + st wi.
void conv_col(uint col)
{
    uint hw = hn * wn, n = col / max(hw, 1u), rem = col % max(hw, 1u);
    // p at tap i = 0: (h + pad - ph) / st, exact by the choice of phase
    col_p = int((h0 + rem / max(wn, 1u) * pc.p.stride + pc.p.pad - ph) / pc.p.stride);
    col_q = int((w0 + rem % max(wn, 1u) * pc.p.stride + pc.p.pad - pw) / pc.p.stride);
    col_dy = int((n * pc.p.k + grp * kg) * pc.p.p * pc.p.q) + col_p * int(pc.p.q) + col_q;
}

// (dy offset of channel k and tap (i, j) relative to tap (0, 0) of channel 0, i, j, k)
ivec4 conv_decode(uint kidx)
{
    uint taps = max(rn * sn, 1u), k = kidx / taps, t = kidx % taps;
    int i = int(t / max(sn, 1u)), j = int(t % max(sn, 1u));
    return ivec4(int(k * pc.p.p * pc.p.q) - i * int(pc.p.q) - j, i, j, int(k));
}

float conv_a(uint m, uint kidx, ivec4 t)
{
    uint r = ph + uint(t.y) * pc.p.stride, s = pw + uint(t.z) * pc.p.stride;
    return wt[(((grp * kg + uint(t.w)) * g_m + m) * pc.p.r + r) * pc.p.s + s];
}

float conv_b(ivec4 t)
{
    int p = col_p - t.y, q = col_q - t.z;
    return uint(p) < pc.p.p && uint(q) < pc.p.q ? dy[col_dy + t.x] : 0.0;
}

void conv_store(uint m, uint col, float v)
{
    uint hw = hn * wn, n = col / hw, rem = col % hw;
    uint h = h0 + rem / wn * pc.p.stride, w = w0 + rem % wn * pc.p.stride;
    uint i = ((n * pc.p.c + grp * g_m + m) * pc.p.h + h) * pc.p.w + w;
    dx[i] = pc.p.acc != 0u ? dx[i] + v : v;
}

#include "conv2d_gemm.glsl"
