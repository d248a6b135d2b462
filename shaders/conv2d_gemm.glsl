// conv2d_gemm.glsl - the tiled implicit-GEMM skeleton shared by conv2d_fwd, conv2d_bwd_data and
// conv2d_bwd_weight. It computes, for one group (and split),
//     C[m][col] = sum over kidx in [g_kbeg, g_kend) of A[m][kidx] * B[kidx][col]
// for m < g_m, col < g_n, and hands every C element to conv_store(). A and B are never formed:
// the including shader supplies element loaders that gather them from the tensors.
//
// Tiling: a workgroup owns a bm x bn tile (bm = pc.p.bm in {16, 32, 64}, bn = 4096 / bm) at
// (gl_WorkGroupID.y, pc.p.tile0 + gl_WorkGroupID.x); each of its 256 invocations accumulates a
// 4x4 block in registers. The reduction advances BK = 16 at a time through shared memory, with
// the next step's global loads issued into registers before the current step is multiplied
// (one shared buffer, two barriers per step). The decoding of a reduction index into tensor
// coordinates costs integer divisions, so BK invocations decode a step's indices once into a
// shared table that every load of that step reads.
//
// The including shader declares the push constants `pc` and its buffers, then defines:
//   uint g_m, g_n, g_kbeg, g_kend;       set by conv_setup()
//   void conv_setup();                    sizes and group/split from gl_WorkGroupID.z
//   void conv_col(uint col);              per-invocation setup for the B column it loads
//                                         (col may be >= g_n: then conv_b is never called)
//   ivec4 conv_decode(uint kidx);         table entry of reduction index kidx (any kidx)
//   float conv_a(uint m, uint kidx, ivec4 t);  A[m][kidx], m < g_m, kidx < g_kend
//   float conv_b(ivec4 t);                B[kidx][this invocation's column], both in range
//   void conv_store(uint m, uint col, float v);  the result, m < g_m, col < g_n
#extension GL_EXT_control_flow_attributes : require
layout(local_size_x = VKD_CONV_WG) in;

const uint BK = VKD_CONV_BK;
// vec4s per A row. The +1 (4 floats) moves consecutive rows 4 banks apart, so the 16 rows that
// consecutive invocations store into (same m, kk = 0..15) conflict at most 2-way.
const uint SA_ROW = VKD_CONV_BM_MAX / 4 + 1;
const uint SB_ROW = VKD_CONV_TILE / VKD_CONV_BM_MIN / 4;

shared vec4 sa[BK * SA_ROW];   // A tile, [kk][m]: 4.3 KB
shared vec4 sb[BK * SB_ROW];   // B tile, [kk][col]: 16 KB
shared ivec4 stab[BK];         // conv_decode() of the step's reduction indices

// Staged global loads of one step: A elements (bm / 16 per invocation) and B elements (bn / 16).
// Loops over them run to the maximum count with a guard, fully unrolled, so the arrays stay in
// registers.
float ra[VKD_CONV_BM_MAX / 16];
float rb[VKD_CONV_TILE / VKD_CONV_BM_MIN / 16];

// The B element an invocation loads: column b_col of the tile, rows b_row0 + j * b_rstep.
// (bn is a runtime power of two; these are computed once, not per element.)
uint b_col, b_row0, b_rstep;

void gemm_load(uint k0, uint row0, uint bm, uint bn, bool col_ok)
{
    const uint tid = gl_LocalInvocationIndex;
    // A: consecutive invocations take consecutive reduction indices (contiguous in memory).
    [[unroll]] for (uint j = 0; j < ra.length(); j++) {
        if (j < bm / 16) {
            uint e = tid + j * VKD_CONV_WG, kk = e % BK, m = row0 + e / BK;
            ra[j] = m < g_m && k0 + kk < g_kend ? conv_a(m, k0 + kk, stab[kk]) : 0.0;
        }
    }
    // B: each invocation keeps one column (consecutive invocations, consecutive columns) and
    // walks down its rows.
    [[unroll]] for (uint j = 0; j < rb.length(); j++) {
        if (j < bn / 16) {
            uint kk = b_row0 + j * b_rstep;
            rb[j] = col_ok && k0 + kk < g_kend ? conv_b(stab[kk]) : 0.0;
        }
    }
}

void gemm_stage(uint bm, uint bn)
{
    const uint tid = gl_LocalInvocationIndex;
    [[unroll]] for (uint j = 0; j < ra.length(); j++) {
        if (j < bm / 16) {
            uint e = tid + j * VKD_CONV_WG, kk = e % BK, m = e / BK;
            sa[kk * SA_ROW + m / 4][m % 4] = ra[j];
        }
    }
    [[unroll]] for (uint j = 0; j < rb.length(); j++) {
        if (j < bn / 16) {
            uint kk = b_row0 + j * b_rstep;
            sb[kk * (bn / 4) + b_col / 4][b_col % 4] = rb[j];
        }
    }
}

void main()
{
    conv_setup();
    const uint bm = pc.p.bm, bn = VKD_CONV_TILE / bm;
    const uint tid = gl_LocalInvocationIndex;
    // The 4x4 block of this invocation: column-fastest, so a subgroup's stores are contiguous.
    const uint tn = tid % (bn / 4), tm = tid / (bn / 4);
    const uint row0 = gl_WorkGroupID.y * bm, col0 = (pc.p.tile0 + gl_WorkGroupID.x) * bn;
    b_col = tid % bn;
    b_row0 = tid / bn;
    b_rstep = VKD_CONV_WG / bn;
    const bool col_ok = col0 + b_col < g_n;
    conv_col(col0 + b_col);

    vec4 acc[4] = vec4[4](vec4(0.0), vec4(0.0), vec4(0.0), vec4(0.0));
    if (tid < BK)
        stab[tid] = conv_decode(g_kbeg + tid);
    barrier();
    gemm_load(g_kbeg, row0, bm, bn, col_ok);
    barrier(); // everyone has read stab before the loop rewrites it
    for (uint k0 = g_kbeg; k0 < g_kend; k0 += BK) {
        gemm_stage(bm, bn);
        if (tid < BK)
            stab[tid] = conv_decode(k0 + BK + tid);
        barrier();
        if (k0 + BK < g_kend) // uniform: the next step's loads overlap this step's arithmetic
            gemm_load(k0 + BK, row0, bm, bn, col_ok);
        [[unroll]] for (uint kk = 0; kk < BK; kk++) {
            vec4 a = sa[kk * SA_ROW + tm];
            vec4 b = sb[kk * (bn / 4) + tn];
            acc[0] += a.x * b;
            acc[1] += a.y * b;
            acc[2] += a.z * b;
            acc[3] += a.w * b;
        }
        barrier();
    }

    [[unroll]] for (uint i = 0; i < 4; i++) {
        uint m = row0 + tm * 4 + i;
        [[unroll]] for (uint j = 0; j < 4; j++) {
            uint col = col0 + tn * 4 + j;
            if (m < g_m && col < g_n)
                conv_store(m, col, acc[i][j]);
        }
    }
}
