#version 450
// linear_bwd_weight: dw (out, in) = (acc ? dw : 0) + dy^T x, and with bias
// db (out) = (acc_b ? db : 0) + column sums of dy (over the batch).
// GEMM map (linear_gemm.glsl): M = out, K = batch, N = xc + bias columns, where xc = in when dw
// is wanted (weight = 1) and 0 when only db is; A(m, k) = dy[k, m] (m-contiguous), B(k, n) =
// x[k, n] for n < xc (n-contiguous) and 1 for the bias column n = xc. So db is the GEMM's last
// column, dy^T times a column of ones: the same tiles, the same fixed summation order, no
// separate reduction pass.
// Bindings: 0 dy (batch*out), 1 x (batch*in), 2 dw (out*in), 3 db (out; dw again when there is
// no bias, never written). Push: batch, in_features, out_features, bias, acc, acc_b, weight.
// Grid: (ceil((xc + bias) / TILE), ceil(out / TILE), 1). Mirrors ref_linear_bwd_weight.
#include "common.glsl"
layout(push_constant) uniform PC { vkd_linear_params p; } pc;
layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer X { float x[]; };
layout(std430, binding = 2) buffer DW { float dw[]; };
layout(std430, binding = 3) buffer DB { float db[]; };

uint x_cols() { return pc.p.weight != 0u ? pc.p.in_features : 0u; }

#define A_K_CONTIGUOUS 0
#define B_K_CONTIGUOUS 0
float load_a(uint m, uint k) { return dy[k * pc.p.out_features + m]; }
float load_b(uint k, uint n) { return n < x_cols() ? x[k * pc.p.in_features + n] : 1.0; }
#include "linear_gemm.glsl"

void main()
{
    uint xc = x_cols(), cols = xc + (pc.p.bias != 0u ? 1u : 0u);
    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    gemm_tile(pc.p.out_features, cols, pc.p.batch, c);

    for (uint i = 0; i < PER; i++) {
        uint m = gemm_row(i);
        for (uint j = 0; j < PER; j++) {
            uint n = gemm_col(j);
            if (m >= pc.p.out_features || n >= cols)
                continue;
            if (n < xc) {
                uint o = m * pc.p.in_features + n;
                dw[o] = pc.p.acc != 0u ? dw[o] + c[i][j] : c[i][j];
            } else {
                db[m] = pc.p.acc_b != 0u ? db[m] + c[i][j] : c[i][j];
            }
        }
    }
}
