#version 450
// conv2d_dw_bwd_weight: partial weight (and bias) gradients of a depthwise convolution
// (groups == c == k) for channel k = gl_WorkGroupID.y over split z = gl_WorkGroupID.x, which
// covers the output rows (n, p) of [z chunk, min((z + 1) chunk, n p q)) (chunk is a multiple of q):
//   part[z][k][r s + 1 ... ] as conv2d_bwd_weight: col = (r, s) < r s sums dy * x over the rows,
//   col = r s (when pc.p.bias != 0) sums dy.
// Each of the cols = r s + bias columns (taps) gets lanes = 256 / cols invocations that take
// every lanes-th row; the lanes' sums are then added in lane order, so the result is
// deterministic. conv2d_bwd_wsum adds the splits.
// Bindings: 0 x (n c h w), 1 dy (n k p q), 2 part (splits k cols).
// Grid: (splits, k); 256 invocations. Mirrors ref_conv2d_bwd_weight (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x = VKD_CONV_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict writeonly buffer Part { float part[]; };

shared float lane_sum[VKD_CONV_WG];

void main()
{
    const uint t = gl_LocalInvocationIndex, split = gl_WorkGroupID.x, k = gl_WorkGroupID.y;
    const uint rs = pc.p.r * pc.p.s, cols = rs + pc.p.bias, lanes = VKD_CONV_WG / cols;
    const uint tap = t % cols, lane = t / cols;
    const uint rows = pc.p.chunk / pc.p.q, row0 = split * rows;
    const uint row1 = min(row0 + rows, pc.p.n * pc.p.p);
    const int r = int(tap / pc.p.s), s = int(tap % pc.p.s);
    float acc = 0.0;
    for (uint row = row0 + lane; lane < lanes && row < row1; row += lanes) {
        uint n = row / pc.p.p, p = row % pc.p.p;
        uint yb = (n * pc.p.k + k) * pc.p.p * pc.p.q + p * pc.p.q;
        if (tap == rs) { // the bias column
            for (uint q = 0; q < pc.p.q; q++)
                acc += dy[yb + q];
            continue;
        }
        int h = int(p * pc.p.stride) - int(pc.p.pad) + r;
        if (uint(h) >= pc.p.h)
            continue;
        uint xb = ((n * pc.p.c + k) * pc.p.h + uint(h)) * pc.p.w;
        for (uint q = 0; q < pc.p.q; q++) {
            int w = int(q * pc.p.stride) - int(pc.p.pad) + s;
            if (uint(w) < pc.p.w)
                acc += dy[yb + q] * x[xb + uint(w)];
        }
    }
    lane_sum[t] = acc;
    barrier();
    if (t < cols) {
        float v = 0.0;
        for (uint l = 0; l < lanes; l++)
            v += lane_sum[l * cols + t];
        part[(split * pc.p.k + k) * cols + t] = v;
    }
}
