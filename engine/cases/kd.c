/*
 * kd.c - op-check cases of the knowledge-distillation family: the KD term over batch 1 up to
 * CIFAR batches, K = 2 .. 1000, temperatures 1, 4 and 20, logits up to +-30 (teacher
 * probabilities that underflow to 0 at T = 1), identical teacher and student (loss and
 * gradient exactly 0), the loss weight from a step-parameter slot, and student logits that
 * feed another node (backward adds: node.acc). The two-sided KL over the same ranges, with
 * gradients to both sides, to one side only, and a teacher close to the student (KL far below
 * its terms); the soft-target CE against probability rows, CORSD's half-hot targets, rows
 * summing to about K, and signed rows; and corsd_aux, CORSD's aux terms of one stage composed
 * from grouped batch slices, both KLs and both soft CEs.
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
#include <string.h>

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

/* Per element of softmax_kl's two gradients (n rows of k, in units of dL / (N T)): the error
 * magnitudes ms, mt and the values vs, vt of the top. */
static void kl_grad_mags(const double *zs, const double *zt, int n, int k, double t, double *ms,
                         double *vs, double *mt, double *vt)
{
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
            ms[j] = exp(lq) + p, vs[j] = exp(lq) - p;
            mt[j] = p * (fabs(lp - lq) + 1 + sd), vt[j] = p * ((lp - lq) - kl);
        }
    }
}

