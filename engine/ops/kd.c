/*
 * kd.c - the knowledge-distillation family: Hinton et al.'s softened-softmax KL term, as
 * RepDistiller's DistillKL (methods.md section 0):
 *   q = softmax(z_s / T), p = softmax(z_t / T) per row
 *   L = (T^2 / N) sum_{n,k} p_nk (log p_nk - log q_nk)      (KL "batchmean" x T^2)
 *   dL/dz_s = (T / N) (q - p)
 * The teacher's logits z_t are a constant: no gradient is ever written to them (a frozen
 * teacher; self-distillation detaches its targets). p log p is 0 where p underflows to 0: the
 * log-probabilities are formed from the logits, never as log(p).
 *
 * Two relatives for CORSD (methods.md section 4, the repaired aux terms):
 *   softmax_kl   L = (1 / N) sum_n KL_n,  KL_n = sum_k p_nk (log p_nk - log q_nk)  (no T^2)
 *                dL/dz_s = (1 / (N T)) (q - p)
 *                dL/dz_t = (1 / (N T)) p (.) ((log p - log q) - KL_n)   (teacher not detached)
 *   softmax_sce  L = -(1 / N) sum_n sum_k s_nk log softmax(z_n / T)_k   (s: constant targets)
 *                dL/dz = (1 / (N T)) (S_n q - s),  S_n = sum_k s_nk      (exact when S_n != 1)
 * (the z_t gradient: d log p_k / d b_j = [k = j] - p_j and d p_k / d b_j = p_k ([k = j] - p_j)
 * with b = z_t / T give dKL/db_j = p_j (log p_j - log q_j) - p_j KL + p_j - p_j.)
 *
 * Gradient convention (graph.c): backward writes dz_s, overwriting when node.acc[0] == 0 and
 * adding when 1 (CE and KD both reach the student's logits: the second adds). dL is the loss
 * scalar's gradient, i.e. its weight (a step-parameter slot). A z_t that has a gradient (its
 * tensor is trained through another consumer, e.g. SAKD's branch) gets nothing from KD: the op
 * declares it const_in, so the graph never counts KD as a writer of that gradient.
 *
 * softmax_kl writes dz_s and dz_t (each when it has a gradient, with its own acc[]);
 * softmax_sce writes dz only: the targets s are const_in too, so a target tensor that has a
 * gradient from another consumer gets exactly that consumer's gradient.
 *
 * The nodes: in[0] z_s (N, K..), in[1] z_t (same) (softmax_sce: z, s); out[0] L (1, OUTPUT,
 * differentiable), out[1] per-row results (N, VKD_KD_ROW; shaders/kd.h). attr: struct
 * vkd_softmax_kd_params. Vulkan: softmax_kd_fwd or softmax_sce_fwd (a workgroup per row) +
 * softmax_kd_mean (one workgroup, fixed order: the same bits every run); backward
 * softmax_kd_bwd, softmax_kl_bwd (once per gradient) or softmax_sce_bwd (elementwise).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* Row maximum and log-sum-exp of x / T. */
static void lse(const double *x, uint32_t K, double t, double *m, double *l)
{
    *m = -INFINITY;
    for (uint32_t k = 0; k < K; k++)
        *m = fmax(*m, x[k] / t);
    double s = 0;
    for (uint32_t k = 0; k < K; k++)
        s += exp(x[k] / t - *m);
    *l = log(s);
}

