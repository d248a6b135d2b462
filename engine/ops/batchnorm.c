/*
 * batchnorm.c - the batchnorm family: BatchNorm2d as torch.nn.BatchNorm2d (eps 1e-5, momentum
 * 0.1, affine, track_running_stats), in training and in evaluation mode.
 *
 * Training: each channel is normalised with the statistics of the batch over (N, H, W), the
 * biased variance var = sum (x - mean)^2 / m (m = N*H*W), and the running statistics are
 * updated in place with the unbiased variance, as PyTorch does:
 *     y = (x - mean) / sqrt(var + eps) * gamma + beta
 *     running_mean = (1 - momentum) running_mean + momentum mean
 *     running_var  = (1 - momentum) running_var  + momentum var * m / (m - 1)
 * m == 1 is refused at build time (PyTorch raises "Expected more than 1 value per channel when
 * training"): the variance is 0, y is beta whatever x is, and the unbiased variance is 0/0.
 * Evaluation: the running statistics normalise and nothing is updated.
 *
 * The node: in[0..4] = x (n, c, h, w), gamma (c), beta (c), running_mean (c), running_var (c);
 * gamma/beta are PARAM (trainable) or STATE (a frozen teacher), running statistics are STATE.
 * out[0] = y (n, c, h, w), the only differentiable output. Training also has out[1] = saved
 * mean (c), out[2] = saved 1/sqrt(var + eps) (c), out[3] = partials (c, chunks, 2): per chunk
 * of a channel (mean, M2) after forward, reused by backward for (sum dy, sum dy*xhat). Eval has
 * out[1] = partials only when gamma or beta requires a gradient when the node is built.
 * attr = struct vkd_batchnorm_params (shaders/batchnorm.h): shape, chunking, mode, eps, momentum.
 *
 * Gradients (xhat = (x - mean) * invstd, sums over (N, H, W) of one channel):
 *     dbeta = sum dy,  dgamma = sum dy * xhat
 *     training: dx = gamma * invstd * (dy - dbeta / m - xhat * dgamma / m)
 *     eval:     dx = gamma * invstd * dy
 * Gradient convention (graph.c): backward writes the gradient of each input that has one (x,
 * gamma, beta; never the running statistics), overwriting when node.acc[i] == 0, adding when 1.
 *
 * GPU: two dispatches per pass, one workgroup per (chunk, channel) in both (see batchnorm.h):
 * forward = batchnorm_stats (chunk summaries) + batchnorm_apply (merge, normalise, update);
 * backward = batchnorm_bwd_reduce (chunk sums) + batchnorm_bwd_data (merge, dgamma/dbeta, dx).
 * Every merge runs in a fixed order, so results are bit-for-bit reproducible.
 * CPU devices (vkd_rec_cpu_kernels) get batchnorm_*_cpu: the same passes, grid, bindings and
 * partials, with a workgroup of VKD_BN_CPU_WG lanes that keep their sums in registers and
 * combine through subgroup shuffles instead of shared-memory trees and barriers (batchnorm.h).
 */
#include <math.h>

#include "internal.h"
#include "vkd_ops.h"

enum { BN_X, BN_GAMMA, BN_BETA, BN_RMEAN, BN_RVAR };

/* ---- CPU reference -------------------------------------------------------------------------- */

/* Flat index of value j (0..m-1, in (n, h, w) order) of channel c: mirrors bn_addr. */
static size_t bn_addr(const struct vkd_batchnorm_params *p, uint32_t j, uint32_t c)
{
    uint32_t n = j / p->hw;
    return ((size_t)n * p->c + c) * p->hw + (j - n * p->hw);
}

/* Mean and M2 = sum (x - mean)^2 of values j0..j1-1 of channel c, two passes in double. */
static void moments(const struct vkd_batchnorm_params *p, const double *x, uint32_t c, uint32_t j0,
                    uint32_t j1, double *mean, double *m2)
{
    double s = 0, q = 0;
    for (uint32_t j = j0; j < j1; j++)
        s += x[bn_addr(p, j, c)];
    s /= (double)(j1 - j0);
    for (uint32_t j = j0; j < j1; j++) {
        double d = x[bn_addr(p, j, c)] - s;
        q += d * d;
    }
    *mean = s;
    *m2 = q;
}

