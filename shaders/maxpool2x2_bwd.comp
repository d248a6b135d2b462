#version 450
// maxpool2x2_bwd: the gradient of each window goes to the element the forward picked (the first
// maximum in row-major order, recomputed from x with the forward's own rule); the other three
// and an odd last row/column get 0. Windows do not overlap, so one invocation per input element
// writes it alone: deterministic, no atomics.
//   dx = (acc ? dx : 0) + (this element is its window's pick ? dy[window] : 0)
// Bindings: 0 x (nc * h * w), 1 dy (nc * (h/2) * (w/2)), 2 dx (nc * h * w).
// Grid: 1-D over the inputs. Mirrors ref_maxpool2x2_bwd (engine/ops/pool.c).
#include "common.glsl"
layout(local_size_x_id = 0) in;
layout(push_constant) uniform PC { vkd_pool_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) readonly buffer DY { float dy[]; };
layout(std430, binding = 2) buffer DX { float dx[]; };

void main()
{
    uint i = vkd_gid();
    uint h = pc.p.h, w = pc.p.w, oh = h / 2u, ow = w / 2u;
    if (i >= pc.p.nc * h * w)
        return;
    uint col = i % w, row = (i / w) % h, plane = i / (w * h);
    float g = 0.0;
    uint r = row / 2u, q = col / 2u;
    if (r < oh && q < ow) {
        uint base = (plane * h + 2u * r) * w + 2u * q;
        uint pick = 0u;
        float best = x[base];
        for (uint k = 1u; k < 4u; k++) {
            float v = x[base + (k >> 1) * w + (k & 1u)];
            if (v > best || isnan(v)) {
                best = v;
                pick = k;
            }
        }
        uint mine = (row - 2u * r) * 2u + (col - 2u * q);
        if (mine == pick)
            g = dy[(plane * oh + r) * ow + q];
    }
    dx[i] = pc.p.acc != 0u ? dx[i] + g : g;
}
