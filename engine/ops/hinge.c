/*
 * hinge.c - the hinge family: the margin-ranking loss (CORSD's triplet hinge on relation scores,
 * methods.md sections 4 and 6), F.margin_ranking_loss(a, b, y, margin, reduction="sum") * scale:
 *   t_i = margin - y_i (a_i - b_i)            (y_i = 1 without a y tensor)
 *   L   = scale * sum_i max(0, t_i)
 *   dL/da_i = -scale y_i [t_i >= 0],  dL/db_i = -dL/da_i
 * over all elements of a and b (same element count; shapes may differ, as a flat view). At the
 * kink t_i = 0 the term counts as active, as PyTorch's clamp_min backward does (self >= min).
 * CORSD's a_tri * mean_b max(r_p - r_n + margin, 0) is this loss with a = r_n, b = r_p, no y and
 * scale = a_tri / B. y is a constant (targets, usually +-1): the op row declares it const_in,
 * so the graph never counts this node as a writer of y's gradient, and a y that has one from
 * another consumer gets exactly that consumer's gradient.
 *
 * Gradient convention (graph.c): backward writes da and db, overwriting when node.acc[i] == 0
 * and adding when 1. dL is the gradient of the loss scalar, i.e. its weight: register the loss
 * with vkd_graph_loss(g, L, slot) to read the weight from a step-parameter slot.
 *
 * The node: in[0] a, in[1] b, in[2] y or -1; out[0] L (1, OUTPUT, differentiable), out[1]
 * per-chunk partial sums (chunks, ACT). attr: struct vkd_hinge_params (shaders/hinge.h).
 * Vulkan: hinge_fwd (a workgroup per chunk) + hinge_sum (one workgroup, fixed order: the same
 * bits every run, no atomics) and hinge_bwd (elementwise).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

static double term(const struct vkd_hinge_params *p, const double *a, const double *b,
                   const double *y, uint32_t j)
{
    return p->margin - (y ? y[j] : 1.0) * (a[j] - b[j]);
}

/* partials[k] = sum over chunk k of max(0, t); *loss = scale * sum of all. A NaN t is kept (a
 * NaN loss, as the shaders). y may be NULL. */
static void ref_hinge_fwd(const struct vkd_hinge_params *p, const double *a, const double *b,
                          const double *y, double *partials, double *loss)
{
    double total = 0;
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t j0 = k * VKD_HINGE_CHUNK, j1 = j0 + VKD_HINGE_CHUNK;
        double s = 0;
        for (uint32_t j = j0; j < j1 && j < p->count; j++) {
            double t = term(p, a, b, y, j);
            s += t > 0 || isnan(t) ? t : 0;
        }
        partials[k] = s;
        total += s;
    }
    *loss = p->scale * total;
}

/* da (+)= -scale y dl [t >= 0] and db (+)= -(the same), each when not NULL. */
static void ref_hinge_bwd(const struct vkd_hinge_params *p, const double *a, const double *b,
                          const double *y, double dl, double *da, double *db)
{
    for (uint32_t j = 0; j < p->count; j++) {
        double g = term(p, a, b, y, j) >= 0 ? -p->scale * dl * (y ? y[j] : 1.0) : 0;
        if (da)
            vkd_ref_put(&da[j], (int)p->acc_da, g);
        if (db)
            vkd_ref_put(&db[j], (int)p->acc_db, -g);
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void hinge_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_hinge_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                  vkd_ref_t(e, n->in[2]), vkd_ref_t(e, n->out[1]), vkd_ref_t(e, n->out[0]));
}

