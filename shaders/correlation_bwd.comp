#version 450
// correlation_bwd: the gradient of the feature map from the gradient of G (shaders/correlation.h):
//   S = D + D^T,   channel mode dF_z = S F_z,   spatial mode dF_z = F_z S
// (G = A A^T gives dA = (dG + dG^T) A; spatial A = F^T), written into dx at F_z's strided
// place, overwriting or adding (acc). Without normalisation D = dG; with it D is the
// row-normalisation backward, formed here while S is staged (never stored):
//   D[a][b] = (dG[a][b] - dot_a G[a][b]) / norm_a   when norm_a > eps,   dG[a][b] / eps otherwise
// with G the normalised output, norm_a the saved un-clamped row norm and dot_a = dG[a,:].G[a,:]
// (correlation_nrm_bwd).
// GEMM map (correlation.glsl): M = c, N = p, K = R. Staging S reads D twice, once per
// orientation, each pass walking memory in its contiguous order. Cells do not overlap and
// cover the map, so every element of dx is written by exactly one invocation.
// Bindings: 0 x (n, c, h, w), 1 dG (batches, R, R), 2 G, 3 norms (batches * R), 4 dots
// (batches * R) (2-4 are dG again when there is no normalisation, never read), 5 dx (as x).
// Grid: (ceil(c / TILE) * tiles_n, fold, ceil(batches / fold)), tiles_n = ceil(p / TILE).
// Mirrors ref_gram_bwd (engine/ops/correlation.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DG { float dg[]; };
layout(std430, binding = 2) readonly buffer Y { float y[]; };
layout(std430, binding = 3) readonly buffer Norms { float norms[]; };
layout(std430, binding = 4) readonly buffer Dots { float dots[]; };
layout(std430, binding = 5) buffer DX { float dx[]; };
#include "correlation.glsl"

// D[a][b] of matrix z (see the header).
float d_elem(uint z, uint a, uint b)
{
    uint R = pc.p.rows, i = (z * R + a) * R + b;
    if (pc.p.normalize == 0u)
        return dg[i];
    float norm = norms[z * R + a];
    if (norm > pc.p.eps)
        return (dg[i] - dots[z * R + a] * y[i]) / norm;
    return dg[i] / pc.p.eps;
}

// operand(r, j) = S[r][j] = D[r][j] + D[j][r], r, j < R: the first orientation with j fastest,
// then (after a barrier: other invocations own the words) the second with r fastest.
void stage_s(uint which, uint z, uint r0, uint j0)
{
    uint tid = gl_LocalInvocationIndex, R = pc.p.rows;
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint jj = l % BK, rr = l / BK, r = r0 + rr, j = j0 + jj;
        stage_put(which, jj * LDS + rr, r < R && j < R ? d_elem(z, r, j) : 0.0);
    }
    barrier();
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint rr = l % TILE, jj = l / TILE, r = r0 + rr, j = j0 + jj;
        float v = r < R && j < R ? d_elem(z, j, r) : 0.0;
        if (which == 0u)
            sa[jj * LDS + rr] += v;
        else
            sb[jj * LDS + rr] += v;
    }
}

void main()
{
    bool live;
    uint z = corr_matrix(live), base = corr_base(z);
    uint C = pc.p.c, P = pc.p.ch * pc.p.cw;
    uint m0 = (gl_WorkGroupID.x / pc.p.tiles_n) * TILE;
    uint n0 = (gl_WorkGroupID.x % pc.p.tiles_n) * TILE;
    bool channel = pc.p.mode == VKD_GRAM_CHANNEL;

    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    for (uint j0 = 0; j0 < pc.p.rows; j0 += BK) {
        if (channel) {
            stage_s(0u, z, m0, j0);       // A(m, j) = S[m][j], m a channel
            stage_f_pc(1u, base, n0, j0); // B(n, j) = F[j][n], n a pixel
        } else {
            stage_f_cp(0u, base, m0, j0); // A(m, j) = F[m][j]
            stage_s(1u, z, n0, j0);       // B(n, j) = S[n][j] = S[j][n]
        }
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
            dx[o] = pc.p.acc != 0u ? dx[o] + c[i][j] : c[i][j];
        }
    }
}
