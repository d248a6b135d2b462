/*
 * rownorm.c - op-check cases of the row L2-normalise family (engine/ops/rownorm.c): rows of two
 * elements up to LKD's stage-3 patch rows (d = 64 channels x 2 x 2 = 256: resnet20's stage 3
 * at k = 4) and d = 1031 (a prime, eight elements per invocation and a ragged tail), row
 * counts 1, primes and more than a folded grid row, rows that are not the last dimension alone,
 * and an input that feeds another node (backward adds: node.acc).
 *
 * Reduction lengths (vkd_check_k): the norm sums L squares (terms >= 0: condition 1) and y = x / r
 * carries that sum's error as a relative error of every element: K = L. The backward's dot
 * product dy . y runs over L terms of both signs; with ||y|| = 1 its error is about u sqrt(L)
 * ||dy||, which enters dx[j] as u sqrt(L) ||dy|| |y[j]| / r, within 8 u sqrt(L) times rms(dx)
 * (about ||dy|| / (r sqrt(L)) for a dy not parallel to y, as the random seeds are): K = L, +1 for
 * the second consumer's addition.
 * The all-zero row (the eps branch) is not a finite-difference case: a step of 1e-5 moves x out
 * of the eps ball, where the normalisation is discontinuous, as for F.normalize; the hand checks
 * in tests/test_rownorm.c cover it on both executors. So do rows of one element: their exact dx
 * is 0 (y = +-1 has no tangent direction) while fp32 leaves a residual of order u |dy| / r, which
 * no tolerance relative to an all-zero reference admits; the hand check bounds it absolutely.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { RN_FANOUT = 1 };

/* a: n c h w len flags */
static struct vkd_check *rownorm_case(const int *a)
{
    int len = a[4], flags = a[5];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d L%d%s", a[0], a[1], a[2], a[3], len,
             flags & RN_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("rownorm", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    if (flags & RN_FANOUT)
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
    int y = vkd_row_normalize(g, "rn", x, len);
    vkd_check_seed(c, y);
    if (flags & RN_FANOUT)
        vkd_check_seed(c, vkd_relu(g, "r", x)); /* after the normalise: its backward adds */
    vkd_check_k(c, y, len);
    vkd_check_k(c, vkd_graph_find(g, "rn.norm"), len);
    vkd_check_k(c, x, len + (flags & RN_FANOUT ? 1 : 0));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1x1x1x2 L2", 0, rownorm_case, {1, 1, 1, 2, 2, 0}},
    {"1x3x1x7 L7", 1, rownorm_case, {1, 3, 1, 7, 7, 0}},
    {"2x3x4x5 L20 (rows over c, h, w)", 1, rownorm_case, {2, 3, 4, 5, 20, 0}},
    {"1x1x3x131 L131 (> workgroup)", 0, rownorm_case, {1, 1, 3, 131, 131, 0}},
    {"1x1x5x1031 L1031 (prime)", 0, rownorm_case, {1, 1, 5, 1031, 1031, 0}},
    {"1x67x1x64 L64 (67 rows)", 0, rownorm_case, {1, 67, 1, 64, 64, 0}},
    {"1x160x1x256 L256 (LKD stage-3 rows, n = 10)", 1, rownorm_case, {1, 160, 1, 256, 256, 0}},
    {"2x5x3x100 L100 acc", 1, rownorm_case, {2, 5, 3, 100, 100, RN_FANOUT}},
};

const struct vkd_case_family vkd_cases_rownorm = {"rownorm", cases,
                                                  sizeof(cases) / sizeof(cases[0])};
