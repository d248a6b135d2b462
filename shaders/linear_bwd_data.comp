#version 450
// linear_bwd_data: dx (batch, in) = (acc ? dx : 0) + dy (batch, out) w (out, in).
// GEMM map (linear_gemm.glsl): M = batch, N = in, K = out; A(m, k) = dy[m, k] (k-contiguous),
// B(k, n) = w[k, n] (n-contiguous).
// Bindings: 0 dy (batch*out), 1 w (out*in), 2 dx (batch*in).
// Push: batch, in_features, out_features, acc.
// Grid: (ceil(in / TILE), ceil(batch / TILE), 1). Mirrors ref_linear_bwd_data.
#include "common.glsl"
layout(push_constant) uniform PC { vkd_linear_params p; } pc;
layout(std430, binding = 0) readonly buffer DY { float dy[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

#define A_K_CONTIGUOUS 1
#define B_K_CONTIGUOUS 0
float load_a(uint m, uint k) { return dy[m * pc.p.out_features + k]; }
float load_b(uint k, uint n) { return w[k * pc.p.in_features + n]; }
#include "linear_gemm.glsl"

void main()
{
    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    gemm_tile(pc.p.batch, pc.p.in_features, pc.p.out_features, c);

    for (uint i = 0; i < PER; i++) {
        uint m = gemm_row(i);
        for (uint j = 0; j < PER; j++) {
            uint n = gemm_col(j);
            if (m < pc.p.batch && n < pc.p.in_features) {
                uint o = m * pc.p.in_features + n;
                dx[o] = pc.p.acc != 0u ? dx[o] + c[i][j] : c[i][j];
            }
        }
    }
}
