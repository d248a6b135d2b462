/*
 * linear.c - the fully connected layer, as torch.nn.Linear:
 *     y (batch, out) = x (batch, in) w^T (out, in) + b (out)
 * x is any tensor with `batch` rows; its c*h*w values per row are the `in` features (so the
 * (N, C, 1, 1) output of global pooling and a (N, C, H, W) feature map both work, flattened in
 * NCHW order as torch.flatten(x, 1) does). y is (batch, out, 1, 1).
 *
 * Backward:  dx = dy w          (batch, in)
 *            dw = dy^T x        (out, in)
 *            db = sum_rows dy   (out)
 * All three passes are one shared-memory tiled GEMM (shaders/linear_gemm.glsl) with different
 * index maps; db rides along with dw as an extra column of ones (linear_bwd_weight.comp).
 *
 * The node: in[0] x, in[1] w (out, in, 1, 1), in[2] b (out, 1, 1, 1) or -1; out[0] y.
 * attr: struct vkd_linear_params (batch, in_features, out_features, bias).
 *
 * Gradient convention (graph.c): backward writes the gradient of each input that has one,
 * overwriting when node.acc[i] == 0 and adding when 1; a gradient nobody needs is not computed
 * (dx when x does not require grad, dw when w is frozen).
 */
#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* y[n, o] = b[o] + sum_i x[n, i] w[o, i]. b may be NULL. */
static void ref_linear_fwd(const struct vkd_linear_params *p, const double *x, const double *w,
                           const double *b, double *y)
{
    for (uint32_t n = 0; n < p->batch; n++)
        for (uint32_t o = 0; o < p->out_features; o++) {
            const double *xr = x + (size_t)n * p->in_features;
            const double *wr = w + (size_t)o * p->in_features;
            double s = 0;
            for (uint32_t i = 0; i < p->in_features; i++)
                s += xr[i] * wr[i];
            y[(size_t)n * p->out_features + o] = s + (b ? b[o] : 0);
        }
}

/* dx[n, i] (+)= sum_o dy[n, o] w[o, i]. */
static void ref_linear_bwd_data(const struct vkd_linear_params *p, const double *dy,
                                const double *w, double *dx)
{
    for (uint32_t n = 0; n < p->batch; n++)
        for (uint32_t i = 0; i < p->in_features; i++) {
            double s = 0;
            for (uint32_t o = 0; o < p->out_features; o++)
                s += dy[(size_t)n * p->out_features + o] * w[(size_t)o * p->in_features + i];
            vkd_ref_put(&dx[(size_t)n * p->in_features + i], (int)p->acc, s);
        }
}

/* dw[o, i] (+)= sum_n dy[n, o] x[n, i] (acc) and db[o] (+)= sum_n dy[n, o] (acc_b). Either
 * output may be NULL (not wanted). */
static void ref_linear_bwd_weight(const struct vkd_linear_params *p, const double *dy,
                                  const double *x, double *dw, double *db)
{
    for (uint32_t o = 0; o < p->out_features; o++) {
        for (uint32_t i = 0; dw && i < p->in_features; i++) {
            double s = 0;
            for (uint32_t n = 0; n < p->batch; n++)
                s += dy[(size_t)n * p->out_features + o] * x[(size_t)n * p->in_features + i];
            vkd_ref_put(&dw[(size_t)o * p->in_features + i], (int)p->acc, s);
        }
        if (db) {
            double s = 0;
            for (uint32_t n = 0; n < p->batch; n++)
                s += dy[(size_t)n * p->out_features + o];
            vkd_ref_put(&db[o], (int)p->acc_b, s);
        }
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void linear_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_linear_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                   vkd_ref_t(e, n->in[2]), vkd_ref_t(e, n->out[0]));
}

static void linear_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_linear_params p = *(const struct vkd_linear_params *)n->attr;
    const double *dy = vkd_ref_g(e, n->out[0]);
    double *dx = vkd_ref_g(e, n->in[0]), *dw = vkd_ref_g(e, n->in[1]), *db = vkd_ref_g(e, n->in[2]);
    if (dx) {
        p.acc = n->acc[0];
        ref_linear_bwd_data(&p, dy, vkd_ref_t(e, n->in[1]), dx);
    }
    if (dw || db) {
        p.acc = n->acc[1];
        p.acc_b = n->acc[2];
        ref_linear_bwd_weight(&p, dy, vkd_ref_t(e, n->in[0]), dw, db);
    }
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