static void hinge_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_hinge_params p = *(const struct vkd_hinge_params *)n->attr;
    double *da = vkd_ref_g(e, n->in[0]), *db = vkd_ref_g(e, n->in[1]);
    if (!da && !db)
        return;
    p.acc_da = n->acc[0];
    p.acc_db = n->acc[1];
    ref_hinge_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]), vkd_ref_t(e, n->in[2]),
                  vkd_ref_g(e, n->out[0])[0], da, db);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void hinge_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_hinge_params *p = (const void *)n->attr;
    struct vkd_view a = vkd_rec_t(r, n->in[0]), part = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[4] = {a, vkd_rec_t(r, n->in[1]), n->in[2] >= 0 ? vkd_rec_t(r, n->in[2]) : a,
                            part};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->chunks, 1, &gx, &gy); /* one workgroup per chunk */
    vkd_rec_dispatch(r, VKD_K_HINGE_FWD, v, 4, p, sizeof(*p), gx, gy, 1);
    struct vkd_view s[2] = {part, vkd_rec_t(r, n->out[0])};
    vkd_rec_dispatch(r, VKD_K_HINGE_SUM, s, 2, p, sizeof(*p), 1, 1, 1);
}

static void hinge_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_hinge_params p = *(const struct vkd_hinge_params *)n->attr;
    p.has_da = vkd_graph_tensor_at(g, n->in[0])->grad >= 0;
    p.has_db = vkd_graph_tensor_at(g, n->in[1])->grad >= 0;
    if (!p.has_da && !p.has_db)
        return;
    p.acc_da = n->acc[0];
    p.acc_db = n->acc[1];
    struct vkd_view a = vkd_rec_t(r, n->in[0]);
    struct vkd_view da = p.has_da ? vkd_rec_g(r, n->in[0]) : vkd_rec_g(r, n->in[1]);
    struct vkd_view db = p.has_db ? vkd_rec_g(r, n->in[1]) : da;
    struct vkd_view v[6] = {a,
                            vkd_rec_t(r, n->in[1]),
                            n->in[2] >= 0 ? vkd_rec_t(r, n->in[2]) : a,
                            vkd_rec_g(r, n->out[0]),
                            da,
                            db};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p.count, vkd_rec_wg(r), &gx, &gy);
    vkd_rec_dispatch(r, VKD_K_HINGE_BWD, v, 6, &p, sizeof(p), gx, gy, 1);
}

/* y (in[2]) holds the targets: never given a gradient (const_in, see the top). */
static const struct vkd_op op_hinge = {"margin_ranking", 1,        hinge_ref,   hinge_ref_bwd,
                                       hinge_vk,         hinge_vk_bwd, 1u << 2};

/* ---- builder -------------------------------------------------------------------------------- */

int vkd_margin_ranking(struct vkd_graph *g, const char *name, int a, int b, int y, float margin,
                       float scale)
{
    const struct vkd_tensor *ta = vkd_graph_tensor_at(g, a), *tb = vkd_graph_tensor_at(g, b);
    size_t count = vkd_tensor_numel(ta);
    VKD_ASSERT(a != b); /* the graph cannot give one input two gradients: copy it first */
    VKD_ASSERT(ta->dtype == VKD_F32 && tb->dtype == VKD_F32 && vkd_tensor_numel(tb) == count);
    if (y >= 0) {
        const struct vkd_tensor *ty = vkd_graph_tensor_at(g, y);
        VKD_ASSERT(ty->dtype == VKD_F32 && vkd_tensor_numel(ty) == count);
    }
    VKD_ASSERT(count < ((size_t)1 << 32) - VKD_HINGE_CHUNK); /* 32-bit indices in the shaders */
    struct vkd_hinge_params p = {
        .count = (uint32_t)count,
        .chunks = vkd_div_up(count, VKD_HINGE_CHUNK),
        .has_y = y >= 0,
        .margin = margin,
        .scale = scale,
    };
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_tensor(g, name, VKD_T_OUTPUT, VKD_F32, 1, 1, 1, 1);
    snprintf(buf, sizeof(buf), "%.*s.partials", VKD_NAME_LEN - 10, name);
    out[1] = vkd_graph_act(g, buf, (int)p.chunks, 1, 1, 1);
    int in[3] = {a, b, y};
    vkd_graph_add_node(g, &op_hinge, name, in, 3, out, 2, &p, sizeof(p));
    return out[0];
}
