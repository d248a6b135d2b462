/*
 * test_lkd.c - LKD's relations (methods.md sections 2 and 7). The paper's eqs. (4)-(6) written as
 * three literal loops in plain C double, on tiny batches with a teacher mask, against the one-Gram
 * graph the method builds (lkd_local_term, run on the CPU reference):
 *   (4) intra-instance       sum_i sum_{p,q}            (phi_t(i,p; i,q) - phi_s(i,p; i,q))^2
 *   (5) inter, same position sum_p sum_{i,j}            (phi_t(i,p; j,p) - phi_s(i,p; j,p))^2
 *   (6) inter, different     sum_{p != q} sum_{i != j}  (phi_t(i,p; j,q) - phi_s(i,p; j,q))^2
 * phi = cosine of the masked, flattened patch blocks (F.normalize's eps). Their sum must equal
 * sum over all (R = N k^2)^2 entries of (Q_s - Q_t)^2: the index sets cover every entry once,
 * the diagonal twice with a zero difference. Agreement to 1e-12 relative (both are double sums
 * of a few hundred terms). The gradient of the graph (reference backward) is compared with
 * central differences of the literal form (h = 1e-6 (1 + |x|), tolerance 1e-6 (1 + |g|) as the
 * op checks), so the backward is checked against the paper's own form, not only the Gram's.
 * Also: a map that a k x k grid does not divide is refused with a sentence. No device needed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lkd.h"
#include "vkd.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

static int failures;

struct shape {
    int n, cs, ct, h, w, k;
};

/* The patch vector of image i, position p (grid row-major), masked and normalised, into v. */
static int patch_vec(const struct shape *sh, int c, const double *f, const double *m, int i,
                     int p, double *v)
{
    int ph = sh->h / sh->k, pw = sh->w / sh->k, a = p / sh->k, b = p % sh->k, d = 0;
    double sq = 0;
    for (int ch = 0; ch < c; ch++)
        for (int y = a * ph; y < (a + 1) * ph; y++)
            for (int x = b * pw; x < (b + 1) * pw; x++) {
                double e = f[(((size_t)i * c + ch) * sh->h + y) * sh->w + x] *
                           m[((size_t)i * sh->h + y) * sh->w + x];
                v[d++] = e, sq += e * e;
            }
    double r = fmax(sqrt(sq), (double)1e-12f);
    for (int e = 0; e < d; e++)
        v[e] /= r;
    return d;
}

static double phi(const struct shape *sh, int c, const double *f, const double *m, int i, int p,
                  int j, int q)
{
    double *u = malloc(sizeof(double) * (size_t)c * sh->h * sh->w);
    double *v = malloc(sizeof(double) * (size_t)c * sh->h * sh->w);
    if (!u || !v)
        abort();
    int d = patch_vec(sh, c, f, m, i, p, u);
    patch_vec(sh, c, f, m, j, q, v);
    double s = 0;
    for (int e = 0; e < d; e++)
        s += u[e] * v[e];
    free(u), free(v);
    return s;
}

static double diff2(const struct shape *sh, const double *fs, const double *ft, const double *m,
                    int i, int p, int j, int q)
{
    double e = phi(sh, sh->ct, ft, m, i, p, j, q) - phi(sh, sh->cs, fs, m, i, p, j, q);
    return e * e;
}

/* Eqs. (4) + (5) + (6), literally. */
static double literal(const struct shape *sh, const double *fs, const double *ft, const double *m)
{
    int n = sh->n, kk = sh->k * sh->k;
    double intra = 0, same = 0, differ = 0;
    for (int i = 0; i < n; i++)
        for (int p = 0; p < kk; p++)
            for (int q = 0; q < kk; q++)
                intra += diff2(sh, fs, ft, m, i, p, i, q);
    for (int p = 0; p < kk; p++)
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                same += diff2(sh, fs, ft, m, i, p, j, p);
    for (int p = 0; p < kk; p++)
        for (int q = 0; q < kk; q++)
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    if (p != q && i != j)
                        differ += diff2(sh, fs, ft, m, i, p, j, q);
    return intra + same + differ;
}

