/*
 * attmap.c - the attention-map family: the sign-free ("non-directional") spatial activation map
 * of a feature map, as attention transfer (p = 2) and LAKD's NDAM use it (methods.md section 3):
 *   a[n][j] = (1/C) sum_c x[n][c][j]^2                         j over the P = H*W positions
 *   A[n][j] = a[n][j] / max(||a[n]||_2, 1e-12)                 (normalize; F.normalize's eps)
 * Backward: with r = ||a[n]||, da = (dA - (dA . A) A) / r when r > eps, else dA / eps (the
 * clamped branch is a constant scale); dx[n][c][j] = da[n][j] * (2/C) * x[n][c][j].
 *
 * The node: in[0] x (N, C, H, W); out[0] A (N, 1, H, W), out[1] "<name>.norm" (N, 1, 1, 1), the
 * norm before the clamp (backward's branch). attr: struct vkd_attmap_params (shaders/attmap.h).
 * Gradient convention (graph.c): backward writes dx, overwriting when node.acc[0] == 0 and
 * adding when 1. Vulkan: one workgroup per sample, fixed-order sums (the same bits every run).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

static void ref_attmap_fwd(const struct vkd_attmap_params *p, const double *x, double *y,
                           double *norm)
{
    for (uint32_t n = 0; n < p->n; n++) {
        const double *xs = x + (size_t)n * p->c * p->p;
        double *ys = y + (size_t)n * p->p, sq = 0;
        for (uint32_t j = 0; j < p->p; j++) {
            double s = 0;
            for (uint32_t c = 0; c < p->c; c++)
                s += xs[(size_t)c * p->p + j] * xs[(size_t)c * p->p + j];
            ys[j] = s / p->c;
            sq += ys[j] * ys[j];
        }
        norm[n] = sqrt(sq);
        double r = norm[n] > VKD_ATTMAP_EPS ? norm[n] : VKD_ATTMAP_EPS;
        for (uint32_t j = 0; p->normalize && j < p->p; j++)
            ys[j] /= r;
    }
}

static void ref_attmap_bwd(const struct vkd_attmap_params *p, const double *x, const double *y,
                           const double *norm, const double *dy, double *dx)
{
    for (uint32_t n = 0; n < p->n; n++) {
        const double *ys = y + (size_t)n * p->p, *gs = dy + (size_t)n * p->p;
        double dot = 0;
        for (uint32_t j = 0; p->normalize && j < p->p; j++)
            dot += gs[j] * ys[j];
        for (uint32_t j = 0; j < p->p; j++) {
            double da = gs[j];
            if (p->normalize)
                da = norm[n] > VKD_ATTMAP_EPS ? (da - dot * ys[j]) / norm[n]
                                              : da / VKD_ATTMAP_EPS;
            for (uint32_t c = 0; c < p->c; c++) {
                size_t i = ((size_t)n * p->c + c) * p->p + j;
                vkd_ref_put(&dx[i], (int)p->acc, da * 2.0 / p->c * x[i]);
            }
        }
    }
}

/* ---- node glue ------------------------------------------------------------------------------ */

static void attmap_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_attmap_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]),
                   vkd_ref_t(e, n->out[1]));
}

static void attmap_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    double *dx = vkd_ref_g(e, n->in[0]);
    if (!dx)
        return;
    struct vkd_attmap_params p = *(const struct vkd_attmap_params *)n->attr;
    p.acc = n->acc[0];
    ref_attmap_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->out[0]), vkd_ref_t(e, n->out[1]),
                   vkd_ref_g(e, n->out[0]), dx);
}

static void attmap_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_attmap_params *p = (const void *)n->attr;
    struct vkd_view v[3] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]),
                            vkd_rec_t(r, n->out[1])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->n, 1, &gx, &gy); /* one workgroup per sample */
    vkd_rec_dispatch(r, VKD_K_ATTMAP_FWD, v, 3, p, sizeof(*p), gx, gy, 1);
}

static void attmap_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    if (vkd_graph_tensor_at(vkd_rec_graph(r), n->in[0])->grad < 0)
        return;
    struct vkd_attmap_params p = *(const struct vkd_attmap_params *)n->attr;
    p.acc = n->acc[0];
    struct vkd_view v[5] = {vkd_rec_t(r, n->in[0]), vkd_rec_t(r, n->out[0]),
                            vkd_rec_t(r, n->out[1]), vkd_rec_g(r, n->out[0]),
                            vkd_rec_g(r, n->in[0])};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.n, 1, &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_ATTMAP_BWD, v, 5, &p, sizeof(p), gx, gy, 1);
}

static const struct vkd_op op_attmap = {"attmap",       1,         attmap_ref,
                                        attmap_ref_bwd, attmap_vk, attmap_vk_bwd};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_attention_map(struct vkd_graph *g, const char *name, int x, int normalize)
{
    const struct vkd_tensor *t = vkd_graph_tensor_at(g, x);
    VKD_ASSERT(t->dtype == VKD_F32 && t->c >= 1);
    struct vkd_attmap_params p = {.n = (uint32_t)t->n, .c = (uint32_t)t->c,
                                  .p = (uint32_t)(t->h * t->w), .normalize = normalize != 0};
    int h = t->h, w = t->w, n = t->n; /* t moves when tensors are added */
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_act(g, name, n, 1, h, w);
    snprintf(buf, sizeof(buf), "%.*s.norm", VKD_NAME_LEN - 6, name);
    out[1] = vkd_graph_act(g, buf, n, 1, 1, 1);
    int in[1] = {x};
    vkd_graph_add_node(g, &op_attmap, name, in, 1, out, 2, &p, sizeof(p));
    return out[0];
}
