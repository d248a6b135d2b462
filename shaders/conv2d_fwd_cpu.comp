#version 450
// conv2d_fwd_cpu: the forward of conv2d_fwd (same result, same bindings) for CPU devices (see
// shaders/conv2d.h): y = conv(x, w) + b, cross-correlation with zero padding, per group g
//   y[n][g kg + k][p][q] = b[g kg + k] + sum over (c, r, s) of
//       w[g kg + k][c][r][s] * x[n][g cg + c][p st - pad + r][q st - pad + s]
// Each invocation computes MB (8) channels k0.. of NB (8) consecutive outputs q0.. of one output
// row (n, p). The whole workgroup shares k0, so the weight of a tap for channel k0 + l is loaded
// by lane l of each cluster of 8 and shuffled to the others. The reduction over taps (c, r, s)
// walks one flat index U taps per iteration: per tap, NB loads of x and one of w feed 64 FMAs.
// Bindings: 0 x (n c h w), 1 w (k cg r s), 2 b (k; unread when pc.p.bias == 0), 3 y (n k p q).
// Grid: (ceil(n p ceil(q / NB) / WG) from pc.p.tile0, ceil(kg / MB), groups); WG = 64.
// Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#include "common.glsl"
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require
layout(local_size_x = VKD_CONV_CPU_WG) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer W { float wt[]; };
layout(std430, binding = 2) restrict readonly buffer B { float b[]; };
layout(std430, binding = 3) restrict writeonly buffer Y { float y[]; };

const uint MB = VKD_CONV_CPU_MB, NB = VKD_CONV_CPU_NB;
const uint U = 4; // taps per iteration: their loads are issued together, before the FMAs

void main()
{
    const uint grp = gl_WorkGroupID.z, cg = pc.p.c / pc.p.groups, kg = pc.p.k / pc.p.groups;
    const uint st = pc.p.stride, qblocks = (pc.p.q + NB - 1) / NB;
    const uint total = pc.p.n * pc.p.p * qblocks;
    const uint wg = pc.p.tile0 + gl_WorkGroupID.x;
    const uint blk = wg * VKD_CONV_CPU_WG + gl_LocalInvocationIndex;
    // Invocations past the end compute a copy of the last block (every lane must take part in
    // the shuffles) and store nothing.
    const uint bc = min(blk, total - 1);
    const uint n = bc / (pc.p.p * qblocks), rem = bc % (pc.p.p * qblocks);
    const uint op = rem / qblocks, q0 = rem % qblocks * NB;
    const int h0 = int(op * st) - int(pc.p.pad), w0 = int(q0 * st) - int(pc.p.pad);
    const uint k0 = gl_WorkGroupID.y * MB;
    const uint hw = pc.p.h * pc.p.w, crs = cg * pc.p.r * pc.p.s;
    const uint lane = gl_SubgroupInvocationID % MB, cluster = gl_SubgroupInvocationID - lane;

    // This lane's weight row (channels past kg repeat the last one; their sums are not stored).
    const uint wrow = (grp * kg + min(k0 + lane, kg - 1)) * crs;
    float acc[MB][NB];
    [[unroll]] for (uint j = 0; j < MB; j++)
        [[unroll]] for (uint i = 0; i < NB; i++)
            acc[j][i] = 0.0;

    // The next tap (c, r, s) as the x offset of its channel plane, r and s.
    uint tc = (n * pc.p.c + grp * cg) * hw, tr = 0, ts = 0;
    for (uint t0 = 0; t0 < crs; t0 += U) {
        float xv[U][NB], wl[U];
        [[unroll]] for (uint u = 0; u < U; u++) {
            int h = h0 + int(tr), v = w0 + int(ts);
            bool row_ok = t0 + u < crs && uint(h) < pc.p.h;
            uint xr = tc + uint(h) * pc.p.w;
            [[unroll]] for (uint i = 0; i < NB; i++, v += int(st))
                xv[u][i] = row_ok && uint(v) < pc.p.w ? x[xr + uint(v)] : 0.0;
            wl[u] = t0 + u < crs ? wt[wrow + t0 + u] : 0.0;
            if (++ts == pc.p.s) {
                ts = 0;
                if (++tr == pc.p.r) {
                    tr = 0;
                    tc += hw;
                }
            }
        }
        [[unroll]] for (uint u = 0; u < U; u++)
            [[unroll]] for (uint j = 0; j < MB; j++) {
                float wj = subgroupShuffle(wl[u], cluster + j);
                [[unroll]] for (uint i = 0; i < NB; i++)
                    acc[j][i] = fma(wj, xv[u][i], acc[j][i]);
            }
    }

    if (blk >= total)
        return;
    const uint pq = pc.p.p * pc.p.q;
    [[unroll]] for (uint j = 0; j < MB; j++) {
        uint k = grp * kg + k0 + j;
        if (k0 + j >= kg)
            break;
        float bias = pc.p.bias != 0u ? b[k] : 0.0;
        uint yo = (n * pc.p.k + k) * pq + op * pc.p.q + q0;
        [[unroll]] for (uint i = 0; i < NB; i++)
            if (q0 + i < pc.p.q)
                y[yo + i] = acc[j][i] + bias;
    }
}