/* One workgroup per TILE x TILE block of the (rows x cols) GEMM output. */
static void dispatch_gemm(struct vkd_rec *r, enum vkd_kernel_id k, const struct vkd_view *v,
                          uint32_t n_v, const struct vkd_linear_params *p, uint32_t rows,
                          uint32_t cols)
{
    const struct vkd_device_info *d = &vkd_rec_context(r)->info;
    const uint32_t *max = d->max_workgroup_count;
    /* Vulkan guarantees only 128 invocations per workgroup; every GPU this engine targets
     * (desktop, Apple, Intel, lavapipe) offers at least the 256 the tile uses. */
    VKD_ASSERT(d->max_workgroup_invocations >= VKD_LINEAR_WG * VKD_LINEAR_WG);
    uint32_t gx = vkd_div_up(cols, VKD_LINEAR_TILE), gy = vkd_div_up(rows, VKD_LINEAR_TILE);
    VKD_ASSERT(gx <= max[0] && gy <= max[1]);
    vkd_rec_dispatch(r, k, v, n_v, p, sizeof(*p), gx, gy, 1);
}

static int has_grad(const struct vkd_graph *g, int t)
{
    return t >= 0 && vkd_graph_tensor_at(g, t)->grad >= 0;
}

static void linear_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_linear_params *p = (const void *)n->attr;
    /* Without a bias, w stands in for binding 2 so the layout stays fixed; it is never read. */
    struct vkd_view v[4] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->in[1]),
                            vkd_rec_t(r, n->in[p->bias ? 2 : 1]), vkd_rec_t(r, n->out[0])};
    dispatch_gemm(r, VKD_K_LINEAR_FWD, v, 4, p, p->batch, p->out_features);
}

static void linear_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_linear_params p = *(const struct vkd_linear_params *)n->attr;
    int want_dw = has_grad(g, n->in[1]), want_db = has_grad(g, n->in[2]);

    if (has_grad(g, n->in[0])) {
        p.acc = n->acc[0];
        struct vkd_view v[3] = {vkd_rec_g(r, n->out[0]), vkd_rec_t(r, n->in[1]),
                                vkd_rec_g(r, n->in[0])};
        dispatch_gemm(r, VKD_K_LINEAR_BWD_DATA, v, 3, &p, p.batch, p.in_features);
    }
    if (want_dw || want_db) {
        p.acc = n->acc[1];
        p.acc_b = n->acc[2];
        p.weight = (uint32_t)want_dw;
        p.bias = (uint32_t)want_db;
        /* An absent output is bound to the other one (the shader never touches it). */
        struct vkd_view dw = want_dw ? vkd_rec_g(r, n->in[1]) : vkd_rec_g(r, n->in[2]);
        struct vkd_view db = want_db ? vkd_rec_g(r, n->in[2]) : dw;
        struct vkd_view v[4] = {vkd_rec_g(r, n->out[0]), vkd_rec_t(r, n->in[0]), dw, db};
        uint32_t cols = (want_dw ? p.in_features : 0) + (want_db ? 1 : 0);
        dispatch_gemm(r, VKD_K_LINEAR_BWD_WEIGHT, v, 4, &p, p.out_features, cols);
    }
}

static const struct vkd_op op_linear = {
    .name = "linear",
    .diff_out = 1, /* out[0] = y carries a gradient */
    .ref_fwd = linear_ref,
    .ref_bwd = linear_ref_bwd,
    .vk_fwd = linear_vk,
    .vk_bwd = linear_vk_bwd,
};

/* ---- builder -------------------------------------------------------------------------------- */

int vkd_linear(struct vkd_graph *g, const char *name, int x, int w, int b)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x), *tw = vkd_graph_tensor_at(g, w);
    size_t in = (size_t)tx->c * tx->h * tx->w;
    VKD_ASSERT(tx->dtype == VKD_F32 && tw->dtype == VKD_F32);
    /* w is (out, in, 1, 1): one row of in weights per output feature */
    VKD_ASSERT((size_t)tw->c == in && tw->h == 1 && tw->w == 1);
    if (b >= 0) {
        const struct vkd_tensor *tb = vkd_graph_tensor_at(g, b);
        VKD_ASSERT(tb->dtype == VKD_F32);
        VKD_ASSERT(tb->n == tw->n && tb->c == 1 && tb->h == 1 && tb->w == 1);
    }
    /* the shaders index with 32-bit unsigned arithmetic */
    VKD_ASSERT(vkd_tensor_numel(tx) <= UINT32_MAX && vkd_tensor_numel(tw) <= UINT32_MAX &&
               (size_t)tx->n * tw->n <= UINT32_MAX);

    struct vkd_linear_params p = {
        .batch = (uint32_t)tx->n,
        .in_features = (uint32_t)in,
        .out_features = (uint32_t)tw->n,
        .bias = b >= 0,
    };
    int y = vkd_graph_act(g, name, tx->n, tw->n, 1, 1);
    int in_ids[3] = {x, w, b}, out[1] = {y};
    vkd_graph_add_node(g, &op_linear, name, in_ids, 3, out, 1, &p, sizeof(p));
    return y;
}