/* The condition numbers of softmax_kl's two gradients (see the top). */
static int kl_grad_condition(const double *zs, const double *zt, int n, int k, double t,
                             double *kappa_s, double *kappa_t)
{
    size_t nk = (size_t)n * k;
    double *w = malloc(sizeof(double) * 4 * nk);
    if (!w)
        return -1;
    kl_grad_mags(zs, zt, n, k, t, w, w + nk, w + 2 * nk, w + 3 * nk);
    *kappa_s = cond(w, w + nk, nk);
    *kappa_t = cond(w + 2 * nk, w + 3 * nk, nk);
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

/* The condition numbers of softmax_sce's rows, loss and gradient (see the top); mg_out and
 * vg_out, when not NULL, get the gradient's per-element error magnitudes and values (in units
 * of dL / (N T)). */
static int sce_condition(const double *z, const double *s, int n, int k, double t, double *k_rows,
                         double *k_loss, double *k_grad, double *mg_out, double *vg_out)
{
    size_t nk = (size_t)n * k, nr = (size_t)n * VKD_KD_ROW;
    double *w = calloc(2 * (nk + nr), sizeof(double)); /* zeroed: GCC cannot see n >= 1 */
    if (!w)
        return -1;
    double *mg = w, *vg = w + nk, *mr = w + 2 * nk, *vr = w + 2 * nk + nr;
    double ml = 0, vl = 0;
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
    if (mg_out && vg_out) {
        memcpy(mg_out, mg, sizeof(double) * nk);
        memcpy(vg_out, vg, sizeof(double) * nk);
    }
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
    if (!vz || !vs || sce_condition(vz, vs, n, k, t, &k_rows, &k_loss, &k_grad, NULL, NULL)) {
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

/* Rows j, j + 3, j + 6, ... of x (3b rows of k) into y (b rows): one triplet member. */
static void member_rows(const double *x, int b, int k, int j, double *y)
{
    for (int r = 0; r < b; r++)
        memcpy(y + (size_t)r * k, x + ((size_t)3 * r + j) * k, sizeof(double) * k);
}

/* Sets member j's rows of a (3b rows of k) to wa * ma + wb * mb (mb may be NULL). */
static void member_put(double *a, int b, int k, int j, double wa, const double *ma, double wb,
                       const double *mb)
{
    for (int r = 0; r < b; r++)
        for (int i = 0; i < k; i++) {
            size_t src = (size_t)r * k + i;
            a[((size_t)3 * r + j) * k + i] = wa * ma[src] + (mb ? wb * mb[src] : 0);
        }
}

/* Registers loss L with a new step-parameter slot of weight w. */
static void weighted_loss(struct vkd_check *c, int loss, double w)
{
    int slot = vkd_graph_alloc_slot(vkd_check_graph(c));
    vkd_graph_loss(vkd_check_graph(c), loss, slot);
    vkd_check_step(c, slot, w);
}

/*
 * CORSD's aux terms of one shallow stage against the deepest (methods.md section 4, items 4 to
 * 6) on the aux logits zk, z4 (3B, K) of an interleaved triplet batch a0 p0 n0 a1 ..., both
 * trained: positives and negatives taken with vkd_batch_slice_groups, then
 *   lc KL(p4 -> pk) + lcs KL(n4 -> nk) + (tcs - lcs) (SoftCE(nk, s) + SoftCE(n4, s)),
 * s = (onehot(y_a) + onehot(y_n)) / 2, weights 0.16, 0.04, 0.01 from step-parameter slots.
 * The anchors' rows get zeros (the overwriting slice backward); a negative's row sums a KL and
 * a soft-CE gradient, so each gradient's k comes from the condition number of that weighted sum,
 * its magnitudes the weighted sums of the terms' (see the top).
 * a: B K range T
 */
static struct vkd_check *corsd_case(const int *a)
{
    const double w_pos = 0.16, w_neg = 0.04, w_ce = 0.01;
    int b = a[0], k = a[1];
    double t = a[3];
    char shape[64];
    snprintf(shape, sizeof(shape), "3x%dx%d +-%d T%d triplets", b, k, a[2], a[3]);
    struct vkd_check *c = vkd_check_create("corsd_aux", shape);
    if (!c)
        return NULL;
    size_t bk = (size_t)b * k, nk = 3 * bk;
    /* zk z4 | s pk p4 nk n4 | 4 KL + 2 SCE magnitude/value arrays | dzk dz4 magnitude/value */
    double *w = malloc(sizeof(double) * (2 * nk + 5 * bk + 12 * bk + 4 * nk));
    if (!w) {
        vkd_check_destroy(c);
        return NULL;
    }
    double *zk = w, *z4 = zk + nk, *st = z4 + nk, *pk = st + bk, *p4 = pk + bk, *nn = p4 + bk;
    double *n4 = nn + bk, *kp = n4 + bk, *kn = kp + 4 * bk, *ck = kn + 4 * bk, *c4 = ck + 2 * bk;
    double *mk = c4 + 2 * bk, *vk = mk + nk, *m4 = vk + nk, *v4 = m4 + nk;
    struct vkd_rng rng = {(uint64_t)(b * 7919 + k * 31 + a[3] + 4242)};
    draw(zk, nk, a[2], &rng);
    draw(z4, nk, a[2], &rng);
    draw_targets(st, b, k, SCE_CORSD, &rng);
    member_rows(zk, b, k, 1, pk);
    member_rows(z4, b, k, 1, p4);
    member_rows(zk, b, k, 2, nn);
    member_rows(z4, b, k, 2, n4);
    kl_grad_mags(pk, p4, b, k, t, kp, kp + bk, kp + 2 * bk, kp + 3 * bk);
    kl_grad_mags(nn, n4, b, k, t, kn, kn + bk, kn + 2 * bk, kn + 3 * bk);
    double kr_k, kl_k, kg, kr_4, kl_4;
    if (sce_condition(nn, st, b, k, t, &kr_k, &kl_k, &kg, ck, ck + bk) ||
        sce_condition(n4, st, b, k, t, &kr_4, &kl_4, &kg, c4, c4 + bk)) {
        free(w);
        vkd_check_destroy(c);
        return NULL;
    }
    for (size_t i = 0; i < nk; i++)
        mk[i] = vk[i] = m4[i] = v4[i] = 0; /* the anchors */
    member_put(mk, b, k, 1, w_pos, kp, 0, NULL);
    member_put(vk, b, k, 1, w_pos, kp + bk, 0, NULL);
    member_put(mk, b, k, 2, w_neg, kn, w_ce, ck);
    member_put(vk, b, k, 2, w_neg, kn + bk, w_ce, ck + bk);
    member_put(m4, b, k, 1, w_pos, kp + 2 * bk, 0, NULL);
    member_put(v4, b, k, 1, w_pos, kp + 3 * bk, 0, NULL);
    member_put(m4, b, k, 2, w_neg, kn + 2 * bk, w_ce, c4);
    member_put(v4, b, k, 2, w_neg, kn + 3 * bk, w_ce, c4 + bk);
    double kappa_k = cond(mk, vk, nk), kappa_4 = cond(m4, v4, nk), kappa_m[4];
    /* the slices' gradients: one member's rows (their forward values are exact copies) */
    for (int j = 0; j < 4; j++) {
        member_rows(j < 2 ? mk : m4, b, k, 1 + j % 2, pk);
        member_rows(j < 2 ? vk : v4, b, k, 1 + j % 2, p4);
        kappa_m[j] = cond(pk, p4, bk);
    }
    member_rows(zk, b, k, 1, pk); /* pk, p4 again */
    member_rows(z4, b, k, 1, p4);
    double kappa_p = kl_condition(pk, p4, b, k, t), kappa_n = kl_condition(nn, n4, b, k, t);

    struct vkd_graph *g = vkd_check_graph(c);
    int xk = vkd_graph_input(g, "zk", VKD_F32, 3 * b, k, 1, 1);
    int x4 = vkd_graph_input(g, "z4", VKD_F32, 3 * b, k, 1, 1);
    int s = vkd_graph_input(g, "s", VKD_F32, b, k, 1, 1);
    vkd_graph_set_requires_grad(g, xk);
    vkd_graph_set_requires_grad(g, x4);
    vkd_check_values(c, xk, zk);
    vkd_check_values(c, x4, z4);
    vkd_check_values(c, s, st);
    free(w);
    int yk_p = vkd_batch_slice_groups(g, "zk.p", xk, b, 1, 1);
    int y4_p = vkd_batch_slice_groups(g, "z4.p", x4, b, 1, 1);
    int yk_n = vkd_batch_slice_groups(g, "zk.n", xk, b, 2, 1);
    int y4_n = vkd_batch_slice_groups(g, "z4.n", x4, b, 2, 1);
    int l_pos = vkd_softmax_kl(g, "kl.p", yk_p, y4_p, (float)t);
    int l_neg = vkd_softmax_kl(g, "kl.n", yk_n, y4_n, (float)t);
    int l_ck = vkd_softmax_soft_ce(g, "sce.k", yk_n, s, (float)t);
    int l_c4 = vkd_softmax_soft_ce(g, "sce.4", y4_n, s, (float)t);
    weighted_loss(c, l_pos, w_pos);
    weighted_loss(c, l_neg, w_neg);
    weighted_loss(c, l_ck, w_ce);
    weighted_loss(c, l_c4, w_ce);
    vkd_check_k(c, vkd_graph_find(g, "kl.p.rows"), k_kd(k, a[2], t));
    vkd_check_k(c, vkd_graph_find(g, "kl.n.rows"), k_kd(k, a[2], t));
    vkd_check_k(c, l_pos, k_kd(b + k, a[2], t) * kappa_p * kappa_p);
    vkd_check_k(c, l_neg, k_kd(b + k, a[2], t) * kappa_n * kappa_n);
    vkd_check_k(c, vkd_graph_find(g, "sce.k.rows"), k_kd(k, a[2], t) * kr_k * kr_k);
    vkd_check_k(c, vkd_graph_find(g, "sce.4.rows"), k_kd(k, a[2], t) * kr_4 * kr_4);
    vkd_check_k(c, l_ck, k_kd(b + k, a[2], t) * kl_k * kl_k);
    vkd_check_k(c, l_c4, k_kd(b + k, a[2], t) * kl_4 * kl_4);
    vkd_check_k(c, xk, k_kd(k, a[2], t) * kappa_k * kappa_k);
    vkd_check_k(c, yk_p, k_kd(k, a[2], t) * kappa_m[0] * kappa_m[0]);
    vkd_check_k(c, yk_n, k_kd(k, a[2], t) * kappa_m[1] * kappa_m[1]);
    vkd_check_k(c, y4_p, k_kd(k, a[2], t) * kappa_m[2] * kappa_m[2]);
    vkd_check_k(c, y4_n, k_kd(k, a[2], t) * kappa_m[3] * kappa_m[3]);
    vkd_check_k(c, x4, k_kd(k, a[2], t) * kappa_4 * kappa_4);
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
    {"corsd aux b1 k2", 0, corsd_case, {1, 2, 3, 3}},
    {"corsd aux b5 k7", 0, corsd_case, {5, 7, 4, 3}},
    {"corsd aux b43 k100 (CORSD)", 1, corsd_case, {43, 100, 4, 3}},
};

const struct vkd_case_family vkd_cases_kd = {"kd", cases, sizeof(cases) / sizeof(cases[0])};
