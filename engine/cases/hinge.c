/*
 * hinge.c - op-check cases of the hinge family (engine/ops/hinge.c): one element up to 40k,
 * chunk boundaries (4096, 4097), with a y tensor of +-1 targets and without (y = 1), b a
 * constant or with its own gradient, CORSD's triplet term (43 pairs of scores in (0, 1), margin
 * 1: every term active, scale a_tri / B), margins that leave part of the terms inactive, all
 * terms inactive (L = 0 and zero gradients, exactly), the loss weight from a step-parameter
 * slot, and an a that feeds another node (backward adds: node.acc).
 *
 * Inputs are drawn here, not by the check: a and b uniform in [lo, hi], y = +-1, and a pair is
 * redrawn while |t| = |margin - y (a - b)| < 0.01, so finite differences (h <= 2e-5) never
 * straddle the kink and fp32 and double agree on every term's activity.
 *
 * Reduction lengths (vkd_check_k), from those very inputs, in units of u. fp32 rounds
 * d = a - b (u |d|), y d (u |d| unless y = +-1) and t = margin - y d (u |t|): a term carries
 * e_i <= 2 |d_i| + |t_i|. A partial adds n_k terms, all >= 0, so its own rounding walk is
 * sqrt(n_k) S_k (S_k the partial, >= every partial sum); the loss adds the chunks' partials on
 * top (sqrt(count + chunks) L) and one product by scale. The term errors are independent: their
 * root-sum-square e. So a partial's error is (sqrt(n_k) S_k + e_k) and K_k = (that / S_k)^2 (the
 * check's |ref| + rms >= S_k); the loss's is (sqrt(count + chunks) + 1) L + e, and a scalar's
 * |ref| + rms is 2 L: K = (that / 2L)^2. The terms are well conditioned here, so this is close
 * to the plain model's K = the number of terms. The gradients are -scale y dL (two products):
 * K = 1, 2 with the accumulate.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

enum { HG_Y = 1, HG_BGRAD = 2, HG_SLOT = 4, HG_FANOUT = 8 };

#define HG_GAP 0.01

/* Fills a, b (and y) of count elements away from the kink; sets the K of the partials and of
 * the loss as derived at the top. */
static void draw(struct vkd_check *c, int ta, int tb, int ty, int tp, int tl, size_t count,
                 double lo, double hi, double margin, uint64_t seed)
{
    double *a = malloc(count * sizeof(double)), *b = malloc(count * sizeof(double));
    double *y = malloc(count * sizeof(double));
    if (!a || !b || !y)
        goto out;
    struct vkd_rng rng = {seed};
    double total = 0, ee_total = 0, k_part = 1;
    size_t chunks = (count + VKD_PAIRSUM_CHUNK - 1) / VKD_PAIRSUM_CHUNK;
    for (size_t k = 0; k < chunks; k++) {
        double s = 0, ee = 0;
        size_t j0 = k * VKD_PAIRSUM_CHUNK, n = 0;
        for (size_t j = j0; j < j0 + VKD_PAIRSUM_CHUNK && j < count; j++, n++) {
            double t;
            do {
                a[j] = (float)(lo + (hi - lo) * vkd_rng_uniform(&rng));
                b[j] = (float)(lo + (hi - lo) * vkd_rng_uniform(&rng));
                y[j] = ty >= 0 && vkd_rng_uniform(&rng) < 0.5 ? -1 : 1;
                t = (float)margin - y[j] * (a[j] - b[j]);
            } while (fabs(t) < HG_GAP);
            if (t > 0) {
                double e = 2 * fabs(a[j] - b[j]) + t;
                s += t;
                ee += e * e;
            }
        }
        if (s > 0) {
            double kk = (sqrt((double)n) * s + sqrt(ee)) / s;
            if (kk * kk > k_part)
                k_part = kk * kk;
        }
        total += s;
        ee_total += ee;
    }
    vkd_check_values(c, ta, a);
    vkd_check_values(c, tb, b);
    if (ty >= 0)
        vkd_check_values(c, ty, y);
    vkd_check_k(c, tp, k_part);
    if (total > 0) {
        double kl = ((sqrt((double)(count + chunks)) + 1) * total + sqrt(ee_total)) / (2 * total);
        vkd_check_k(c, tl, kl * kl > 1 ? kl * kl : 1);
    }
out:
    free(a);
    free(b);
    free(y);
}

/* a: n c h w flags margin*100 lo*100 hi*100 scale_num scale_den */
static struct vkd_check *hinge_case(const int *a)
{
    int flags = a[4];
    double margin = a[5] / 100.0, lo = a[6] / 100.0, hi = a[7] / 100.0;
    double scale = (double)a[8] / a[9];
    size_t count = (size_t)a[0] * a[1] * a[2] * a[3];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d m%.3g s%.3g%s%s%s%s", a[0], a[1], a[2], a[3],
             margin, scale, flags & HG_Y ? " y" : "", flags & HG_BGRAD ? " db" : "",
             flags & HG_SLOT ? " w.37" : "", flags & HG_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("hinge", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "a", VKD_F32, a[0], a[1], a[2], a[3]);
    /* b is flat: only the element count has to match. */
    int b = vkd_graph_input(g, "b", VKD_F32, (int)count, 1, 1, 1);
    int y = flags & HG_Y ? vkd_graph_input(g, "y", VKD_F32, a[0], a[1], a[2], a[3]) : -1;
    vkd_graph_set_requires_grad(g, x);
    if (flags & HG_BGRAD)
        vkd_graph_set_requires_grad(g, b);
    int loss = vkd_margin_ranking(g, "hinge", x, b, y, (float)margin, (float)scale);
    if (flags & HG_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (flags & HG_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", x)); /* |a| >= lo > 0 below: off relu's kink */
    draw(c, x, b, y, vkd_graph_find(g, "hinge.partials"), loss, count, lo, hi, margin,
         (uint64_t)count * 7919 + (uint64_t)flags);
    vkd_check_k(c, x, flags & HG_FANOUT ? 2 : 1);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1 element", 0, hinge_case, {1, 1, 1, 1, 0, 50, -100, 100, 1, 1}},
    {"43 CORSD triplet", 1, hinge_case, {43, 1, 1, 1, HG_BGRAD, 100, 0, 100, 1, 4300}},
    {"7x13 y+-1 m0.1", 0, hinge_case, {7, 13, 1, 1, HG_Y, 10, -100, 100, 1, 2}},
    {"3x5x7x9 y+-1 db", 1, hinge_case, {3, 5, 7, 9, HG_Y | HG_BGRAD, 50, -100, 100, 1, 1}},
    {"4096 (one chunk)", 0, hinge_case, {1, 4096, 1, 1, HG_BGRAD, 30, -100, 100, 1, 4}},
    {"4097 (a chunk of 1)", 0, hinge_case, {1, 4097, 1, 1, HG_Y, 30, -100, 100, 1, 1}},
    {"5x131x61 y+-1 w0.37", 1, hinge_case, {5, 131, 61, 1, HG_Y | HG_SLOT, 20, -100, 100, 3, 1}},
    {"all inactive", 0, hinge_case, {2, 3, 5, 7, HG_Y | HG_BGRAD, -300, -100, 100, 1, 1}},
    {"2x9x5x5 acc", 0, hinge_case, {2, 9, 5, 5, HG_FANOUT | HG_BGRAD, 50, 10, 100, 1, 1}},
};

const struct vkd_case_family vkd_cases_hinge = {"hinge", cases, sizeof(cases) / sizeof(cases[0])};
