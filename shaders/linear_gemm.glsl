// linear_gemm.glsl - the shared-memory tiled GEMM core of the linear family, included by
// linear_fwd.comp, linear_bwd_data.comp and linear_bwd_weight.comp after their bindings:
//     C (M x N) = sum over k = 0 .. K-1 of A(m, k) B(k, n)
// The including shader defines, before the #include:
//     float load_a(uint m, uint k), float load_b(uint k, uint n)  element reads, called only in
//         bounds (m < M, n < N, k < K), so they are pure index maps onto the buffers;
//     A_K_CONTIGUOUS, B_K_CONTIGUOUS  1 when consecutive k are adjacent in memory, 0 when
//         consecutive m (A) or n (B) are; the staging loop walks memory in that order so that
//         neighbouring invocations read neighbouring addresses.
// Grid: (ceil(N / TILE), ceil(M / TILE), 1) workgroups of WGS x WGS invocations. Invocation
// (tx, ty) of workgroup (bx, by) owns the PER x PER outputs
//     row m = by*TILE + ty + WGS*i, column n = bx*TILE + tx + WGS*j    (i, j < PER)
// strided rather than blocked, so that consecutive tx store consecutive columns (coalesced) and
// read consecutive shared-memory words (no bank conflicts).
//
// Determinism: every output is one invocation's sum over k in increasing order; the zero padding
// past K adds exact zeros. No atomics, no split-K: the same inputs give the same bits every run.

const uint TILE = VKD_LINEAR_TILE;
const uint WGS = VKD_LINEAR_WG;
const uint BK = VKD_LINEAR_BK;
const uint PER = TILE / WGS;     // outputs per invocation along each dimension
const uint THREADS = WGS * WGS;
const uint LDS = TILE + 1;       // padded row: stores with k fastest spread over the banks

layout(local_size_x = VKD_LINEAR_WG, local_size_y = VKD_LINEAR_WG) in;

// The current K slice of the A and B tiles, k-major: sa[kk * LDS + mm] = A(m0 + mm, k0 + kk),
// sb[kk * LDS + nn] = B(k0 + kk, n0 + nn). k-major makes the inner loop read PER rows of A and
// PER columns of B at one kk with unit stride.
shared float sa[BK * LDS];
shared float sb[BK * LDS];

// Index of the element of a TILE x BK slice that the l-th staging step reads, in memory order:
// (mn, kk) with kk fastest when k is the contiguous index, else mn fastest.
void slice_index(uint l, bool k_contiguous, out uint mn, out uint kk)
{
    if (k_contiguous) {
        kk = l % BK;
        mn = l / BK;
    } else {
        mn = l % TILE;
        kk = l / TILE;
    }
}

// Accumulates this invocation's PER x PER block of C (see the header) into c, which the caller
// zeroes. Every invocation of the workgroup must call it (it contains barriers).
void gemm_tile(uint M, uint N, uint K, inout float c[PER][PER])
{
    uint tx = gl_LocalInvocationID.x, ty = gl_LocalInvocationID.y;
    uint tid = gl_LocalInvocationIndex;
    uint m0 = gl_WorkGroupID.y * TILE, n0 = gl_WorkGroupID.x * TILE;

    for (uint k0 = 0; k0 < K; k0 += BK) {
        // Stage the slice; zeros outside the matrices keep the inner loop free of bounds checks.
        for (uint l = tid; l < TILE * BK; l += THREADS) {
            uint mm, kk, nn, kb;
            slice_index(l, A_K_CONTIGUOUS != 0, mm, kk);
            uint m = m0 + mm, k = k0 + kk;
            sa[kk * LDS + mm] = m < M && k < K ? load_a(m, k) : 0.0;
            slice_index(l, B_K_CONTIGUOUS != 0, nn, kb);
            uint n = n0 + nn;
            k = k0 + kb;
            sb[kb * LDS + nn] = n < N && k < K ? load_b(k, n) : 0.0;
        }
        barrier();

        for (uint kk = 0; kk < BK; kk++) {
            float a[PER], b[PER];
            for (uint i = 0; i < PER; i++)
                a[i] = sa[kk * LDS + ty + WGS * i];
            for (uint j = 0; j < PER; j++)
                b[j] = sb[kk * LDS + tx + WGS * j];
            for (uint i = 0; i < PER; i++)
                for (uint j = 0; j < PER; j++)
                    c[i][j] = fma(a[i], b[j], c[i][j]);
        }
        // The next iteration overwrites the slice: everyone must be done reading it.
        barrier();
    }
}

// Row and column of output (i, j) of this invocation (see the header).
uint gemm_row(uint i)
{
    return gl_WorkGroupID.y * TILE + gl_LocalInvocationID.y + WGS * i;
}

uint gemm_col(uint j)
{
    return gl_WorkGroupID.x * TILE + gl_LocalInvocationID.x + WGS * j;
}