static void ref_softmax_kd_fwd(const struct vkd_softmax_kd_params *p, const double *zs,
                               const double *zt, double *rows, double *loss)
{
    const uint32_t N = p->rows, K = p->classes;
    const double t = p->t;
    double sum = 0;
    for (uint32_t n = 0; n < N; n++) {
        const double *a = zs + (size_t)n * K, *b = zt + (size_t)n * K;
        double *r = rows + (size_t)n * VKD_KD_ROW, ms, ls, mt, lt;
        lse(a, K, t, &ms, &ls);
        lse(b, K, t, &mt, &lt);
        double kl = 0;
        for (uint32_t k = 0; k < K; k++) {
            double lp = b[k] / t - mt - lt, lq = a[k] / t - ms - ls;
            kl += exp(lp) * (lp - lq);
        }
        r[VKD_KD_ROW_KL] = kl;
        r[VKD_KD_ROW_MS] = ms, r[VKD_KD_ROW_LS] = ls;
        r[VKD_KD_ROW_MT] = mt, r[VKD_KD_ROW_LT] = lt;
        sum += kl;
    }
    *loss = p->scale == VKD_KD_SCALE_1 ? sum / N : sum * t * t / N;
}

/* Recomputes the softmaxes from the logits (the reference trusts no saved results). */
static void ref_softmax_kd_bwd(const struct vkd_softmax_kd_params *p, const double *zs,
                               const double *zt, double dl, double *dzs)
{
    const uint32_t N = p->rows, K = p->classes;
    const double t = p->t;
    for (uint32_t n = 0; n < N; n++) {
        const double *a = zs + (size_t)n * K, *b = zt + (size_t)n * K;
        double ms, ls, mt, lt;
        lse(a, K, t, &ms, &ls);
        lse(b, K, t, &mt, &lt);
        for (uint32_t k = 0; k < K; k++) {
            double q = exp(a[k] / t - ms - ls), pk = exp(b[k] / t - mt - lt);
            vkd_ref_put(&dzs[(size_t)n * K + k], (int)p->acc, dl * (t / N) * (q - pk));
        }
    }
}

/* The plain KL's gradients (either pointer may be NULL: that input has none); acc_s, acc_t
 * are the two gradients' own accumulate flags. */
static void ref_softmax_kl_bwd(const struct vkd_softmax_kd_params *p, const double *zs,
                               const double *zt, double dl, double *dzs, int acc_s, double *dzt,
                               int acc_t)
{
    const uint32_t N = p->rows, K = p->classes;
    const double t = p->t, f = dl / (N * t);
    for (uint32_t n = 0; n < N; n++) {
        const double *a = zs + (size_t)n * K, *b = zt + (size_t)n * K;
        double ms, ls, mt, lt, kl = 0;
        lse(a, K, t, &ms, &ls);
        lse(b, K, t, &mt, &lt);
        for (uint32_t k = 0; k < K; k++) {
            double lp = b[k] / t - mt - lt, lq = a[k] / t - ms - ls;
            kl += exp(lp) * (lp - lq);
        }
        for (uint32_t k = 0; k < K; k++) {
            double lp = b[k] / t - mt - lt, lq = a[k] / t - ms - ls, pk = exp(lp);
            size_t i = (size_t)n * K + k;
            if (dzs)
                vkd_ref_put(&dzs[i], acc_s, f * (exp(lq) - pk));
            if (dzt)
                vkd_ref_put(&dzt[i], acc_t, f * pk * ((lp - lq) - kl));
        }
    }
}

static void ref_softmax_sce_fwd(const struct vkd_softmax_kd_params *p, const double *z,
                                const double *s, double *rows, double *loss)
{
    const uint32_t N = p->rows, K = p->classes;
    double sum = 0;
    for (uint32_t n = 0; n < N; n++) {
        const double *a = z + (size_t)n * K, *sn = s + (size_t)n * K;
        double *r = rows + (size_t)n * VKD_KD_ROW, m, l, ce = 0, ss = 0;
        lse(a, K, p->t, &m, &l);
        for (uint32_t k = 0; k < K; k++) {
            ce -= sn[k] * (a[k] / p->t - m - l);
            ss += sn[k];
        }
        r[VKD_SCE_ROW_LOSS] = ce;
        r[VKD_SCE_ROW_M] = m, r[VKD_SCE_ROW_L] = l;
        r[VKD_SCE_ROW_S] = ss, r[VKD_SCE_ROW_ZERO] = 0;
        sum += ce;
    }
    *loss = sum / N;
}

