/*
 * batchnorm.c - op-check cases of the batchnorm family (engine/ops/batchnorm.c): training and
 * eval mode, gamma/beta trainable (PARAM) or frozen (STATE), and a graph where x, gamma and
 * beta each feed two batchnorm nodes (gradient accumulation, node.acc).
 *
 * Reduction lengths (vkd_check_k), m = n*h*w values per channel:
 *   - training: y, the saved mean and 1/std and the updated running statistics all rest on the
 *     channel's mean and variance, fp32 reductions over m values: K = m. The partials are chunk
 *     reductions (forward: chunk mean/M2; after backward: chunk sums of dy, dy*xhat): K = m too
 *     (a chunk is at most m long, and its sums of dy*xhat use the m-long statistics);
 *   - eval: y has no reduction (K = 1); dx neither (K = 1);
 *   - dgamma, dbeta: sums over m; training dx also uses both sums: K = m.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

struct bn_args {
    int n, c, h, w;
    int training;
    int frozen;   /* gamma/beta are STATE (a frozen teacher): no gradients */
    int near_eps; /* x in [-0.005, 0.005]: the batch variance is comparable to eps */
};

static struct bn_args args_of(const int *a)
{
    return (struct bn_args){a[0], a[1], a[2], a[3], a[4], a[5], a[6]};
}

/* gamma, beta (PARAM or STATE) and running statistics of c channels, named after prefix. */
static void make_affine(struct vkd_check *c, const char *prefix, int ch, int frozen, int *gamma,
                        int *beta)
{
    struct vkd_graph *g = vkd_check_graph(c);
    char nm[64];
    snprintf(nm, sizeof(nm), "%s.weight", prefix);
    *gamma = frozen ? vkd_graph_tensor(g, nm, VKD_T_STATE, VKD_F32, ch, 1, 1, 1)
                    : vkd_graph_param(g, nm, ch, 1, 1, 1);
    snprintf(nm, sizeof(nm), "%s.bias", prefix);
    *beta = frozen ? vkd_graph_tensor(g, nm, VKD_T_STATE, VKD_F32, ch, 1, 1, 1)
                   : vkd_graph_param(g, nm, ch, 1, 1, 1);
    vkd_check_uniform(c, *gamma, -1.5, 1.5);
}

static void make_running(struct vkd_check *c, const char *prefix, int ch, double k, int *rmean,
                         int *rvar)
{
    struct vkd_graph *g = vkd_check_graph(c);
    char nm[64];
    snprintf(nm, sizeof(nm), "%s.running_mean", prefix);
    *rmean = vkd_graph_tensor(g, nm, VKD_T_STATE, VKD_F32, ch, 1, 1, 1);
    snprintf(nm, sizeof(nm), "%s.running_var", prefix);
    *rvar = vkd_graph_tensor(g, nm, VKD_T_STATE, VKD_F32, ch, 1, 1, 1);
    vkd_check_uniform(c, *rvar, 0.5, 2.0);
    vkd_check_k(c, *rmean, k);
    vkd_check_k(c, *rvar, k);
}

/* K of the node's outputs (see the top of this file). */
static void set_output_k(struct vkd_check *c, const char *name, int y, int training, double m)
{
    const struct vkd_graph *g = vkd_check_graph(c);
    const char *suffix[] = {".mean", ".invstd", ".partials"};
    vkd_check_k(c, y, training ? m : 1);
    for (int i = 0; i < 3; i++) {
        char nm[64];
        snprintf(nm, sizeof(nm), "%s%s", name, suffix[i]);
        int t = vkd_graph_find(g, nm);
        if (t >= 0)
            vkd_check_k(c, t, m);
    }
}

