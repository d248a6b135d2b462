/*
 * shape.c - the shape family: channel concat and channel split of NCHW tensors (CORSD's pair
 * input [o_k(a); o_k(x)] to a relation network, and taking it apart again; methods.md
 * sections 4 and 6).
 *
 *   concat  y (N, C_0 + ... + C_{k-1}, H, W) = [x_0; ...; x_{k-1}] along C, 1 <= k <= 8
 *           dx_i = dy[:, off_i : off_i + C_i]            (each input that has a gradient)
 *   split   y (N, cn, H, W) = x[:, c0 : c0 + cn]         (a copy, not an alias)
 *           dx[:, c0 : c0 + cn] = dy, 0 on the other channels
 *   slice   y (n, C, H, W) = x[n0 : n0 + n]              (samples; a copy, not an alias)
 *           dx[n0 : n0 + n] = dy, 0 on the other samples
 *           grouped: the same in each of G consecutive groups of N / G samples (G = B, n = 1:
 *           one member of every interleaved triplet a0 p0 n0 a1 p1 n1 ...)
 * A batch slice is a channel split of x viewed as (1, N, C*H*W, 1): samples are contiguous
 * blocks of C*H*W floats, so the same copy serves (CORSD's anchor / positive / negative thirds
 * of a triplet batch, methods.md section 4).
 *
 * Gradient convention (graph.c): backward writes the gradient of each input that has one,
 * overwriting when node.acc[i] == 0 and adding when 1. A split that overwrites dx writes every
 * channel of it (zeros outside its range), so no gradient buffer needs clearing; one that adds
 * touches its range only. Two splits of one tensor therefore compose: the later (in forward
 * order) overwrites with zeros, the earlier adds its range. Slices likewise: the three thirds
 * of a batch give the whole gradient, and a slice that covers part of x and is its first
 * backward writer leaves zeros (not stale memory) on the samples it does not cover.
 *
 * Every pass is one dispatch of channel_copy per contiguous channel range (shaders/shape.h):
 * no arithmetic but the accumulate, so results are exact and deterministic.
 * The nodes: concat in[0..k-1], out[0] y; split in[0] x, out[0] y, attr the first channel c0;
 * slice in[0] x, out[0] y, attr the first sample n0 (in each group) and the group count.
 */
#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

static void ref_channel_copy(const struct vkd_channel_copy_params *p, const double *src,
                             double *dst)
{
    for (uint32_t n = 0; n < p->n; n++)
        for (uint32_t cd = p->base; cd < p->base + p->span; cd++)
            for (uint32_t q = 0; q < p->hw; q++) {
                double v = 0;
                if (cd >= p->dst_c0 && cd < p->dst_c0 + p->cn)
                    v = src[((size_t)n * p->src_c + p->src_c0 + cd - p->dst_c0) * p->hw + q];
                vkd_ref_put(&dst[((size_t)n * p->dst_c + cd) * p->hw + q], (int)p->acc, v);
            }
}

/* ---- the copies of each pass --------------------------------------------------------------- */

/* A copy of src's channels [src_c0, src_c0 + cn) to dst's [dst_c0, dst_c0 + cn); with full,
 * every other channel of dst is zeroed (a split's overwriting backward). */
static struct vkd_channel_copy_params copy_params(const struct vkd_tensor *src, uint32_t src_c0,
                                                  const struct vkd_tensor *dst, uint32_t dst_c0,
                                                  uint32_t cn, int acc, int full)
{
    struct vkd_channel_copy_params p = {
        .n = (uint32_t)dst->n,
        .hw = (uint32_t)(dst->h * dst->w),
        .src_c = (uint32_t)src->c,
        .src_c0 = src_c0,
        .dst_c = (uint32_t)dst->c,
        .dst_c0 = dst_c0,
        .cn = cn,
        .base = full ? 0 : dst_c0,
        .span = full ? (uint32_t)dst->c : cn,
        .acc = (uint32_t)acc,
    };
    return p;
}

/* The first output channel of concat input j. */
static uint32_t concat_offset(const struct vkd_graph *g, const struct vkd_node *n, int j)
{
    uint32_t off = 0;
    for (int i = 0; i < j; i++)
        off += (uint32_t)vkd_graph_tensor_at(g, n->in[i])->c;
    return off;
}

