#version 450
// mask_mul_fwd: y[n][c][p] = (acc ? y : 0) + x[n][c][p] * m[n][p], a spatial mask (n, 1, h, w)
// broadcast over the channels (LKD's O_repeat(M) (.) F). Also the x half of its backward:
// dx = dy * m, bound as x = dy, y = dx, with acc when dx already holds another node's gradient.
// Bindings: 0 x (count), 1 m (count / c), 2 y (count). Grid: 1-D over count = n * c * hw.
// Mirrors ref_mask_mul_fwd (engine/ops/eltwise.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_mask_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer M { float m[]; };
layout(std430, binding = 2) buffer Y { float y[]; };

void main()
{
    uint i = vkd_gid();
    if (i >= pc.p.count)
        return;
    uint hw = pc.p.hw;
    // element (n, c, p) = i; its mask element (n, p) = (i / (c hw)) hw + i % hw
    float v = x[i] * m[(i / (pc.p.c * hw)) * hw + i % hw];
    y[i] = pc.p.acc != 0u ? y[i] + v : v;
}
