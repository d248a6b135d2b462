#version 450
// conv2d_fwd_cpu_s1: conv2d_fwd for CPU devices, stride 1 only, VKD_CONV_CPU_CH taps of a filter
// row per step sharing one window of x. The body, its bindings and grid:
// shaders/conv2d_fwd_cpu.glsl. Mirrors ref_conv2d_fwd (engine/ops/conv2d.c).
#define VKD_CONV_S1 1
#include "conv2d_fwd_cpu.glsl"
