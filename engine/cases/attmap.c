/*
 * attmap.c - op-check cases of the attention-map family (engine/ops/attmap.c): one element up to
 * a CIFAR stage-1 map (64 x 16 x 32 x 32: P = 1024 positions, more than the workgroup has
 * invocations), primes, with and without the normalisation, and an input that feeds another node
 * (backward adds: node.acc).
 *
 * Reduction lengths (vkd_check_k): a[j] sums C squares (terms >= 0: condition 1), so the raw map
 * has K = C. The norm sums P squares of those, and A = a / ||a|| carries both: K = C + P. The
 * backward's dot product dy . y runs over P terms of both signs; the tolerance's rms term covers
 * its cancellation, and dx inherits a's and the norm's errors through y: K = C + P (+1 for the
 * second consumer's addition).
 * The all-zero sample (the eps branch) is not a finite-difference case: a step of 1e-5 moves a
 * out of the eps ball, where the normalisation is discontinuous, as for F.normalize.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { AM_NORM = 1, AM_FANOUT = 2 };

/* a: n c h w flags */
static struct vkd_check *attmap_case(const int *a)
{
    int flags = a[4];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d%s%s", a[0], a[1], a[2], a[3],
             flags & AM_NORM ? " nrm" : "", flags & AM_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("attmap", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    if (flags & AM_FANOUT)
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
    int y = vkd_attention_map(g, "am", x, flags & AM_NORM);
    vkd_check_seed(c, y);
    if (flags & AM_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", x));
    double k = (double)a[1] + (flags & AM_NORM ? (double)a[2] * a[3] : 0);
    vkd_check_k(c, y, k);
    vkd_check_k(c, vkd_graph_find(g, "am.norm"), k);
    vkd_check_k(c, x, k + (flags & AM_FANOUT ? 1 : 0));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1 element", 0, attmap_case, {1, 1, 1, 1, AM_NORM}},
    {"2x3x5x7 raw", 1, attmap_case, {2, 3, 5, 7, 0}},
    {"3x7x5x5 nrm", 1, attmap_case, {3, 7, 5, 5, AM_NORM}},
    {"1x13x11x13 nrm (P > workgroup)", 0, attmap_case, {1, 13, 11, 13, AM_NORM}},
    {"4x16x8x8 nrm acc", 0, attmap_case, {4, 16, 8, 8, AM_NORM | AM_FANOUT}},
    {"64x16x32x32 nrm (CIFAR stage 1)", 1, attmap_case, {64, 16, 32, 32, AM_NORM}},
};

const struct vkd_case_family vkd_cases_attmap = {"attmap", cases, sizeof(cases) / sizeof(cases[0])};
