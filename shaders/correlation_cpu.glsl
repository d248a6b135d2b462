// correlation_cpu.glsl - what correlation_fwd_cpu and correlation_bwd_cpu share: the register
// block (shaders/cpu_block.glsl) with the family's CPU block sizes (shaders/correlation.h), the
// matrix view (correlation_view.glsl) and the invocation's place in the output. Included after
// the push constants (`pc`).
#define CPU_MB VKD_CORR_CPU_MB
#define CPU_NB VKD_CORR_CPU_NB
#define CPU_CL VKD_CORR_CPU_CL
#include "cpu_block.glsl"
#include "correlation_view.glsl"

layout(local_size_x = VKD_CORR_CPU_WG) in;

// Offset of pixel q of a cell from the cell's top-left pixel (row-major in the cell).
uint corr_pix(uint q)
{
    return (q / pc.p.cw) * pc.p.w + q % pc.p.cw;
}

// A cluster of CL lanes owns MB output rows and CL * NB columns, NB per lane; clusters take
// (row block, column chunk) pairs in order, column chunks fastest (tiles_n per row block), so a
// narrow matrix still fills every lane. The cluster is counted through the subgroup, the unit
// the shuffles work in. Returns 0 for a cluster past the last row block.
bool corr_cpu_block(uint rows, out uint m0, out uint n0, out uint chunk)
{
    uint per_sg = gl_SubgroupSize / CL;
    uint cl = gl_WorkGroupID.x * (VKD_CORR_CPU_WG / CL) + gl_SubgroupID * per_sg +
              gl_SubgroupInvocationID / CL;
    chunk = cl % pc.p.tiles_n;
    m0 = cl / pc.p.tiles_n * MB;
    n0 = (chunk * CL + cpu_lane()) * NB;
    return m0 < rows;
}
