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
    if (!g)
        return -1;
    int x = vkd_graph_input(g, "logits", VKD_F32, N, K, 1, 1);
    int y = vkd_graph_input(g, "labels", VKD_U32, N, 1, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    int top1, top5;
    int loss = vkd_softmax_ce(g, "ce", x, y, &top1, &top5);
    vkd_graph_loss(g, loss, -1);
    int rc = -1;
    if (vkd_graph_finalize(g, 0) != VKD_OK)
        goto out_graph;
    int dx = vkd_graph_tensor_at(g, x)->grad;
    if (!ctx) {
        struct vkd_ref *e = vkd_ref_create(g);
        if (!e)
            goto out_graph;
        memcpy(vkd_ref_data(e, x), z, sizeof(double) * (size_t)(N * K));
        memcpy(vkd_ref_data(e, y), labels, sizeof(double) * (size_t)N);
        vkd_ref_forward(e);
        vkd_ref_backward(e);
        res->loss = vkd_ref_data(e, loss)[0];
        res->top1 = vkd_ref_data(e, top1)[0];
        res->top5 = vkd_ref_data(e, top5)[0];
        memcpy(res->dz, vkd_ref_data(e, dx), sizeof(double) * (size_t)(N * K));
        vkd_ref_destroy(e);
        rc = 0;
        goto out_graph;
    }
    struct vkd_vk_desc desc = {VKD_PROG_FORWARD | VKD_PROG_BACKWARD, 0};
    struct vkd_vk *vk;
    enum vkd_status s = vkd_vk_create(ctx, g, &desc, &vk);
    if (s != VKD_OK)
        goto out_err;
    s = vkd_vk_write(vk, x, z);
    if (s == VKD_OK)
        s = vkd_vk_write(vk, y, labels);
    if (s == VKD_OK)
        s = vkd_vk_run(vk);
    if (s == VKD_OK)
        s = vkd_vk_read(vk, loss, &res->loss);
    if (s == VKD_OK)
        s = vkd_vk_read(vk, top1, &res->top1);
    if (s == VKD_OK)
        s = vkd_vk_read(vk, top5, &res->top5);
    if (s == VKD_OK)
        s = vkd_vk_read(vk, dx, res->dz);
    vkd_vk_destroy(vk);
    if (s == VKD_OK)
        rc = 0;
out_err:
    if (rc)
        printf("FAIL: %s\n", vkd_context_error(ctx));
out_graph:
    vkd_graph_destroy(g);
    return rc;
}

static int failures;

/* |got - want| <= tol_rel |want| (exact when tol_rel is 0); NaN wants NaN. */
static void expect(const char *what, double got, double want, double tol_rel)
{
    int ok = isnan(want) ? isnan(got) : fabs(got - want) <= tol_rel * fabs(want);
    printf("%-5s hand %-56s got %.9g want %.9g\n", ok ? "ok" : "FAIL", what, got, want);
    failures += !ok;
}

static void expect_below(const char *what, double got, double bound)
{
    int ok = got <= bound;
    printf("%-5s hand %-56s got %.9g <= %.9g\n", ok ? "ok" : "FAIL", what, got, bound);
    failures += !ok;
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
    if (run(ctx, N, K, z, labels, &r)) {
        failures++;
        return;
    }
    expect("equal logits: loss = log K", r.loss, log(K), 1e-6);
    expect("equal logits: top-1 (only label 0 ranks first)", r.top1, 1, 0);
    expect("equal logits: top-5 (labels 0, 3, 4)", r.top5, 3, 0);
    double worst = 0;
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++) {
            double want = (1.0 / K - (k == labels[n])) / N;
            double err = fabs(r.dz[n * K + k] - want) / fabs(want);
            worst = err > worst ? err : worst;
        }
    expect_below("equal logits: dz = (1/K - onehot)/N, max rel error", worst, 1e-6);
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
        expect("ties [1,3,3,2]: top-1 = label 1 only (argmax = 1)", r.top1, 1, 0);
        expect("ties [1,3,3,2]: top-5 = all rows (K = 4)", r.top5, 4, 0);
    } else {
        failures++;
    }
    double z7[3 * 7], l7[3] = {5, 4, 0}; /* ranks 5, 4, 0 */
    static const double row7[7] = {5, 5, 5, 5, 5, 5, 1};
    for (int n = 0; n < 3; n++)
        memcpy(z7 + 7 * n, row7, sizeof(row7));
    if (run(ctx, 3, 7, z7, l7, &r) == 0) {
        expect("ties [5 x6, 1]: top-1 = label 0 only", r.top1, 1, 0);
        expect("ties [5 x6, 1]: top-5 = labels 4 and 0, not 5", r.top5, 2, 0);
        expect("ties [5 x6, 1]: loss = log(6 + e^-4)", r.loss, log(6 + exp(-4.0)), 1e-6);
    } else {
        failures++;
    }
}