static uint32_t chunk_end(const struct vkd_batchnorm_params *p, uint32_t k)
{
    uint64_t e = (uint64_t)(k + 1) * p->chunk;
    return e < p->m ? (uint32_t)e : p->m;
}

/* part (c, chunks, 2): (mean, M2) of every chunk of every channel. */
static void ref_batchnorm_stats(const struct vkd_batchnorm_params *p, const double *x, double *part)
{
    for (uint32_t c = 0; c < p->c; c++)
        for (uint32_t k = 0; k < p->chunks; k++) {
            double *o = &part[2 * ((size_t)c * p->chunks + k)];
            moments(p, x, c, k * p->chunk, chunk_end(p, k), &o[0], &o[1]);
        }
}

/* Training forward. The statistics come straight from their definition over the whole channel
 * (the shader merges the chunk summaries: the same numbers in exact arithmetic). */
static void ref_batchnorm_apply(const struct vkd_batchnorm_params *p, const double *x,
                                const double *gamma, const double *beta, double *rmean,
                                double *rvar, double *save_mean, double *save_invstd, double *y)
{
    double mom = p->momentum;
    for (uint32_t c = 0; c < p->c; c++) {
        double mean, m2;
        moments(p, x, c, 0, p->m, &mean, &m2);
        double invstd = 1.0 / sqrt(m2 / p->m + p->eps);
        save_mean[c] = mean;
        save_invstd[c] = invstd;
        rmean[c] = (1 - mom) * rmean[c] + mom * mean;
        rvar[c] = (1 - mom) * rvar[c] + mom * m2 / (p->m - 1); /* unbiased; m > 1 (builder) */
        for (uint32_t j = 0; j < p->m; j++) {
            size_t i = bn_addr(p, j, c);
            y[i] = (x[i] - mean) * invstd * gamma[c] + beta[c];
        }
    }
}

static void ref_batchnorm_eval(const struct vkd_batchnorm_params *p, const double *x,
                               const double *gamma, const double *beta, const double *rmean,
                               const double *rvar, double *y)
{
    for (uint32_t c = 0; c < p->c; c++) {
        double invstd = 1.0 / sqrt(rvar[c] + p->eps);
        for (uint32_t j = 0; j < p->m; j++) {
            size_t i = bn_addr(p, j, c);
            y[i] = (x[i] - rmean[c]) * invstd * gamma[c] + beta[c];
        }
    }
}

/* part (c, chunks, 2): (sum dy, sum dy * xhat) over every chunk, xhat = (x - mean) * invstd. */
static void ref_batchnorm_bwd_reduce(const struct vkd_batchnorm_params *p, const double *x,
                                     const double *dy, const double *mean, const double *invstd,
                                     double *part)
{
    for (uint32_t c = 0; c < p->c; c++)
        for (uint32_t k = 0; k < p->chunks; k++) {
            double sdy = 0, sdyx = 0;
            for (uint32_t j = k * p->chunk; j < chunk_end(p, k); j++) {
                size_t i = bn_addr(p, j, c);
                sdy += dy[i];
                sdyx += dy[i] * (x[i] - mean[c]) * invstd[c];
            }
            double *o = &part[2 * ((size_t)c * p->chunks + k)];
            o[0] = sdy;
            o[1] = sdyx;
        }
}

