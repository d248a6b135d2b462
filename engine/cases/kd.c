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
 *
 * softmax_kl (the plain two-sided KL) runs the same forward passes: the same k for its rows and
 * loss. Its gradients and softmax_sce's are differences of terms that can cancel, so each
 * gets k scaled by the square of its own condition number: for every element i, mag_i bounds
 * the magnitude its error is proportional to (u sqrt(k) mag_i), and
 * kappa = max_i mag_i / (|ref_i| + rms(ref)) maps that onto the check's tolerance (vkd_check.h):
 *   dz_s = q - p                      mag = q + p           (each exp: relative error)
 *   dz_t = p (d - KL), d = lp - lq    mag = p (|d| + 1 + sum p |d|)
 *          (d carries the absolute errors of the maxima, <= 2 (R/T) u each, and of the two
 *          log-sums, l = log1p(s) with s's relative error e has error e s / (1 + s) <= e:
 *          the 1; KL those of its terms)
 *   sce dz = S q - s                  mag = (sum |s|) q     (S is a K-term sum of signed s)
 *   sce row loss sum_k s_k v_k, v_k = (m - a_k) + l = -log q_k
 *                                     mag = sum |s_k| (|v_k| + [a_k != m] + l)
 *          (a_k = z_k / T has absolute error <= 2 (R/T) u, no more than 2 sqrt(k) u, where
 *          a_k != m; where a_k == m the difference is exact; l's error is relative); the
 *          other row values m, l, S have mag |m|, l, sum |s|. The loss: the same over all
 *          rows.
 * For targets s >= 0 the loss's kappa is below 3.5 (where a_k != m, q_k < 1/2 and v_k > log 2;
 * and l <= v_k): no cancellation; for signed targets it is whatever the inputs make it.
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

/* max(1, max_i mag_i / (|val_i| + rms(val))): the condition number of the top. */
static double cond(const double *mag, const double *val, size_t n)
{
    double ss = 0, kappa = 1;
    for (size_t i = 0; i < n; i++)
        ss += val[i] * val[i];
    double rms = sqrt(ss / (double)n);
    for (size_t i = 0; i < n; i++)
        if (mag[i] > 0)
            kappa = fmax(kappa, mag[i] / (fabs(val[i]) + rms));
    return kappa;
}

/* Row maximum and log-sum-exp of x / t, in double. */
static void lse_row(const double *x, int k, double t, double *m, double *l)
{
    double s = 0;
    *m = -INFINITY;
    for (int i = 0; i < k; i++)
        *m = fmax(*m, x[i] / t);
    for (int i = 0; i < k; i++)
        s += exp(x[i] / t - *m);
    *l = log(s);
}

/* The condition numbers of softmax_kl's two gradients (see the top). */
static int kl_grad_condition(const double *zs, const double *zt, int n, int k, double t,
                             double *kappa_s, double *kappa_t)
{
    size_t nk = (size_t)n * k;
    double *w = malloc(sizeof(double) * 4 * nk);
    if (!w)
        return -1;
    double *ms_ = w, *vs = w + nk, *mt_ = w + 2 * nk, *vt = w + 3 * nk;
    for (int r = 0; r < n; r++) {
        const double *a = zs + (size_t)r * k, *b = zt + (size_t)r * k;
        double ma, la, mb, lb, kl = 0, sd = 0;
        lse_row(a, k, t, &ma, &la);
        lse_row(b, k, t, &mb, &lb);
        for (int i = 0; i < k; i++) {
            double lp = b[i] / t - mb - lb, d = lp - (a[i] / t - ma - la);
            kl += exp(lp) * d;
            sd += exp(lp) * fabs(d);
        }
        for (int i = 0; i < k; i++) {
            size_t j = (size_t)r * k + i;
            double lp = b[i] / t - mb - lb, lq = a[i] / t - ma - la, p = exp(lp);
            ms_[j] = exp(lq) + p, vs[j] = exp(lq) - p;
            mt_[j] = p * (fabs(lp - lq) + 1 + sd), vt[j] = p * ((lp - lq) - kl);
        }
    }
    *kappa_s = cond(ms_, vs, nk);
    *kappa_t = cond(mt_, vt, nk);
    free(w);
    return 0;
}