/* A batch slice's copy. x's N samples are read as `groups` consecutive groups of per = N /
 * groups samples, y's as groups of cn, and samples [n0, n0 + cn) of every group of x are y's:
 * with a sample as a "channel" of C*H*W pixels that is the channel copy of a (groups, per,
 * C*H*W, 1) tensor. groups = 1 is a contiguous range; groups = B, cn = 1 takes every per-th
 * sample (one member of each interleaved triplet). The backward that overwrites zeroes the
 * other samples of every group of dx. */
static struct vkd_channel_copy_params slice_pass(const struct vkd_graph *g,
                                                 const struct vkd_node *n, int bwd)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[0]);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    uint32_t n0 = n->attr[0], groups = n->attr[1];
    uint32_t per = (uint32_t)tx->n / groups, cn = (uint32_t)ty->n / groups;
    int full = bwd && !n->acc[0];
    struct vkd_channel_copy_params p = {
        .n = groups,
        .hw = (uint32_t)(tx->c * tx->h * tx->w),
        .src_c = bwd ? cn : per,
        .src_c0 = bwd ? 0 : n0,
        .dst_c = bwd ? per : cn,
        .dst_c0 = bwd ? n0 : 0,
        .cn = cn,
        .base = bwd && !full ? n0 : 0,
        .span = full ? per : cn,
        .acc = bwd ? n->acc[0] : 0,
    };
    return p;
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void concat_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_ref_graph(e);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    for (int j = 0; j < n->n_in; j++) {
        const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[j]);
        struct vkd_channel_copy_params p =
            copy_params(tx, 0, ty, concat_offset(g, n, j), (uint32_t)tx->c, 0, 0);
        ref_channel_copy(&p, vkd_ref_t(e, n->in[j]), vkd_ref_t(e, n->out[0]));
    }
}

static void concat_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_ref_graph(e);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    for (int j = 0; j < n->n_in; j++) {
        double *dx = vkd_ref_g(e, n->in[j]);
        if (!dx)
            continue;
        const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[j]);
        struct vkd_channel_copy_params p =
            copy_params(ty, concat_offset(g, n, j), tx, 0, (uint32_t)tx->c, n->acc[j], 0);
        ref_channel_copy(&p, vkd_ref_g(e, n->out[0]), dx);
    }
}

static void split_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_ref_graph(e);
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[0]);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    struct vkd_channel_copy_params p = copy_params(tx, n->attr[0], ty, 0, (uint32_t)ty->c, 0, 0);
    ref_channel_copy(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void split_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_ref_graph(e);
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[0]);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    struct vkd_channel_copy_params p =
        copy_params(ty, 0, tx, n->attr[0], (uint32_t)ty->c, n->acc[0], !n->acc[0]);
    ref_channel_copy(&p, vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static void slice_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_channel_copy_params p = slice_pass(vkd_ref_graph(e), n, 0);
    ref_channel_copy(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void slice_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_channel_copy_params p = slice_pass(vkd_ref_graph(e), n, 1);
    ref_channel_copy(&p, vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void record_copy(struct vkd_rec *r, struct vkd_view src, struct vkd_view dst,
                        const struct vkd_channel_copy_params *p)
{
    uint32_t gx, gy;
    struct vkd_view v[2] = {src, dst};
    vkd_rec_groups_1d(r, (uint64_t)p->n * p->span * p->hw, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_CHANNEL_COPY, v, 2, p, sizeof(*p), gx, gy, 1);
}

static void concat_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    for (int j = 0; j < n->n_in; j++) {
        const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[j]);
        struct vkd_channel_copy_params p =
            copy_params(tx, 0, ty, concat_offset(g, n, j), (uint32_t)tx->c, 0, 0);
        record_copy(r, vkd_rec_t(r, n->in[j]), vkd_rec_t(r, n->out[0]), &p);
    }
}

static void concat_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    for (int j = 0; j < n->n_in; j++) {
        const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[j]);
        if (tx->grad < 0)
            continue;
        struct vkd_channel_copy_params p =
            copy_params(ty, concat_offset(g, n, j), tx, 0, (uint32_t)tx->c, n->acc[j], 0);
        record_copy(r, vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[j]), &p);
    }
}

