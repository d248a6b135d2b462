/*
 * pool.c - the pooling family: global average pooling (F.adaptive_avg_pool2d(x, 1)) and 2x2
 * max pooling with stride 2 (nn.MaxPool2d(2, 2): floor, an odd last row/column ignored, the
 * first maximum of a window in row-major order wins, a NaN propagates).
 *
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Max pooling recomputes each window's pick from x in backward instead of saving
 * indices: windows do not overlap, so each dx element has one writer.
 * The nodes: in[0] x (N, C, H, W); out[0] y: (N, C, 1, 1) or (N, C, H/2, W/2).
 *
 * Adaptive average pooling to (oh, ow) is F.adaptive_avg_pool2d(x, (oh, ow)): output row i
 * averages input rows [floor(i H / oh), ceil((i + 1) H / oh)), columns likewise, so bins overlap
 * by a row when oh does not divide H (7 -> 3: rows [0, 3), [2, 5), [4, 7)) and oh > H repeats
 * rows (2 -> 5: [0, 1), [0, 1), [0, 2), [1, 2), [1, 2)); every bin is non-empty. Backward: each
 * x element gets dy / area from every bin that holds it (the shader gathers, the reference
 * scatters). The node: in[0] x, out[0] y (N, C, oh, ow), attr oh, ow.
 */
#include <math.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference -------------------------------------------------------------------------- */

static void ref_avgpool_global_fwd(const struct vkd_pool_params *p, const double *x, double *y)
{
    size_t hw = (size_t)p->h * p->w;
    for (uint32_t pl = 0; pl < p->nc; pl++) {
        double s = 0;
        for (size_t i = 0; i < hw; i++)
            s += x[pl * hw + i];
        y[pl] = s / (double)hw;
    }
}

static void ref_avgpool_global_bwd(const struct vkd_pool_params *p, const double *dy, double *dx)
{
    size_t hw = (size_t)p->h * p->w;
    for (uint32_t pl = 0; pl < p->nc; pl++)
        for (size_t i = 0; i < hw; i++)
            vkd_ref_put(&dx[pl * hw + i], (int)p->acc, dy[pl] / (double)hw);
}

/* Index (0..3, row-major) of the window's pick: the first maximum, a NaN overriding. */
static int window_pick(const double *x, size_t base, uint32_t w)
{
    int pick = 0;
    double best = x[base];
    for (int k = 1; k < 4; k++) {
        double v = x[base + (size_t)(k >> 1) * w + (size_t)(k & 1)];
        if (v > best || isnan(v))
            best = v, pick = k;
    }
    return pick;
}

static void ref_maxpool2x2_fwd(const struct vkd_pool_params *p, const double *x, double *y)
{
    uint32_t oh = p->h / 2, ow = p->w / 2;
    for (uint32_t pl = 0; pl < p->nc; pl++)
        for (uint32_t r = 0; r < oh; r++)
            for (uint32_t q = 0; q < ow; q++) {
                size_t base = ((size_t)pl * p->h + 2 * r) * p->w + 2 * q;
                int k = window_pick(x, base, p->w);
                y[((size_t)pl * oh + r) * ow + q] = x[base + (size_t)(k >> 1) * p->w + (k & 1)];
            }
}

static void ref_maxpool2x2_bwd(const struct vkd_pool_params *p, const double *x, const double *dy,
                               double *dx)
{
    uint32_t oh = p->h / 2, ow = p->w / 2;
    for (uint32_t pl = 0; pl < p->nc; pl++)
        for (uint32_t row = 0; row < p->h; row++)
            for (uint32_t col = 0; col < p->w; col++) {
                uint32_t r = row / 2, q = col / 2;
                double g = 0;
                if (r < oh && q < ow) {
                    size_t base = ((size_t)pl * p->h + 2 * r) * p->w + 2 * q;
                    if ((int)((row - 2 * r) * 2 + (col - 2 * q)) == window_pick(x, base, p->w))
                        g = dy[((size_t)pl * oh + r) * ow + q];
                }
                vkd_ref_put(&dx[((size_t)pl * p->h + row) * p->w + col], (int)p->acc, g);
            }
}

