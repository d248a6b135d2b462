/*
 * pool.c - op-check cases of the pooling family: global average pooling (planes of 1x1 up to
 * 32x32, more elements per plane than the 64-wide workgroup) and 2x2 max pooling (odd sizes,
 * whose last row/column is ignored, batch 1, CIFAR sizes). Reduction lengths: h*w for the
 * average's forward; 1 for its backward (one division) and for max pooling (a selection).
 *
 * Adaptive average pooling (F.adaptive_avg_pool2d): oh dividing H (plain 2x2 / 4x4 means),
 * not dividing it (7 -> 3, 5 -> 2: bins overlap by one row), oh > H (2 -> 5, 3 -> 7: rows
 * repeat; supported as PyTorch does, not rejected), oh = 1 (the global mean), non-square maps
 * and outputs, batch 1 and prime plane counts, LAKD's 32x32 -> 8x8, and an input that feeds
 * another node (backward adds). Reduction lengths: the forward sums a bin's area terms and
 * divides once: K = max area + 1; the backward sums dy / area over the T bins that hold an
 * element, one division and one addition each: K = 2 T_max (+1 with the accumulate). Both are
 * computed from the bins below, the same formula PyTorch uses.
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

/* Bin i of n over a length-l axis: [*s, *e) = [floor(i l / n), ceil((i + 1) l / n)). */
static void bin(int i, int l, int n, int *s, int *e)
{
    *s = i * l / n;
    *e = ((i + 1) * l + n - 1) / n;
}

/* Largest bin length, and largest number of bins that hold one input index, of one axis. */
static void axis_counts(int l, int n, int *len, int *cover)
{
    *len = 0, *cover = 0;
    for (int r = 0; r < l; r++) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            int s, e;
            bin(i, l, n, &s, &e);
            k += s <= r && r < e;
            if (e - s > *len)
                *len = e - s;
        }
        if (k > *cover)
            *cover = k;
    }
}

/* a: n c h w oh ow fanout */
static struct vkd_check *adaptive_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d -> %dx%d%s", a[0], a[1], a[2], a[3], a[4], a[5],
             a[6] ? " acc" : "");
    struct vkd_check *c = vkd_check_create("adaptpool", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    int y = vkd_adaptive_avgpool(g, "y", x, a[4], a[5]);
    vkd_check_seed(c, y);
    if (a[6]) {
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
        vkd_check_seed(c, vkd_relu(g, "r", x));
    }
    int lh, ch, lw, cw;
    axis_counts(a[2], a[4], &lh, &ch);
    axis_counts(a[3], a[5], &lw, &cw);
    vkd_check_k(c, y, lh * lw + 1);
    vkd_check_k(c, x, 2 * ch * cw + (a[6] ? 1 : 0));
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
    {"adaptive 1x1x1x1 -> 1x1", 0, adaptive_case, {1, 1, 1, 1, 1, 1, 0}},
    {"adaptive 2x3x8x8 -> 4x4", 0, adaptive_case, {2, 3, 8, 8, 4, 4, 0}},
    {"adaptive 3x5x7x7 -> 3x3", 1, adaptive_case, {3, 5, 7, 7, 3, 3, 0}},
    {"adaptive 1x7x5x5 -> 2x2", 1, adaptive_case, {1, 7, 5, 5, 2, 2, 0}},
    {"adaptive 2x3x7x5 -> 3x2", 0, adaptive_case, {2, 3, 7, 5, 3, 2, 0}},
    {"adaptive 2x3x2x3 -> 5x7 (oh > H)", 1, adaptive_case, {2, 3, 2, 3, 5, 7, 0}},
    {"adaptive 1x2x13x11 -> 1x1", 0, adaptive_case, {1, 2, 13, 11, 1, 1, 0}},
    {"adaptive 2x11x17x19 -> 5x7 acc", 0, adaptive_case, {2, 11, 17, 19, 5, 7, 1}},
    {"adaptive 4x64x32x32 -> 8x8 (LAKD)", 1, adaptive_case, {4, 64, 32, 32, 8, 8, 0}},
};

const struct vkd_case_family vkd_cases_pool = {"pool", cases, sizeof(cases) / sizeof(cases[0])};
