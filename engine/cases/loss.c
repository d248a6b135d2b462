/*
 * loss.c - op-check cases of the loss family: softmax cross-entropy over batch 1 and CIFAR
 * batches, K from 1 (degenerate: loss 0, gradient 0) and 2 to 1000, primes and sizes that are
 * no multiple of the 128-wide row workgroup, logits in [-30, 30] (the stable log-sum-exp), a
 * 4-D logits tensor, the loss weight read from a step-parameter slot, logits that feed a second
 * node (the backward adds into their gradient: node.acc), ignored rows (VKD_CE_IGNORE), and
 * more rows than one dimension of a dispatch grid holds.
 *
 * Reduction lengths (vkd_check_k) behind each compared tensor, before the exp term below:
 *   per-row results: K   (loss_n and s - 1 are K-term sums; max and hit flags are exact)
 *   loss:            N+K (a K-term row sum per row, then an N-term batch sum; the two fp32
 *                         rounding walks add, so sqrt(N + K) bounds their growth)
 *   dlogits:         K   (softmax = exp(z - m) / s, s a K-term sum)
 *   top-1 / top-5:   1   (integer counts, exact: both sides compare the same fp32 values)
 * The exp term: every softmax term is exp(x) with x = z - m in [-2R, 0] for logits in [-R, R],
 * and exp amplifies an error in its argument by |x|: fp32 rounds x itself (relative error
 * <= |x| u), and GPUs evaluate exp(x) as exp2(x log2 e) with the product rounded in fp32
 * (another |x| u). So a term carries up to 2 |x| u <= 4R u of relative error on top of the sums'
 * sqrt(K) u growth - inherent in fp32 softmax (PyTorch's included), and visible where a row's
 * tiny terms are all the compared values hold (batch 1, K = 2, logits +-30: loss ~ e^-40 and
 * the gradient +-e^-40, both off by ~64 u on lavapipe). The check allows 8 u sqrt(k) |ref| at
 * least, so k = (sqrt(K) + R/2)^2 covers both: 8 (sqrt(K) + R/2) = 8 sqrt(K) + 4R.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum seed_mode {
    LOSS_UNIT,   /* vkd_graph_loss(g, loss, -1): d total / d loss = 1 */
    LOSS_SLOT,   /* the loss weight 0.37 from a step-parameter slot */
    LOSS_FANOUT, /* logits also feed relu (seeded): the CE backward accumulates */
    LOSS_IGNORE, /* every third label is VKD_CE_IGNORE (a partial evaluation batch) */
};

/* The reduction length of a K-term softmax sum over logits in [-r, r] (see the top). */
static double k_exp(int k, int r)
{
    return (sqrt(k) + r / 2.0) * (sqrt(k) + r / 2.0);
}

/* a: n c h w (K = c*h*w), logit half-range, seed_mode */
static struct vkd_check *ce_case(const int *a)
{
    static const char *const mode_name[] = {"", " w0.37", " acc", " ignore"};
    char shape[64];
    int n = a[0], k = a[1] * a[2] * a[3];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d +-%d%s", a[0], a[1], a[2], a[3], a[4],
             mode_name[a[5]]);
    struct vkd_check *c = vkd_check_create("softmax_ce", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "logits", VKD_F32, a[0], a[1], a[2], a[3]);
    int y = vkd_graph_input(g, "labels", VKD_U32, a[0], 1, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    /* The gap keeps relu's finite differences off its kink (fan-out case). */
    vkd_check_uniform_gap(c, x, -a[4], a[4], 1e-3);
    vkd_check_labels(c, y, (uint32_t)k);
    if (a[5] == LOSS_IGNORE) {
        double *lab = malloc(sizeof(double) * (size_t)n);
        for (int i = 0; lab && i < n; i++)
            lab[i] = i % 3 == 1 ? VKD_CE_IGNORE : (double)((i * 7) % k);
        if (lab)
            vkd_check_values(c, y, lab);
        free(lab);
    }
    int top1, top5;
    int loss = vkd_softmax_ce(g, "ce", x, y, &top1, &top5);
    if (a[5] == LOSS_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (a[5] == LOSS_FANOUT) /* after the CE node: backward reaches relu first, then CE adds */
        vkd_check_seed(c, vkd_relu(g, "r", x));
    vkd_check_k(c, vkd_graph_find(g, "ce.rows"), k_exp(k, a[4]));
    vkd_check_k(c, loss, k_exp(n + k, a[4]));
    vkd_check_k(c, x, k_exp(k, a[4]));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"n1 k1", 0, ce_case, {1, 1, 1, 1, 1, LOSS_UNIT}},
    {"n1 k2 +-30", 0, ce_case, {1, 2, 1, 1, 30, LOSS_UNIT}},
    {"n7 k2", 0, ce_case, {7, 2, 1, 1, 1, LOSS_UNIT}},
    {"n3 k5", 0, ce_case, {3, 5, 1, 1, 2, LOSS_UNIT}},
    {"n64 k10 +-30", 1, ce_case, {64, 10, 1, 1, 30, LOSS_UNIT}},
    {"n128 k10 w0.37", 0, ce_case, {128, 10, 1, 1, 4, LOSS_SLOT}},
    {"n64 k100 w0.37", 1, ce_case, {64, 100, 1, 1, 4, LOSS_SLOT}},
    {"n3 k1000 +-30", 0, ce_case, {3, 1000, 1, 1, 30, LOSS_UNIT}},
    {"n13 k131", 0, ce_case, {13, 131, 1, 1, 8, LOSS_UNIT}},
    {"n3 c5 h2 w3", 0, ce_case, {3, 5, 2, 3, 3, LOSS_UNIT}},
    {"n5 k257 acc", 1, ce_case, {5, 257, 1, 1, 2, LOSS_FANOUT}},
    {"n10 k10 ignore", 1, ce_case, {10, 10, 1, 1, 4, LOSS_IGNORE}},
    /* more rows than a grid dimension holds (65535 on many devices): the folded grid */
    {"n70001 k3", 0, ce_case, {70001, 3, 1, 1, 4, LOSS_UNIT}},
};

const struct vkd_case_family vkd_cases_loss = {"loss", cases, sizeof(cases) / sizeof(cases[0])};
