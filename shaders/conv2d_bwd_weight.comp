#version 450
// conv2d_bwd_weight: partial weight (and bias) gradients as an implicit GEMM per group g and
// split z, over the split's range [z chunk, min((z + 1) chunk, n p q)) of output positions:
//   part[z][g kg + m][col] = sum over (n, p, q) in the range of dy[n][g kg + m][p][q] * B
//   B = x[n][g cg + c][p st - pad + r][q st - pad + s] for col = (c, r, s) < cg r s,
//   B = 1 for col = cg r s (the bias column, present when pc.p.bias != 0).
// Rows m < kg = k / groups, columns col < cols = cg r s + bias. conv2d_bwd_wsum then adds the
// splits in a fixed order, so the result is the same bit for bit on every run.
// Bindings: 0 x (n c h w), 1 dy (n k p q), 2 part (splits k cols).
// Grid: (column tiles of cols from pc.p.tile0, row tiles of kg, groups * splits); 256 invocations.
// Mirrors ref_conv2d_bwd_weight (engine/ops/conv2d.c), split into ranges.
#include "common.glsl"
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict writeonly buffer Part { float part[]; };

uint g_m, g_n, g_kbeg, g_kend;
uint grp, split;
int col_x, col_r, col_s; // this invocation's B column: x offset of channel c, r, s
bool col_bias;

void conv_setup()
{
    grp = gl_WorkGroupID.z % pc.p.groups;
    split = gl_WorkGroupID.z / pc.p.groups;
    g_m = pc.p.k / pc.p.groups;
    g_n = pc.p.c / pc.p.groups * pc.p.r * pc.p.s + pc.p.bias;
    g_kbeg = split * pc.p.chunk;
    g_kend = min(g_kbeg + pc.p.chunk, pc.p.n * pc.p.p * pc.p.q);
}

void conv_col(uint col)
{
    uint rs = pc.p.r * pc.p.s, c = col / rs, t = col % rs;
    col_bias = pc.p.bias != 0u && col == g_n - 1u;
    col_x = int((grp * (pc.p.c / pc.p.groups) + c) * pc.p.h * pc.p.w);
    col_r = int(t / pc.p.s);
    col_s = int(t % pc.p.s);
}

// (x offset of image n, p st - pad, q st - pad, dy offset of (n, channel 0, p, q))
ivec4 conv_decode(uint npq)
{
    uint pq = pc.p.p * pc.p.q, n = npq / pq, rem = npq % pq;
    return ivec4(int(n * pc.p.c * pc.p.h * pc.p.w),
                 int(rem / pc.p.q * pc.p.stride) - int(pc.p.pad),
                 int(rem % pc.p.q * pc.p.stride) - int(pc.p.pad), int(n * pc.p.k * pq + rem));
}

float conv_a(uint m, uint kidx, ivec4 t)
{
    return dy[uint(t.w) + (grp * g_m + m) * pc.p.p * pc.p.q];
}

float conv_b(ivec4 t)
{
    if (col_bias)
        return 1.0;
    int h = t.y + col_r, w = t.z + col_s;
    return uint(h) < pc.p.h && uint(w) < pc.p.w ? x[t.x + col_x + h * int(pc.p.w) + w] : 0.0;
}

void conv_store(uint m, uint col, float v)
{
    part[(split * pc.p.k + grp * g_m + m) * g_n + col] = v;
}

#include "conv2d_gemm.glsl"
