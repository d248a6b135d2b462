/*
 * softmax.c - op-check cases of the row-softmax family (engine/ops/softmax.c): rows of 1 .. 1024
 * elements (1, primes 7, 17, 131, 257, SAKD's P = 9, 25, 49, 64, 1024, and lengths that are no
 * multiple of the 128-invocation workgroup), rows that are not the last dimension alone, scales
 * 1, 2, 1/8 and 1/sqrt(3) (fp32), logits up to +-50 after scaling (exp arguments down to -100:
 * terms that underflow fp32 entirely), near-uniform rows (+-1e-3), and an input that feeds
 * another node (backward adds: node.acc).
 *
 * Tolerances (vkd_check_k). The plain model 8 u sqrt(K) (|ref| + rms) assumes a K-term sum of
 * terms about as large as its result; a softmax is also an exp of rounded arguments, and its
 * backward subtracts a row dot product from each dy (far smaller than either in peaked rows).
 * So each case propagates, in double and from the very inputs it uses (drawn here), a
 * first-order bound on each element's rounding error, in units of u (vkd_case_softmax_*):
 *   t_j = s x_j                rounded once: alpha_j = |t_j| (absolute error of the argument)
 *   arg_j = t_j - m            m is the computed maximum, so its own error shifts every
 *                              argument alike and cancels in the normalisation; the
 *                              subtraction rounds: |arg_j|
 *   e_j = exp(arg_j)           relative error alpha_j + |arg_j| (argument) + 3 + 2|arg_j| (the
 *                              Vulkan precision of exp: 3 + 2|x| ulp) = r_j
 *   S = sum_j e_j              own sqrt(L) S (terms > 0, partial sums <= S) + rss_j e_j r_j:
 *                              relative rho, shared by the row
 *   y_j = e_j / S              independent iota_j = y_j (r_j + 3) (division: 2.5 ulp), shared
 *                              y_j rho
 *   dot = sum_j dy_j y_j       own sqrt(L) max |partial| + rss_j dy_j iota_j = eta, shared by
 *                              the row, plus dot rho
 *   D_j = y_j (dy_j - dot)     independent iota_j |dy_j - dot| + 2 |D_j| (two roundings);
 *                              shared (D_j - y_j dot) rho (the sum's error enters y and dot
 *                              together) and -y_j eta
 *   dx_j = s D_j               |s| times D_j's error, + |dx_j| (one more rounding)
 * Errors of independent roundings add as a root-sum-square (the model's own sqrt(K)
 * assumption); a tensor's K is then max over its elements of (e / (|ref| + rms(ref)))^2, at
 * least 1, so the tolerance is 8 times the estimate everywhere. Peaked rows (large logits) and
 * the dot product's cancellation cost what their conditioning costs, not slack.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "softmax_model.h"
#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* ---- the error model (softmax_model.h) ---------------------------------------------------------
 */

void vkd_case_softmax_fwd(size_t len, const double *t, const double *alpha, double *y, double *iota,
                          double *rho)
{
    double m = -INFINITY, sum = 0, rss = 0;
    for (size_t j = 0; j < len; j++)
        m = fmax(m, t[j]);
    for (size_t j = 0; j < len; j++) {
        double arg = t[j] - m, e = exp(arg), r = alpha[j] + 3 * fabs(arg) + 3;
        y[j] = e, iota[j] = r; /* e and its relative error until S is known */
        sum += e, rss += e * r * e * r;
    }
    *rho = sqrt((double)len) + sqrt(rss) / sum;
    for (size_t j = 0; j < len; j++) {
        y[j] /= sum;
        iota[j] = y[j] * (iota[j] + 3);
    }
}

void vkd_case_softmax_bwd(size_t len, const double *y, const double *iota, double rho,
                          const double *dy, double *d, double *ind, double *kap, double *lam,
                          double *dot, double *eta, double *edot)
{
    double s = 0, mp = 0, rss = 0;
    for (size_t j = 0; j < len; j++) {
        s += dy[j] * y[j], mp = fmax(mp, fabs(s));
        rss += dy[j] * iota[j] * dy[j] * iota[j];
    }
    *dot = s;
    *eta = sqrt((double)len) * mp + sqrt(rss);
    *edot = *eta + fabs(s) * rho;
    for (size_t j = 0; j < len; j++) {
        double gj = dy[j] - s;
        d[j] = y[j] * gj;
        ind[j] = iota[j] * fabs(gj) + 2 * fabs(d[j]);
        kap[j] = d[j] - y[j] * s;
        lam[j] = -y[j];
    }
}

double vkd_case_k_of(const double *v, const double *e, size_t n)
{
    double ss = 0, k = 1;
    for (size_t i = 0; i < n; i++)
        ss += v[i] * v[i];
    double r = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++) {
        double den = fabs(v[i]) + r;
        if (den > 0)
            k = fmax(k, (e[i] / den) * (e[i] / den));
    }
    return k;
}

/* ---- cases ------------------------------------------------------------------------------------
 */

enum { SM_FANOUT = 1 };

