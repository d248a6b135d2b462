// correlation.glsl - the shared-memory tiled GEMM core of the correlation family, included by
// correlation_fwd.comp and correlation_bwd.comp after their push constants (`pc`, a
// vkd_gram_params) and the feature-map binding (`x`):
//     C (M x N) = sum over j = 0 .. K-1 of A(m, j) B(n, j)
// Both operands are staged j-major into shared memory, s[jj * LDS + rr] = operand(r0 + rr,
// j0 + jj), by stage functions that walk memory in its contiguous order (neighbouring
// invocations read neighbouring addresses) and write zeros outside the matrices, so the inner
// loop needs no bounds checks. Invocation (tx, ty) owns the PER x PER outputs
//     m = m0 + ty + WGS*i, n = n0 + tx + WGS*j    (i, j < PER)
// strided rather than blocked: consecutive tx store consecutive columns and read consecutive
// shared-memory words.
//
// Determinism: every output is one invocation's fma chain over j in increasing order; padding
// adds exact zeros. No atomics, no split-K: the same inputs give the same bits every run.

const uint TILE = VKD_CORR_TILE;
const uint WGS = VKD_CORR_WG;
const uint BK = VKD_CORR_BK;
const uint PER = TILE / WGS;
const uint THREADS = WGS * WGS;
const uint LDS = TILE + 1; // padded: j-fastest stores spread over the banks

layout(local_size_x = VKD_CORR_WG, local_size_y = VKD_CORR_WG) in;

shared float sa[BK * LDS];
shared float sb[BK * LDS];

#include "correlation_view.glsl"

void stage_put(uint which, uint idx, float v)
{
    if (which == 0u)
        sa[idx] = v;
    else
        sb[idx] = v;
}

// operand(r, j) = F_z[r][j]: rows are channels (< c), depth is pixels (< p). Pixels of a cell
// row are adjacent in memory: j fastest.
void stage_f_cp(uint which, uint base, uint r0, uint j0)
{
    uint tid = gl_LocalInvocationIndex, p = pc.p.ch * pc.p.cw;
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint jj = l % BK, rr = l / BK, r = r0 + rr, j = j0 + jj;
        stage_put(which, jj * LDS + rr, r < pc.p.c && j < p ? x[base + corr_off(r, j)] : 0.0);
    }
}

// operand(r, j) = F_z[j][r]: rows are pixels (< p), depth is channels (< c). r fastest.
void stage_f_pc(uint which, uint base, uint r0, uint j0)
{
    uint tid = gl_LocalInvocationIndex, p = pc.p.ch * pc.p.cw;
    for (uint l = tid; l < TILE * BK; l += THREADS) {
        uint rr = l % TILE, jj = l / TILE, r = r0 + rr, j = j0 + jj;
        stage_put(which, jj * LDS + rr, r < p && j < pc.p.c ? x[base + corr_off(j, r)] : 0.0);
    }
}

// c[i][j] += sum over the staged slice of A(m_i, jj) B(n_j, jj). Reads shared memory only: the
// caller brackets it with the barriers that make the slice complete and then reusable.
void corr_fma(inout float c[PER][PER])
{
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    for (uint jj = 0; jj < BK; jj++) {
        float a[PER], b[PER];
        for (uint i = 0; i < PER; i++)
            a[i] = sa[jj * LDS + ty + WGS * i];
        for (uint j = 0; j < PER; j++)
            b[j] = sb[jj * LDS + tx + WGS * j];
        for (uint i = 0; i < PER; i++)
            for (uint j = 0; j < PER; j++)
                c[i][j] = fma(a[i], b[j], c[i][j]);
    }
}