static void ref_softmax_sce_bwd(const struct vkd_softmax_kd_params *p, const double *z,
                                const double *s, double dl, double *dz)
{
    const uint32_t N = p->rows, K = p->classes;
    const double t = p->t, f = dl / (N * t);
    for (uint32_t n = 0; n < N; n++) {
        const double *a = z + (size_t)n * K, *sn = s + (size_t)n * K;
        double m, l, ss = 0;
        lse(a, K, t, &m, &l);
        for (uint32_t k = 0; k < K; k++)
            ss += sn[k];
        for (uint32_t k = 0; k < K; k++) {
            double q = exp(a[k] / t - m - l);
            vkd_ref_put(&dz[(size_t)n * K + k], (int)p->acc, f * (ss * q - sn[k]));
        }
    }
}

static void kd_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_softmax_kd_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                       vkd_ref_t(e, n->out[1]), vkd_ref_t(e, n->out[0]));
}

static void kd_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dzs = vkd_ref_g(e, n->in[0]);
    if (!dzs)
        return;
    struct vkd_softmax_kd_params p = *(const struct vkd_softmax_kd_params *)n->attr;
    p.acc = n->acc[0];
    ref_softmax_kd_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                       vkd_ref_g(e, n->out[0])[0], dzs);
}

/* softmax_kd and softmax_sce record alike: a per-row pass (one workgroup per row) into the
 * rows output, then the mean; a backward of one invocation per element. Only the kernels differ. */
static void row_loss_vk(struct vkd_rec *r, const struct vkd_node *n, enum vkd_kernel_id fwd)
{
    const struct vkd_softmax_kd_params *p = (const void *)n->attr;
    struct vkd_view rows = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]), rows};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->rows, 1, &gx, &gy); /* one workgroup per row */
    vkd_rec_dispatch(r, fwd, v, 3, p, sizeof(*p), gx, gy, 1);
    struct vkd_view m[2] = {rows, vkd_rec_t(r, n->out[0])};
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_KD_MEAN, m, 2, p, sizeof(*p), 1, 1, 1);
}

static void row_loss_vk_bwd(struct vkd_rec *r, const struct vkd_node *n, enum vkd_kernel_id bwd)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    if (vkd_graph_tensor_at(g, n->in[0])->grad < 0)
        return;
    struct vkd_softmax_kd_params p = *(const struct vkd_softmax_kd_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[5] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[1]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.rows * p.classes, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, bwd, v, 5, &p, sizeof(p), gx, gy, 1);
}

static void kd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    row_loss_vk(r, n, VKD_K_SOFTMAX_KD_FWD);
}

static void kd_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    row_loss_vk_bwd(r, n, VKD_K_SOFTMAX_KD_BWD);
}

static void kl_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dzs = vkd_ref_g(e, n->in[0]), *dzt = vkd_ref_g(e, n->in[1]);
    if (!dzs && !dzt)
        return;
    ref_softmax_kl_bwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                       vkd_ref_g(e, n->out[0])[0], dzs, n->acc[0], dzt, n->acc[1]);
}

/* One softmax_kl_bwd dispatch per gradient: each has its own acc, and an input without a
 * gradient has no buffer to bind. */
static void kl_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    for (uint32_t wrt = 0; wrt < 2; wrt++) {
        if (vkd_graph_tensor_at(g, n->in[wrt])->grad < 0)
            continue;
        struct vkd_softmax_kd_params p = *(const struct vkd_softmax_kd_params *)n->attr;
        p.acc = n->acc[wrt];
        p.wrt = wrt;
        struct vkd_view v[5] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                                vkd_rec_t(r, n->out[1]), vkd_rec_g(r, n->out[0]),
                                vkd_rec_g(r, n->in[wrt])};
        uint32_t gx, gy;
        vkd_rec_groups_1d(r, (uint64_t)p.rows * p.classes, vkd_rec_wg(r), &gx, &gy);
        vkd_rec_dispatch(r, VKD_K_SOFTMAX_KL_BWD, v, 5, &p, sizeof(p), gx, gy, 1);
    }
}

