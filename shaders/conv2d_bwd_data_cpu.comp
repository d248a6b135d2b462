#version 450
// conv2d_bwd_data_cpu: conv2d_bwd_data for CPU devices, any stride, one tap per step. The body,
// its bindings and grid: shaders/conv2d_bwd_data_cpu.glsl. Mirrors ref_conv2d_bwd_data
// (engine/ops/conv2d.c).
#include "conv2d_bwd_data_cpu.glsl"