/* dgamma, dbeta (each NULL when it has no gradient) from the chunk sums; dx (NULL: none). */
static void ref_batchnorm_bwd_data(const struct vkd_batchnorm_params *p, const double *x,
                                   const double *dy, const double *gamma, const double *mean,
                                   const double *invstd, const double *part, double *dx,
                                   double *dgamma, double *dbeta)
{
    for (uint32_t c = 0; c < p->c; c++) {
        double sdy = 0, sdyx = 0;
        for (uint32_t k = 0; part && k < p->chunks; k++) {
            sdy += part[2 * ((size_t)c * p->chunks + k)];
            sdyx += part[2 * ((size_t)c * p->chunks + k) + 1];
        }
        if (dgamma)
            vkd_ref_put(&dgamma[c], (int)p->acc_dgamma, sdyx);
        if (dbeta)
            vkd_ref_put(&dbeta[c], (int)p->acc_dbeta, sdy);
        if (!dx)
            continue;
        double a = gamma[c] * invstd[c];
        double b = p->training ? sdy / p->m : 0, kx = p->training ? sdyx / p->m : 0;
        for (uint32_t j = 0; j < p->m; j++) {
            size_t i = bn_addr(p, j, c);
            double xhat = (x[i] - mean[c]) * invstd[c];
            vkd_ref_put(&dx[i], (int)p->acc_dx, a * (dy[i] - b - xhat * kx));
        }
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

/* The partials tensor of a node, or -1 (eval without parameter gradients). */
static int partials_of(const struct vkd_node *n)
{
    const struct vkd_batchnorm_params *p = (const void *)n->attr;
    if (p->training)
        return n->out[3];
    return n->n_out > 1 ? n->out[1] : -1;
}

static void bn_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_batchnorm_params *p = (const void *)n->attr;
    const double *x = vkd_ref_t(e, n->in[BN_X]);
    const double *gamma = vkd_ref_t(e, n->in[BN_GAMMA]), *beta = vkd_ref_t(e, n->in[BN_BETA]);
    double *rmean = vkd_ref_t(e, n->in[BN_RMEAN]), *rvar = vkd_ref_t(e, n->in[BN_RVAR]);
    if (p->training) {
        ref_batchnorm_stats(p, x, vkd_ref_t(e, n->out[3]));
        ref_batchnorm_apply(p, x, gamma, beta, rmean, rvar, vkd_ref_t(e, n->out[1]),
                            vkd_ref_t(e, n->out[2]), vkd_ref_t(e, n->out[0]));
    } else {
        ref_batchnorm_eval(p, x, gamma, beta, rmean, rvar, vkd_ref_t(e, n->out[0]));
    }
}

static void bn_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_batchnorm_params p = *(const struct vkd_batchnorm_params *)n->attr;
    const double *x = vkd_ref_t(e, n->in[BN_X]), *dy = vkd_ref_g(e, n->out[0]);
    double *dx = vkd_ref_g(e, n->in[BN_X]);
    double *dgamma = vkd_ref_g(e, n->in[BN_GAMMA]), *dbeta = vkd_ref_g(e, n->in[BN_BETA]);
    p.acc_dx = n->acc[BN_X], p.acc_dgamma = n->acc[BN_GAMMA], p.acc_dbeta = n->acc[BN_BETA];

    /* Which statistics normalised x: the saved batch ones, or the running ones (eval). */
    const double *mean, *invstd;
    double *tmp = NULL;
    if (p.training) {
        mean = vkd_ref_t(e, n->out[1]);
        invstd = vkd_ref_t(e, n->out[2]);
    } else {
        const double *rvar = vkd_ref_t(e, n->in[BN_RVAR]);
        tmp = malloc(p.c * sizeof(double));
        VKD_ASSERT(tmp);
        for (uint32_t c = 0; c < p.c; c++)
            tmp[c] = 1.0 / sqrt(rvar[c] + p.eps);
        mean = vkd_ref_t(e, n->in[BN_RMEAN]);
        invstd = tmp;
    }
    double *part = NULL;
    if (p.training || dgamma || dbeta) {
        VKD_ASSERT(partials_of(n) >= 0 && "gamma/beta got a gradient after vkd_batchnorm2d");
        part = vkd_ref_t(e, partials_of(n));
        ref_batchnorm_bwd_reduce(&p, x, dy, mean, invstd, part);
    }
    ref_batchnorm_bwd_data(&p, x, dy, vkd_ref_t(e, n->in[BN_GAMMA]), mean, invstd, part, dx, dgamma,
                           dbeta);
    free(tmp);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

/* Records kernel k over the (chunks, c) grid, or its CPU-device twin on a device that takes
 * those (the IDs of each pair side by side in one table). */
static void bn_dispatch(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                        uint32_t n_v, const struct vkd_batchnorm_params *p)
{
    static const enum vkd_kernel_id twins[][2] = {
        {VKD_K_BATCHNORM_STATS, VKD_K_BATCHNORM_STATS_CPU},
        {VKD_K_BATCHNORM_APPLY, VKD_K_BATCHNORM_APPLY_CPU},
        {VKD_K_BATCHNORM_EVAL, VKD_K_BATCHNORM_EVAL_CPU},
        {VKD_K_BATCHNORM_BWD_REDUCE, VKD_K_BATCHNORM_BWD_REDUCE_CPU},
        {VKD_K_BATCHNORM_BWD_DATA, VKD_K_BATCHNORM_BWD_DATA_CPU},
    };
    if (vkd_rec_cpu_kernels(r)) {
        size_t i = 0;
        while (i < sizeof(twins) / sizeof(twins[0]) && twins[i][0] != k)
            i++;
        VKD_ASSERT(i < sizeof(twins) / sizeof(twins[0]));
        k = twins[i][1];
        for (uint32_t j = 0; j < n_v; j++) /* their vec4 declarations need aligned views */
            VKD_ASSERT(v[j].off % 16 == 0);
    }
    vkd_rec_dispatch(r, k, v, n_v, p, sizeof(*p), p->chunks, p->c, 1);
}

static void bn_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_batchnorm_params *p = (const void *)n->attr;
    struct vkd_view x = vkd_rec_t(r, n->in[BN_X]), y = vkd_rec_t(r, n->out[0]);
    struct vkd_view gamma = vkd_rec_t(r, n->in[BN_GAMMA]), beta = vkd_rec_t(r, n->in[BN_BETA]);
    struct vkd_view rmean = vkd_rec_t(r, n->in[BN_RMEAN]), rvar = vkd_rec_t(r, n->in[BN_RVAR]);
    if (!p->training) {
        struct vkd_view v[6] = {x, gamma, beta, rmean, rvar, y};
        bn_dispatch(r, VKD_K_BATCHNORM_EVAL, v, 6, p);
        return;
    }
    struct vkd_view part = vkd_rec_t(r, n->out[3]);
    struct vkd_view s[2] = {x, part};
    bn_dispatch(r, VKD_K_BATCHNORM_STATS, s, 2, p);
    struct vkd_view a[9] = {
        x, gamma, beta, part, rmean, rvar, vkd_rec_t(r, n->out[1]), vkd_rec_t(r, n->out[2]), y};
    bn_dispatch(r, VKD_K_BATCHNORM_APPLY, a, 9, p);
}

