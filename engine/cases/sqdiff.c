/*
 * sqdiff.c - op-check cases of the squared-difference family (engine/ops/sqdiff.c): one element
 * up to an ICKD-sized Gram (64 x 256 x 256 = 1024 chunks, more than the sum pass has
 * invocations), chunk boundaries (4096, 4097), with and without weights, b a constant (the
 * teacher) or with its own gradient, the loss weight from a step-parameter slot, and a that feeds
 * another node (backward adds: node.acc).
 *
 * Reduction lengths (vkd_check_k): a partial sums min(count, VKD_PAIRSUM_CHUNK) terms w (a - b)^2,
 * the loss count of them. The weights are drawn in [0, 1], so every term is >= 0 and the sums
 * have condition number 1 (no cancellation): K = the number of terms. The gradients are
 * elementwise (a few roundings, no sum): K = 1; with a second consumer, one addition of two
 * gradients (any signs, the rms covers their cancellation): K = 2.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { SQ_W = 1, SQ_BGRAD = 2, SQ_SLOT = 4, SQ_FANOUT = 8 };

/* a: n c h w flags scale_numerator scale_denominator */
static struct vkd_check *sqdiff_case(const int *a)
{
    int flags = a[4];
    double scale = (double)a[5] / a[6];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d s%.3g%s%s%s%s", a[0], a[1], a[2], a[3], scale,
             flags & SQ_W ? " w" : "", flags & SQ_BGRAD ? " db" : " b const",
             flags & SQ_SLOT ? " w0.37" : "", flags & SQ_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("sqdiff", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "a", VKD_F32, a[0], a[1], a[2], a[3]);
    /* b is flat: only the element count has to match. */
    int y = vkd_graph_input(g, "b", VKD_F32, a[0] * a[1] * a[2] * a[3], 1, 1, 1);
    int w = -1;
    vkd_graph_set_requires_grad(g, x);
    if (flags & SQ_BGRAD)
        vkd_graph_set_requires_grad(g, y);
    if (flags & SQ_W) {
        w = vkd_graph_input(g, "w", VKD_F32, a[0], a[1], a[2], a[3]);
        vkd_check_uniform(c, w, 0, 1);
    }
    if (flags & SQ_FANOUT)
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
    int loss = vkd_sqdiff(g, "sq", x, y, w, (float)scale);
    if (flags & SQ_SLOT) {
        int slot = vkd_graph_alloc_slot(g);
        vkd_graph_loss(g, loss, slot);
        vkd_check_step(c, slot, 0.37);
    } else {
        vkd_graph_loss(g, loss, -1);
    }
    if (flags & SQ_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", x));
    double count = (double)a[0] * a[1] * a[2] * a[3];
    vkd_check_k(c, loss, count);
    vkd_check_k(c, vkd_graph_find(g, "sq.partials"),
                count < VKD_PAIRSUM_CHUNK ? count : VKD_PAIRSUM_CHUNK);
    vkd_check_k(c, x, flags & SQ_FANOUT ? 2 : 1);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1 element", 0, sqdiff_case, {1, 1, 1, 1, 0, 1, 1}},
    {"7x13 w", 0, sqdiff_case, {7, 13, 1, 1, SQ_W, 1, 2}},
    {"3x5x7x9 w db", 1, sqdiff_case, {3, 5, 7, 9, SQ_W | SQ_BGRAD, 1, 1}},
    {"4096 (one chunk)", 0, sqdiff_case, {1, 4096, 1, 1, SQ_BGRAD, 1, 4}},
    {"4097 (a chunk of 1)", 0, sqdiff_case, {1, 4097, 1, 1, SQ_W, 1, 1}},
    {"5x131x61 w0.37", 1, sqdiff_case, {5, 131, 61, 1, SQ_W | SQ_SLOT, 3, 1}},
    {"64x256x256 ICKD Gram /(C N)", 1, sqdiff_case, {64, 1, 256, 256, 0, 1, 256 * 64}},
    {"2x9x5x5 acc", 0, sqdiff_case, {2, 9, 5, 5, SQ_FANOUT | SQ_BGRAD, 1, 1}},
};

const struct vkd_case_family vkd_cases_sqdiff = {"sqdiff", cases, sizeof(cases) / sizeof(cases[0])};
