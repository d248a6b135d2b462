/*
 * softmax.c - the row-softmax family: the non-logit softmax that turns an affinity map into
 * attention weights (SAKD's rowsoftmax, methods.md sections 5 and 6), over rows of L
 * consecutive elements (any number of rows), with an input scale s (a temperature 1/T, or
 * 1/sqrt(C) for dot-product attention):
 *   y[r, j] = exp(s x[r, j] - m_r) / sum_k exp(s x[r, k] - m_r),   m_r = max_k s x[r, k]
 *   dx[r, j] = s y[r, j] (dy[r, j] - sum_k dy[r, k] y[r, k])
 * The maximum is subtracted for stability only: softmax is invariant to it, and every exp
 * argument is <= 0.
 *
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1.
 *
 * The node: in[0] x; out[0] y (x's shape), differentiable; the backward pass reads y (saved by
 * construction: it is the output) and needs no other scratch. attr: struct vkd_softmax_params
 * (shaders/softmax.h).
 * Vulkan: softmax_fwd and softmax_bwd, one workgroup per row each. softmax_fwd also runs in
 * place (x and y the same range): the self-attention op uses it on its Gram
 * (vkd_softmax_record_fwd).
 */
#include <math.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

static void ref_softmax_fwd(const struct vkd_softmax_params *p, const double *x, double *y)
{
    const double s = p->scale;
    for (uint32_t r = 0; r < p->rows; r++) {
        const double *xr = x + (size_t)r * p->len;
        double *yr = y + (size_t)r * p->len, m = -INFINITY, sum = 0;
        for (uint32_t j = 0; j < p->len; j++)
            m = fmax(m, s * xr[j]);
        for (uint32_t j = 0; j < p->len; j++)
            sum += exp(s * xr[j] - m);
        for (uint32_t j = 0; j < p->len; j++)
            yr[j] = exp(s * xr[j] - m) / sum;
    }
}

/* dx (+)= the gradient for upstream dy. Recomputes y from x: the reference trusts no saved
 * results. */
static void ref_softmax_bwd(const struct vkd_softmax_params *p, const double *x, const double *dy,
                            double *dx)
{
    const uint32_t L = p->len;
    double *y = malloc(L * sizeof(double));
    VKD_ASSERT(y);
    struct vkd_softmax_params one = *p;
    one.rows = 1;
    for (uint32_t r = 0; r < p->rows; r++) {
        const double *dyr = dy + (size_t)r * L;
        ref_softmax_fwd(&one, x + (size_t)r * L, y);
        double dot = 0;
        for (uint32_t j = 0; j < L; j++)
            dot += dyr[j] * y[j];
        for (uint32_t j = 0; j < L; j++)
            vkd_ref_put(&dx[(size_t)r * L + j], (int)p->acc, p->scale * y[j] * (dyr[j] - dot));
    }
    free(y);
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void softmax_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_softmax_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]));
}

static void softmax_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dx = vkd_ref_g(e, n->in[0]);
    if (!dx)
        return;
    struct vkd_softmax_params p = *(const struct vkd_softmax_params *)n->attr;
    p.acc = n->acc[0];
    ref_softmax_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]), dx);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

void vkd_softmax_record_fwd(struct vkd_rec *r, const struct vkd_softmax_params *p,
                            struct vkd_view x, struct vkd_view y)
{
    struct vkd_view v[2] = {x, y};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->rows, 1, &gx, &gy); /* one workgroup per row */
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_FWD, v, 2, p, sizeof(*p), gx, gy, 1);
}

static void softmax_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    vkd_softmax_record_fwd(r, (const void *)n->attr, vkd_rec_t(r, n->in[0]),
                           vkd_rec_t(r, n->out[0]));
}

static void softmax_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_softmax_params p = *(const struct vkd_softmax_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[3] = {vkd_rec_t(r, n->out[0]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.rows, 1, &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_SOFTMAX_BWD, v, 3, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_softmax = {"softmax",       1,          softmax_ref,
                                         softmax_ref_bwd, softmax_vk, softmax_vk_bwd};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_row_softmax(struct vkd_graph *g, const char *name, int x, int len, float scale)
{
    const struct vkd_tensor *tx = vkd_graph_tensor_at(g, x);
    size_t numel = vkd_tensor_numel(tx);
    VKD_ASSERT(tx->dtype == VKD_F32);
    VKD_ASSERT(len > 0 && numel % (size_t)len == 0);
    VKD_ASSERT(isfinite(scale));
    VKD_ASSERT(numel < ((size_t)1 << 32)); /* 32-bit indices in the shaders */
    struct vkd_softmax_params p = {
        .rows = (uint32_t)(numel / (size_t)len),
        .len = (uint32_t)len,
        .scale = scale,
    };
    int out[1] = {vkd_graph_act(g, name, tx->n, tx->c, tx->h, tx->w)};
    int in[1] = {x};
    vkd_graph_add_node(g, &op_softmax, name, in, 1, out, 1, &p, sizeof(p));
    return out[0];
}
