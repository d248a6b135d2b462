#version 450
// correlation_fwd_cpu: correlation_fwd for CPU devices (shaders/correlation.h): each element is
// the same fma chain as there (over the depth in increasing order), and G[m][n] and G[n][m] are
// stored from one chain, so G stays exactly symmetric. G_z = A A^T with
//   channel mode  A(r, j) = F_z[r][j]   (r a channel, j a pixel of the cell)
//   spatial mode  A(r, j) = F_z[j][r]
// so A(r, j) = x[rowoff(r) + stepoff(j)]: one offset per operand row, fixed for the whole run,
// plus one per reduction step, the same for every lane. Only blocks touching the upper
// triangle are computed: a cluster whose columns all lie left of its rows returns at once, and
// an element is stored, with its mirror, by the invocation that computed it with n >= m.
// Bindings: 0 x (n, c, h, w), 1 G (batches, R, R).
// Grid: (ceil(ceil(R / MB) * tiles_n * CL / WG), fold, ceil(batches / fold)), tiles_n =
// ceil(R / (CL NB)) column chunks (shaders/correlation_cpu.glsl).
// Mirrors ref_gram_fwd (engine/ops/correlation.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) restrict readonly buffer X { float x[]; };
layout(std430, binding = 1) restrict writeonly buffer G { float g[]; };
#include "correlation_cpu.glsl"

void main()
{
    uint m0, n0, chunk;
    const uint R = pc.p.rows, hw = pc.p.h * pc.p.w;
    // Whole clusters return (a shuffle reads only its own cluster's lanes): past the last rows,
    // or every column left of the rows (below the diagonal: the mirror blocks store those).
    if (!corr_cpu_block(R, m0, n0, chunk) || (chunk + 1u) * CL * NB <= m0)
        return;
    bool live;
    const uint z = corr_matrix(live), base = corr_base(z);
    const bool channel = pc.p.mode == VKD_GRAM_CHANNEL;

    // Rows and columns past R repeat the last (computed, never stored).
    uint roff[MH], coff[NB];
    [[unroll]] for (uint h = 0; h < MH; h++) {
        uint r = min(m0 + cpu_lane() + CL * h, R - 1u);
        roff[h] = base + (channel ? r * hw : corr_pix(r));
    }
    [[unroll]] for (uint i = 0; i < NB; i++) {
        uint r = min(n0 + i, R - 1u);
        coff[i] = base + (channel ? r * hw : corr_pix(r));
    }
    cpu_zero();
    for (uint j = 0; j < pc.p.depth; j++) {
        uint so = channel ? corr_pix(j) : j * hw;
        float rows[MH], col[NB];
        [[unroll]] for (uint h = 0; h < MH; h++)
            rows[h] = x[roff[h] + so];
        [[unroll]] for (uint i = 0; i < NB; i++)
            col[i] = x[coff[i] + so];
        cpu_fma(rows, col);
    }

    if (!live)
        return;
    const uint zo = z * R * R;
    [[unroll]] for (uint a = 0; a < MB; a++) {
        uint m = m0 + a;
        [[unroll]] for (uint i = 0; i < NB; i++) {
            uint n = n0 + i;
            if (m >= R || n >= R || n < m)
                continue;
            g[zo + m * R + n] = acc[a][i];
            if (n != m)
                g[zo + n * R + m] = acc[a][i];
        }
    }
}
