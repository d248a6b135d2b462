/*
 * testutil.h - what every test executable shares: the GPU context of a test run, the generic
 * op-family test driver and result printing.
 *
 * Environment (read here, never by the engine):
 *   VKD_TEST_DEVICE  device index or name substring (default: the engine's choice)
 *   VKD_VALIDATION   1 = Khronos validation layer on; any message it prints fails the test
 */
#ifndef VKD_TESTUTIL_H
#define VKD_TESTUTIL_H

#include "vkd.h"
#include "vkd_cases.h"
#include "vkd_check.h"

#define VKD_TEST_SKIP 77 /* CTest's skip code: no Vulkan device at all */

/* A context for a GPU test. With no Vulkan driver or device at all it prints one line and
 * exits VKD_TEST_SKIP; any other failure prints the reason and exits 1. */
struct vkd_context *vkd_test_context(void);
/* The same with a forced kernel variant (ops with two variants are tested under both). */
struct vkd_context *vkd_test_context_variant(enum vkd_kernel_variant v);
/* Destroys the context; returns 1 (and says so) if the validation layer printed anything. */
int vkd_test_context_done(struct vkd_context *ctx);

/* The op checks pass with either kernel variant, so they cannot tell whether the CPU-device
 * kernels ran at all (a device without subgroupShuffle keeps the GPU kernels). On a CPU-variant
 * context whose device can run them, runs the finalized graph g once (forward and backward) and
 * checks that every kernel named in want[0..n_want-1] was dispatched and that no other kernel
 * whose name starts with `family` was (a GPU kernel beside its twin). Prints one line per
 * check, or a skip line on a device without timestamps or subgroupShuffle; returns the number
 * of failures. */
int vkd_test_cpu_kernels_ran(struct vkd_context *ctx, struct vkd_graph *g, const char *family,
                             const char *const *want, int n_want);
/* The same check on any kernel variant (only a device without timestamps skips it): g, run
 * once, dispatches every kernel in want and no other kernel whose name starts with `family`. */
int vkd_test_kernels_ran(struct vkd_context *ctx, struct vkd_graph *g, const char *family,
                         const char *const *want, int n_want);

/* Runs every case of an op family: `cpu` = finite differences of the reference, `gpu` =
 * shaders vs reference, once with the GPU kernel variant and once with the CPU variant (on the
 * same device). Prints one line per row and a closing "N passed, N failed" line.
 * Returns the process exit code. */
int vkd_test_family_main(int argc, char **argv, const char *family);

void vkd_test_print_row(const struct vkd_check_row *r);

#endif
