/*
 * correlation.c - op-check cases of the correlation family (engine/ops/correlation.c): channel
 * and spatial Grams, raw and row-normalised, grids 1x1, 2x2, 2x1 and 1x2, batch 1, primes
 * (C = 3, 7, 13, 67; P = 5, 9, 45), sizes that are no multiple of the 64 x 64 tile, ICKD's CIFAR
 * shape (C = 256, P = 64), SAKD's (C = 64, P = 256 and 1024) and LKD's patch rows (R = 160
 * rows of d = 256 as one sample); over 1024 cells (the batch folded into the grid's z);
 * post-ReLU features with an all-zero channel or pixel (the eps branch of the normalisation: a
 * zero row of G); and an input that feeds another node (backward adds: node.acc).
 *
 * Tolerances (vkd_check_k). The model's 8 u sqrt(K) (|ref| + rms) assumes a K-term sum of terms
 * about as large as its result. Here results can be far smaller than their terms (signed
 * features cancel in G; dy . y cancels; the backward GEMM sums signed products), and the
 * normalisation divides by a norm that carries its own error. So every case propagates, in
 * double and from the very inputs the check uses (drawn here), a first-order estimate of each
 * output element's rounding error in units of u (R rows of G, D its depth):
 *   - an n-term sum rounds by at most u |S_i| at step i (S_i its partial sums), and independent
 *     roundings grow as sqrt(n): own error sqrt(n) max_i |S_i| (the model's own assumption);
 *   - errors of independent inputs add as a root-sum-square; an error every element of a row
 *     shares (its norm's relative error rho_a, its dot product's error) adds as a signed sum;
 *   - G_ab = sum_j A_aj A_bj                  own error, e_G
 *     n_a = ||G_a||                           e_n = sqrt(sum_b (G_ab e_G,ab)^2) / n_a
 *                                                   + (sqrt(R)/2 + 1) n_a,   rho_a = e_n / n_a
 *     y_ab = G_ab / r_a, r_a = max(n_a, eps)  independent e_G / r_a + |y_ab|, shared y_ab rho_a
 *     dot_a = sum_b dy_ab y_ab                own + rss of dy e_y + |dot_a| rho_a
 *     D_ab = (dy_ab - dot_a y_ab) / n_a       independent (|dot| e_y + |dot y| + |num|) / n_a
 *                                             + |D_ab|; shared rho_a (2 dot_a y_ab - dy_ab) / n_a
 *                                             and -y_ab / n_a times dot_a's error
 *            (dy_ab / eps with error |D_ab| when n_a <= eps; D = dy, exact, unnormalised)
 *     dA_aj = sum_b (D_ab + D_ba) A_bj        own + rss over b of the independent parts and of
 *                                             row b's shared parts + row a's shared parts summed
 *                                             with their signs;
 * A tensor's K is then max over its elements of (e / (|ref| + rms(ref)))^2, at least 1: the
 * tolerance is 8 times the estimate everywhere (measured errors sit at 1-9 % of it on lavapipe,
 * the same margin as the plain model's rows). For non-negative (post-ReLU) features nothing
 * cancels and K stays near D (the plain model); signed features and the norm's error cost what
 * their conditioning costs, not slack.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

enum { GC_RELU = 1, GC_ZERO = 2, GC_FANOUT = 4 };

struct shape {
    int n, c, h, w, gh, gw, spatial, normalize, flags;
    int ch, cw, p, rows, depth, batches;
};

static struct shape shape_of(const int *a)
{
    struct shape s = {a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]};
    s.ch = s.h / s.gh, s.cw = s.w / s.gw, s.p = s.ch * s.cw;
    s.rows = s.spatial ? s.p : s.c;
    s.depth = s.spatial ? s.c : s.p;
    s.batches = s.n * s.gh * s.gw;
    return s;
}

/* Offset in x of A_z(a, j) (engine/ops/correlation.c: a_off). */
static size_t a_off(const struct shape *s, int z, int a, int j)
{
    int cells = s->gh * s->gw, sample = z / cells, cell = z % cells;
    int k = s->spatial ? j : a, q = s->spatial ? a : j;
    int gi = cell / s->gw, gj = cell % s->gw;
    return (((size_t)sample * s->c + k) * s->h + gi * s->ch + q / s->cw) * s->w + gj * s->cw +
           q % s->cw;
}

static double rms(const double *v, size_t n)
{
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += v[i] * v[i];
    return sqrt(ss / (double)n);
}

/* max over i of (e_i / (|v_i| + rms(v)))^2, at least 1 (see the top). */
static double k_of(const double *v, const double *e, size_t n)
{
    double r = rms(v, n), k = 1;
    for (size_t i = 0; i < n; i++) {
        double den = fabs(v[i]) + r;
        if (den > 0)
            k = fmax(k, (e[i] / den) * (e[i] / den));
    }
    return k;
}

