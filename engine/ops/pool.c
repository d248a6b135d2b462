/*
 * pool.c - the pooling family: global average pooling (F.adaptive_avg_pool2d(x, 1)) and 2x2
 * max pooling with stride 2 (nn.MaxPool2d(2, 2): floor, an odd last row/column ignored, the
 * first maximum of a window in row-major order wins, a NaN propagates).
 *
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Max pooling recomputes each window's pick from x in backward instead of saving
 * indices: windows do not overlap, so each dx element has one writer.
 * The nodes: in[0] x (N, C, H, W); out[0] y: (N, C, 1, 1) or (N, C, H/2, W/2).
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

static const struct vkd_op op_avgpool = {"avgpool_global", 1, avg_ref, avg_ref_bwd, avg_vk,
                                         avg_vk_bwd};
static const struct vkd_op op_maxpool = {"maxpool2x2", 1, max_ref, max_ref_bwd, max_vk,
                                         max_vk_bwd};

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
