#version 450
// attention_bwd: the gradient of the feature map through A = rowsoftmax(s X^T X)
// (shaders/attention.h), per sample z with X = F_z (c x p, correlation.glsl's strided view):
//   D[a][b] = A[a][b] (dA[a][b] - dot_a),  dot_a = dA[a, :] . A[a, :]   (correlation_nrm_bwd)
//   dX = s X (D + D^T)
// D + D^T is formed while it is staged, from the saved A, the upstream dA and the row dots,
// and never stored. GEMM map (correlation.glsl): M = c, N = p, K = p; A(m, j) = X[m][j],
// B(n, j) = (D + D^T)[n][j] (symmetric), each output one invocation's fma chain in increasing
// j, then scaled by s and written into dx, overwriting or adding (acc). Samples do not overlap,
// so every element of dx is written by exactly one invocation: no atomics, deterministic.
// Bindings: 0 x (n, c, h, w), 1 dA (n, p, p), 2 A (n, p, p), 3 dots (n * p), 4 dx (as x).
// Grid: (ceil(c / TILE) * tiles_n, fold, ceil(n / fold)), tiles_n = ceil(p / TILE).
// Mirrors ref_attention_bwd (engine/ops/attention.c).
#include "common.glsl"
// = struct vkd_attention_params (shaders/attention.h); correlation.glsl reads pc.p
layout(push_constant) uniform PC { vkd_gram_params p; float scale; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DA { float da[]; };
layout(std430, binding = 2) readonly buffer A { float a[]; };
layout(std430, binding = 3) readonly buffer Dots { float dots[]; };
layout(std430, binding = 4) buffer DX { float dx[]; };
#include "correlation.glsl"

// D[r][q] of sample z (see the header).
float d_elem(uint z, uint r, uint q)
{
    uint P = pc.p.rows, i = (z * P + r) * P + q;
    return a[i] * (da[i] - dots[z * P + r]);
}

// operand(r, j) = D[r][j] + D[j][r], r, j < p, into sb: the first orientation with j fastest,
// then (after a barrier: other invocations own the words) the second with r fastest, each
// walking dA and A in their contiguous order.
void stage_s(uint z, uint r0, uint j0)
{
    uint tid = gl_LocalInvocationIndex, P = pc.p.rows;
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint jj = l % BK, rr = l / BK, r = r0 + rr, j = j0 + jj;
        sb[jj * LDS + rr] = r < P && j < P ? d_elem(z, r, j) : 0.0;
    }
    barrier();
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint rr = l % TILE, jj = l / TILE, r = r0 + rr, j = j0 + jj;
        sb[jj * LDS + rr] += r < P && j < P ? d_elem(z, j, r) : 0.0;
    }
}

void main()
{
    bool live;
    uint z = corr_matrix(live), base = corr_base(z);
    uint C = pc.p.c, P = pc.p.rows;
    uint m0 = (gl_WorkGroupID.x / pc.p.tiles_n) * TILE;
    uint n0 = (gl_WorkGroupID.x % pc.p.tiles_n) * TILE;

    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    for (uint j0 = 0; j0 < P; j0 += BK) {
        stage_f_cp(0u, base, m0, j0); // A(m, j) = X[m][j]
        stage_s(z, n0, j0);           // B(n, j) = (D + D^T)[n][j]
        barrier();
        corr_fma(c);
        barrier();
    }

    for (uint i = 0; i < PER; i++) {
        uint m = m0 + gl_LocalInvocationID.y + WGS * i;
        for (uint j = 0; j < PER; j++) {
            uint n = n0 + gl_LocalInvocationID.x + WGS * j;
            if (!live || m >= C || n >= P)
                continue;
            uint o = base + corr_off(m, n);
            float g = pc.scale * c[i][j];
            dx[o] = pc.p.acc != 0u ? dx[o] + g : g;
        }
    }
}