/* Bin i of n outputs over a length-l axis: [*s, *e) (PyTorch's start_index / end_index). */
static void bin(uint32_t i, uint32_t l, uint32_t n, uint32_t *s, uint32_t *e)
{
    *s = (uint32_t)((uint64_t)i * l / n);
    *e = (uint32_t)(((uint64_t)(i + 1) * l + n - 1) / n);
}

static void ref_avgpool_adaptive_fwd(const struct vkd_adaptive_pool_params *p, const double *x,
                                     double *y)
{
    for (uint32_t pl = 0; pl < p->nc; pl++)
        for (uint32_t i = 0; i < p->oh; i++)
            for (uint32_t j = 0; j < p->ow; j++) {
                uint32_t hs, he, ws, we;
                bin(i, p->h, p->oh, &hs, &he);
                bin(j, p->w, p->ow, &ws, &we);
                double s = 0;
                for (uint32_t r = hs; r < he; r++)
                    for (uint32_t c = ws; c < we; c++)
                        s += x[((size_t)pl * p->h + r) * p->w + c];
                y[((size_t)pl * p->oh + i) * p->ow + j] = s / ((double)(he - hs) * (we - ws));
            }
}

/* Scatters every dy / area over its bin into a zeroed plane, then puts the plane into dx. */
static void ref_avgpool_adaptive_bwd(const struct vkd_adaptive_pool_params *p, const double *dy,
                                     double *dx)
{
    size_t hw = (size_t)p->h * p->w;
    double *acc = malloc(hw * sizeof(double));
    VKD_ASSERT(acc);
    for (uint32_t pl = 0; pl < p->nc; pl++) {
        for (size_t k = 0; k < hw; k++)
            acc[k] = 0;
        for (uint32_t i = 0; i < p->oh; i++)
            for (uint32_t j = 0; j < p->ow; j++) {
                uint32_t hs, he, ws, we;
                bin(i, p->h, p->oh, &hs, &he);
                bin(j, p->w, p->ow, &ws, &we);
                double g =
                    dy[((size_t)pl * p->oh + i) * p->ow + j] / ((double)(he - hs) * (we - ws));
                for (uint32_t r = hs; r < he; r++)
                    for (uint32_t c = ws; c < we; c++)
                        acc[(size_t)r * p->w + c] += g;
            }
        for (size_t k = 0; k < hw; k++)
            vkd_ref_put(&dx[pl * hw + k], (int)p->acc, acc[k]);
    }
    free(acc);
}

/* ---- node glue ------------------------------------------------------------------------------ */

static struct vkd_pool_params params_of(const struct vkd_graph *g, const struct vkd_node *n,
                                        int acc)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, n->in[0]);
    return (struct vkd_pool_params){(uint32_t)(t->n * t->c), (uint32_t)t->h, (uint32_t)t->w,
                                    (uint32_t)acc};
}

static void avg_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_ref_graph(e), n, 0);
    ref_avgpool_global_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void avg_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_ref_graph(e), n, n->acc[0]);
    ref_avgpool_global_bwd(&p, vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static void max_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_ref_graph(e), n, 0);
    ref_maxpool2x2_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void max_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_ref_graph(e), n, n->acc[0]);
    ref_maxpool2x2_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]),
                       vkd_ref_g(e, n->in[0]));
}

static void dispatch_1d(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                        uint32_t n_v, const struct vkd_pool_params *p, uint64_t count)
{
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, count, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, k, v, n_v, p, sizeof(*p), gx, gy, 1);
}

static void avg_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_rec_graph(r), n, 0);
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.nc, 1, &gx, &gy); /* one workgroup per plane */
    vkd_rec_dispatch(r, VKD_K_AVGPOOL_GLOBAL_FWD, v, 2, &p, sizeof(p), gx, gy, 1);
}

static void avg_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_rec_graph(r), n, n->acc[0]);
    struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0])};
    dispatch_1d(r, VKD_K_AVGPOOL_GLOBAL_BWD, v, 2, &p, (uint64_t)p.nc * p.h * p.w);
}

static void max_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_rec_graph(r), n, 0);
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    dispatch_1d(r, VKD_K_MAXPOOL2X2_FWD, v, 2, &p, (uint64_t)p.nc * (p.h / 2) * (p.w / 2));
}

