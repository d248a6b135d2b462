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
 * An elementwise pair loss (engine/ops/pairsum.c holds the glue: the chunked forward, the sum
 * pass, the backward, the node; c there is w here): this file is f and its gradient, the
 * specification, and the op row. Gradient convention as pairsum.c (acc per input; dL is the
 * loss's weight, a step-parameter slot when registered with one, so a method's beta can change
 * between steps without re-recording).
 *
 * The node: in[0] a, in[1] b, in[2] w or -1; out[0] L (1, OUTPUT, differentiable), out[1]
 * per-chunk partial sums (chunks, ACT). attr: struct vkd_pairsum_params (shaders/pairsum.h).
 * Vulkan: sqdiff_fwd (a workgroup per chunk) + pairsum_sum, and sqdiff_bwd (elementwise).
 */
#include "internal.h"
#include "vkd_ops.h"

/* ---- CPU reference (the specification) ----------------------------------------------------- */

/* One element's term w (a - b)^2. */
static double sqdiff_term(const struct vkd_pairsum_params *p, double a, double b, double w)
{
    double d = a - b;
    return w * d * d;
}

/* dL/da of one element, 2 scale w (a - b) dl (dL/db is its negative). */
static double sqdiff_grad(const struct vkd_pairsum_params *p, double a, double b, double w,
                          double dl)
{
    return 2.0 * p->scale * dl * (a - b) * w;
}

/* ---- node glue ------------------------------------------------------------------------------ */

static const struct vkd_pairsum_family sqdiff = {sqdiff_term, sqdiff_grad, VKD_K_SQDIFF_FWD,
                                                 VKD_K_SQDIFF_BWD};

static void sqdiff_ref(struct vkd_ref *e, const struct vkd_node *n)
{
    vkd_pairsum_ref_fwd(&sqdiff, e, n);
}

static void sqdiff_ref_bwd(struct vkd_ref *e, const struct vkd_node *n)
{
    vkd_pairsum_ref_bwd(&sqdiff, e, n);
}

static void sqdiff_vk(struct vkd_rec *r, const struct vkd_node *n)
{
    vkd_pairsum_vk_fwd(&sqdiff, r, n);
}

static void sqdiff_vk_bwd(struct vkd_rec *r, const struct vkd_node *n)
{
    vkd_pairsum_vk_bwd(&sqdiff, r, n);
}

/* w (in[2]) is a constant: never given a gradient (const_in, see the top). */
static const struct vkd_op op_sqdiff = {
    "sqdiff", 1, sqdiff_ref, sqdiff_ref_bwd, sqdiff_vk, sqdiff_vk_bwd, 1u << 2};

/* ---- builder --------------------------------------------------------------------------------- */

int vkd_sqdiff(struct vkd_graph *g, const char *name, int a, int b, int w, float scale)
{
    struct vkd_pairsum_params p = {.scale = scale};
    return vkd_pairsum_node(g, &op_sqdiff, name, a, b, w, p);
}
