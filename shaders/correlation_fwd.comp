#version 450
// correlation_fwd: the batched Gram of feature-map cells (shaders/correlation.h):
//   channel mode  G_z[a][b] = sum_q F_z[a][q] F_z[b][q]   (R = c, depth p)
//   spatial mode  G_z[a][b] = sum_k F_z[k][a] F_z[k][b]   (R = p, depth c)
// G_z is symmetric: only tiles on or above the diagonal are computed, and an off-diagonal
// tile stores its block twice (G[m][n] and G[n][m], the same bits). Normalisation, when asked
// for, is the next pass (correlation_nrm_fwd).
// Bindings: 0 x (n, c, h, w), 1 G (batches, R, R).
// Grid: (T (T + 1) / 2, fold, ceil(batches / fold)) workgroups of VKD_CORR_WG^2, T = ceil(R /
// TILE) = tiles_n; x enumerates the upper-triangle tiles row by row. Mirrors ref_gram_fwd
// (engine/ops/correlation.c).
#include "common.glsl"
layout(push_constant) uniform PC { vkd_gram_params p; } pc;
layout(std430, binding = 0) readonly buffer X { float x[]; };
layout(std430, binding = 1) writeonly buffer G { float g[]; };
#include "correlation.glsl"

void main()
{
    bool live;
    uint z = corr_matrix(live), base = corr_base(z);
    uint R = pc.p.rows, T = pc.p.tiles_n;
    uint bm = 0u, t = gl_WorkGroupID.x; // (bm, bn), bm <= bn, from the triangle index
    while (t >= T - bm) {
        t -= T - bm;
        bm++;
    }
    uint bn = bm + t, m0 = bm * TILE, n0 = bn * TILE;
    bool channel = pc.p.mode == VKD_GRAM_CHANNEL;

    float c[PER][PER];
    for (uint i = 0; i < PER; i++)
        for (uint j = 0; j < PER; j++)
            c[i][j] = 0.0;
    for (uint j0 = 0; j0 < pc.p.depth; j0 += BK) {
        if (channel) {
            stage_f_cp(0u, base, m0, j0);
            stage_f_cp(1u, base, n0, j0);
        } else {
            stage_f_pc(0u, base, m0, j0);
            stage_f_pc(1u, base, n0, j0);
        }
        barrier();
        corr_fma(c);
        barrier(); // the next slice overwrites sa, sb
    }

    uint zo = z * R * R;
    for (uint i = 0; i < PER; i++) {
        uint m = m0 + gl_LocalInvocationID.y + WGS * i;
        for (uint j = 0; j < PER; j++) {
            uint n = n0 + gl_LocalInvocationID.x + WGS * j;
            if (!live || m >= R || n >= R)
                continue;
            g[zo + m * R + n] = c[i][j];
            if (bm != bn)
                g[zo + n * R + m] = c[i][j];
        }
    }
}
