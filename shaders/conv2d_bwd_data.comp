#version 450
// conv2d_bwd_data: the input gradient as an implicit GEMM per group g over the transposed problem:
//   dx[n][g cg + m][h][w] (+)= sum over (k, r, s) of w[g kg + k][m][r][s] * dy[n][g kg + k][p][q]
// where h + pad - r = p st and w + pad - s = q st (taps that fall between strided outputs, or
// outside y, contribute nothing). Rows m < cg = c / groups, columns (n, h, w), reduction
// (k, r, s) < kg r s. Overwrites dx, or adds to it when pc.p.acc != 0.
// Bindings: 0 w (k cg r s), 1 dy (n k p q), 2 dx (n c h w).
// Grid: (column tiles of n h w from pc.p.tile0, row tiles of cg, groups); 256 invocations.
// Mirrors ref_conv2d_bwd_data (engine/ops/conv2d.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) readonly buffer W { float wt[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

uint g_m, g_n, g_kbeg, g_kend;
uint grp, kg;
// This invocation's B column: dy offset of its (n, group), and its h + pad, w + pad.
int col_dy, col_h, col_w;

void conv_setup()
{
    grp = gl_WorkGroupID.z;
    kg = pc.p.k / pc.p.groups;
    g_m = pc.p.c / pc.p.groups;
    g_n = pc.p.n * pc.p.h * pc.p.w;
    g_kbeg = 0;
    g_kend = kg * pc.p.r * pc.p.s;
}

void conv_col(uint col)
{
    uint hw = pc.p.h * pc.p.w, n = col / hw, rem = col % hw;
    col_h = int(rem / pc.p.w + pc.p.pad);
    col_w = int(rem % pc.p.w + pc.p.pad);
    col_dy = int((n * pc.p.k + grp * kg) * pc.p.p * pc.p.q);
}

// (dy offset of channel k within the group, r, s, k)
ivec4 conv_decode(uint kidx)
{
    uint rs = pc.p.r * pc.p.s, k = kidx / rs, t = kidx % rs;
    return ivec4(int(k * pc.p.p * pc.p.q), int(t / pc.p.s), int(t % pc.p.s), int(k));
}

float conv_a(uint m, uint kidx, ivec4 t)
{
    uint tap = uint(t.y) * pc.p.s + uint(t.z);
    return wt[((grp * kg + uint(t.w)) * g_m + m) * pc.p.r * pc.p.s + tap];
}

float conv_b(ivec4 t)
{
    int hp = col_h - t.y, wp = col_w - t.z;
    if (pc.p.stride != 1u) { // uniform branch: stride-1 convs skip the divisions
        int st = int(pc.p.stride);
        if (hp < 0 || wp < 0 || hp % st != 0 || wp % st != 0)
            return 0.0;
        hp /= st;
        wp /= st;
    }
    return uint(hp) < pc.p.p && uint(wp) < pc.p.q ? dy[col_dy + t.x + hp * int(pc.p.q) + wp]
                                                   : 0.0;
}

void conv_store(uint m, uint col, float v)
{
    uint hw = pc.p.h * pc.p.w, n = col / hw;
    uint i = (n * pc.p.c + grp * g_m + m) * hw + col % hw;
    dx[i] = pc.p.acc != 0u ? dx[i] + v : v;
}

#include "conv2d_gemm.glsl"
