/*
 * test_loss.c - the loss family: hand-checked values of softmax cross-entropy (on the reference
 * with `cpu`, on the shaders with `gpu`), then the generic cases of engine/cases/loss.c
 * (`cpu` finite differences of the reference, `gpu` shaders against the reference).
 *
 * Hand checks, each with PyTorch's answer worked out by hand:
 *   - equal logits: loss = log K, dlogits = (1/K - onehot) / N; the first-index tie rule makes
 *     only label 0 a top-1 hit and labels 0..4 top-5 hits;
 *   - ties: torch.argmax / topk pick the first of equal logits;
 *   - a confident, correct row (logits 20, -20): loss = log1p(e^-40) ~ 4.2e-18, far below fp32's
 *     resolution of log(1 + e^-40), and its gradient +-e^-40 / (1 + e^-40), to full precision;
 *   - labels out of range (K and 2^31): loss NaN, no hits, NaN gradient for that row only;
 *   - ignored rows (VKD_CE_IGNORE, PyTorch's ignore_index): the mean is over the others, their
 *     gradient is 0, they count no hits.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "testutil.h"
#include "vkd_ops.h"

#define MAX_N 4
#define MAX_K 10

struct result {
    double loss, top1, top5;
    double dz[MAX_N * MAX_K];
};

/* One softmax_ce node over z (N, K) and labels, seeded with d total / d loss = 1, run forward
 * and backward on ctx (the shaders) or, when ctx is NULL, on the reference. 0 on success. */
static int run(struct vkd_context *ctx, int N, int K, const double *z, const double *labels,
               struct result *res)
{
    struct vkd_graph *g = vkd_graph_create();
    int x = vkd_graph_input(g, "logits", VKD_F32, N, K, 1, 1);
    int y = vkd_graph_input(g, "labels", VKD_U32, N, 1, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    int top1, top5;
    int loss = vkd_softmax_ce(g, "ce", x, y, &top1, &top5);
    vkd_graph_loss(g, loss, -1);
    int rc = -1;
    if (vkd_graph_finalize(g, 0) == VKD_OK) {
        const struct vkd_test_in in[] = {{x, z}, {y, labels}};
        const struct vkd_test_out out[] = {{loss, &res->loss},
                                           {top1, &res->top1},
                                           {top5, &res->top5},
                                           {vkd_graph_tensor_at(g, x)->grad, res->dz}};
        rc = vkd_test_run_graph(ctx, g, in, 2, out, 4);
    } else {
        printf("FAIL: %s\n", vkd_graph_error(g));
        vkd_test_failed(1);
    }
    vkd_graph_destroy(g);
    return rc;
}

/* Equal logits: softmax is uniform, loss = log K, dz = (1/K - onehot) / N; every class ties,
 * so a label's rank is its index. */
static void check_uniform(struct vkd_context *ctx)
{
    enum { N = 4, K = 10 };
    double z[N * K], labels[N] = {0, 3, 4, 9};
    for (int i = 0; i < N * K; i++)
        z[i] = 0.75;
    struct result r;
    if (run(ctx, N, K, z, labels, &r))
        return;
    vkd_test_expect_near("equal logits: loss = log K", r.loss, log(K), 1e-6, 0);
    vkd_test_expect_near("equal logits: top-1 (only label 0 ranks first)", r.top1, 1, 0, 0);
    vkd_test_expect_near("equal logits: top-5 (labels 0, 3, 4)", r.top5, 3, 0, 0);
    double worst = 0;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double want = (1.0 / K - (k == labels[n])) / N;
            double err = fabs(r.dz[n * K + k] - want) / fabs(want);
            worst = err > worst ? err : worst;
        }
    vkd_test_expect_near("equal logits: dz = (1/K - onehot)/N, max rel error <= 1e-6", worst, 0, 0,
                         1e-6);
}

/* Ties: z = [1, 3, 3, 2] (K = 4 < 5: every row is a top-5 hit) and z = [5 x6, 1] (K = 7). */
static void check_ties(struct vkd_context *ctx)
{
    double z4[4 * 4], l4[4] = {1, 2, 3, 0}; /* ranks 0, 1, 2, 3 */
    static const double row4[4] = {1, 3, 3, 2};
    for (int n = 0; n < 4; n++)
        memcpy(z4 + 4 * n, row4, sizeof(row4));
    struct result r;
    if (run(ctx, 4, 4, z4, l4, &r) == 0) {
        vkd_test_expect_near("ties [1,3,3,2]: top-1 = label 1 only (argmax = 1)", r.top1, 1, 0, 0);
        vkd_test_expect_near("ties [1,3,3,2]: top-5 = all rows (K = 4)", r.top5, 4, 0, 0);
    }
    double z7[3 * 7], l7[3] = {5, 4, 0}; /* ranks 5, 4, 0 */
    static const double row7[7] = {5, 5, 5, 5, 5, 5, 1};
    for (int n = 0; n < 3; n++)
        memcpy(z7 + 7 * n, row7, sizeof(row7));
    if (run(ctx, 3, 7, z7, l7, &r) == 0) {
        vkd_test_expect_near("ties [5 x6, 1]: top-1 = label 0 only", r.top1, 1, 0, 0);
        vkd_test_expect_near("ties [5 x6, 1]: top-5 = labels 4 and 0, not 5", r.top5, 2, 0, 0);
        vkd_test_expect_near("ties [5 x6, 1]: loss = log(6 + e^-4)", r.loss, log(6 + exp(-4.0)),
                             1e-6, 0);
    }
}

