/*
 * sqdiff.c - the squared-difference family: the weighted sum of squared differences that
 * feature-distillation losses end in (ICKD's Gram MSE, LKD, LAKD, CORSD, SAKD; methods.md
 * section 6):
 *   L = scale * sum_i w_i (a_i - b_i)^2        (w_i = 1 without a weight tensor)
 *   dL/da_i = 2 scale w_i (a_i - b_i),  dL/db_i = -dL/da_i
 * over all elements of a and b (same element count; shapes may differ, as a flat view). b is
 * usually the teacher's (a constant: no gradient), but gets its gradient when it has one. w is a
 * constant (a mask or per-element weight): the op row declares it const_in, so the graph never
 * counts this node as a writer of w's gradient, and a w that has one from another consumer gets
 * exactly that consumer's gradient.
 *
 * Gradient convention (graph.c): backward writes da and db, overwriting when node.acc[i] == 0
 * and adding when 1. dL is the gradient of the loss scalar, i.e. its weight: register the loss
 * with vkd_graph_loss(g, L, slot) and the weight lives in step-parameter slot `slot`, so a
 * method's beta can change between steps without re-recording (as softmax_kd).
 *
 * The node: in[0] a, in[1] b, in[2] w or -1; out[0] L (1, OUTPUT, differentiable), out[1]
 * per-chunk partial sums (chunks, ACT). attr: struct vkd_sqdiff_params (shaders/sqdiff.h).
 * Vulkan: sqdiff_fwd (a workgroup per chunk) + sqdiff_sum (one workgroup, fixed order: the same
 * bits every run) and sqdiff_bwd (elementwise).
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* partials[k] = sum over chunk k of w (a - b)^2; *loss = scale * sum of all. w may be NULL. */
static void ref_sqdiff_fwd(const struct vkd_sqdiff_params *p, const double *a, const double *b,
                           const double *w, double *partials, double *loss)
{
    double total = 0;
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t j0 = k * VKD_SQDIFF_CHUNK, j1 = j0 + VKD_SQDIFF_CHUNK;
        double s = 0;
        for (uint32_t j = j0; j < j1 && j < p->count; j++) {
            double d = a[j] - b[j];
            s += (w ? w[j] : 1.0) * d * d;
        }
        partials[k] = s;
        total += s;
    }
    *loss = p->scale * total;
}

/* da (+)= 2 scale w (a - b) dl and db (+)= -(the same), each when not NULL. */
static void ref_sqdiff_bwd(const struct vkd_sqdiff_params *p, const double *a, const double *b,
                           const double *w, double dl, double *da, double *db)
{
    for (uint32_t j = 0; j < p->count; j++) {
        double g = 2.0 * p->scale * dl * (a[j] - b[j]) * (w ? w[j] : 1.0);
        if (da)
            vkd_ref_put(&da[j], (int)p->acc_da, g);
        if (db)
            vkd_ref_put(&db[j], (int)p->acc_db, -g);
    }
}

/* ---- node glue: CPU ------------------------------------------------------------------------- */

static void sqdiff_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    ref_sqdiff_fwd((const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
                   vkd_ref_t(e, n->in[2]), vkd_ref_t(e, n->out[1]), vkd_ref_t(e, n->out[0]));
}

static void sqdiff_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    struct vkd_sqdiff_params p = *(const struct vkd_sqdiff_params *)n->attr;
    double *da = vkd_ref_g(e, n->in[0]), *db = vkd_ref_g(e, n->in[1]);
    if (!da && !db)
        return;
    p.acc_da = n->acc[0];
    p.acc_db = n->acc[1];
    ref_sqdiff_bwd(&p, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]), vkd_ref_t(e, n->in[2]),
                   vkd_ref_g(e, n->out[0])[0], da, db);
}

/* ---- node glue: Vulkan ---------------------------------------------------------------------- */

static void sqdiff_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_sqdiff_params *p = (const void *)n->attr;
    struct vkd_view a = vkd_rec_t(r, n->in[0]), part = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[4] = {a, vkd_rec_t(r, n->in[1]), n->in[2] >= 0 ? vkd_rec_t(r, n->in[2]) : a,
                            part};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->chunks, 1, &gx, &gy); /* one workgroup per chunk */
    vkd_rec_dispatch(r, VKD_K_SQDIFF_FWD, v, 4, p, sizeof(*p), gx, gy, 1);
    struct vkd_view s[2] = {part, vkd_rec_t(r, n->out[0])};
    vkd_rec_dispatch(r, VKD_K_SQDIFF_SUM, s, 2, p, sizeof(*p), 1, 1, 1);
}

static void sqdiff_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_sqdiff_params p = *(const struct vkd_sqdiff_params *)n->attr;
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
    vkd_rec_dispatch(r, VKD_K_SQDIFF_BWD, v, 6, &p, sizeof(p), gx, gy, 1);
}

/* w (in[2]) is a constant: never given a gradient (const_in, see the top). */
static const struct vkd_op op_sqdiff = {"sqdiff",  1, sqdiff_ref, sqdiff_ref_bwd, sqdiff_vk,
                                        sqdiff_vk_bwd, 1u << 2};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_sqdiff(struct vkd_graph *g, const char *name, int a, int b, int w, float scale)
{
    const struct vkd_tensor *ta = vkd_graph_tensor_at(g, a), *tb = vkd_graph_tensor_at(g, b);
    size_t count = vkd_tensor_numel(ta);
    VKD_ASSERT(a != b); /* the graph cannot give one input two gradients: copy it first */
    VKD_ASSERT(ta->dtype == VKD_F32 && tb->dtype == VKD_F32 && vkd_tensor_numel(tb) == count);
    if (w >= 0) {
        const struct vkd_tensor *tw = vkd_graph_tensor_at(g, w);
        VKD_ASSERT(tw->dtype == VKD_F32 && vkd_tensor_numel(tw) == count);
    }
    VKD_ASSERT(count < ((size_t)1 << 32) - VKD_SQDIFF_CHUNK); /* 32-bit indices in the shaders */
    struct vkd_sqdiff_params p = {
        .count = (uint32_t)count,
        .chunks = vkd_div_up(count, VKD_SQDIFF_CHUNK),
        .has_w = w >= 0,
        .scale = scale,
    };
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_tensor(g, name, VKD_T_OUTPUT, VKD_F32, 1, 1, 1, 1);
    snprintf(buf, sizeof(buf), "%.*s.partials", VKD_NAME_LEN - 10, name);
    out[1] = vkd_graph_act(g, buf, (int)p.chunks, 1, 1, 1);
    int in[3] = {a, b, w};
    vkd_graph_add_node(g, &op_sqdiff, name, in, 3, out, 2, &p, sizeof(p));
    return out[0];
}