static void relations(const struct shape *sh, uint64_t seed)
{
    size_t ns = (size_t)sh->n * sh->cs * sh->h * sh->w, nt = (size_t)sh->n * sh->ct * sh->h * sh->w;
    size_t nm = (size_t)sh->n * sh->h * sh->w;
    double *fs = malloc(ns * sizeof(double)), *ft = malloc(nt * sizeof(double));
    double *m = malloc(nm * sizeof(double)), *an = malloc(ns * sizeof(double));
    if (!fs || !ft || !m || !an)
        abort();
    struct vkd_rng rng = {seed};
    for (size_t i = 0; i < ns; i++)
        fs[i] = (float)(2 * vkd_rng_uniform(&rng) - 1);
    for (size_t i = 0; i < nt; i++) /* post-ReLU-like teacher: >= 0 */
        ft[i] = (float)vkd_rng_uniform(&rng);
    for (size_t i = 0; i < nm; i++) { /* a thresholded mask: zeros and values in [0.5, 1] */
        double u = vkd_rng_uniform(&rng);
        m[i] = u < 0.3 ? 0 : (float)(0.5 + 0.5 * vkd_rng_uniform(&rng));
    }

    struct vkd_graph *g = vkd_graph_create();
    int xs = vkd_graph_input(g, "fs", VKD_F32, sh->n, sh->cs, sh->h, sh->w);
    int xt = vkd_graph_input(g, "ft", VKD_F32, sh->n, sh->ct, sh->h, sh->w);
    int xm = vkd_graph_input(g, "mask", VKD_F32, sh->n, 1, sh->h, sh->w);
    vkd_graph_set_requires_grad(g, xs);
    char err[256];
    int l = lkd_local_term(g, "lkd1", xs, xt, xm, sh->k, 1.0f, err, sizeof(err));
    if (l < 0) {
        printf("FAIL lkd_local_term: %s\n", err);
        failures++;
        vkd_graph_destroy(g);
        free(fs), free(ft), free(m), free(an);
        return;
    }
    vkd_graph_loss(g, l, -1);
    vkd_graph_finalize(g, 0);
    struct vkd_ref *e = vkd_ref_create(g);
    memcpy(vkd_ref_data(e, xs), fs, ns * sizeof(double));
    memcpy(vkd_ref_data(e, xt), ft, nt * sizeof(double));
    memcpy(vkd_ref_data(e, xm), m, nm * sizeof(double));
    vkd_ref_forward(e);
    vkd_ref_backward(e);
    double got = vkd_ref_data(e, l)[0];
    memcpy(an, vkd_ref_data(e, vkd_graph_tensor_at(g, xs)->grad), ns * sizeof(double));
    vkd_ref_destroy(e);
    vkd_graph_destroy(g);

    double want = literal(sh, fs, ft, m);
    int ok = fabs(got - want) <= 1e-12 * fabs(want) && want > 0;
    printf("%-4s lkd n%d cs%d ct%d %dx%d k%d: one-Gram %.15g, eqs (4)+(5)+(6) %.15g\n",
           ok ? "ok" : "FAIL", sh->n, sh->cs, sh->ct, sh->h, sh->w, sh->k, got, want);
    failures += !ok;

    /* d/dfs of the literal form, central differences, on every element (the shapes are tiny) */
    double worst = 0;
    int bad = 0;
    for (size_t i = 0; i < ns; i++) {
        double x = fs[i], hh = 1e-6 * (1 + fabs(x));
        fs[i] = x + hh;
        double up = literal(sh, fs, ft, m);
        fs[i] = x - hh;
        double dn = literal(sh, fs, ft, m);
        fs[i] = x;
        double fd = (up - dn) / (2 * hh), err_i = fabs(fd - an[i]);
        worst = fmax(worst, err_i);
        bad += err_i > 1e-6 * (1 + fabs(an[i]));
    }
    printf("%-4s lkd n%d cs%d ct%d %dx%d k%d: gradient vs FD of eqs (4)-(6), %zu elements, "
           "max abs err %.3e\n",
           bad ? "FAIL" : "ok", sh->n, sh->cs, sh->ct, sh->h, sh->w, sh->k, ns, worst);
    failures += bad != 0;
    free(fs), free(ft), free(m), free(an);
}

/* A map that the grid does not divide is refused with a sentence naming the sizes. */
static void refuses(int h, int w, int k)
{
    struct vkd_graph *g = vkd_graph_create();
    int xs = vkd_graph_input(g, "fs", VKD_F32, 2, 3, h, w);
    int xt = vkd_graph_input(g, "ft", VKD_F32, 2, 4, h, w);
    char err[256] = "";
    int l = lkd_local_term(g, "lkd1", xs, xt, -1, k, 1.0f, err, sizeof(err));
    int ok = l < 0 && strstr(err, "cannot be cut") != NULL;
    printf("%-4s lkd %dx%d, k %d refused: %s\n", ok ? "ok" : "FAIL", h, w, k, err);
    failures += !ok;
    vkd_graph_destroy(g);
}

int main(void)
{
    static const struct shape shapes[] = {
        {3, 2, 3, 4, 4, 2}, /* R = 12 */
        {2, 3, 5, 8, 8, 4}, /* R = 32, the default k on an 8x8 (stage-3) map */
        {2, 2, 1, 4, 6, 2}, /* non-square map, one teacher channel */
    };
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        relations(&shapes[i], 1000 + i);
    refuses(6, 8, 4);
    refuses(8, 10, 4);
    printf(failures ? "FAIL: %d check(s)\n" : "all lkd relation checks passed\n", failures);
    return failures ? 1 : 0;
}
