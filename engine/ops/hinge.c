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
 * An elementwise pair loss (engine/ops/pairsum.c holds the glue: the chunked forward, the sum
 * pass, the backward, the node; c there is y here): this file is f and its gradient, the
 * specification, and the op row. Gradient convention as pairsum.c (acc per input; dL is the
 * loss's weight, a step-parameter slot when registered with one).
 *
 * The node: in[0] a, in[1] b, in[2] y or -1; out[0] L (1, OUTPUT, differentiable), out[1]
 * per-chunk partial sums (chunks, ACT). attr: struct vkd_pairsum_params (shaders/pairsum.h).
 * Vulkan: hinge_fwd (a workgroup per chunk) + pairsum_sum, and hinge_bwd (elementwise).
 */
#include <math.h>

#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* One element's term max(0, t), t = margin - y (a - b). A NaN t is kept (a NaN loss, as the
 * shaders). */
static double hinge_term(const struct vkd_pairsum_params *p, double a, double b, double y)
{
    double t = p->margin - y * (a - b);
    return t > 0 || isnan(t) ? t : 0;
}

/* dL/da of one element, -scale y dl [t >= 0] (dL/db is its negative). */
static double hinge_grad(const struct vkd_pairsum_params *p, double a, double b, double y,
                         double dl)
{
    return p->margin - y * (a - b) >= 0 ? -p->scale * dl * y : 0;
}

/* ---- node glue ------------------------------------------------------------------------------ */

static const struct vkd_pairsum_family hinge = {hinge_term, hinge_grad, VKD_K_HINGE_FWD,
                                                VKD_K_HINGE_BWD};

static void hinge_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    vkd_pairsum_ref_fwd(&hinge, e, n);
}

static void hinge_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    vkd_pairsum_ref_bwd(&hinge, e, n);
}

static void hinge_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    vkd_pairsum_vk_fwd(&hinge, r, n);
}

static void hinge_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    vkd_pairsum_vk_bwd(&hinge, r, n);
}

/* y (in[2]) holds the targets: never given a gradient (const_in, see the top). */
static const struct vkd_op op_hinge = {"margin_ranking", 1,      hinge_ref, hinge_ref_bwd, hinge_vk,
                                       hinge_vk_bwd,     1u << 2};

/* ---- builder -------------------------------------------------------------------------------- */

int vkd_margin_ranking(struct vkd_graph *g, const char *name, int a, int b, int y, float margin,
                       float scale)
{
    struct vkd_pairsum_params p = {.scale = scale, .margin = margin};
    return vkd_pairsum_node(g, &op_hinge, name, a, b, y, p);
}
