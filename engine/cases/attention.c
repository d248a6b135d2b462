/*
 * attention.c - op-check cases of the self-attention family (engine/ops/attention.c): a 1 x 1
 * map (A = 1, dx = 0), batch 1, primes (C = 3, 7, 13, 67; P = 9, 25, 49, 91), sizes that are no
 * multiple of the 64 x 64 tile, SAKD's CIFAR shapes (resnet20's last stage 64 x 8 x 8,
 * resnet8x4's 256 x 8 x 8, stage 1's 16 x 32 x 32 and 64 x 32 x 32: P = 1024), post-ReLU
 * features (what SAKD taps) and signed ones, peaked rows (|s Z| up to ~40), and an input that
 * feeds another node (backward adds: node.acc).
 *
 * Tolerances (vkd_check_k), in the manner of engine/cases/correlation.c: every case propagates,
 * in double and from the very inputs it uses (drawn here), a first-order bound on each output
 * element's rounding error in units of u, and a tensor's K is max over its elements of
 * (e / (|ref| + rms(ref)))^2, at least 1, so the tolerance is 8 times the estimate everywhere:
 *   Z_ab = sum_k X_ka X_kb       own sqrt(C) max_k |partial sum| (inputs exact)
 *   t_ab = s Z_ab                absolute error alpha_ab = s e_Z,ab + |t_ab| (one rounding)
 *   A, dots, D                   the row softmax model of engine/cases/softmax.c
 *                                (vkd_case_softmax_fwd / _bwd) on each row a with these alpha:
 *                                A's error iota_ab + A_ab rho_a; dot_a's error eta_a + |dot_a|
 *                                rho_a; D_ab's error ind_ab + kap_ab rho_a + lam_ab eta_a, the
 *                                last two shared by row a (signed coefficients)
 *   dX_ka = s sum_b X_kb S_ab    S_ab = D_ab + D_ba; own sqrt(P) max |partial| (times s) + |dX|
 *                                (the final scaling); independent errors as a root-sum-square
 *                                over b: (ind_ab + ind_ba + |S_ab|) X_kb and row b's shared
 *                                errors through D_ba; row a's shared errors summed with their
 *                                signs: rho_a |sum_b kap_ab X_kb| + eta_a |sum_b lam_ab X_kb|
 * With a ReLU in front, x's gradient is df masked (exact). Measured errors sit at a few percent
 * of these tolerances on lavapipe.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "softmax_model.h"
#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

enum { AT_RELU = 1, AT_FANOUT = 2 };

struct model {
    double k_a, k_dots, k_df, k_dx;
};

/* The model of the top for features f (x's layout after the optional ReLU), upstream da and the
 * ReLU's mask (NULL: none). */