/* A confident, correct row: its loss and gradient are far below fp32's resolution near 1. */
static void check_confident(struct vkd_context *ctx)
{
    double z[2] = {20, -20}, labels[1] = {0};
    struct result r;
    if (run(ctx, 1, 2, z, labels, &r)) {
        failures++;
        return;
    }
    double t = exp(-40.0);
    expect("logits [20, -20], label 0: loss = log1p(e^-40)", r.loss, log1p(t), 1e-5);
    expect("logits [20, -20], label 0: dz0 = -e^-40 / (1 + e^-40)", r.dz[0], -t / (1 + t), 1e-5);
    expect("logits [20, -20], label 0: dz1 = e^-40 / (1 + e^-40)", r.dz[1], t / (1 + t), 1e-5);
    expect("logits [20, -20], label 0: top-1", r.top1, 1, 0);
}

/* Labels K and 2^31 with K = 3: never read out of bounds; loss NaN; row 0 unaffected. */
static void check_bad_label(struct vkd_context *ctx)
{
    double z[3 * 3] = {0.5, 2, -1, 1, 2, 3, 0, 0, 0}, labels[3] = {1, 3, 2147483648.0};
    struct result r;
    if (run(ctx, 3, 3, z, labels, &r)) {
        failures++;
        return;
    }
    expect("labels 3 and 2^31 of K = 3: loss NaN", r.loss, NAN, 0);
    expect("labels 3 and 2^31 of K = 3: top-1 counts row 0 only", r.top1, 1, 0);
    expect("labels 3 and 2^31 of K = 3: top-5 counts row 0 only", r.top5, 1, 0);
    double s = exp(0.5) + exp(2) + exp(-1);
    expect("labels out of range: row 0 dz1 = (p1 - 1)/3", r.dz[1], (exp(2) / s - 1) / 3, 1e-6);
    int nan_rows = 1;
    for (int i = 3; i < 9; i++)
        nan_rows &= isnan(r.dz[i]) != 0;
    expect("labels out of range: their rows' dz are NaN (1 = yes)", nan_rows, 1, 0);
}

/* Rows 1 and 2 ignored: the loss and gradient are row 0's alone (mean over one row). */
static void check_ignore(struct vkd_context *ctx)
{
    double z[3 * 3] = {0.5, 2, -1, 1, 2, 3, 0, 0, 0},
           labels[3] = {1, VKD_CE_IGNORE, VKD_CE_IGNORE};
    struct result r;
    if (run(ctx, 3, 3, z, labels, &r)) {
        failures++;
        return;
    }
    double s = exp(0.5) + exp(2) + exp(-1);
    expect("ignored rows: loss = row 0's", r.loss, log(s) - 2, 1e-6);
    expect("ignored rows: top-1 counts row 0 only", r.top1, 1, 0);
    expect("ignored rows: row 0 dz1 = p1 - 1 (mean over 1 row)", r.dz[1], exp(2) / s - 1, 1e-6);
    double zero = 0;
    for (int i = 3; i < 9; i++)
        zero += fabs(r.dz[i]);
    expect("ignored rows: their gradient is 0", zero, 0, 0);
}

int main(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "cpu") == 0 || strcmp(argv[1], "gpu") == 0)) {
        struct vkd_context *ctx = strcmp(argv[1], "gpu") == 0 ? vkd_test_context() : NULL;
        check_uniform(ctx);
        check_ties(ctx);
        check_confident(ctx);
        check_bad_label(ctx);
        check_ignore(ctx);
        if (ctx)
            failures += vkd_test_context_done(ctx);
    }
    int rc = vkd_test_family_main(argc, argv, "loss");
    if (failures)
        printf("FAIL: %d hand check(s)\n", failures);
    return rc ? rc : failures ? 1 : 0;
}