static void sce_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_softmax_sce_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                        vkd_ref_t(e, n->out[1]), vkd_ref_t(e, n->out[0]));
}

static void sce_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dz = vkd_ref_g(e, n->in[0]);
    if (!dz)
        return;
    struct vkd_softmax_kd_params p = *(const struct vkd_softmax_kd_params *)n->attr;
    p.acc = n->acc[0];
    ref_softmax_sce_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                        vkd_ref_g(e, n->out[0])[0], dz);
}

static void sce_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    row_loss_vk(r, n, VKD_K_SOFTMAX_SCE_FWD);
}

static void sce_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    row_loss_vk_bwd(r, n, VKD_K_SOFTMAX_SCE_BWD);
}

/* z_t (in[1]) is the target: never given a gradient (const_in, see the top). */
static const struct vkd_op op_softmax_kd = {"softmax_kd", 1,         kd_ref,    kd_ref_bwd,
                                            kd_vk,        kd_vk_bwd, 1u << 1};
static const struct vkd_op op_softmax_kl = {"softmax_kl", 1, kd_ref, kl_ref_bwd, kd_vk,
                                            kl_vk_bwd};
/* s (in[1]) holds the targets: never given a gradient (const_in, see the top). */
static const struct vkd_op op_softmax_sce = {"softmax_sce", 1,          sce_ref,   sce_ref_bwd,
                                             sce_vk,        sce_vk_bwd, 1u << 1};

/* The common builder: a loss node over two (N, K..) tensors a, b. */
static int row_loss(struct vkd_graph *g, const struct vkd_op *op, const char *name, int a, int b,
                    float t, uint32_t scale)
{
    const struct vkd_tensor *ta = vkd_graph_tensor_at(g, a), *tb = vkd_graph_tensor_at(g, b);
    VKD_ASSERT(ta->dtype == VKD_F32 && tb->dtype == VKD_F32 && t > 0);
    VKD_ASSERT(ta->n == tb->n && vkd_tensor_numel(ta) == vkd_tensor_numel(tb));
    VKD_ASSERT(vkd_tensor_numel(ta) < ((size_t)1 << 32));
    int rows = ta->n;
    struct vkd_softmax_kd_params p = {.rows = (uint32_t)rows,
                                      .classes = (uint32_t)(vkd_tensor_numel(ta) / (size_t)rows),
                                      .t = t,
                                      .scale = scale};
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_tensor(g, name, VKD_T_OUTPUT, VKD_F32, 1, 1, 1, 1);
    snprintf(buf, sizeof(buf), "%.*s.rows", VKD_NAME_LEN - 6, name);
    out[1] = vkd_graph_act(g, buf, rows, VKD_KD_ROW, 1, 1);
    int in[2] = {a, b};
    vkd_graph_add_node(g, op, name, in, 2, out, 2, &p, sizeof(p));
    return out[0];
}

int vkd_softmax_kd(struct vkd_graph *g, const char *name, int zs, int zt, float t)
{
    return row_loss(g, &op_softmax_kd, name, zs, zt, t, VKD_KD_SCALE_T2);
}

int vkd_softmax_kl(struct vkd_graph *g, const char *name, int zs, int zt, float t)
{
    VKD_ASSERT(zs != zt); /* the graph cannot give one input two gradients: copy it first */
    return row_loss(g, &op_softmax_kl, name, zs, zt, t, VKD_KD_SCALE_1);
}

int vkd_softmax_soft_ce(struct vkd_graph *g, const char *name, int z, int s, float t)
{
    VKD_ASSERT(z != s); /* one tensor as logits and as its own targets: copy it first */
    return row_loss(g, &op_softmax_sce, name, z, s, t, VKD_KD_SCALE_1);
}