static void error_model(int n, int C, int P, double s, const double *f, const double *da,
                        const double *mask, struct model *m)
{
    const size_t PP = (size_t)P * P, nx = (size_t)n * C * P;
    double *a = malloc(n * PP * sizeof(double)), *ea = malloc(n * PP * sizeof(double));
    double *dots = malloc((size_t)n * P * sizeof(double));
    double *edots = malloc((size_t)n * P * sizeof(double));
    double *t = malloc(P * sizeof(double)), *al = malloc(P * sizeof(double));
    double *io = malloc(P * sizeof(double)), *rho = malloc(P * sizeof(double));
    double *eta = malloc(P * sizeof(double)), *d = malloc(PP * sizeof(double));
    double *ind = malloc(PP * sizeof(double)), *kap = malloc(PP * sizeof(double));
    double *lam = malloc(PP * sizeof(double)), *df = malloc(nx * sizeof(double));
    double *edf = malloc(nx * sizeof(double)), *ez = malloc(P * sizeof(double));
    if (!a || !ea || !dots || !edots || !t || !al || !io || !rho || !eta || !d || !ind || !kap ||
        !lam || !df || !edf || !ez)
        abort(); /* a test helper: the case shapes are small */
    for (int z = 0; z < n; z++) {
        const double *X = f + (size_t)z * C * P;
        for (int i = 0; i < P; i++) {
            /* row i of Z with its own rounding, then the row softmax */
            for (int j = 0; j < P; j++) {
                double g = 0, mp = 0;
                for (int k = 0; k < C; k++) {
                    g += X[(size_t)k * P + i] * X[(size_t)k * P + j];
                    mp = fmax(mp, fabs(g));
                }
                t[j] = s * g, ez[j] = sqrt(C) * mp;
                al[j] = s * ez[j] + fabs(t[j]);
            }
            size_t o = (size_t)z * PP + (size_t)i * P;
            double edot;
            vkd_case_softmax_fwd(P, t, al, a + o, io, &rho[i]);
            for (int j = 0; j < P; j++)
                ea[o + j] = io[j] + a[o + j] * rho[i];
            vkd_case_softmax_bwd(P, a + o, io, rho[i], da + o, d + (size_t)i * P,
                                 ind + (size_t)i * P, kap + (size_t)i * P, lam + (size_t)i * P,
                                 &dots[(size_t)z * P + i], &eta[i], &edot);
            edots[(size_t)z * P + i] = edot;
        }
        for (int k = 0; k < C; k++)
            for (int i = 0; i < P; i++) {
                double v = 0, mp = 0, rss = 0, ck = 0, cl = 0;
                for (int j = 0; j < P; j++) {
                    size_t ij = (size_t)i * P + j, ji = (size_t)j * P + i;
                    double xj = X[(size_t)k * P + j], sij = d[ij] + d[ji];
                    double e = ind[ij] + ind[ji] + fabs(sij);
                    v += xj * sij, mp = fmax(mp, fabs(v));
                    ck += kap[ij] * xj, cl += lam[ij] * xj; /* row i's shared errors */
                    if (j == i) {
                        ck += kap[ji] * xj, cl += lam[ji] * xj;
                    } else {
                        double eb = rho[j] * kap[ji], el = eta[j] * lam[ji];
                        rss += (eb * eb + el * el) * xj * xj;
                    }
                    rss += e * e * xj * xj;
                }
                size_t o = (size_t)z * C * P + (size_t)k * P + i;
                df[o] = s * v;
                edf[o] = s * (sqrt(P) * mp + sqrt(rss) + rho[i] * fabs(ck) + eta[i] * fabs(cl)) +
                         fabs(df[o]);
            }
    }
    m->k_a = vkd_case_k_of(a, ea, n * PP);
    m->k_dots = vkd_case_k_of(dots, edots, (size_t)n * P);
    m->k_df = vkd_case_k_of(df, edf, nx);
    for (size_t i = 0; mask && i < nx; i++)
        df[i] *= mask[i], edf[i] *= mask[i];
    m->k_dx = vkd_case_k_of(df, edf, nx);
    free(a), free(ea), free(dots), free(edots), free(t), free(al), free(io), free(rho);
    free(eta), free(d), free(ind), free(kap), free(lam), free(df), free(edf), free(ez);
}

/* Uniform values in [lo, hi], fp32-representable, |v| >= gap. */
static double draw(struct vkd_rng *rng, double lo, double hi, double gap)
{
    double v;
    do
        v = lo + (hi - lo) * vkd_rng_uniform(rng);
    while (fabs(v) < gap);
    return (float)v;
}

