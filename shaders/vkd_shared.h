/*
 * vkd_shared.h - the one header C and GLSL both include, so push-constant layouts, step-parameter
 * slots and workgroup sizes cannot drift between host and shaders.
 *
 * Rules that keep the two languages in agreement:
 *   - push-constant structs hold only 32-bit scalars (vkd_u32, vkd_i32, vkd_f32), so C's layout and
 *     GLSL's std430 push-constant layout are the same; each family header asserts its size in C;
 *   - each op family has its own header (shaders/<family>.h) with its structs; this file includes
 *     them all, so C code and shaders see one header.
 * Shaders are compiled with -DVKD_GLSL=1.
 */
#ifndef VKD_SHARED_H
#define VKD_SHARED_H

#ifdef VKD_GLSL
#define vkd_u32 uint
#define vkd_i32 int
#define vkd_f32 float
#else
#include <stdint.h>
typedef uint32_t vkd_u32;
typedef int32_t vkd_i32;
typedef float vkd_f32;
#endif

/* Vulkan guarantees 128 bytes of push constants; no struct may exceed it. */
#define VKD_MAX_PUSH_BYTES 128

/*
 * Step parameters: a small host-visible float buffer the host rewrites before every submit, so a
 * recorded command buffer replays unchanged while the learning rate, step count and loss weights
 * move. Fixed slots first; slots from VKD_SP_DYNAMIC on are handed out by the graph builder
 * (loss weights, temperatures, ...).
 */
#define VKD_SP_LR 0           /* learning rate of this step */
#define VKD_SP_MOMENTUM 1     /* SGD momentum */
#define VKD_SP_WEIGHT_DECAY 2 /* L2 weight decay (added to the gradient, as torch.optim.SGD) */
#define VKD_SP_NESTEROV 3     /* 1.0 for Nesterov momentum, else 0.0 */
#define VKD_SP_STEP 4         /* 0-based step number (the first step initialises momentum) */
#define VKD_SP_DYNAMIC 16     /* first slot the graph hands out */
#define VKD_SP_COUNT 64       /* floats in the buffer */

/* Default 1-D workgroup size; shaders read it through specialization constant 0. */
#define VKD_WG_1D 256

/* CPU-device kernels (vkd_rec_cpu_kernels) hand values round clusters of VKD_CPU_CL lanes with
 * subgroupShuffle/subgroupShuffleXor, so they run only where the subgroup size is a multiple of
 * it (lavapipe: 8, one AVX2 vector). */
#define VKD_CPU_CL 8

#include "eltwise.h"
#include "conv2d.h"
#include "batchnorm.h"
#include "pool.h"
#include "linear.h"
#include "loss.h"
#include "optim.h"
#include "augment.h"
#include "kd.h"
#include "correlation.h"
#include "pairsum.h"
#include "shape.h"
#include "attmap.h"
#include "softmax.h"
#include "attention.h"
#include "patch.h"
#include "rownorm.h"

#endif /* VKD_SHARED_H */