static void split_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[0]);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    struct vkd_channel_copy_params p = copy_params(tx, n->attr[0], ty, 0, (uint32_t)ty->c, 0, 0);
    record_copy(r, vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]), &p);
}

static void split_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, n->in[0]);
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, n->out[0]);
    struct vkd_channel_copy_params p =
        copy_params(ty, 0, tx, n->attr[0], (uint32_t)ty->c, n->acc[0], !n->acc[0]);
    record_copy(r, vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0]), &p);
}

static void slice_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_channel_copy_params p = slice_pass(vkd_rec_graph(r), n, 0);
    record_copy(r, vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]), &p);
}

static void slice_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_channel_copy_params p = slice_pass(vkd_rec_graph(r), n, 1);
    record_copy(r, vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0]), &p);
}

static const struct vkd_op op_concat = {"concat",       1,         concat_ref,
                                        concat_ref_bwd, concat_vk, concat_vk_bwd};
static const struct vkd_op op_split = {"split",       1,        split_ref,
                                       split_ref_bwd, split_vk, split_vk_bwd};

static const struct vkd_op op_slice = {"batch_slice", 1,        slice_ref,
                                       slice_ref_bwd, slice_vk, slice_vk_bwd};

/* ---- builders -------------------------------------------------------------------------------- */

int vkd_concat(struct vkd_graph *g, const char *name, const int *x, int k)
{
    VKD_ASSERT(k >= 1 && k <= VKD_CONCAT_MAX && k <= VKD_NODE_IO);
    const struct vkd_tensor *t0 = vkd_graph_tensor_at(g, x[0]);
    size_t c = 0;
    for (int j = 0; j < k; j++) {
        const struct vkd_tensor *t = vkd_graph_tensor_at(g, x[j]);
        VKD_ASSERT(t->dtype == VKD_F32);
        VKD_ASSERT(t->n == t0->n && t->h == t0->h && t->w == t0->w);
        c += (size_t)t->c;
    }
    /* The shaders index in 32 bits. */
    VKD_ASSERT((size_t)t0->n * c * t0->h * t0->w < ((size_t)1 << 32));
    int y = vkd_graph_act(g, name, t0->n, (int)c, t0->h, t0->w);
    int out[1] = {y};
    vkd_graph_add_node(g, &op_concat, name, x, k, out, 1, NULL, 0);
    return y;
}

int vkd_split(struct vkd_graph *g, const char *name, int x, int c0, int c)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->dtype == VKD_F32);
    VKD_ASSERT(c0 >= 0 && c >= 1 && c0 + c <= t->c);
    VKD_ASSERT(vkd_tensor_numel(t) < ((size_t)1 << 32));
    int y = vkd_graph_act(g, name, t->n, c, t->h, t->w);
    int in[1] = {x}, out[1] = {y};
    uint32_t attr[1] = {(uint32_t)c0};
    vkd_graph_add_node(g, &op_split, name, in, 1, out, 1, attr, sizeof(attr));
    return y;
}

int vkd_batch_slice_groups(struct vkd_graph *g, const char *name, int x, int groups, int n0, int n)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->dtype == VKD_F32);
    VKD_ASSERT(groups >= 1 && t->n % groups == 0);
    VKD_ASSERT(n0 >= 0 && n >= 1 && n0 + n <= t->n / groups);
    VKD_ASSERT(vkd_tensor_numel(t) < ((size_t)1 << 32));
    int y = vkd_graph_act(g, name, groups * n, t->c, t->h, t->w);
    int in[1] = {x}, out[1] = {y};
    uint32_t attr[2] = {(uint32_t)n0, (uint32_t)groups};
    vkd_graph_add_node(g, &op_slice, name, in, 1, out, 1, attr, sizeof(attr));
    return y;
}

int vkd_batch_slice(struct vkd_graph *g, const char *name, int x, int n0, int n)
{
    return vkd_batch_slice_groups(g, name, x, 1, n0, n);
}
