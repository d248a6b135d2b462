#version 450
// conv2d_bwd_weight_cpu: the partial sums of conv2d_bwd_weight (same result, same bindings, same
// workspace layout) for CPU devices (shaders/conv2d.h), per group g and split z over the split's
// range [z chunk, min((z + 1) chunk, n p q)) of output positions:
//   part[z][g kg + k][col] = sum over (n, p, q) in the range of dy[n][g kg + k][p][q] * B
//   B = x[n][g cg + c][p st - pad + r][q st - pad + s] for col = (c, r, s) < cg r s,
//   B = 1 for col = cg r s (the bias column, present when pc.p.bias != 0).
// conv2d_bwd_wsum_cpu then adds the splits in a fixed order.
// Each invocation owns MB channels k0.. x NB consecutive columns and walks the range one
// position per step: NB loads of x (its columns) feed MB NB FMAs. The workgroup is one cluster
// sharing k0 and the position, so dy is shuffled round it (shaders/conv2d_cpu.glsl).
// Bindings: 0 x (n c h w), 1 dy (n k p q), 2 part (splits k cols).
// Grid: (ceil(cols / (8 NB)) from pc.p.tile0, ceil(kg / MB), groups splits); 8 invocations.
// Mirrors ref_conv2d_bwd_weight (engine/ops/conv2d.c), split into ranges.
#include "common.glsl"
#include "conv2d_cpu.glsl"
layout(local_size_x = VKD_CONV_CPU_WG_W) in;
layout(push_constant) uniform PC { vkd_conv2d_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict readonly buffer DY { float dy[]; };
layout(std430, binding = 2) restrict writeonly buffer Part { float part[]; };

void main()
{
    const uint grp = gl_WorkGroupID.z % pc.p.groups, split = gl_WorkGroupID.z / pc.p.groups;
    const uint cg = pc.p.c / pc.p.groups, kg = pc.p.k / pc.p.groups;
    const uint rs = pc.p.r * pc.p.s, crs = cg * rs, cols = crs + pc.p.bias;
    const uint hw = pc.p.h * pc.p.w, pq = pc.p.p * pc.p.q;
    const uint wg = pc.p.tile0 + gl_WorkGroupID.x;
    const uint col0 = (wg * VKD_CONV_CPU_WG_W + gl_LocalInvocationIndex) * NB;
    const uint k0 = gl_WorkGroupID.y * MB;

    // This invocation's columns: the x offset of (channel c of the group, r, s) from the image's
    // first channel at (0, 0), r and s. The bias column and columns past it are never inside the
    // image; their "input" is 1 (bias) or 0.
    uint toff[NB];
    int tr[NB], ts[NB];
    float tone[NB];
    [[unroll]] for (uint i = 0; i < NB; i++) {
        uint t = min(col0 + i, crs - 1), c = t / rs, u = t % rs;
        tr[i] = int(u / pc.p.s);
        ts[i] = int(u % pc.p.s);
        toff[i] = (grp * cg + c) * hw + uint(tr[i]) * pc.p.w + uint(ts[i]);
        if (col0 + i >= crs)
            tr[i] = -int(pc.p.h) - int(pc.p.pad) - 1;
        tone[i] = col0 + i == crs && pc.p.bias != 0u ? 1.0 : 0.0;
    }
    // The dy planes this lane loads (channels past kg repeat the last; they are not stored).
    uint dyk[MH];
    [[unroll]] for (uint m = 0; m < MH; m++)
        dyk[m] = (grp * kg + min(k0 + m * CL + cpu_lane(), kg - 1)) * pq;
    cpu_zero();

    const uint beg = split * pc.p.chunk, end = min(beg + pc.p.chunk, pc.p.n * pq);
    uint n = beg / pq, rem = beg % pq, op = rem / pc.p.q, oq = rem % pc.p.q;
    for (uint i0 = beg; i0 < end; i0++) {
        int hp = int(op * pc.p.stride) - int(pc.p.pad);
        int wq = int(oq * pc.p.stride) - int(pc.p.pad);
        uint xb = n * pc.p.c * hw + uint(hp * int(pc.p.w) + wq);
        float rows[MH], col[NB];
        [[unroll]] for (uint i = 0; i < NB; i++) {
            bool in_x = uint(hp + tr[i]) < pc.p.h && uint(wq + ts[i]) < pc.p.w;
            float xv = x[in_x ? xb + toff[i] : 0u]; // branch-free, as in conv2d_fwd_cpu.glsl
            col[i] = in_x ? xv : tone[i];
        }
        [[unroll]] for (uint m = 0; m < MH; m++)
            rows[m] = dy[n * pc.p.k * pq + dyk[m] + op * pc.p.q + oq];
        cpu_fma(rows, col);
        if (++oq == pc.p.q) {
            oq = 0;
            if (++op == pc.p.p) {
                op = 0;
                n++;
            }
        }
    }

    [[unroll]] for (uint j = 0; j < MB; j++) {
        if (k0 + j >= kg)
            break;
        uint o = (split * pc.p.k + grp * kg + k0 + j) * cols;
        [[unroll]] for (uint i = 0; i < NB; i++)
            if (col0 + i < cols)
                part[o + col0 + i] = acc[j][i];
    }
}
