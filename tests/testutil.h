/*
 * testutil.h - what every test executable shares: the GPU context of a test run, the generic
 * op-family test driver and result printing, and the harness of the hand checks.
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
 * once (forward, backward and, for a graph finalized with SGD, the update), dispatches every
 * kernel in want and no other kernel whose name starts with `family`. */
int vkd_test_kernels_ran(struct vkd_context *ctx, struct vkd_graph *g, const char *family,
                         const char *const *want, int n_want);

/* The passes of a loss over pairs built on engine/ops/pairsum.c (hinge, sqdiff): over a = b =
 * 3 x 4096 values (3 chunks), with a needing a gradient, the loss `loss(g, a, b)` dispatches
 * `<family>_fwd`, pairsum.c's shared `pairsum_sum` and `<family>_bwd`, and no other kernel of
 * either name. Returns the number of failures (printed). */
int vkd_test_pairsum_passes(struct vkd_context *ctx, const char *family,
                            int (*loss)(struct vkd_graph *g, int a, int b));

/* Runs every case of an op family: `cpu` = finite differences of the reference, `gpu` =
 * shaders vs reference, once with the GPU kernel variant and once with the CPU variant (on the
 * same device). Prints one line per row and a closing "N passed, N failed" line.
 * Returns the process exit code. */
int vkd_test_family_main(int argc, char **argv, const char *family);

void vkd_test_print_row(const struct vkd_check_row *r);

/*
 * Hand checks: values worked out by hand (or taken from PyTorch) on a tiny graph, run on the CPU
 * reference (`cpu`) and on the shaders (`gpu`). The random cases of vkd_test_family_main compare
 * the two executors with each other; only these pin both to the definition.
 *
 * Every check prints one line and counts its failure in testutil, where vkd_test_hand_main reads
 * the count, so a test file holds its checks and nothing else.
 */

/* Checks |got - want| <= tol (1 + |want|), printing
 * "ok   hand <what> got <got> want <want>" (or FAIL). Returns 1 when it holds. */
int vkd_test_expect(const char *what, double got, double want, double tol);
/* The same with |got - want| <= rel |want| + abs; a NaN want asks for a NaN. */
int vkd_test_expect_near(const char *what, double got, double want, double rel, double abs);
/* got[0..n-1] against want[] element by element, |got - want| <= rel |want| + abs; one line
 * "ok   hand <what>" for the lot, or FAIL with the first element that is off. */
int vkd_test_expect_all(const char *what, const double *got, const double *want, int n, double rel,
                        double abs);
/* A condition the test computed itself (bit-for-bit comparisons, a shape): "ok   <what>". */
int vkd_test_check(const char *what, int ok);
/* Counts n failures that the test reported itself (vkd_test_kernels_ran's, say). */
void vkd_test_failed(int n);

/* One host array per tensor: numel(t) doubles in the tensor's NCHW order (labels hold integer
 * values). t < 0 (an optional tensor this graph does not have) is skipped. */
struct vkd_test_in {
    int t;
    const double *src;
};
struct vkd_test_out {
    int t;
    double *dst;
};

/*
 * An executor of a finalized graph for hand checks: the CPU reference when ctx is NULL, else the
 * Vulkan executor on ctx, behind one set of calls so that a check is written once for both.
 * `program` is VKD_PROG_* bits, run in the order forward, backward, update. Every call returns
 * 0 on success; a failure (out of memory, a device error) prints one FAIL line naming it and
 * counts as a failed hand check. Destroy is safe after a failed create.
 */
struct vkd_test_exec {
    struct vkd_context *ctx;
    const struct vkd_graph *g;
    unsigned program;
    struct vkd_ref *ref;
    struct vkd_vk *vk;
};
int vkd_test_exec_create(struct vkd_test_exec *x, struct vkd_context *ctx,
                         const struct vkd_graph *g, unsigned program);
int vkd_test_exec_write(struct vkd_test_exec *x, int t, const double *src);
int vkd_test_exec_run(struct vkd_test_exec *x);
int vkd_test_exec_read(struct vkd_test_exec *x, int t, double *dst);
void vkd_test_exec_destroy(struct vkd_test_exec *x);

/* The usual hand check in one call: writes in[0..n_in-1], runs forward and backward once, reads
 * out[0..n_out-1] (gradients are tensors like any other: vkd_graph_tensor_at(g, i)->grad), on
 * the reference (ctx NULL) or the device. Returns 0 on success; a failure is printed and counted
 * as above. */
int vkd_test_run_graph(struct vkd_context *ctx, const struct vkd_graph *g,
                       const struct vkd_test_in *in, int n_in, const struct vkd_test_out *out,
                       int n_out);

/* The most common of them, an op y = f(x) under L = sum(y * dy): seeds y with a new INPUT of
 * y's shape, finalizes g, writes x and dy, runs forward and backward and reads y and x's
 * gradient dx. The caller destroys g. */
int vkd_test_run_seeded(struct vkd_context *ctx, struct vkd_graph *g, int xi, int yi,
                        const double *x, const double *dy, double *y, double *dx);

/* Worst |a - b| / (|b| + rms(b)) over n values (whole-step comparisons: a value far below the
 * tensor's rms is judged against the rms); INFINITY if any is NaN. */
double vkd_test_rel_err(const double *a, const double *b, size_t n);

/* main() of an op-family test with hand checks. With argv[1] `cpu`, hand(NULL) on the reference;
 * with `gpu`, hand(ctx) on vkd_test_context(), then the validation layer's verdict on ctx. Then
 * vkd_test_family_main over the family's cases. Prints "FAIL: N hand check(s)" when any hand
 * check failed; returns the process exit code. */
int vkd_test_hand_main(int argc, char **argv, const char *family,
                       void (*hand)(struct vkd_context *ctx));

#endif
