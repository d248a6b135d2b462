#version 450
// conv2d_bwd_weight_cpu_s1: conv2d_bwd_weight_cpu for stride 1 (same result, same bindings, same
// workspace), where neighbouring output positions read neighbouring inputs under a filter:
//   part[z][g kg + k][col] = sum over (n, p, q) in the range of dy[n][g kg + k][p][q] * B
//   B = x[n][g cg + c][p - pad + r][q - pad + s] for col = (c, r, s) < cg r s,
//   B = 1 for col = cg r s (the bias column, present when pc.p.bias != 0).
// Each invocation owns MB channels k0.. x a 3 x 3 block of taps (c, r0..r0 + 2, s0..s0 + 2)
// (taps past the filter are computed and dropped), and walks its range (whole output rows: the
// host makes pc.p.chunk a multiple of q) U positions of a row per step: 3 rows of U + 2 loads of
// x feed 9 MB U FMAs. The workgroup is one cluster sharing k0 and the positions, so dy is
// shuffled round it (shaders/conv2d_cpu.glsl). The bias column is the sum of the dy values the
// lanes load anyway; the first workgroup of each split stores it.
// Bindings: 0 x (n c h w), 1 dy (n k p q), 2 part (splits k cols).
// Grid: (ceil(cg ceil(r / 3) ceil(s / 3) / 8) from pc.p.tile0, ceil(kg / MB), groups splits);
// 8 invocations. Mirrors ref_conv2d_bwd_weight (engine/ops/conv2d.c), split into ranges.
#include "common.glsl"
#define VKD_CONV_NB 9 // the 3 x 3 taps of an invocation
#include "conv2d_cpu.glsl"
layout(local_size_x = VKD_CONV_CPU_WG_W) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict writeonly buffer Part { float part[]; };

const uint U = 4; // positions per step

void main()
{
    const uint grp = gl_WorkGroupID.z % pc.p.groups, split = gl_WorkGroupID.z / pc.p.groups;
    const uint cg = pc.p.c / pc.p.groups, kg = pc.p.k / pc.p.groups;
    const uint rs = pc.p.r * pc.p.s, crs = cg * rs, cols = crs + pc.p.bias;
    const uint hw = pc.p.h * pc.p.w, pq = pc.p.p * pc.p.q;
    const uint rb = (pc.p.r + 2) / 3, sb = (pc.p.s + 2) / 3;
    const uint wg = pc.p.tile0 + gl_WorkGroupID.x;
    const uint blk = wg * VKD_CONV_CPU_WG_W + gl_LocalInvocationIndex;
    const uint bc = min(blk, cg * rb * sb - 1);
    const uint c = bc / (rb * sb), r0 = bc % (rb * sb) / sb * 3, s0 = bc % sb * 3;
    const uint k0 = gl_WorkGroupID.y * MB;

    // The dy planes this lane loads (channels past kg repeat the last; they are not stored).
    uint dyk[MH];
    [[unroll]] for (uint m = 0; m < MH; m++)
        dyk[m] = (grp * kg + min(k0 + m * CL + cpu_lane(), kg - 1)) * pq;
    float dsum[MH]; // the bias column of those channels
    [[unroll]] for (uint m = 0; m < MH; m++)
        dsum[m] = 0.0;
    cpu_zero();

    const uint beg = split * pc.p.chunk, end = min(beg + pc.p.chunk, pc.p.n * pq);
    const uint qsteps = (pc.p.q + U - 1) / U;
    const uint steps = (end - beg) / pc.p.q * qsteps;
    uint n = beg / pq, op = beg % pq / pc.p.q, q0 = 0;
    for (uint step = 0; step < steps; step++) {
        // x rows p - pad + r0 + a, columns q0 - pad + s0 + t
        uint xc = (n * pc.p.c + grp * cg + c) * hw;
        int h = int(op + r0) - int(pc.p.pad), v0 = int(q0 + s0) - int(pc.p.pad);
        float win[3][U + 2];
        [[unroll]] for (uint a = 0; a < 3; a++, h++) {
            int v = v0;
            bool row_ok = uint(h) < pc.p.h;
            // Branch-free, as in conv2d_fwd_cpu.glsl: element 0 is loaded outside x, then zeroed.
            [[unroll]] for (uint t = 0; t < U + 2; t++, v++) {
                bool in_x = row_ok && uint(v) < pc.p.w;
                float xv = x[in_x ? xc + uint(h) * pc.p.w + uint(v) : 0u];
                win[a][t] = in_x ? xv : 0.0;
            }
        }
        [[unroll]] for (uint u = 0; u < U; u++) {
            float rows[MH], col[NB];
            bool ok = q0 + u < pc.p.q;
            [[unroll]] for (uint m = 0; m < MH; m++) {
                float dv = dy[ok ? n * pc.p.k * pq + dyk[m] + op * pc.p.q + q0 + u : 0u];
                rows[m] = ok ? dv : 0.0;
                dsum[m] += rows[m];
            }
            [[unroll]] for (uint a = 0; a < 3; a++)
                [[unroll]] for (uint b = 0; b < 3; b++)
                    col[a * 3 + b] = win[a][u + b];
            cpu_fma(rows, col);
        }
        q0 += U;
        if (q0 >= pc.p.q) {
            q0 = 0;
            if (++op == pc.p.p) {
                op = 0;
                n++;
            }
        }
    }

    if (wg == 0 && pc.p.bias != 0u)
        [[unroll]] for (uint m = 0; m < MH; m++) {
            uint k = k0 + m * CL + cpu_lane();
            if (k < kg)
                part[(split * pc.p.k + grp * kg + k) * cols + crs] = dsum[m];
        }
    if (blk >= cg * rb * sb)
        return;
    [[unroll]] for (uint j = 0; j < MB; j++) {
        if (k0 + j >= kg)
            break;
        uint o = (split * pc.p.k + grp * kg + k0 + j) * cols + c * rs;
        [[unroll]] for (uint a = 0; a < 3; a++)
            [[unroll]] for (uint b = 0; b < 3; b++)
                if (r0 + a < pc.p.r && s0 + b < pc.p.s)
                    part[o + (r0 + a) * pc.p.s + s0 + b] = acc[j][a * 3 + b];
    }
}