static void max_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_pool_params p = params_of(vkd_rec_graph(r), n, n->acc[0]);
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    dispatch_1d(r, VKD_K_MAXPOOL2X2_BWD, v, 3, &p, (uint64_t)p.nc * p.h * p.w);
}

static struct vkd_adaptive_pool_params adaptive_params(const struct vkd_graph *g,
                                                       const struct vkd_node *n, int acc)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, n->in[0]);
    struct vkd_adaptive_pool_params p = {
        .nc = (uint32_t)(t->n * t->c),
        .h = (uint32_t)t->h,
        .w = (uint32_t)t->w,
        .oh = n->attr[0],
        .ow = n->attr[1],
        .acc = (uint32_t)acc,
    };
    return p;
}

static void adaptive_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_adaptive_pool_params p = adaptive_params(vkd_ref_graph(e), n, 0);
    ref_avgpool_adaptive_fwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void adaptive_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_adaptive_pool_params p = adaptive_params(vkd_ref_graph(e), n, n->acc[0]);
    ref_avgpool_adaptive_bwd(&p, vkd_ref_g(e, n->out[0]), vkd_ref_g(e, n->in[0]));
}

static void adaptive_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_adaptive_pool_params p = adaptive_params(vkd_rec_graph(r), n, 0);
    struct vkd_view v[2] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.nc * p.oh * p.ow, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_AVGPOOL_ADAPTIVE_FWD, v, 2, &p, sizeof(p), gx, gy, 1);
}

static void adaptive_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    struct vkd_adaptive_pool_params p = adaptive_params(vkd_rec_graph(r), n, n->acc[0]);
    struct vkd_view v[2] = {vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, (uint64_t)p.nc * p.h * p.w, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_AVGPOOL_ADAPTIVE_BWD, v, 2, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_avgpool = {"avgpool_global", 1, avg_ref, avg_ref_bwd, avg_vk,
                                         avg_vk_bwd};
static const struct vkd_op op_maxpool = {"maxpool2x2", 1, max_ref, max_ref_bwd, max_vk,
                                         max_vk_bwd};
static const struct vkd_op op_adaptive = {"avgpool_adaptive", 1,           adaptive_ref,
                                          adaptive_ref_bwd,   adaptive_vk, adaptive_vk_bwd};

/* ---- builders -------------------------------------------------------------------------------- */

int vkd_global_avgpool(struct vkd_graph *g, const char *name, int x)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    int y = vkd_graph_act(g, name, t->n, t->c, 1, 1);
    int in[1] = {x}, out[1] = {y};
    vkd_graph_add_node(g, &op_avgpool, name, in, 1, out, 1, NULL, 0);
    return y;
}

int vkd_maxpool2x2(struct vkd_graph *g, const char *name, int x)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->h >= 2 && t->w >= 2);
    int y = vkd_graph_act(g, name, t->n, t->c, t->h / 2, t->w / 2);
    int in[1] = {x}, out[1] = {y};
    vkd_graph_add_node(g, &op_maxpool, name, in, 1, out, 1, NULL, 0);
    return y;
}

int vkd_adaptive_avgpool(struct vkd_graph *g, const char *name, int x, int oh, int ow)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->dtype == VKD_F32 && oh >= 1 && ow >= 1);
    /* 32-bit indices in the shaders, including the bin bounds' products (i + 1) h, r oh. */
    VKD_ASSERT(vkd_tensor_numel(t) < ((size_t)1 << 32));
    VKD_ASSERT((size_t)t->n * t->c * oh * ow < ((size_t)1 << 32));
    VKD_ASSERT((size_t)(oh + 1) * t->h < ((size_t)1 << 31) &&
               (size_t)(ow + 1) * t->w < ((size_t)1 << 31));
    int y = vkd_graph_act(g, name, t->n, t->c, oh, ow);
    int in[1] = {x}, out[1] = {y};
    uint32_t attr[2] = {(uint32_t)oh, (uint32_t)ow};
    vkd_graph_add_node(g, &op_adaptive, name, in, 1, out, 1, attr, sizeof(attr));
    return y;
}
