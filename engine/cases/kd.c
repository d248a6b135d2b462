/*
 * kd.c - op-check cases of the knowledge-distillation family: the KD term over batch 1 up to
 * CIFAR batches, K = 2 .. 1000, temperatures 1, 4 and 20, logits up to +-30 (teacher
 * probabilities that underflow to 0 at T = 1), identical teacher and student (loss and
 * gradient exactly 0), the loss weight from a step-parameter slot, and student logits that
 * feed another node (backward adds: node.acc).
 *
 * Reduction lengths (vkd_check_k): the per-row sums run over K terms exp(x) with x = (z - m)/T
 * in [-2R/T, 0] for logits in [-R, R]; as in engine/cases/loss.c, an exp amplifies its
 * argument's rounding by |x|, so a term carries up to 2|x|u <= 4(R/T)u of relative error on
 * top of the sums' sqrt(K) u growth; the log-probability differences lp - lq that weight each
 * KL term carry absolute errors of the same order. k = (sqrt(K) + R/T)^2 covers both:
 * 8 u sqrt(k) = 8 sqrt(K) u + 8 (R/T) u. The loss adds the N-term batch sum: N + K in place
 * of K.
 * The loss is also a sum whose terms p_k (log p_k - log q_k) have both signs: when teacher and
 * student are close, KL is far smaller than its terms (KL ~ d^2 while the terms ~ d), and any
 * fp32 evaluation (PyTorch's included: its fp32 KD loss is off by up to 17x on 1x2 inputs with
 * T = 4 against float64) is accurate only relative to the terms. So the loss's k is scaled by
 * the sum's condition number squared, kappa = sum |p (log p - log q)| / sum p (log p - log q),
 * computed here in double from the very inputs the check uses (they are drawn here).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

enum mode { KD_UNIT, KD_SLOT, KD_FANOUT, KD_SAME };

static double k_kd(double k, double r, double t)
{
    return (sqrt(k) + r / t) * (sqrt(k) + r / t);
}

/* The condition number of the KL sum over all rows (see the top), in double. */
static double kl_condition(const double *zs, const double *zt, int n, int k, double t)
{
    double sum = 0, mag = 0;
    for (int r = 0; r < n; r++) {
        const double *a = zs + (size_t)r * k, *b = zt + (size_t)r * k;
        double ma = -INFINITY, mb = -INFINITY, sa = 0, sb = 0;
        for (int i = 0; i < k; i++)
            ma = fmax(ma, a[i] / t), mb = fmax(mb, b[i] / t);
        for (int i = 0; i < k; i++)
            sa += exp(a[i] / t - ma), sb += exp(b[i] / t - mb);
        for (int i = 0; i < k; i++) {
            double lp = b[i] / t - mb - log(sb), lq = a[i] / t - ma - log(sa);
            sum += exp(lp) * (lp - lq);
            mag += fabs(exp(lp) * (lp - lq));
        }
    }
    return sum > 0 ? fmax(1.0, mag / sum) : 1.0; /* identical inputs: 0 exactly, kappa moot */
}

/* Uniform values in [-r, r], fp32-representable, |x| >= 1e-3 (relu's FD stays off its kink). */
static void draw(double *x, size_t n, double r, struct vkd_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double v;
        do
            v = -r + 2 * r * vkd_rng_uniform(rng);
        while (fabs(v) < 1e-3);
        x[i] = (float)v;
    }
}

/* a: n k range T mode */
static struct vkd_check *kd_case(const int *a)
{
    static const char *const mode_name[] = {"", " w0.37", " acc", " zt=zs"};
    char shape[64];
    int n = a[0], k = a[1];
    double t = a[3];
    snprintf(shape, sizeof(shape), "%dx%d +-%d T%d%s", n, k, a[2], a[3], mode_name[a[4]]);
    struct vkd_check *c = vkd_check_create("softmax_kd", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int zs = vkd_graph_input(g, "zs", VKD_F32, n, k, 1, 1);
    int zt = a[4] == KD_SAME ? zs : vkd_graph_input(g, "zt", VKD_F32, n, k, 1, 1);
    vkd_graph_set_requires_grad(g, zs);
    size_t nk = (size_t)n * k;
    double *vs = malloc(sizeof(double) * nk), *vt = malloc(sizeof(double) * nk);
    if (!vs || !vt) {
        free(vs);
        free(vt);
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_rng rng = {(uint64_t)(n * 7919 + k * 31 + a[3])};
    draw(vs, nk, a[2], &rng);
    draw(vt, nk, a[2], &rng);
    vkd_check_values(c, zs, vs);
    if (zt != zs)
        vkd_check_values(c, zt, vt);
    double kappa = kl_condition(vs, zt != zs ? vt : vs, n, k, t);
    free(vs);
    free(vt);
    int loss = vkd_softmax_kd(g, "kd", zs, zt, (float)t);
    if (a[4] == KD_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (a[4] == KD_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", zs));
    vkd_check_k(c, vkd_graph_find(g, "kd.rows"), k_kd(k, a[2], t));
    vkd_check_k(c, loss, k_kd(n + k, a[2], t) * kappa * kappa);
    vkd_check_k(c, zs, k_kd(k, a[2], t));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"n1 k2", 0, kd_case, {1, 2, 2, 4, KD_UNIT}},
    {"n7 k2 T1", 0, kd_case, {7, 2, 3, 1, KD_UNIT}},
    {"n64 k10", 1, kd_case, {64, 10, 4, 4, KD_UNIT}},
    {"n64 k100", 1, kd_case, {64, 100, 4, 4, KD_UNIT}},
    {"n3 k1000 T20", 0, kd_case, {3, 1000, 8, 20, KD_UNIT}},
    {"n13 k131", 0, kd_case, {13, 131, 5, 4, KD_UNIT}},
    {"n5 k17 +-30 T1", 0, kd_case, {5, 17, 30, 1, KD_UNIT}},
    {"n32 k10 w0.37", 0, kd_case, {32, 10, 4, 4, KD_SLOT}},
    {"n6 k257 acc", 1, kd_case, {6, 257, 3, 2, KD_FANOUT}},
};

const struct vkd_case_family vkd_cases_kd = {"kd", cases, sizeof(cases) / sizeof(cases[0])};