static void bn_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_batchnorm_params p = *(const struct vkd_batchnorm_params *)n->attr;
    p.has_dx = vkd_graph_tensor_at(g, n->in[BN_X])->grad >= 0;
    p.has_dgamma = vkd_graph_tensor_at(g, n->in[BN_GAMMA])->grad >= 0;
    p.has_dbeta = vkd_graph_tensor_at(g, n->in[BN_BETA])->grad >= 0;
    p.acc_dx = n->acc[BN_X], p.acc_dgamma = n->acc[BN_GAMMA], p.acc_dbeta = n->acc[BN_BETA];
    p.has_sums = p.training || p.has_dgamma || p.has_dbeta;
    p.stats_is_var = !p.training;

    struct vkd_view x = vkd_rec_t(r, n->in[BN_X]), dy = vkd_rec_g(r, n->out[0]);
    struct vkd_view mean = p.training ? vkd_rec_t(r, n->out[1]) : vkd_rec_t(r, n->in[BN_RMEAN]);
    struct vkd_view stat = p.training ? vkd_rec_t(r, n->out[2]) : vkd_rec_t(r, n->in[BN_RVAR]);
    /* Bindings of gradients that do not exist get dy: a valid buffer the shader never touches
     * (its has_* flag is 0), so one pipeline serves every combination. */
    struct vkd_view part = dy;
    if (p.has_sums) {
        VKD_ASSERT(partials_of(n) >= 0 && "gamma/beta got a gradient after vkd_batchnorm2d");
        part = vkd_rec_t(r, partials_of(n));
        struct vkd_view v[5] = {x, dy, mean, stat, part};
        bn_dispatch(r, VKD_K_BATCHNORM_BWD_REDUCE, v, 5, &p);
    }
    struct vkd_view v[9] = {
        x,
        dy,
        vkd_rec_t(r, n->in[BN_GAMMA]),
        mean,
        stat,
        part,
        p.has_dx ? vkd_rec_g(r, n->in[BN_X]) : dy,
        p.has_dgamma ? vkd_rec_g(r, n->in[BN_GAMMA]) : dy,
        p.has_dbeta ? vkd_rec_g(r, n->in[BN_BETA]) : dy,
    };
    bn_dispatch(r, VKD_K_BATCHNORM_BWD_DATA, v, 9, &p);
}