/* a: n c h w range flags; x uniform in [-range, range] */
static struct vkd_check *attention_case(const int *a)
{
    int n = a[0], C = a[1], h = a[2], w = a[3], P = h * w, range = a[4], flags = a[5];
    char label[64];
    snprintf(label, sizeof(label), "%dx%dx%dx%d +-%d%s%s", n, C, h, w, range,
             flags & AT_RELU ? " relu" : "", flags & AT_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("self_attention", label);
    size_t nx = (size_t)n * C * P, na = (size_t)n * P * P;
    double *x = malloc(nx * sizeof(double)), *f = malloc(nx * sizeof(double));
    double *mask = malloc(nx * sizeof(double)), *da = malloc(na * sizeof(double));
    if (!c || !x || !f || !mask || !da) {
        free(x), free(f), free(mask), free(da);
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_graph *g = vkd_check_graph(c);
    struct vkd_rng rng = {(uint64_t)(n * 7919 + C * 131 + h * 31 + w + flags)};
    int relu = (flags & AT_RELU) != 0;
    for (size_t i = 0; i < nx; i++) {
        x[i] = draw(&rng, -range, range, 1e-3); /* a ReLU's finite differences stay off its kink */
        mask[i] = !relu || x[i] > 0;
        f[i] = x[i] * mask[i];
    }
    for (size_t i = 0; i < na; i++)
        da[i] = draw(&rng, -1, 1, 0);
    int xi = vkd_graph_input(g, "x", VKD_F32, n, C, h, w);
    vkd_graph_set_requires_grad(g, xi);
    vkd_check_values(c, xi, x);
    int fi = relu ? vkd_relu(g, "f", xi) : xi;
    int y = vkd_self_attention(g, "attn", fi);
    vkd_check_seed(c, y);
    vkd_check_values(c, vkd_graph_find(g, "seed.attn"), da);
    if (flags & AT_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", xi)); /* after the attention: its backward adds */
    struct model m;
    error_model(n, C, P, (float)(1.0 / sqrt(C)), f, da, relu ? mask : NULL, &m);
    free(x), free(f), free(mask), free(da);
    vkd_check_k(c, y, m.k_a);
    vkd_check_k(c, vkd_graph_find(g, "attn.dots"), m.k_dots);
    if (relu)
        vkd_check_k(c, fi, m.k_df); /* the ReLU's forward is exact; K is for df */
    /* a second consumer adds one gradient to dx (the rms covers its cancellation) */
    vkd_check_k(c, xi, m.k_dx + (flags & AT_FANOUT ? 1 : 0));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1x1x1x2", 0, attention_case, {1, 1, 1, 2, 1, 0}},
    {"2x5x1x1 (P 1: A = 1, dx = 0)", 0, attention_case, {2, 5, 1, 1, 1, 0}},
    {"1x3x3x3 (C 3, P 9)", 1, attention_case, {1, 3, 3, 3, 1, 0}},
    {"2x7x5x5 (C 7, P 25)", 1, attention_case, {2, 7, 5, 5, 1, 0}},
    {"1x3x7x7 (C 3, P 49)", 0, attention_case, {1, 3, 7, 7, 2, 0}},
    {"3x13x7x13 (P 91)", 0, attention_case, {3, 13, 7, 13, 1, 0}},
    {"2x67x9x10 (C 67, P 90)", 1, attention_case, {2, 67, 9, 10, 1, 0}},
    {"2x64x8x8 relu (resnet20 stage 3)", 1, attention_case, {2, 64, 8, 8, 1, AT_RELU}},
    {"1x256x8x8 relu (resnet8x4 stage 3)", 0, attention_case, {1, 256, 8, 8, 1, AT_RELU}},
    {"2x4x6x6 +-4 (peaked rows)", 0, attention_case, {2, 4, 6, 6, 4, 0}},
    {"1x16x32x32 relu (P 1024)", 0, attention_case, {1, 16, 32, 32, 1, AT_RELU}},
    {"1x64x32x32 relu (C 64, P 1024)", 1, attention_case, {1, 64, 32, 32, 1, AT_RELU}},
    {"2x6x4x5 acc", 1, attention_case, {2, 6, 4, 5, 1, AT_FANOUT}},
};

const struct vkd_case_family vkd_cases_attention = {"attention", cases,
                                                    sizeof(cases) / sizeof(cases[0])};
