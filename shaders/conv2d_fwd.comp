#version 450
// conv2d_fwd: y = conv(x, w) + b as an implicit GEMM per group g (cross-correlation, zero pad):
//   y[n][g kg + m][p][q] = b[g kg + m] + sum over (c, r, s) of
//       w[g kg + m][c][r][s] * x[n][g cg + c][p st - pad + r][q st - pad + s]
// rows m < kg = k / groups, columns (n, p, q), reduction (c, r, s) < cg r s (cg = c / groups).
// Bindings: 0 x (n c h w), 1 w (k cg r s), 2 b (k; unread when pc.p.bias == 0), 3 y (n k p q).
// Grid: (column tiles of n p q from pc.p.tile0, row tiles of kg, groups); 256 invocations.
// Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 2) restrict readonly buffer B { float b[]; };
layout(std430, binding = 3) restrict writeonly buffer Y { float y[]; };

uint g_m, g_n, g_kbeg, g_kend;
uint grp;
int col_x, col_h, col_w; // this invocation's B column: x offset of tap (0, 0), and its h, w

void conv_setup()
{
    grp = gl_WorkGroupID.z;
    g_m = pc.p.k / pc.p.groups;
    g_n = pc.p.n * pc.p.p * pc.p.q;
    g_kbeg = 0;
    g_kend = pc.p.c / pc.p.groups * pc.p.r * pc.p.s;
}

void conv_col(uint col)
{
    uint pq = pc.p.p * pc.p.q, n = col / pq, rem = col % pq;
    col_h = int(rem / pc.p.q * pc.p.stride) - int(pc.p.pad);
    col_w = int(rem % pc.p.q * pc.p.stride) - int(pc.p.pad);
    col_x = int((n * pc.p.c + grp * (pc.p.c / pc.p.groups)) * pc.p.h * pc.p.w) +
            col_h * int(pc.p.w) + col_w;
}

// (offset of tap (c, r, s) relative to tap (0, 0, 0), r, s)
ivec4 conv_decode(uint kidx)
{
    uint rs = pc.p.r * pc.p.s, c = kidx / rs, t = kidx % rs, r = t / pc.p.s, s = t % pc.p.s;
    return ivec4(int((c * pc.p.h + r) * pc.p.w + s), int(r), int(s), 0);
}

float conv_a(uint m, uint kidx, ivec4 t)
{
    return wt[(grp * g_m + m) * g_kend + kidx];
}

float conv_b(ivec4 t)
{
    int h = col_h + t.y, w = col_w + t.z;
    return uint(h) < pc.p.h && uint(w) < pc.p.w ? x[col_x + t.x] : 0.0;
}

void conv_store(uint m, uint col, float v)
{
    uint pq = pc.p.p * pc.p.q, n = col / pq, k = grp * g_m + m;
    y[(n * pc.p.k + k) * pq + col % pq] = pc.p.bias != 0u ? v + b[k] : v;
}

#include "conv2d_gemm.glsl"