/* diff_out: only y carries a gradient; the saved statistics and partials are scratch. */
static const struct vkd_op op_batchnorm2d = {
    .name = "batchnorm2d",
    .diff_out = 1,
    .ref_fwd = bn_ref,
    .ref_bwd = bn_ref_bwd,
    .vk_fwd = bn_vk,
    .vk_bwd = bn_vk_bwd,
};

/* ---- builder --------------------------------------------------------------------------------- */

static void check_channel_tensor(const struct vkd_graph *g, int t, int c)
{
    const struct vkd_tensor *tt = vkd_graph_tensor_at(g, t);
    VKD_ASSERT(tt->dtype == VKD_F32 && vkd_tensor_numel(tt) == (size_t)c);
}

int vkd_batchnorm2d(struct vkd_graph *g, const char *name, int x, int gamma, int beta,
                    int running_mean, int running_var, int training)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x);
    int n = tx->n, c = tx->c, h = tx->h, w = tx->w;
    uint64_t m = (uint64_t)n * h * w;
    VKD_ASSERT(tx->dtype == VKD_F32);
    check_channel_tensor(g, gamma, c);
    check_channel_tensor(g, beta, c);
    check_channel_tensor(g, running_mean, c);
    check_channel_tensor(g, running_var, c);
    /* Updated in place by the training forward: persistent, never a gradient. */
    VKD_ASSERT(vkd_graph_tensor_at(g, running_mean)->kind == VKD_T_STATE);
    VKD_ASSERT(vkd_graph_tensor_at(g, running_var)->kind == VKD_T_STATE);
    /* PyTorch refuses training with one value per channel (see the top of this file); the host
     * checks the batch size against the model before building. */
    VKD_ASSERT(!training || m > 1);
    VKD_ASSERT(vkd_tensor_numel(tx) <= UINT32_MAX); /* 32-bit indices in the shaders */

    struct vkd_batchnorm_params p = {
        .n = (uint32_t)n,
        .c = (uint32_t)c,
        .hw = (uint32_t)(h * w),
        .m = (uint32_t)m,
        .training = training != 0,
        .eps = VKD_BN_EPS,
        .momentum = VKD_BN_MOMENTUM,
    };
    /* About VKD_BN_CHUNK values per workgroup, at most VKD_BN_MAX_CHUNKS chunks; chunks is
     * recomputed from chunk so that no chunk is empty. */
    uint32_t chunks = vkd_div_up(m, VKD_BN_CHUNK);
    if (chunks > VKD_BN_MAX_CHUNKS)
        chunks = VKD_BN_MAX_CHUNKS;
    p.chunk = vkd_div_up(m, chunks);
    p.chunks = vkd_div_up(m, p.chunk);

    char nm[VKD_NAME_LEN];
    int out[4], n_out = 1;
    out[0] = vkd_graph_act(g, name, n, c, h, w);
    if (training) {
        snprintf(nm, sizeof(nm), "%.*s.mean", VKD_NAME_LEN - 10, name);
        out[n_out++] = vkd_graph_act(g, nm, c, 1, 1, 1);
        snprintf(nm, sizeof(nm), "%.*s.invstd", VKD_NAME_LEN - 10, name);
        out[n_out++] = vkd_graph_act(g, nm, c, 1, 1, 1);
    }
    /* Eval needs chunk sums only for dgamma/dbeta. Decided from requires_grad as the graph
     * stands now, so a frozen teacher's node carries no scratch (backward asserts if gamma or
     * beta gets a gradient later). */
    if (training || vkd_graph_tensor_at(g, gamma)->requires_grad ||
        vkd_graph_tensor_at(g, beta)->requires_grad) {
        snprintf(nm, sizeof(nm), "%.*s.partials", VKD_NAME_LEN - 12, name);
        out[n_out++] = vkd_graph_act(g, nm, c, (int)p.chunks, 2, 1);
    }
    int in[5] = {x, gamma, beta, running_mean, running_var};
    vkd_graph_add_node(g, &op_batchnorm2d, name, in, 5, out, n_out, &p, sizeof(p));
    return out[0];
}