struct model {
    double k_y, k_norms, k_dots, k_df, k_dx;
};

/* Per matrix: what the backward part of the model needs of each row and element. */
struct rows {
    double *y, *eyi;              /* y and the independent part of its error (R x R) */
    double *n, *rho, *dot, *edot; /* norm, its relative error, dy.y and its error (R) */
};

/* The forward half of the model for matrix z: y, the tensor-wide error bounds ey (of y), en,
 * edot, and the per-row parts the backward half needs (see the top). */
static void model_fwd(const struct shape *s, const double *f, const double *dyz, int z, double *yz,
                      double *eyz, double *en, struct rows *w)
{
    const int R = s->rows, D = s->depth;
    const double eps = VKD_CORR_EPS;
    for (int a = 0; a < R; a++)
        for (int b = 0; b < R; b++) {
            double g = 0, mp = 0;
            for (int j = 0; j < D; j++) {
                g += f[a_off(s, z, a, j)] * f[a_off(s, z, b, j)];
                mp = fmax(mp, fabs(g));
            }
            yz[a * R + b] = g, eyz[a * R + b] = sqrt(D) * mp;
        }
    for (int a = 0; a < R && s->normalize; a++) {
        double *ya = yz + (size_t)a * R, *eya = eyz + (size_t)a * R, n2 = 0, q = 0;
        for (int b = 0; b < R; b++)
            n2 += ya[b] * ya[b], q += ya[b] * eya[b] * ya[b] * eya[b];
        double n = sqrt(n2), e_n = (n > 0 ? sqrt(q) / n : 0) + (sqrt(R) / 2 + 1) * n;
        double r = n > eps ? n : eps, rho = n > eps ? e_n / n : 0;
        double d = 0, mp = 0, rss = 0;
        for (int b = 0; b < R; b++) {
            double yi = ya[b] / r, ei = eya[b] / r + fabs(yi);
            w->eyi[a * R + b] = ei;
            ya[b] = yi, eya[b] = ei + fabs(yi) * rho;
            d += dyz[a * R + b] * yi, mp = fmax(mp, fabs(d));
            rss += dyz[a * R + b] * ei * dyz[a * R + b] * ei;
        }
        en[a] = e_n;
        w->n[a] = n, w->rho[a] = rho, w->dot[a] = d;
        w->edot[a] = sqrt(R) * mp + sqrt(rss) + fabs(d) * rho;
    }
}

/* The error model of the top for features f (x's layout), upstream dy of y and the ReLU mask
 * that makes x's gradient from f's (NULL: x is f). */
