/*
 * loss.c - the loss family: mean softmax cross-entropy with top-1 / top-5 hit counts, as
 * torch.nn.functional.cross_entropy(logits, labels) (reduction "mean", no weights, no label
 * smoothing) plus the accuracy counts a training loop logs.
 *
 * For row n of logits z (N rows of K classes; any tensor with N rows) and label y = labels[n]:
 *   m      = max_k z[k]
 *   s      = sum_k exp(z[k] - m)                  numerically stable: every term <= 1
 *   loss_n = (m - z[y]) + log(s)                  = logsumexp(z) - z[y]; both terms >= 0
 *   rank   = #{k : z[k] > z[y]} + #{k < y : z[k] == z[y]}
 *   top1_n = rank < 1, top5_n = rank < 5          K < 5: every row is a top-5 hit
 *   loss   = (1/N) sum_n loss_n,  top1 = sum_n top1_n,  top5 = sum_n top5_n
 * The rank is torch's: argmax and topk return the first index among equal values, so a label
 * tied with an earlier class is not the top-1 prediction.
 * s - 1 is kept apart (summed without one maximum's exp(0) = 1 term), so a confident, correct
 * row (s close to 1, loss close to 0) keeps full relative precision in its loss and gradient.
 *
 * Labels are validated by the data loaders; a label y >= K is still never read out of bounds:
 * its row's loss is NaN (so the mean is NaN and the host's NaN guard stops the run), it counts
 * no hits, and its logits' gradient is NaN.
 *
 * Ignored rows (label VKD_CE_IGNORE, PyTorch's ignore_index) add nothing: the mean is over the
 * M rows that are not ignored, and an ignored row's gradient is 0.
 *
 * Gradient: dz[n,k] = dloss * (softmax(z_n)[k] - [k == y_n]) / M, dloss being the gradient of
 * the loss scalar (1, or a loss weight from the step parameters). Backward overwrites dz when
 * node.acc[0] == 0 and adds to it when 1 (graph.c); labels have no gradient.
 *
 * The node: in[0] logits (N, K..), in[1] labels (N, u32); out[0] loss (1, OUTPUT, the only
 * differentiable output), out[1] top-1 count (1, OUTPUT), out[2] top-5 count (1, OUTPUT),
 * out[3] per-row results (N, VKD_CE_ROW) saved for the mean pass and backward (shaders/loss.h),
 * out[4] M (1), written by the mean pass for backward.
 * Vulkan: softmax_ce_fwd (a workgroup per row) then softmax_ce_mean (one workgroup): a
 * fixed-order reduction, so the loss is bit-for-bit the same every run; softmax_ce_bwd is
 * elementwise over N*K.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference -------------------------------------------------------------------------- */

/* Index of the first maximum of z[0..K-1]. */
static uint32_t first_max(const double *z, uint32_t K)
{
    uint32_t kmax = 0;
    for (uint32_t k = 1; k < K; k++)
        if (z[k] > z[kmax])
            kmax = k;
    return kmax;
}

/*
 * z: (N, K) logits; labels: (N) integers; rows: (N, VKD_CE_ROW) per-row results; loss, top1,
 * top5: scalars.
 */
static void ref_softmax_ce_fwd(const struct vkd_softmax_ce_params *p, const double *z,
                               const double *labels, double *rows, double *loss, double *top1,
                               double *top5, double *n_counted)
{
    const uint32_t N = p->rows, K = p->classes;
    double sum = 0, hits1 = 0, hits5 = 0, counted = 0;
    for (uint32_t n = 0; n < N; n++) {
        const double *zn = z + (size_t)n * K;
        double *r = rows + (size_t)n * VKD_CE_ROW;
        uint32_t kmax = first_max(zn, K);
        double m = zn[kmax], sum_m1 = 0;
        for (uint32_t k = 0; k < K; k++)
            if (k != kmax)
                sum_m1 += exp(zn[k] - m);
        r[VKD_CE_ROW_MAX] = m;
        r[VKD_CE_ROW_SUM_M1] = sum_m1;
        r[VKD_CE_ROW_COUNTED] = labels[n] != VKD_CE_IGNORE;
        if (labels[n] == VKD_CE_IGNORE) {
            r[VKD_CE_ROW_LOSS] = 0;
            r[VKD_CE_ROW_TOP1] = r[VKD_CE_ROW_TOP5] = 0;
        } else if (!(labels[n] >= 0 && labels[n] < K)) {
            r[VKD_CE_ROW_LOSS] = NAN;
            r[VKD_CE_ROW_TOP1] = r[VKD_CE_ROW_TOP5] = 0;
        } else {
            uint32_t y = (uint32_t)labels[n], rank = 0;
            for (uint32_t k = 0; k < K; k++)
                rank += zn[k] > zn[y] || (zn[k] == zn[y] && k < y);
            r[VKD_CE_ROW_LOSS] = (m - zn[y]) + log1p(sum_m1);
            r[VKD_CE_ROW_TOP1] = rank < 1;
            r[VKD_CE_ROW_TOP5] = rank < 5;
        }
        sum += r[VKD_CE_ROW_LOSS];
        hits1 += r[VKD_CE_ROW_TOP1];
        hits5 += r[VKD_CE_ROW_TOP5];
        counted += r[VKD_CE_ROW_COUNTED];
    }
    *loss = counted > 0 ? sum / counted : NAN;
    *n_counted = counted;
    *top1 = hits1;
    *top5 = hits5;
}

