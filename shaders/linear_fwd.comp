#version 450
// linear_fwd: y (batch, out) = x (batch, in) w^T + b, as torch.nn.Linear; x is any tensor with
// `batch` rows of `in` values (its c*h*w flattened), w is (out, in), b is (out).
// GEMM map (linear_gemm.glsl): M = batch, N = out, K = in; A(m, k) = x[m, k], B(k, n) = w[n, k]
// (both k-contiguous). The bias is added after the sum, as torch's addmm does.
// Bindings: 0 x (batch*in), 1 w (out*in), 2 b (out; w again when there is no bias, never read),
// 3 y (batch*out). Push: batch, in_features, out_features, bias.
// Grid: (ceil(out / TILE), ceil(batch / TILE), 1). Mirrors ref_linear_fwd.
#include "common.glsl"
layout(push_constant) uniform PC { vkd_linear_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer W { float w[]; };
layout(std430, binding = 2) readonly buffer B { float b[]; };
layout(std430, binding = 3) writeonly buffer Y { float y[]; };

#define A_K_CONTIGUOUS 1
#define B_K_CONTIGUOUS 1
float load_a(uint m, uint k) { return x[m * pc.p.in_features + k]; }
float load_b(uint k, uint n) { return w[n * pc.p.in_features + k]; }
#include "linear_gemm.glsl"

void main()
{
    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    gemm_tile(pc.p.batch, pc.p.out_features, pc.p.in_features, c);

    for (uint i = 0; i < PER; i++) {
        uint m = gemm_row(i);
        for (uint j = 0; j < PER; j++) {
            uint n = gemm_col(j);
            if (m < pc.p.batch && n < pc.p.out_features)
                y[m * pc.p.out_features + n] = pc.p.bias != 0u ? c[i][j] + b[n] : c[i][j];
        }
    }
}
