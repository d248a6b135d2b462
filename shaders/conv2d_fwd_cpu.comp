#version 450
// conv2d_fwd_cpu: conv2d_fwd for CPU devices, any stride, one tap per step. The body, its
// bindings and grid: shaders/conv2d_fwd_cpu.glsl. Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#include "conv2d_fwd_cpu.glsl"
