// cpu_block.glsl - the register-block core of every CPU-device GEMM-like kernel (conv2d_*_cpu,
// correlation_*_cpu; why such kernels exist: shaders/conv2d.h): an MB x NB block of sums per
// invocation, and the step that adds one reduction index to it. The includer defines CPU_MB,
// CPU_NB and CPU_CL (lanes of a shuffle cluster; CPU_MB a multiple of it) first.
//
// The MB "row" values of a step are the same for every lane of the workgroup. Rather than each
// lane loading all MB, lane l of each cluster of CL lanes loads rows l, l + CL, ... (MH = MB / CL
// loads) and the others fetch them by subgroupShuffle, which on lavapipe is a few vector
// instructions instead of a dozen per lane. Every lane must therefore run every step (no early
// return before the last one, no divergent loop bounds).
#extension GL_EXT_control_flow_attributes : require
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_shuffle : require

const uint MB = CPU_MB, NB = CPU_NB, CL = CPU_CL, MH = MB / CL;

float acc[MB][NB];

void cpu_zero()
{
    [[unroll]] for (uint j = 0; j < MB; j++)
        [[unroll]] for (uint i = 0; i < NB; i++)
            acc[j][i] = 0.0;
}

// This invocation's lane in its cluster: it loads rows cpu_lane() + CL h, h < MH.
uint cpu_lane()
{
    return gl_SubgroupInvocationID % CL;
}

// acc[j][i] += row j * col[i], row j being rows[j / CL] of lane j % CL of this cluster.
void cpu_fma(float rows[MH], float col[NB])
{
    uint base = gl_SubgroupInvocationID - cpu_lane();
    [[unroll]] for (uint j = 0; j < MB; j++) {
        float a = subgroupShuffle(rows[j / CL], base + j % CL);
        [[unroll]] for (uint i = 0; i < NB; i++)
            acc[j][i] = fma(a, col[i], acc[j][i]);
    }
}
