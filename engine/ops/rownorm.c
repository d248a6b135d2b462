/*
 * rownorm.c - the row L2-normalise family: every row of L consecutive elements divided by its
 * Euclidean norm, with F.normalize's eps (methods.md "Conventions": nrm). LKD's cosine patch
 * similarity normalises each flattened patch vector with it before the batch Gram (section 2);
 * vkd_gram's own normalize divides the rows of the *Gram* (ICKD's form), which is not this.
 *   r = ||x[row, :]||_2,   y[row, :] = x[row, :] / max(r, 1e-12)
 * Backward: dx = (dy - (dy . y) y) / r when r > eps, else dy / eps (the clamped branch is a
 * constant scale, as torch's autograd of F.normalize gives).
 *
 * The node: in[0] x (any f32 shape, read as rows of len); out[0] y (x's shape), out[1]
 * "<name>.norm" (1, 1, 1, rows), the norm before the clamp (backward's branch). attr: struct
 * vkd_rownorm_params (shaders/rownorm.h).
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Vulkan: one workgroup per row, fixed-order sums (the same bits every run).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

static void ref_rownorm_fwd(const struct vkd_rownorm_params *p, const double *x, double *y,
                            double *norm)
{
    for (uint32_t r = 0; r < p->rows; r++) {
        const double *xr = x + (size_t)r * p->len;
        double *yr = y + (size_t)r * p->len, sq = 0;
        for (uint32_t j = 0; j < p->len; j++)
            sq += xr[j] * xr[j];
        norm[r] = sqrt(sq);
        double d = norm[r] > VKD_ROWNORM_EPS ? norm[r] : VKD_ROWNORM_EPS;
        for (uint32_t j = 0; j < p->len; j++)
            yr[j] = xr[j] / d;
    }
}

/* dx (+)= the gradient for upstream dy. Recomputes y and the norm from x: the reference trusts
 * no saved results. */
static void ref_rownorm_bwd(const struct vkd_rownorm_params *p, const double *x, const double *dy,
                            double *dx)
{
    for (uint32_t r = 0; r < p->rows; r++) {
        const double *xr = x + (size_t)r * p->len, *gr = dy + (size_t)r * p->len;
        double sq = 0, dot = 0;
        for (uint32_t j = 0; j < p->len; j++)
            sq += xr[j] * xr[j];
        double nr = sqrt(sq);
        int small = nr <= VKD_ROWNORM_EPS;
        for (uint32_t j = 0; !small && j < p->len; j++)
            dot += gr[j] * xr[j] / nr;
        for (uint32_t j = 0; j < p->len; j++) {
            double g = small ? gr[j] / VKD_ROWNORM_EPS : (gr[j] - dot * xr[j] / nr) / nr;
            vkd_ref_put(&dx[(size_t)r * p->len + j], (int)p->acc, g);
        }
    }
}

/* ---- node glue ------------------------------------------------------------------------------ */

static void rownorm_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_rownorm_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]),
                    vkd_ref_t(e, n->out[1]));
}

static void rownorm_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dx = vkd_ref_g(e, n->in[0]);
    if (!dx)
        return;
    struct vkd_rownorm_params p = *(const struct vkd_rownorm_params *)n->attr;
    p.acc = n->acc[0];
    ref_rownorm_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_g(e, n->out[0]), dx);
}

static void rownorm_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_rownorm_params *p = (const void *)n->attr;
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]),
                            vkd_rec_t(r, n->out[1])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->rows, 1, &gx, &gy); /* one workgroup per row */
    vkd_rec_dispatch(r, VKD_K_ROWNORM_FWD, v, 3, p, sizeof(*p), gx, gy, 1);
}

static void rownorm_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_rownorm_params p = *(const struct vkd_rownorm_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[4] = {vkd_rec_t(r, n->out[0]), vkd_rec_t(r, n->out[1]),
                            vkd_rec_g(r, n->out[0]), vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.rows, 1, &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_ROWNORM_BWD, v, 4, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_rownorm = {"rownorm",       1,          rownorm_ref,
                                         rownorm_ref_bwd, rownorm_vk, rownorm_vk_bwd};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_row_normalize(struct vkd_graph *g, const char *name, int x, int len)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    size_t numel = vkd_tensor_numel(t);
    VKD_ASSERT(t->dtype == VKD_F32);
    VKD_ASSERT(len > 0 && numel % (size_t)len == 0);
    VKD_ASSERT(numel < ((size_t)1 << 32)); /* 32-bit indices in the shaders */
    struct vkd_rownorm_params p = {.rows = (uint32_t)(numel / (size_t)len),
                                   .len = (uint32_t)len};
    int n = t->n, c = t->c, h = t->h, w = t->w; /* t moves when tensors are added */
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_act(g, name, n, c, h, w);
    snprintf(buf, sizeof(buf), "%.*s.norm", VKD_NAME_LEN - 6, name);
    out[1] = vkd_graph_act(g, buf, 1, 1, 1, (int)p.rows);
    int in[1] = {x};
    vkd_graph_add_node(g, &op_rownorm, name, in, 1, out, 2, &p, sizeof(p));
    return out[0];
}