/* z: (N, K); labels: (N); dloss: the loss scalar's gradient; dz: (N, K), acc per p->acc.
 * Recomputes the softmax from z (the reference does not trust saved results). */
static void ref_softmax_ce_bwd(const struct vkd_softmax_ce_params *p, const double *z,
                               const double *labels, double dloss, double *dz)
{
    const uint32_t N = p->rows, K = p->classes;
    double counted = 0;
    for (uint32_t n = 0; n < N; n++)
        counted += labels[n] != VKD_CE_IGNORE;
    for (uint32_t n = 0; n < N; n++) {
        const double *zn = z + (size_t)n * K;
        double *dzn = dz + (size_t)n * K;
        if (labels[n] == VKD_CE_IGNORE) {
            for (uint32_t k = 0; k < K; k++)
                vkd_ref_put(&dzn[k], (int)p->acc, 0);
            continue;
        }
        if (!(labels[n] >= 0 && labels[n] < K)) {
            for (uint32_t k = 0; k < K; k++)
                dzn[k] = NAN;
            continue;
        }
        uint32_t y = (uint32_t)labels[n];
        double m = zn[first_max(zn, K)], s = 0, rest = 0;
        for (uint32_t k = 0; k < K; k++) {
            double e = exp(zn[k] - m);
            s += e;
            rest += k != y ? e : 0;
        }
        for (uint32_t k = 0; k < K; k++) {
            /* softmax_y - 1 = -(s - e_y) / s, without cancellation */
            double d = k == y ? -rest / s : exp(zn[k] - m) / s;
            vkd_ref_put(&dzn[k], (int)p->acc, dloss * d / counted);
        }
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void ce_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_softmax_ce_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                       vkd_ref_t(e, n->out[3]), vkd_ref_t(e, n->out[0]), vkd_ref_t(e, n->out[1]),
                       vkd_ref_t(e, n->out[2]), vkd_ref_t(e, n->out[4]));
}

static void ce_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dz = vkd_ref_g(e, n->in[0]);
    if (!dz)
        return;
    struct vkd_softmax_ce_params p = *(const struct vkd_softmax_ce_params *)n->attr;
    p.acc = n->acc[0];
    ref_softmax_ce_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                       vkd_ref_g(e, n->out[0])[0], dz);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void ce_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_softmax_ce_params *p = (const void *)n->attr;
    struct vkd_view rows = vkd_rec_t(r, n->out[3]);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]), rows};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->rows, 1, &gx, &gy); /* one workgroup per row */
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_CE_FWD, v, 3, p, sizeof(*p), gx, gy, 1);
    struct vkd_view m[5] = {rows, vkd_rec_t(r, n->out[0]), vkd_rec_t(r, n->out[1]),
                            vkd_rec_t(r, n->out[2]), vkd_rec_t(r, n->out[4])};
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_CE_MEAN, m, 5, p, sizeof(*p), 1, 1, 1);
}

static void ce_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_softmax_ce_params p = *(const struct vkd_softmax_ce_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[6] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->out[3]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0]),  vkd_rec_t(r, n->out[4])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.rows * p.classes, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_CE_BWD, v, 6, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_softmax_ce = {"softmax_ce", 1, ce_ref, ce_ref_bwd, ce_vk, ce_vk_bwd};

/* ---- builders -------------------------------------------------------------------------------- */

static int named(struct vkd_graph *g, const char *name, const char *suffix, enum vkd_tkind kind,
                 int n, int c)
{
    char buf[VKD_NAME_LEN];
    snprintf(buf, sizeof(buf), "%.*s%.9s", VKD_NAME_LEN - 10, name, suffix);
    return vkd_graph_tensor(g, buf, kind, VKD_F32, n, c, 1, 1);
}

int vkd_softmax_ce(struct vkd_graph *g, const char *name, int logits, int labels, int *top1,
                   int *top5)
{
    const struct vkd_tensor *tz = vkd_graph_tensor_at(g, logits);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, labels);
    VKD_ASSERT(tz->dtype == VKD_F32 && ty->dtype == VKD_U32);
    VKD_ASSERT(vkd_tensor_numel(ty) == (size_t)tz->n);
    size_t classes = vkd_tensor_numel(tz) / (size_t)tz->n;
    VKD_ASSERT(vkd_tensor_numel(tz) < ((size_t)1 << 32)); /* the shaders index in 32 bits */
    struct vkd_softmax_ce_params p = {(uint32_t)tz->n, (uint32_t)classes, 0};
    int n_rows = tz->n;
    int out[5];
    out[0] = named(g, name, "", VKD_T_OUTPUT, 1, 1);
    out[1] = named(g, name, ".top1", VKD_T_OUTPUT, 1, 1);
    out[2] = named(g, name, ".top5", VKD_T_OUTPUT, 1, 1);
    out[3] = named(g, name, ".rows", VKD_T_ACT, n_rows, VKD_CE_ROW);
    out[4] = named(g, name, ".counted", VKD_T_ACT, 1, 1);
    int in[2] = {logits, labels};
    vkd_graph_add_node(g, &op_softmax_ce, name, in, 2, out, 5, &p, sizeof(p));
    if (top1)
        *top1 = out[1];
    if (top5)
        *top5 = out[2];
    return out[0];
}
