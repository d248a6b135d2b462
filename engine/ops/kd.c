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
 * Gradient convention (graph.c): backward writes dz_s, overwriting when node.acc[0] == 0 and
 * adding when 1 (CE and KD both reach the student's logits: the second adds). dL is the loss
 * scalar's gradient, i.e. its weight (a step-parameter slot).
 *
 * The node: in[0] z_s (N, K..), in[1] z_t (same); out[0] L (1, OUTPUT, differentiable),
 * out[1] per-row results (N, VKD_KD_ROW; shaders/kd.h). attr: struct vkd_softmax_kd_params.
 * Vulkan: softmax_kd_fwd (a workgroup per row) + softmax_kd_mean (one workgroup, fixed order:
 * the same bits every run) and softmax_kd_bwd (elementwise).
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
    *loss = sum * t * t / N;
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

static void kd_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_softmax_kd_params *p = (const void *)n->attr;
    struct vkd_view rows = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]), rows};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->rows, 1, &gx, &gy); /* one workgroup per row */
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_KD_FWD, v, 3, p, sizeof(*p), gx, gy, 1);
    struct vkd_view m[2] = {rows, vkd_rec_t(r, n->out[0])};
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_KD_MEAN, m, 2, p, sizeof(*p), 1, 1, 1);
}

static void kd_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_softmax_kd_params p = *(const struct vkd_softmax_kd_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[5] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[1]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.rows * p.classes, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_KD_BWD, v, 5, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_softmax_kd = {"softmax_kd", 1, kd_ref, kd_ref_bwd, kd_vk,
                                            kd_vk_bwd};

int vkd_softmax_kd(struct vkd_graph *g, const char *name, int zs, int zt, float t)
{
    const struct vkd_tensor *ts = vkd_graph_tensor_at(g, zs), *tt = vkd_graph_tensor_at(g, zt);
    VKD_ASSERT(ts->dtype == VKD_F32 && tt->dtype == VKD_F32 && t > 0);
    VKD_ASSERT(ts->n == tt->n && vkd_tensor_numel(ts) == vkd_tensor_numel(tt));
    VKD_ASSERT(vkd_tensor_numel(ts) < ((size_t)1 << 32));
    int rows = ts->n;
    struct vkd_softmax_kd_params p = {(uint32_t)rows,
                                      (uint32_t)(vkd_tensor_numel(ts) / (size_t)rows), 0, t};
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_tensor(g, name, VKD_T_OUTPUT, VKD_F32, 1, 1, 1, 1);
    snprintf(buf, sizeof(buf), "%.*s.rows", VKD_NAME_LEN - 6, name);
    out[1] = vkd_graph_act(g, buf, rows, VKD_KD_ROW, 1, 1);
    int in[2] = {zs, zt};
    vkd_graph_add_node(g, &op_softmax_kd, name, in, 2, out, 2, &p, sizeof(p));
    return out[0];
}
