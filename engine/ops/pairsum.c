/*
 * pairsum.c - the glue the elementwise pair losses share (sqdiff.c, hinge.c): a scalar
 *   L = scale * sum_i f(a_i, b_i, c_i)     over all elements of a and b (c_i = 1 without c)
 * reduced in chunks of VKD_PAIRSUM_CHUNK (shaders/pairsum.h): a forward pass of per-chunk
 * partial sums (the family's <stem>_fwd, a workgroup per chunk), then one sum pass
 * (pairsum_sum, one workgroup, fixed order: the same bits every run, no atomics), and an
 * elementwise backward (<stem>_bwd) writing
 *   da_i = dL/da_i,  db_i = -da_i           (f depends on a - b only)
 * each when that input has a gradient. c is a constant (weights, targets): the families declare
 * it const_in, so it gets no gradient from this node, only from its other consumers.
 * A family gives f and its gradient as plain functions of one element (the CPU reference, the
 * specification) and its two shaders; the rest is here, in one place.
 *
 * Gradient convention (graph.c): backward writes da and db, overwriting when node.acc[i] == 0
 * and adding when 1. dL is the gradient of the loss scalar, i.e. its weight: register the loss
 * with vkd_graph_loss(g, L, slot) to read it from a step-parameter slot.
 *
 * The node: in[0] a, in[1] b, in[2] c or -1; out[0] L (1, OUTPUT, differentiable), out[1]
 * per-chunk partial sums (chunks, ACT). attr: struct vkd_pairsum_params.
 */
#include <math.h>
#include <stdio.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference ------------------------------------------------------------------------- */

/* partials[k] = sum over chunk k of f; *loss = scale * sum of all. */
static void ref_fwd(const struct vkd_pairsum_family *f, const struct vkd_pairsum_params *p,
                    const double *a, const double *b, const double *c, double *partials,
                    double *loss)
{
    double total = 0;
    for (uint32_t k = 0; k < p->chunks; k++) {
        uint32_t j0 = k * VKD_PAIRSUM_CHUNK, j1 = j0 + VKD_PAIRSUM_CHUNK;
        double s = 0;
        for (uint32_t j = j0; j < j1 && j < p->count; j++)
            s += f->term(p, a[j], b[j], c ? c[j] : 1.0);
        partials[k] = s;
        total += s;
    }
    *loss = p->scale * total;
}

void vkd_pairsum_ref_fwd(const struct vkd_pairsum_family *f, struct vkd_ref *e,
                         const struct vkd_node *n)
{
    ref_fwd(f, (const void *)n->attr, vkd_ref_t(e, n->in[0]), vkd_ref_t(e, n->in[1]),
            vkd_ref_t(e, n->in[2]), vkd_ref_t(e, n->out[1]), vkd_ref_t(e, n->out[0]));
}

/* da (+)= dL/da and db (+)= -(the same), each when that input has a gradient. */
void vkd_pairsum_ref_bwd(const struct vkd_pairsum_family *f, struct vkd_ref *e,
                         const struct vkd_node *n)
{
    const struct vkd_pairsum_params *p = (const void *)n->attr;
    const double *a = vkd_ref_t(e, n->in[0]), *b = vkd_ref_t(e, n->in[1]);
    const double *c = vkd_ref_t(e, n->in[2]);
    double *da = vkd_ref_g(e, n->in[0]), *db = vkd_ref_g(e, n->in[1]);
    double dl = vkd_ref_g(e, n->out[0])[0];
    for (uint32_t j = 0; j < p->count && (da || db); j++) {
        double g = f->grad(p, a[j], b[j], c ? c[j] : 1.0, dl);
        if (da)
            vkd_ref_put(&da[j], n->acc[0], g);
        if (db)
            vkd_ref_put(&db[j], n->acc[1], -g);
    }
}

/* ---- Vulkan ---------------------------------------------------------------------------------- */

void vkd_pairsum_vk_fwd(const struct vkd_pairsum_family *f, struct vkd_rec *r,
                        const struct vkd_node *n)
{
    const struct vkd_pairsum_params *p = (const void *)n->attr;
    struct vkd_view a = vkd_rec_t(r, n->in[0]), part = vkd_rec_t(r, n->out[1]);
    struct vkd_view v[4] = {a, vkd_rec_t(r, n->in[1]), n->in[2] >= 0 ? vkd_rec_t(r, n->in[2]) : a,
                            part};
    uint32_t gx, gy;
    vkd_rec_groups_1d(r, p->chunks, 1, &gx, &gy); /* one workgroup per chunk */
    vkd_rec_dispatch(r, f->fwd, v, 4, p, sizeof(*p), gx, gy, 1);
    struct vkd_view s[2] = {part, vkd_rec_t(r, n->out[0])};
    vkd_rec_dispatch(r, VKD_K_PAIRSUM_SUM, s, 2, p, sizeof(*p), 1, 1, 1);
}

void vkd_pairsum_vk_bwd(const struct vkd_pairsum_family *f, struct vkd_rec *r,
                        const struct vkd_node *n)
{
    const struct vkd_graph *g = vkd_rec_graph(r);
    struct vkd_pairsum_params p = *(const struct vkd_pairsum_params *)n->attr;
    p.has_da = vkd_graph_tensor_at(g, n->in[0])->grad >= 0;
    p.has_db = vkd_graph_tensor_at(g, n->in[1])->grad >= 0;
    if (!p.has_da && !p.has_db)
        return;
    p.acc_da = n->acc[0];
    p.acc_db = n->acc[1];
    struct vkd_view a = vkd_rec_t(r, n->in[0]);
    /* an absent gradient is bound to the present one; the shader never writes it */
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
    vkd_rec_dispatch(r, f->bwd, v, 6, &p, sizeof(p), gx, gy, 1);
}

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_pairsum_node(struct vkd_graph *g, const struct vkd_op *op, const char *name, int a, int b,
                     int c, struct vkd_pairsum_params p)
{
    const struct vkd_tensor *ta = vkd_graph_tensor_at(g, a), *tb = vkd_graph_tensor_at(g, b);
    size_t count = vkd_tensor_numel(ta);
    VKD_ASSERT(op->const_in == 1u << 2); /* c never gets a gradient from this node */
    VKD_ASSERT(a != b); /* the graph cannot give one input two gradients: copy it first */
    VKD_ASSERT(ta->dtype == VKD_F32 && tb->dtype == VKD_F32 && vkd_tensor_numel(tb) == count);
    if (c >= 0) {
        const struct vkd_tensor *tc = vkd_graph_tensor_at(g, c);
        VKD_ASSERT(tc->dtype == VKD_F32 && vkd_tensor_numel(tc) == count);
    }
    VKD_ASSERT(count < ((size_t)1 << 32) - VKD_PAIRSUM_CHUNK); /* 32-bit indices in the shaders */
    p.count = (uint32_t)count;
    p.chunks = vkd_div_up(count, VKD_PAIRSUM_CHUNK);
    p.has_c = c >= 0;
    char buf[VKD_NAME_LEN];
    int out[2];
    out[0] = vkd_graph_tensor(g, name, VKD_T_OUTPUT, VKD_F32, 1, 1, 1, 1);
    snprintf(buf, sizeof(buf), "%.*s.partials", VKD_NAME_LEN - 10, name);
    out[1] = vkd_graph_act(g, buf, (int)p.chunks, 1, 1, 1);
    int in[3] = {a, b, c};
    vkd_graph_add_node(g, op, name, in, 3, out, 2, &p, sizeof(p));
    return out[0];
}
