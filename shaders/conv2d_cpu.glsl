// conv2d_cpu.glsl - what the CPU-device conv2d kernels share (shaders/conv2d.h says why): the
// register-block core (shaders/cpu_block.glsl) with conv2d's block sizes: MB output channels
// (forward; the reduction's "rows" of the other passes) shuffled round clusters, NB columns per
// lane.
// NB may be set by the including shader (VKD_CONV_NB) before this file.
#ifndef VKD_CONV_NB
#define VKD_CONV_NB VKD_CONV_CPU_NB
#endif
#define CPU_MB VKD_CONV_CPU_MB
#define CPU_NB VKD_CONV_NB
#define CPU_CL VKD_CONV_CPU_CL
#include "cpu_block.glsl"