/* The model for all rows: K of y and of dx (see the top). */
static void error_model(size_t rows, size_t len, double s, const double *x, const double *dy,
                        double *k_y, double *k_dx)
{
    size_t n = rows * len;
    double *t = malloc(len * sizeof(double)), *al = malloc(len * sizeof(double));
    double *y = malloc(n * sizeof(double)), *ey = malloc(n * sizeof(double));
    double *dx = malloc(n * sizeof(double)), *edx = malloc(n * sizeof(double));
    double *io = malloc(len * sizeof(double)), *ind = malloc(len * sizeof(double));
    double *kap = malloc(len * sizeof(double)), *lam = malloc(len * sizeof(double));
    if (!t || !al || !y || !ey || !dx || !edx || !io || !ind || !kap || !lam)
        abort(); /* a test helper: the case shapes are small */
    for (size_t r = 0; r < rows; r++) {
        size_t o = r * len;
        double rho, dot, eta, edot;
        for (size_t j = 0; j < len; j++)
            t[j] = s * x[o + j], al[j] = fabs(t[j]);
        vkd_case_softmax_fwd(len, t, al, y + o, io, &rho);
        vkd_case_softmax_bwd(len, y + o, io, rho, dy + o, dx + o, ind, kap, lam, &dot, &eta, &edot);
        for (size_t j = 0; j < len; j++) {
            ey[o + j] = io[j] + y[o + j] * rho;
            dx[o + j] *= s;
            edx[o + j] =
                fabs(s) * (ind[j] + fabs(kap[j]) * rho + fabs(lam[j]) * eta) + fabs(dx[o + j]);
        }
    }
    *k_y = vkd_case_k_of(y, ey, n);
    *k_dx = vkd_case_k_of(dx, edx, n);
    free(t), free(al), free(y), free(ey), free(dx), free(edx), free(io), free(ind), free(kap);
    free(lam);
}

/* Uniform values in [-r, r], fp32-representable, |v| >= gap. */
static void draw(double *v, size_t n, double r, double gap, struct vkd_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double d;
        do
            d = -r + 2 * r * vkd_rng_uniform(rng);
        while (fabs(d) < gap);
        v[i] = (float)d;
    }
}

/* a: n c h w len scale_num scale_den range_milli flags; s x lies in +-s range */
static struct vkd_check *softmax_case(const int *a)
{
    int len = a[4], flags = a[8];
    double s = (float)((double)a[5] / a[6]), range = a[7] / 1000.0;
    size_t n = (size_t)a[0] * a[1] * a[2] * a[3], rows = n / (size_t)len;
    char label[64];
    snprintf(label, sizeof(label), "%dx%dx%dx%d L%d s%.4g +-%g%s", a[0], a[1], a[2], a[3], len, s,
             range, flags & SM_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("softmax", label);
    double *x = malloc(n * sizeof(double)), *dy = malloc(n * sizeof(double));
    if (!c || !x || !dy) {
        free(x), free(dy);
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_graph *g = vkd_check_graph(c);
    struct vkd_rng rng = {(uint64_t)(n * 7919 + (size_t)len * 31 + (size_t)a[7])};
    /* a ReLU consumer's finite differences stay off its kink */
    draw(x, n, range, flags & SM_FANOUT ? 1e-3 : 0, &rng);
    draw(dy, n, 1, 0, &rng);
    int xi = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, xi);
    vkd_check_values(c, xi, x);
    int y = vkd_row_softmax(g, "softmax", xi, len, (float)s);
    vkd_check_seed(c, y);
    vkd_check_values(c, vkd_graph_find(g, "seed.softmax"), dy);
    if (flags & SM_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", xi)); /* after the softmax: its backward adds */
    double k_y, k_dx;
    error_model(rows, (size_t)len, s, x, dy, &k_y, &k_dx);
    free(x), free(dy);
    vkd_check_k(c, y, k_y);
    /* a second consumer adds one gradient to dx (the rms covers its cancellation) */
    vkd_check_k(c, xi, k_dx + (flags & SM_FANOUT ? 1 : 0));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1x1x1x2 L2", 0, softmax_case, {1, 1, 1, 2, 2, 1, 1, 1000, 0}},
    {"1x1x3x1 L1 (y = 1, dx = 0)", 0, softmax_case, {1, 1, 3, 1, 1, 1, 1, 1000, 0}},
    {"1x3x1x7 L7", 0, softmax_case, {1, 3, 1, 7, 7, 1, 1, 2000, 0}},
    {"2x1x9x9 L9 s1/sqrt3", 1, softmax_case, {2, 1, 9, 9, 9, 1000, 1732, 3000, 0}},
    {"1x1x25x25 L25", 0, softmax_case, {1, 1, 25, 25, 25, 1, 1, 4000, 0}},
    {"1x1x49x49 L49 s1/8", 1, softmax_case, {1, 1, 49, 49, 49, 1, 8, 16000, 0}},
    {"2x3x4x5 L20 (rows over h, w)", 0, softmax_case, {2, 3, 4, 5, 20, 1, 1, 1000, 0}},
    {"1x1x3x131 L131", 0, softmax_case, {1, 1, 3, 131, 131, 1, 1, 3000, 0}},
    {"3x1x2x257 L257 s2", 1, softmax_case, {3, 1, 2, 257, 257, 2, 1, 1500, 0}},
    {"3x1x5x17 +-50", 1, softmax_case, {3, 1, 5, 17, 17, 1, 1, 50000, 0}},
    {"2x1x4x33 s2 +-50", 0, softmax_case, {2, 1, 4, 33, 33, 2, 1, 25000, 0}},
    {"1x1x3x300 +-50", 0, softmax_case, {1, 1, 3, 300, 300, 1, 1, 50000, 0}},
    {"2x1x7x64 near-uniform", 1, softmax_case, {2, 1, 7, 64, 64, 1, 1, 1, 0}},
    {"1x1x64x1024 L1024 s1/8 (SAKD P)", 1, softmax_case, {1, 1, 64, 1024, 1024, 1, 8, 8000, 0}},
    {"2x1x5x100 acc", 1, softmax_case, {2, 1, 5, 100, 100, 1, 1, 1000, SM_FANOUT}},
};

const struct vkd_case_family vkd_cases_softmax = {"softmax", cases,
                                                  sizeof(cases) / sizeof(cases[0])};
