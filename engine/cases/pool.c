/*
 * pool.c - op-check cases of the pooling family: global average pooling (planes of 1x1 up to
 * 32x32, more elements per plane than the 64-wide workgroup) and 2x2 max pooling (odd sizes,
 * whose last row/column is ignored, batch 1, CIFAR sizes). Reduction lengths: h*w for the
 * average's forward; 1 for its backward (one division) and for max pooling (a selection).
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

/* a: n c h w, max (0/1) */
static struct vkd_check *pool_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d", a[0], a[1], a[2], a[3]);
    struct vkd_check *c = vkd_check_create(a[4] ? "maxpool2x2" : "avgpool", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    int y = a[4] ? vkd_maxpool2x2(g, "y", x) : vkd_global_avgpool(g, "y", x);
    vkd_check_seed(c, y);
    vkd_check_k(c, y, a[4] ? 1 : (double)a[2] * a[3]);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"avg 1x1x1x1", 0, pool_case, {1, 1, 1, 1, 0}},
    {"avg 3x5x7x7", 1, pool_case, {3, 5, 7, 7, 0}},
    {"avg 3x11x13x17", 0, pool_case, {3, 11, 13, 17, 0}},
    {"avg 2x7x32x32", 0, pool_case, {2, 7, 32, 32, 0}},
    {"avg 64x64x8x8", 1, pool_case, {64, 64, 8, 8, 0}},
    {"max 1x1x2x2", 0, pool_case, {1, 1, 2, 2, 1}},
    {"max 1x1x3x3", 0, pool_case, {1, 1, 3, 3, 1}},
    {"max 3x5x7x9", 1, pool_case, {3, 5, 7, 9, 1}},
    {"max 2x3x32x32", 1, pool_case, {2, 3, 32, 32, 1}},
    {"max 8x64x32x32", 0, pool_case, {8, 64, 32, 32, 1}},
};

const struct vkd_case_family vkd_cases_pool = {"pool", cases, sizeof(cases) / sizeof(cases[0])};
