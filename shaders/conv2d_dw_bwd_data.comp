#version 450
// conv2d_dw_bwd_data: the input gradient of a depthwise convolution (groups == c == k), direct:
//   dx[n][c][h][w] (+)= sum over (r, s) of w[c][0][r][s] * dy[n][c][p][q]
// where h + pad - r = p st and w + pad - s = q st. Overwrites dx, or adds when pc.p.acc != 0.
// Bindings: 0 w (k 1 r s), 1 dy (n k p q), 2 dx (n c h w). Grid: 1-D over n c h w.
// Mirrors ref_conv2d_bwd_data (engine/ops/conv2d.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict buffer DX { float dx[]; };

void main()
{
    uint hw = pc.p.h * pc.p.w, i = vkd_gid();
    if (i >= pc.p.n * pc.p.c * hw)
        return;
    uint nc = i / hw, c = nc % pc.p.c, rem = i % hw;
    int hh = int(rem / pc.p.w + pc.p.pad), ww = int(rem % pc.p.w + pc.p.pad);
    int st = int(pc.p.stride);
    uint yb = nc * pc.p.p * pc.p.q, wb = c * pc.p.r * pc.p.s;
    float acc = 0.0;
    for (uint r = 0; r < pc.p.r; r++) {
        int hp = hh - int(r);
        if (hp < 0 || hp % st != 0 || hp / st >= int(pc.p.p))
            continue;
        for (uint s = 0; s < pc.p.s; s++) {
            int wp = ww - int(s);
            if (wp >= 0 && wp % st == 0 && wp / st < int(pc.p.q))
                acc += wt[wb + r * pc.p.s + s] * dy[yb + uint(hp / st) * pc.p.q + uint(wp / st)];
        }
    }
    dx[i] = pc.p.acc != 0u ? dx[i] + acc : acc;
}