static struct vkd_check *finish(struct vkd_check *c)
{
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static void label(char *s, size_t len, const struct bn_args *b)
{
    snprintf(s, len, "%dx%dx%dx%d %s%s%s", b->n, b->c, b->h, b->w, b->training ? "train" : "eval",
             b->frozen ? " frozen" : "", b->near_eps ? " var~eps" : "");
}

/* a: n c h w training frozen */
static struct vkd_check *bn_case(const int *a)
{
    struct bn_args b = args_of(a);
    char shape[64];
    label(shape, sizeof(shape), &b);
    struct vkd_check *c = vkd_check_create("batchnorm2d", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    double m = (double)b.n * b.h * b.w;
    int x = vkd_graph_input(g, "x", VKD_F32, b.n, b.c, b.h, b.w);
    vkd_graph_set_requires_grad(g, x);
    if (b.near_eps)
        vkd_check_uniform(c, x, -0.005, 0.005);
    int gamma, beta, rmean, rvar;
    make_affine(c, "bn", b.c, b.frozen, &gamma, &beta);
    make_running(c, "bn", b.c, m, &rmean, &rvar);
    int y = vkd_batchnorm2d(g, "bn", x, gamma, beta, rmean, rvar, b.training);
    set_output_k(c, "bn", y, b.training, m);
    vkd_check_k(c, x, b.training ? m : 1);
    vkd_check_k(c, gamma, m);
    vkd_check_k(c, beta, m);
    vkd_check_seed(c, y);
    return finish(c);
}

/* x, gamma and beta each feed two batchnorm nodes (own running statistics), s = y1 + y2: the
 * second node's backward writes their gradients, the first one's adds to them. */
static struct vkd_check *shared_case(const int *a)
{
    struct bn_args b = args_of(a);
    char shape[64];
    label(shape, sizeof(shape), &b);
    struct vkd_check *c = vkd_check_create("bn shared", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    double m = (double)b.n * b.h * b.w;
    int x = vkd_graph_input(g, "x", VKD_F32, b.n, b.c, b.h, b.w);
    vkd_graph_set_requires_grad(g, x);
    int gamma, beta, rm1, rv1, rm2, rv2;
    make_affine(c, "bn", b.c, 0, &gamma, &beta);
    make_running(c, "bn1", b.c, m, &rm1, &rv1);
    make_running(c, "bn2", b.c, m, &rm2, &rv2);
    int y1 = vkd_batchnorm2d(g, "bn1", x, gamma, beta, rm1, rv1, b.training);
    int y2 = vkd_batchnorm2d(g, "bn2", x, gamma, beta, rm2, rv2, b.training);
    set_output_k(c, "bn1", y1, b.training, m);
    set_output_k(c, "bn2", y2, b.training, m);
    int s = vkd_add(g, "s", y1, y2);
    vkd_check_k(c, s, b.training ? m : 1);
    vkd_check_k(c, x, b.training ? m : 1);
    vkd_check_k(c, gamma, m);
    vkd_check_k(c, beta, m);
    vkd_check_seed(c, s);
    return finish(c);
}

static const struct vkd_case cases[] = {
    /* training: m = 2 (the smallest m PyTorch trains with), batch 1 with spatial extent,
     * primes, several chunks per channel with a short last one, CIFAR-ResNet sizes.
     * With m = 2, xhat = +-sqrt(var / (var + eps)) and dx = gamma invstd (dy0 - dy1) / 2 *
     * eps / (var + eps): a cancellation of terms ~eps/var times larger than dx, which no fp32
     * evaluation of the formula (PyTorch's included) resolves when var >> eps. x spread over
     * ~1e-2 keeps var ~ eps, where dx is well conditioned and eps itself is tested. */
    {"2x3x1x1 train var~eps", 0, bn_case, {2, 3, 1, 1, 1, 0, 1}},
    {"1x4x5x3 train", 0, bn_case, {1, 4, 5, 3, 1, 0}},
    {"3x5x7x7 train", 1, bn_case, {3, 5, 7, 7, 1, 0}},
    {"2x7x13x11 train", 0, bn_case, {2, 7, 13, 11, 1, 0}},
    {"5x3x29x31 train", 0, bn_case, {5, 3, 29, 31, 1, 0}},
    {"8x16x32x32 train", 0, bn_case, {8, 16, 32, 32, 1, 0}},
    {"4x64x8x8 train", 0, bn_case, {4, 64, 8, 8, 1, 0}},
    {"32x16x32x32 train", 0, bn_case, {32, 16, 32, 32, 1, 0}},
    {"3x5x7x7 train frozen", 1, bn_case, {3, 5, 7, 7, 1, 1}},
    /* planes smaller than the CPU-device kernels' VKD_BN_CPU_WG lanes: a lane's step crosses
     * one plane (hw 6) or eight (hw 1, two chunks, the second short) */
    {"9x3x2x3 train", 0, bn_case, {9, 3, 2, 3, 1, 0}},
    {"2500x2x1x1 train", 0, bn_case, {2500, 2, 1, 1, 1, 0}},
    /* eval: batch 1 and m = 1 are fine here */
    {"1x1x1x1 eval", 0, bn_case, {1, 1, 1, 1, 0, 0}},
    {"3x5x7x7 eval", 1, bn_case, {3, 5, 7, 7, 0, 0}},
    {"2x7x13x11 eval frozen", 1, bn_case, {2, 7, 13, 11, 0, 1}},
    {"4x64x8x8 eval", 0, bn_case, {4, 64, 8, 8, 0, 0}},
    {"8x16x32x32 eval frozen", 0, bn_case, {8, 16, 32, 32, 0, 1}},
    {"9x3x2x3 eval", 0, bn_case, {9, 3, 2, 3, 0, 0}},
    /* gradient accumulation into x, gamma and beta */
    {"2x3x5x7 train shared", 1, shared_case, {2, 3, 5, 7, 1, 0}},
    {"2x3x5x7 eval shared", 0, shared_case, {2, 3, 5, 7, 0, 0}},
    /* the same with whole vec4 planes and chunks (the CPU-device kernels' vec4 path, bn_quads) */
    {"2x3x4x6 train shared", 0, shared_case, {2, 3, 4, 6, 1, 0}},
    {"2x3x4x6 eval shared", 0, shared_case, {2, 3, 4, 6, 0, 0}},
};

const struct vkd_case_family vkd_cases_batchnorm = {"batchnorm", cases,
                                                    sizeof(cases) / sizeof(cases[0])};
