// correlation_view.glsl - where a correlation kernel's matrix and its F_z elements are
// (shaders/correlation.h), shared by the shared-memory kernels (correlation.glsl) and the
// CPU-device ones (correlation_*_cpu.comp). Needs `pc` (a vkd_gram_params) declared first.

// The matrix of this workgroup: the batch is folded into (y, z) of the grid so that
// n * cells may exceed maxComputeWorkGroupCount[1]. A tail workgroup (z past the end)
// recomputes the last matrix and stores nothing (no early return before the barriers).
uint corr_matrix(out bool live)
{
    uint z = gl_WorkGroupID.z * pc.p.fold + gl_WorkGroupID.y;
    live = z < pc.p.batches;
    return min(z, pc.p.batches - 1u);
}

// Element offset in x of F_z[0][0] (channel 0, the cell's top-left pixel).
uint corr_base(uint z)
{
    uint cells = pc.p.grid_h * pc.p.grid_w;
    uint smp = z / cells, cell = z % cells;
    uint gi = cell / pc.p.grid_w, gj = cell % pc.p.grid_w;
    return smp * pc.p.c * pc.p.h * pc.p.w + gi * pc.p.ch * pc.p.w + gj * pc.p.cw;
}

// Offset of F_z[k][q] from corr_base(z): channel k, pixel q of the cell (row-major in the cell).
uint corr_off(uint k, uint q)
{
    return k * pc.p.h * pc.p.w + (q / pc.p.cw) * pc.p.w + q % pc.p.cw;
}