/* A confident, correct row: its loss and gradient are far below fp32's resolution near 1. */
static void check_confident(struct vkd_context *ctx)
{
    double z[2] = {20, -20}, labels[1] = {0};
    struct result r;
    if (run(ctx, 1, 2, z, labels, &r))
        return;
    double t = exp(-40.0);
    vkd_test_expect_near("logits [20, -20], label 0: loss = log1p(e^-40)", r.loss, log1p(t), 1e-5,
                         0);
    vkd_test_expect_near("logits [20, -20], label 0: dz0 = -e^-40 / (1 + e^-40)", r.dz[0],
                         -t / (1 + t), 1e-5, 0);
    vkd_test_expect_near("logits [20, -20], label 0: dz1 = e^-40 / (1 + e^-40)", r.dz[1],
                         t / (1 + t), 1e-5, 0);
    vkd_test_expect_near("logits [20, -20], label 0: top-1", r.top1, 1, 0, 0);
}

/* Labels K and 2^31 with K = 3: never read out of bounds; loss NaN; row 0 unaffected. */
static void check_bad_label(struct vkd_context *ctx)
{
    double z[3 * 3] = {0.5, 2, -1, 1, 2, 3, 0, 0, 0}, labels[3] = {1, 3, 2147483648.0};
    struct result r;
    if (run(ctx, 3, 3, z, labels, &r))
        return;
    vkd_test_expect_near("labels 3 and 2^31 of K = 3: loss NaN", r.loss, NAN, 0, 0);
    vkd_test_expect_near("labels 3 and 2^31 of K = 3: top-1 counts row 0 only", r.top1, 1, 0, 0);
    vkd_test_expect_near("labels 3 and 2^31 of K = 3: top-5 counts row 0 only", r.top5, 1, 0, 0);
    double s = exp(0.5) + exp(2) + exp(-1);
    vkd_test_expect_near("labels out of range: row 0 dz1 = (p1 - 1)/3", r.dz[1],
                         (exp(2) / s - 1) / 3, 1e-6, 0);
    int nan_rows = 1;
    for (int i = 3; i < 9; i++)
        nan_rows &= isnan(r.dz[i]) != 0;
    vkd_test_expect_near("labels out of range: their rows' dz are NaN (1 = yes)", nan_rows, 1, 0,
                         0);
}

/* Rows 1 and 2 ignored: the loss and gradient are row 0's alone (mean over one row). */
static void check_ignore(struct vkd_context *ctx)
{
    double z[3 * 3] = {0.5, 2, -1, 1, 2, 3, 0, 0, 0}, labels[3] = {1, VKD_CE_IGNORE, VKD_CE_IGNORE};
    struct result r;
    if (run(ctx, 3, 3, z, labels, &r))
        return;
    double s = exp(0.5) + exp(2) + exp(-1);
    vkd_test_expect_near("ignored rows: loss = row 0's", r.loss, log(s) - 2, 1e-6, 0);
    vkd_test_expect_near("ignored rows: top-1 counts row 0 only", r.top1, 1, 0, 0);
    vkd_test_expect_near("ignored rows: row 0 dz1 = p1 - 1 (mean over 1 row)", r.dz[1],
                         exp(2) / s - 1, 1e-6, 0);
    double zero = 0;
    for (int i = 3; i < 9; i++)
        zero += fabs(r.dz[i]);
    vkd_test_expect_near("ignored rows: their gradient is 0", zero, 0, 0, 0);
}

/* Each check is |got - want| <= rel |want| with rel 0 (exact), 1e-6 or 1e-5. */
static void hand_checks(struct vkd_context *ctx)
{
    check_uniform(ctx);
    check_ties(ctx);
    check_confident(ctx);
    check_bad_label(ctx);
    check_ignore(ctx);
}

int main(int argc, char **argv)
{
    return vkd_test_hand_main(argc, argv, "loss", hand_checks);
}
