#version 450
// correlation_bwd_cpu: correlation_bwd for CPU devices (shaders/correlation.h): the gradient of
// the feature map from the gradient of G, S = D + D^T,
//   channel mode  dF_z[a][q] = sum over b < R of S[a][b] F_z[b][q]   (rows a: channels)
//   spatial mode  dF_z[k][a] = sum over b < R of F_z[k][b] S[b][a]   (rows k: channels)
// with D the row-normalisation backward when G is normalised (d_elem, as correlation_bwd),
// written into dx at F_z's strided place, overwriting or adding (acc). Rows are the shuffled
// operand (MB channels per cluster), columns are NB pixels per invocation.
// Cost: in channel mode a step reads D[b][a] for the cluster's MB rows a: one line of D's row
// b, a new row (R words further) every step. On lavapipe that strided walk is most of this
// kernel's time (LKD's 3136-row patch Gram: 8.3 s with it, 2.1 s with that read removed as an
// experiment); reading D's rows per lane instead (64 row streams per step) measured 2.3x
// slower still (one `vkdistill bench --method lkd --opt k=7 --passes` run each, load 6-8). A symmetrised S stored by a pre-pass would remove it, at R x R floats.
// Bindings: 0 x (n, c, h, w), 1 dG (batches, R, R), 2 G, 3 norms (batches * R), 4 dots
// (batches * R) (2-4 are dG again when there is no normalisation, never read), 5 dx (as x).
// Grid: (ceil(ceil(c / MB) * tiles_n * CL / WG), fold, ceil(batches / fold)), tiles_n =
// ceil(p / (CL NB)) column chunks (shaders/correlation_cpu.glsl).
// Mirrors ref_gram_bwd (engine/ops/correlation.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer DG { float dg[]; };
layout(std430, binding = 2) restrict readonly buffer Y { float y[]; };
layout(std430, binding = 3) restrict readonly buffer Norms { float norms[]; };
layout(std430, binding = 4) restrict readonly buffer Dots { float dots[]; };
layout(std430, binding = 5) restrict buffer DX { float dx[]; };
#include "correlation_cpu.glsl"

// D[a][b] of matrix z (see correlation_bwd.comp).
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

void main()
{
    uint m0, n0, chunk;
    if (!corr_cpu_block(pc.p.c, m0, n0, chunk))
        return; // a whole cluster past the last rows (its shuffles read only its own lanes)
    bool live;
    const uint z = corr_matrix(live), base = corr_base(z);
    const uint C = pc.p.c, P = pc.p.ch * pc.p.cw, hw = pc.p.h * pc.p.w;
    const bool channel = pc.p.mode == VKD_GRAM_CHANNEL;

    // This lane's operand rows (channels) and columns (pixels); past the end they repeat the
    // last, computed and never stored.
    uint rk[MH], cq[NB];
    [[unroll]] for (uint h = 0; h < MH; h++)
        rk[h] = min(m0 + cpu_lane() + CL * h, C - 1u);
    [[unroll]] for (uint i = 0; i < NB; i++)
        cq[i] = min(n0 + i, P - 1u);
    cpu_zero();
    if (channel) { // A(a, b) = S[a][b] (a a channel), B(q, b) = F[b][q]
        uint coff[NB];
        [[unroll]] for (uint i = 0; i < NB; i++)
            coff[i] = base + corr_pix(cq[i]);
        for (uint b = 0; b < pc.p.rows; b++) {
            float rows[MH], col[NB];
            [[unroll]] for (uint h = 0; h < MH; h++)
                rows[h] = d_elem(z, rk[h], b) + d_elem(z, b, rk[h]);
            [[unroll]] for (uint i = 0; i < NB; i++)
                col[i] = x[coff[i] + b * hw];
            cpu_fma(rows, col);
        }
    } else { // A(k, b) = F[k][b], B(a, b) = S[b][a] (a a pixel)
        for (uint b = 0; b < pc.p.rows; b++) {
            uint pb = base + corr_pix(b);
            float rows[MH], col[NB];
            [[unroll]] for (uint h = 0; h < MH; h++)
                rows[h] = x[pb + rk[h] * hw];
            [[unroll]] for (uint i = 0; i < NB; i++)
                col[i] = d_elem(z, b, cq[i]) + d_elem(z, cq[i], b);
            cpu_fma(rows, col);
        }
    }

    if (!live)
        return;
    [[unroll]] for (uint a = 0; a < MB; a++) {
        uint m = m0 + a;
        [[unroll]] for (uint i = 0; i < NB; i++) {
            uint n = n0 + i;
            if (m >= C || n >= P)
                continue;
            uint o = base + corr_off(m, n);
            dx[o] = pc.p.acc != 0u ? dx[o] + acc[a][i] : acc[a][i];
        }
    }
}
