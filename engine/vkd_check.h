/*
 * vkd_check.h - op checks: a small graph (usually one op) run on the Vulkan executor and on the
 * CPU reference from identical fp32 inputs, every output and gradient compared; and the same
 * graph's reference backward compared with central finite differences in double precision.
 * The tests (tests/test_<family>.c) and `vkdistill validate` both use it, with the same cases
 * (vkd_cases.h).
 *
 * GPU tolerance, per element i of a compared tensor with reduction length K (vkd_check_k):
 *     |gpu_i - ref_i| <= VKD_CHECK_C * u * sqrt(K) * (|ref_i| + rms(ref))
 * u = 2^-24 is fp32's unit roundoff; sqrt(K) is the statistical growth of rounding error in a
 * K-term fp32 sum; rms(ref) covers cancellation (a sum near zero of terms that are not); the
 * factor C leaves room for the few fp32 operations around each sum (and exp/log ULPs).
 * Outputs are pre-filled with NaN on the GPU, so an element no shader wrote fails.
 *
 * Finite differences: L = sum over seeds (sum(y * seed) or weight * loss); each checked input
 * element x gets (L(x + h) - L(x - h)) / 2h, h = 1e-5 (1 + |x|), compared with the reference's
 * analytic gradient: |fd - an| <= 1e-6 (1 + |an|), far above the O(h^2) truncation and O(u/h)
 * roundoff of double precision and far below any real error.
 */
#ifndef VKD_CHECK_H
#define VKD_CHECK_H

#include "vkd.h"

#define VKD_CHECK_C 8.0
#define VKD_CHECK_FD_TOL 1e-6

struct vkd_check;

/* A check around a fresh graph; op and shape label its result rows. NULL on OOM. */
struct vkd_check *vkd_check_create(const char *op, const char *shape);
void vkd_check_destroy(struct vkd_check *c);
struct vkd_graph *vkd_check_graph(struct vkd_check *c);

/* Initial contents of an INPUT/PARAM/STATE tensor (default: uniform in [-1, 1]). */
void vkd_check_uniform(struct vkd_check *c, int t, double lo, double hi);
/* Uniform in [lo, hi] with |x| >= gap: keeps finite differences off a kink (relu at 0). */
void vkd_check_uniform_gap(struct vkd_check *c, int t, double lo, double hi, double gap);
void vkd_check_labels(struct vkd_check *c, int t, uint32_t classes);
/* Exact contents (numel(t) values, copied). */
void vkd_check_values(struct vkd_check *c, int t, const double *values);
/* Reduction length behind tensor t (forward output or gradient); default 1. */
void vkd_check_k(struct vkd_check *c, int t, double k);
/* Gives output t a random upstream gradient (an INPUT seed), so backward runs: L = sum(t*seed). */
void vkd_check_seed(struct vkd_check *c, int t);
/* Sets a step-parameter slot (VKD_SP_LR, a loss weight, ...); all others are 0. */
void vkd_check_step(struct vkd_check *c, int slot, double value);
/* Finalizes the graph; VKD_ERR_INVALID names the problem in vkd_graph_error. The _sgd form also
 * appends the SGD update, and the GPU check then compares parameters and momenta after it. */
enum vkd_status vkd_check_finalize(struct vkd_check *c);
enum vkd_status vkd_check_finalize_sgd(struct vkd_check *c);

struct vkd_check_row {
    char op[32];
    char pass[64];   /* "fwd y", "bwd dx", "fd dw", ... */
    char shape[64];
    size_t count;    /* elements compared */
    double max_abs;  /* largest |gpu - ref| (or |fd - analytic|) */
    double max_rel;  /* largest |gpu - ref| / max(|ref|, tiny) */
    size_t worst;    /* index with the largest error relative to its tolerance */
    double got, want, tol; /* at `worst` */
    int ok;
};

/* Runs the graph (forward + backward) on ctx and on the reference from the same inputs (seeded
 * by seed) and appends one row per compared tensor to rows[*n_rows] (up to max_rows). Returns a
 * non-OK status only when the device fails; rows say whether the numbers agree. */
enum vkd_status vkd_check_gpu(struct vkd_context *ctx, struct vkd_check *c, uint64_t seed,
                              struct vkd_check_row *rows, int max_rows, int *n_rows);
/* Finite differences of the reference; appends one row per input with a gradient. max_elems
 * bounds the elements checked per tensor (spread evenly). */
void vkd_check_fd(struct vkd_check *c, uint64_t seed, int max_elems, struct vkd_check_row *rows,
                  int max_rows, int *n_rows);

#endif