static void error_model(const struct shape *s, const double *f, const double *dy,
                        const double *mask, struct model *m)
{
    const int R = s->rows, D = s->depth;
    const size_t RR = (size_t)R * R, nx = (size_t)s->n * s->c * s->h * s->w;
    const double eps = VKD_CORR_EPS;
    size_t ny = (size_t)s->batches * RR, nr = (size_t)s->batches * R;
    double *y = calloc(ny, sizeof(double)), *ey = calloc(ny, sizeof(double));
    double *en = calloc(nr, sizeof(double)), *n = calloc(nr, sizeof(double));
    double *rho = calloc(nr, sizeof(double)), *dot = calloc(nr, sizeof(double));
    double *edot = calloc(nr, sizeof(double)), *eyi = calloc(RR, sizeof(double));
    double *dd = calloc(RR, sizeof(double)), *iota = calloc(RR, sizeof(double));
    double *kap = calloc(RR, sizeof(double)), *lam = calloc(RR, sizeof(double));
    double *df = calloc(nx, sizeof(double)), *edf = calloc(nx, sizeof(double));
    if (!y || !ey || !en || !n || !rho || !dot || !edot || !eyi || !dd || !iota || !kap || !lam ||
        !df || !edf)
        abort(); /* a test helper: the case shapes are small */
    for (int z = 0; z < s->batches; z++) {
        double *yz = y + z * RR;
        const double *dyz = dy + z * RR;
        struct rows w = {yz, eyi, n + z * R, rho + z * R, dot + z * R, edot + z * R};
        model_fwd(s, f, dyz, z, yz, ey + z * RR, en + z * R, &w);
        /* D: its independent error iota, and the signed coefficients of the row's shared
         * errors: kap of the norm's (relative rho), lam of dot's (absolute edot). */
        for (int a = 0; a < R; a++)
            for (int b = 0; b < R; b++) {
                size_t i = (size_t)a * R + b;
                double na = w.n[a], da = w.dot[a];
                kap[i] = lam[i] = 0;
                if (!s->normalize) {
                    dd[i] = dyz[i], iota[i] = 0;
                } else if (na > eps) {
                    double num = dyz[i] - da * yz[i];
                    dd[i] = num / na;
                    iota[i] = (fabs(da) * eyi[i] + fabs(da * yz[i]) + fabs(num)) / na + fabs(dd[i]);
                    kap[i] = w.rho[a] * (2 * da * yz[i] - dyz[i]) / na;
                    lam[i] = yz[i] / na;
                } else {
                    dd[i] = dyz[i] / eps, iota[i] = fabs(dd[i]);
                }
            }
        /* dA_aj = sum_b S_ab A_bj: own rounding, independent errors as a root-sum-square, row
         * a's shared errors as signed sums, other rows' shared errors independent per row. */
        for (int a = 0; a < R; a++)
            for (int j = 0; j < D; j++) {
                double v = 0, mp = 0, ind = 0, ck = 0, cl = 0;
                for (int b = 0; b < R; b++) {
                    size_t ab = (size_t)a * R + b, ba = (size_t)b * R + a;
                    double sab = dd[ab] + dd[ba], fb = f[a_off(s, z, b, j)];
                    double ei = iota[ab] + iota[ba] + fabs(sab);
                    double eb = kap[ba] * kap[ba] + lam[ba] * w.edot[b] * lam[ba] * w.edot[b];
                    v += sab * fb, mp = fmax(mp, fabs(v));
                    ind += (ei * ei + eb) * fb * fb;
                    ck += kap[ab] * fb, cl += lam[ab] * fb;
                }
                size_t o = a_off(s, z, a, j);
                df[o] = v;
                edf[o] = sqrt(R) * mp + sqrt(ind) + fabs(ck) + w.edot[a] * fabs(cl);
            }
    }
    m->k_y = k_of(y, ey, ny);
    m->k_norms = s->normalize ? k_of(n, en, nr) : 1;
    m->k_dots = s->normalize ? k_of(dot, edot, nr) : 1;
    m->k_df = k_of(df, edf, nx);
    for (size_t i = 0; mask && i < nx; i++)
        df[i] *= mask[i], edf[i] *= mask[i];
    m->k_dx = k_of(df, edf, nx);
    free(y), free(ey), free(en), free(n), free(rho), free(dot), free(edot), free(eyi), free(dd);
    free(iota), free(kap), free(lam), free(df), free(edf);
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

/* a: n c h w grid_h grid_w spatial normalize flags */
static struct vkd_check *gram_case(const int *a)
{
    struct shape s = shape_of(a);
    char label[64];
    snprintf(label, sizeof(label), "%dx%dx%dx%d g%dx%d %s %s%s%s", s.n, s.c, s.h, s.w, s.gh, s.gw,
             s.spatial ? "spat" : "chan", s.normalize ? "nrm" : "raw",
             s.flags & GC_ZERO ? (s.spatial ? " 0-pixel" : " 0-chan") : "",
             s.flags & GC_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("gram", label);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    size_t nx = (size_t)s.n * s.c * s.h * s.w, ny = (size_t)s.batches * s.rows * s.rows;
    double *x = malloc(nx * sizeof(double)), *f = malloc(nx * sizeof(double));
    double *mask = malloc(nx * sizeof(double)), *dy = malloc(ny * sizeof(double));
    if (!x || !f || !mask || !dy) {
        free(x), free(f), free(mask), free(dy);
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_rng rng = {(uint64_t)(s.n * 7919 + s.c * 131 + s.h * 31 + s.w + s.flags)};
    int relu = (s.flags & (GC_RELU | GC_ZERO)) != 0;
    for (size_t i = 0; i < nx; i++)
        x[i] = draw(&rng, -1, 1, 1e-3); /* a ReLU's finite differences stay off its kink */
    if (s.flags & GC_ZERO) {
        /* sample 0: channel 1 (channel mode) or the top-left pixel (spatial mode) all negative,
         * so the ReLU makes a zero row of G */
        for (int k = 0; k < s.c; k++)
            for (int q = 0; q < s.h * s.w; q++)
                if (s.spatial ? q == 0 : k == 1)
                    x[(size_t)k * s.h * s.w + q] = draw(&rng, -1, -0.01, 0);
    }
    for (size_t i = 0; i < nx; i++) {
        mask[i] = !relu || x[i] > 0;
        f[i] = x[i] * mask[i];
    }
    for (size_t i = 0; i < ny; i++)
        dy[i] = draw(&rng, -1, 1, 0);

    int xi = vkd_graph_input(g, "x", VKD_F32, s.n, s.c, s.h, s.w);
    vkd_graph_set_requires_grad(g, xi);
    vkd_check_values(c, xi, x);
    int fi = relu ? vkd_relu(g, "f", xi) : xi;
    int y = vkd_gram(g, "gram", fi, s.spatial ? VKD_GRAM_SPATIAL : VKD_GRAM_CHANNEL, (uint32_t)s.gh,
                     (uint32_t)s.gw, s.normalize);
    vkd_check_seed(c, y);
    vkd_check_values(c, vkd_graph_find(g, "seed.gram"), dy);
    if (s.flags & GC_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", xi)); /* after the Gram: its backward adds */

    struct model m;
    error_model(&s, f, dy, relu ? mask : NULL, &m);
    free(x), free(f), free(mask), free(dy);
    vkd_check_k(c, y, m.k_y);
    if (s.normalize) {
        vkd_check_k(c, vkd_graph_find(g, "gram.norms"), m.k_norms);
        vkd_check_k(c, vkd_graph_find(g, "gram.dots"), m.k_dots);
    }
    if (relu)
        vkd_check_k(c, fi, m.k_df); /* the ReLU's forward is exact; K is for df */
    /* a second consumer adds one gradient to dx (the rms covers its cancellation) */
    vkd_check_k(c, xi, m.k_dx + (s.flags & GC_FANOUT ? 1 : 0));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

#define CHAN 0
#define SPAT 1
static const struct vkd_case cases[] = {
    {"1x2x1x2 chan nrm", 0, gram_case, {1, 2, 1, 2, 1, 1, CHAN, 1, 0}},
    {"1x3x5x1 chan raw (C 3, P 5)", 0, gram_case, {1, 3, 5, 1, 1, 1, CHAN, 0, 0}},
    {"2x7x3x3 chan nrm (C 7, P 9)", 1, gram_case, {2, 7, 3, 3, 1, 1, CHAN, 1, 0}},
    {"3x13x6x4 g2x2 chan nrm", 0, gram_case, {3, 13, 6, 4, 2, 2, CHAN, 1, 0}},
    {"2x67x9x10 g1x2 chan nrm", 1, gram_case, {2, 67, 9, 10, 1, 2, CHAN, 1, 0}},
    {"2x67x9x10 g1x2 chan raw", 0, gram_case, {2, 67, 9, 10, 1, 2, CHAN, 0, 0}},
    {"2x256x8x8 chan nrm relu (ICKD)", 1, gram_case, {2, 256, 8, 8, 1, 1, CHAN, 1, GC_RELU}},
    {"1x256x8x8 chan nrm signed", 0, gram_case, {1, 256, 8, 8, 1, 1, CHAN, 1, 0}},
    {"1x160x1x256 chan raw (LKD patch rows)", 1, gram_case, {1, 160, 1, 256, 1, 1, CHAN, 0, 0}},
    {"1x13x3x3 spat nrm (C 13, P 9)", 0, gram_case, {1, 13, 3, 3, 1, 1, SPAT, 1, 0}},
    {"1x3x7x7 spat raw (P 49)", 0, gram_case, {1, 3, 7, 7, 1, 1, SPAT, 0, 0}},
    {"2x5x6x6 g2x1 spat nrm", 1, gram_case, {2, 5, 6, 6, 2, 1, SPAT, 1, 0}},
    {"1x7x10x10 g2x2 spat raw (P 25)", 0, gram_case, {1, 7, 10, 10, 2, 2, SPAT, 0, 0}},
    {"1x64x16x16 spat nrm relu (SAKD)", 1, gram_case, {1, 64, 16, 16, 1, 1, SPAT, 1, GC_RELU}},
    {"1x64x32x32 spat nrm relu", 0, gram_case, {1, 64, 32, 32, 1, 1, SPAT, 1, GC_RELU}},
    {"2x7x4x4 chan nrm 0-chan", 1, gram_case, {2, 7, 4, 4, 1, 1, CHAN, 1, GC_ZERO}},
    {"2x5x4x4 g2x2 spat nrm 0-pixel", 0, gram_case, {2, 5, 4, 4, 2, 2, SPAT, 1, GC_ZERO}},
    /* 1152 and 1200 matrices: two slices of the grid's z (VKD_CORR_FOLD) */
    {"2x3x48x48 g24x24 chan nrm", 0, gram_case, {2, 3, 48, 48, 24, 24, CHAN, 1, 0}},
    {"5x5x24x40 g12x20 spat raw", 0, gram_case, {5, 5, 24, 40, 12, 20, SPAT, 0, 0}},
    {"2x9x4x6 g2x2 chan raw acc", 0, gram_case, {2, 9, 4, 6, 2, 2, CHAN, 0, GC_FANOUT}},
    {"2x6x4x4 g2x1 spat nrm acc", 0, gram_case, {2, 6, 4, 4, 2, 1, SPAT, 1, GC_FANOUT}},
};

const struct vkd_case_family vkd_cases_correlation = {"correlation", cases,
                                                      sizeof(cases) / sizeof(cases[0])};
