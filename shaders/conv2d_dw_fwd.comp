#version 450
// conv2d_dw_fwd: depthwise convolution (groups == c == k: one filter per channel), direct:
//   y[n][k][p][q] = b[k]
//       + sum over (r, s) of w[k][0][r][s] * x[n][k][p st - pad + r][q st - pad + s]
// An implicit GEMM would have one row per group; a direct loop over the r s taps is the whole
// reduction here. Bindings: 0 x (n c h w), 1 w (k 1 r s), 2 b (k; unread when pc.p.bias == 0),
// 3 y (n k p q). Grid: 1-D over n k p q. Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 2) restrict readonly buffer B { float b[]; };
layout(std430, binding = 3) restrict writeonly buffer Y { float y[]; };

void main()
{
    uint pq = pc.p.p * pc.p.q, i = vkd_gid();
    if (i >= pc.p.n * pc.p.k * pq)
        return;
    uint nk = i / pq, k = nk % pc.p.k, rem = i % pq;
    int h0 = int(rem / pc.p.q * pc.p.stride) - int(pc.p.pad);
    int w0 = int(rem % pc.p.q * pc.p.stride) - int(pc.p.pad);
    uint xb = nk * pc.p.h * pc.p.w, wb = k * pc.p.r * pc.p.s;
    float acc = 0.0;
    for (uint r = 0; r < pc.p.r; r++) {
        int h = h0 + int(r);
        if (uint(h) >= pc.p.h)
            continue;
        for (uint s = 0; s < pc.p.s; s++) {
            int w = w0 + int(s);
            if (uint(w) < pc.p.w)
                acc += wt[wb + r * pc.p.s + s] * x[xb + uint(h) * pc.p.w + uint(w)];
        }
    }
    y[i] = pc.p.bias != 0u ? acc + b[k] : acc;
}