enum kl_mode { KL_BOTH, KL_STUDENT, KL_TEACHER, KL_FANOUT, KL_SLOT, KL_CLOSE };

/* a: n k range T mode. KL_STUDENT / KL_TEACHER: only z_s / z_t requires a gradient;
 * KL_FANOUT: both also feed a seeded relu (backward adds); KL_SLOT: the loss weighted 0.37 from
 * a step-parameter slot; KL_CLOSE: z_t = z_s + noise of +-0.05 (KL far below its terms). */
static struct vkd_check *kl_case(const int *a)
{
    static const char *const mode_name[] = {"", " zs only", " zt only", " acc", " w0.37", " close"};
    char shape[64];
    int n = a[0], k = a[1], mode = a[4];
    double t = a[3];
    snprintf(shape, sizeof(shape), "%dx%d +-%d T%d%s", n, k, a[2], a[3], mode_name[mode]);
    struct vkd_check *c = vkd_check_create("softmax_kl", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int zs = vkd_graph_input(g, "zs", VKD_F32, n, k, 1, 1);
    int zt = vkd_graph_input(g, "zt", VKD_F32, n, k, 1, 1);
    if (mode != KL_TEACHER)
        vkd_graph_set_requires_grad(g, zs);
    if (mode != KL_STUDENT)
        vkd_graph_set_requires_grad(g, zt);
    size_t nk = (size_t)n * k;
    double *vs = malloc(sizeof(double) * nk), *vt = malloc(sizeof(double) * nk);
    double kappa_s = 1, kappa_t = 1;
    struct vkd_rng rng = {(uint64_t)(n * 7919 + k * 31 + a[3] + 17 * mode)};
    if (vs && vt) {
        draw(vs, nk, a[2], &rng);
        draw(vt, nk, mode == KL_CLOSE ? 0.05 : a[2], &rng);
        for (size_t i = 0; mode == KL_CLOSE && i < nk; i++)
            vt[i] = (float)(vs[i] + vt[i]);
    }
    if (!vs || !vt || kl_grad_condition(vs, vt, n, k, t, &kappa_s, &kappa_t)) {
        free(vs);
        free(vt);
        vkd_check_destroy(c);
        return NULL;
    }
    vkd_check_values(c, zs, vs);
    vkd_check_values(c, zt, vt);
    double kappa = kl_condition(vs, vt, n, k, t);
    free(vs);
    free(vt);
    int loss = vkd_softmax_kl(g, "kl", zs, zt, (float)t);
    if (mode == KL_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (mode == KL_FANOUT) {
        vkd_check_seed(c, vkd_relu(g, "rs", zs));
        vkd_check_seed(c, vkd_relu(g, "rt", zt));
    }
    vkd_check_k(c, vkd_graph_find(g, "kl.rows"), k_kd(k, a[2], t));
    vkd_check_k(c, loss, k_kd(n + k, a[2], t) * kappa * kappa);
    vkd_check_k(c, zs, k_kd(k, a[2], t) * kappa_s * kappa_s);
    vkd_check_k(c, zt, k_kd(k, a[2], t) * kappa_t * kappa_t);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

enum sce_targets { SCE_PROB, SCE_CORSD, SCE_UNNORM, SCE_SIGNED };
enum { SCE_SLOT = 1, SCE_FANOUT = 2 };

/* Soft targets for n rows of k (fp32-representable): SCE_PROB a softmax of random logits
 * (rows sum to 1 up to rounding), SCE_CORSD (onehot(y_a) + onehot(y_n)) / 2 with y_a != y_n
 * (k >= 2), SCE_UNNORM uniform in [0, 2] (rows sum to about k), SCE_SIGNED uniform in [-1, 1]. */
static void draw_targets(double *s, int n, int k, int kind, struct vkd_rng *rng)
{
    for (int r = 0; r < n; r++) {
        double *sr = s + (size_t)r * k, sum = 0;
        for (int i = 0; i < k; i++) {
            double u = vkd_rng_uniform(rng);
            sr[i] = kind == SCE_PROB     ? exp(6 * u)
                    : kind == SCE_UNNORM ? 2 * u
                    : kind == SCE_SIGNED ? 2 * u - 1
                                         : 0;
            sum += sr[i];
        }
        if (kind == SCE_CORSD) {
            int ya = (int)(vkd_rng_uniform(rng) * k) % k;
            int yn = (ya + 1 + (int)(vkd_rng_uniform(rng) * (k - 1)) % (k - 1)) % k;
            sr[ya] = sr[yn] = 0.5;
        }
        for (int i = 0; i < k; i++)
            sr[i] = (float)(kind == SCE_PROB ? sr[i] / sum : sr[i]);
    }
}

/* The condition numbers of softmax_sce's rows, loss and gradient (see the top). */
static int sce_condition(const double *z, const double *s, int n, int k, double t, double *k_rows,
                         double *k_loss, double *k_grad)
{
    size_t nk = (size_t)n * k, nr = (size_t)n * VKD_KD_ROW;
    double *w = malloc(sizeof(double) * 2 * (nk + nr));
    if (!w)
        return -1;
    double *mg = w, *vg = w + nk, *mr = w + 2 * nk, *vr = mr + nr, ml = 0, vl = 0;
    for (int r = 0; r < n; r++) {
        const double *a = z + (size_t)r * k, *sr = s + (size_t)r * k;
        double m, l, ss = 0, sa = 0, ce = 0, mag = 0;
        lse_row(a, k, t, &m, &l);
        for (int i = 0; i < k; i++) {
            double v = (m - a[i] / t) + l;
            ss += sr[i], sa += fabs(sr[i]), ce += sr[i] * v;
            mag += fabs(sr[i]) * (fabs(v) + (a[i] / t != m) + l);
        }
        for (int i = 0; i < k; i++) {
            double q = exp(a[i] / t - m - l);
            mg[(size_t)r * k + i] = sa * q, vg[(size_t)r * k + i] = ss * q - sr[i];
        }
        double *pm = mr + (size_t)r * VKD_KD_ROW, *pv = vr + (size_t)r * VKD_KD_ROW;
        pm[VKD_SCE_ROW_LOSS] = mag, pv[VKD_SCE_ROW_LOSS] = ce;
        pm[VKD_SCE_ROW_M] = fabs(m), pv[VKD_SCE_ROW_M] = m;
        pm[VKD_SCE_ROW_L] = l, pv[VKD_SCE_ROW_L] = l;
        pm[VKD_SCE_ROW_S] = sa, pv[VKD_SCE_ROW_S] = ss;
        pm[VKD_SCE_ROW_ZERO] = 0, pv[VKD_SCE_ROW_ZERO] = 0;
        ml += mag, vl += ce;
    }
    *k_rows = cond(mr, vr, nr);
    *k_loss = cond(&ml, &vl, 1);
    *k_grad = cond(mg, vg, nk);
    free(w);
    return 0;
}

/* a: n k range T targets flags. SCE_SLOT: the loss weighted 0.37 from a step-parameter slot;
 * SCE_FANOUT: z also feeds a seeded relu (backward adds). */
static struct vkd_check *sce_case(const int *a)
{
    static const char *const tname[] = {"p", "corsd", "unnorm", "signed"};
    char shape[64];
    int n = a[0], k = a[1], kind = a[4], flags = a[5];
    double t = a[3];
    snprintf(shape, sizeof(shape), "%dx%d +-%d T%d s=%s%s%s", n, k, a[2], a[3], tname[kind],
             flags & SCE_SLOT ? " w0.37" : "", flags & SCE_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("softmax_sce", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int z = vkd_graph_input(g, "z", VKD_F32, n, k, 1, 1);
    int s = vkd_graph_input(g, "s", VKD_F32, n, k, 1, 1);
    vkd_graph_set_requires_grad(g, z);
    size_t nk = (size_t)n * k;
    double *vz = malloc(sizeof(double) * nk), *vs = malloc(sizeof(double) * nk);
    double k_rows = 1, k_loss = 1, k_grad = 1;
    struct vkd_rng rng = {(uint64_t)(n * 7919 + k * 31 + a[3] + 101 * kind)};
    if (vz && vs) {
        draw(vz, nk, a[2], &rng);
        draw_targets(vs, n, k, kind, &rng);
    }
    if (!vz || !vs || sce_condition(vz, vs, n, k, t, &k_rows, &k_loss, &k_grad)) {
        free(vz);
        free(vs);
        vkd_check_destroy(c);
        return NULL;
    }
    vkd_check_values(c, z, vz);
    vkd_check_values(c, s, vs);
    free(vz);
    free(vs);
    int loss = vkd_softmax_soft_ce(g, "sce", z, s, (float)t);
    if (flags & SCE_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (flags & SCE_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", z));
    vkd_check_k(c, vkd_graph_find(g, "sce.rows"), k_kd(k, a[2], t) * k_rows * k_rows);
    vkd_check_k(c, loss, k_kd(n + k, a[2], t) * k_loss * k_loss);
    vkd_check_k(c, z, k_kd(k, a[2], t) * k_grad * k_grad);
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
    {"kl n1 k2", 0, kl_case, {1, 2, 2, 3, KL_BOTH}},
    {"kl n7 k2 T1", 0, kl_case, {7, 2, 3, 1, KL_BOTH}},
    {"kl n43 k100 T3 (CORSD)", 1, kl_case, {43, 100, 4, 3, KL_BOTH}},
    {"kl n3 k1000 T20", 0, kl_case, {3, 1000, 8, 20, KL_BOTH}},
    {"kl n13 k131 zs only", 0, kl_case, {13, 131, 5, 3, KL_STUDENT}},
    {"kl n11 k37 zt only", 0, kl_case, {11, 37, 5, 3, KL_TEACHER}},
    {"kl n5 k17 +-30 T1", 1, kl_case, {5, 17, 30, 1, KL_BOTH}},
    {"kl n2 k1000 +-30 T3", 0, kl_case, {2, 1000, 30, 3, KL_BOTH}},
    {"kl n6 k257 acc", 1, kl_case, {6, 257, 3, 2, KL_FANOUT}},
    {"kl n32 k10 w0.37", 0, kl_case, {32, 10, 4, 4, KL_SLOT}},
    {"kl n9 k23 close", 0, kl_case, {9, 23, 4, 3, KL_CLOSE}},
    {"sce n1 k2 p", 0, sce_case, {1, 2, 2, 3, SCE_PROB, 0}},
    {"sce n7 k3 T1 corsd", 0, sce_case, {7, 3, 3, 1, SCE_CORSD, 0}},
    {"sce n43 k100 T3 corsd (CORSD)", 1, sce_case, {43, 100, 4, 3, SCE_CORSD, 0}},
    {"sce n3 k1000 T20 p", 0, sce_case, {3, 1000, 8, 20, SCE_PROB, 0}},
    {"sce n13 k131 unnorm", 1, sce_case, {13, 131, 5, 3, SCE_UNNORM, 0}},
    {"sce n5 k17 +-30 T1 p", 1, sce_case, {5, 17, 30, 1, SCE_PROB, 0}},
    {"sce n2 k1000 +-30 T3 corsd", 0, sce_case, {2, 1000, 30, 3, SCE_CORSD, 0}},
    {"sce n11 k29 signed", 0, sce_case, {11, 29, 4, 2, SCE_SIGNED, 0}},
    {"sce n6 k257 unnorm acc", 1, sce_case, {6, 257, 3, 2, SCE_UNNORM, SCE_FANOUT}},
    {"sce n32 k10 p w0.37", 0, sce_case, {32, 10, 4, 4, SCE_PROB, SCE_SLOT}},
};

const struct vkd_case_family vkd_cases_kd = {"kd", cases, sizeof(cases) / sizeof(cases[0])};
