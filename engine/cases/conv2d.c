/*
 * conv2d.c - op-check cases of the conv2d family (engine/ops/conv2d.c): 1x1, 3x3, 5x5 and 7x7
 * filters, strides 1-3, with and without padding and bias, grouped and depthwise, batch 1,
 * prime sizes that are no multiple of any tile, GEMMs whose row counts pick each tile height
 * (16, 32, 64) with partial tiles, two CIFAR-ResNet layers, and gradients that accumulate. The
 * gradient of x is checked except in first-layer cases, where x (the image) needs none.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

/* a: n c h w  k r s  stride pad groups  bias x_grad */
static struct vkd_check *conv_case(const int *a)
{
    int n = a[0], c = a[1], h = a[2], w = a[3], k = a[4], r = a[5], s = a[6];
    int stride = a[7], pad = a[8], groups = a[9], bias = a[10], x_grad = a[11];
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d c%d h%d w%d k%d %dx%d st%d p%d g%d%s%s", n, c, h, w, k, r,
             s, stride, pad, groups, bias ? " b" : "", x_grad ? "" : " nodx");
    struct vkd_check *chk = vkd_check_create("conv2d", shape);
    if (!chk)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(chk);
    int x = vkd_graph_input(g, "x", VKD_F32, n, c, h, w);
    if (x_grad)
        vkd_graph_set_requires_grad(g, x);
    int wt = vkd_graph_param(g, "w", k, c / groups, r, s);
    int b = bias ? vkd_graph_param(g, "b", k, 1, 1, 1) : -1;
    int y = vkd_conv2d(g, "y", x, wt, b, stride, pad, groups);
    vkd_check_seed(chk, y);

    /* Reduction lengths: an output sums (c/groups) r s products (+ the bias); an input element
     * gathers at most (k/groups) r s (fewer with stride > 1); a weight or bias gradient sums
     * over every output position n p q. */
    const struct vkd_tensor *ty = vkd_graph_tensor_at(g, y);
    double npq = (double)ty->n * ty->h * ty->w;
    vkd_check_k(chk, y, (double)(c / groups) * r * s + bias);
    vkd_check_k(chk, x, (double)(k / groups) * r * s);
    vkd_check_k(chk, wt, npq);
    if (b >= 0)
        vkd_check_k(chk, b, npq);
    if (vkd_check_finalize(chk) != VKD_OK) {
        vkd_check_destroy(chk);
        return NULL;
    }
    return chk;
}

/* x, w and b feed two convolutions (strides 1 and 2): the second backward to reach each of them
 * adds to its gradient (node.acc) instead of overwriting it.
 * a: n c h w  k r s  pad groups */
static struct vkd_check *fanout_case(const int *a)
{
    int n = a[0], c = a[1], h = a[2], w = a[3], k = a[4], r = a[5], s = a[6];
    int pad = a[7], groups = a[8];
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d c%d h%d w%d k%d %dx%d p%d g%d st1+st2", n, c, h, w, k, r, s,
             pad, groups);
    struct vkd_check *chk = vkd_check_create("conv2d fan-out", shape);
    if (!chk)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(chk);
    int x = vkd_graph_input(g, "x", VKD_F32, n, c, h, w);
    vkd_graph_set_requires_grad(g, x);
    int wt = vkd_graph_param(g, "w", k, c / groups, r, s);
    int b = vkd_graph_param(g, "b", k, 1, 1, 1);
    int y1 = vkd_conv2d(g, "y1", x, wt, b, 1, pad, groups);
    int y2 = vkd_conv2d(g, "y2", x, wt, b, 2, pad, groups);
    vkd_check_seed(chk, y1);
    vkd_check_seed(chk, y2);
    /* As conv_case, with the weight and bias gradients summed over both outputs' positions. */
    const struct vkd_tensor *t1 = vkd_graph_tensor_at(g, y1), *t2 = vkd_graph_tensor_at(g, y2);
    double npq = (double)t1->n * t1->h * t1->w + (double)t2->n * t2->h * t2->w;
    vkd_check_k(chk, y1, (double)(c / groups) * r * s + 1);
    vkd_check_k(chk, y2, (double)(c / groups) * r * s + 1);
    vkd_check_k(chk, x, 2.0 * (k / groups) * r * s);
    vkd_check_k(chk, wt, npq);
    vkd_check_k(chk, b, npq);
    if (vkd_check_finalize(chk) != VKD_OK) {
        vkd_check_destroy(chk);
        return NULL;
    }
    return chk;
}

/* A frozen filter (STATE, as a teacher's) in front of a gradient that must reach x: only the
 * input gradient runs and the node has no backward-weight workspace.
 * a: n c h w  k r s  stride pad groups */
static struct vkd_check *frozen_case(const int *a)
{
    int n = a[0], c = a[1], h = a[2], w = a[3], k = a[4], r = a[5], s = a[6];
    int stride = a[7], pad = a[8], groups = a[9];
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d c%d h%d w%d k%d %dx%d st%d p%d g%d", n, c, h, w, k, r, s,
             stride, pad, groups);
    struct vkd_check *chk = vkd_check_create("conv2d frozen w", shape);
    if (!chk)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(chk);
    int x = vkd_graph_input(g, "x", VKD_F32, n, c, h, w);
    vkd_graph_set_requires_grad(g, x);
    int wt = vkd_graph_tensor(g, "w", VKD_T_STATE, VKD_F32, k, c / groups, r, s);
    int y = vkd_conv2d(g, "y", x, wt, -1, stride, pad, groups);
    vkd_check_seed(chk, y);
    vkd_check_k(chk, y, (double)(c / groups) * r * s);
    vkd_check_k(chk, x, (double)(k / groups) * r * s);
    if (vkd_check_finalize(chk) != VKD_OK) {
        vkd_check_destroy(chk);
        return NULL;
    }
    return chk;
}

/* One aligned row per case. */
/* clang-format off */
#define CASE(label, validate, ...) {label, validate, conv_case, {__VA_ARGS__}}

static const struct vkd_case cases[] = {
    /*    label                              v   n   c   h   w    k  r  s st  p  g  b dx */
    CASE("1x1 st1 b",                        1,  2,  5,  7,  7,   7, 1, 1, 1, 0, 1, 1, 1),
    CASE("1x1 st2 (projection shortcut)",    0,  3,  8,  9,  9,  16, 1, 1, 2, 0, 1, 0, 1),
    CASE("3x3 st1 p1 b",                     1,  3,  5, 11, 11,   7, 3, 3, 1, 1, 1, 1, 1),
    CASE("3x3 st2 p1",                       1,  3,  5, 13, 13,  11, 3, 3, 2, 1, 1, 0, 1),
    CASE("3x3 st3 p1 b",                     0,  2,  4, 10, 10,   5, 3, 3, 3, 1, 1, 1, 1),
    CASE("3x3 st1 no pad b",                 0,  2,  4,  7,  7,   3, 3, 3, 1, 0, 1, 1, 1),
    CASE("5x5 st1 p2 non-square x",          0,  2,  3,  9,  7,   4, 5, 5, 1, 2, 1, 0, 1),
    CASE("7x7 st2 p3 b first layer",         0,  2,  3, 13, 13,   5, 7, 7, 2, 3, 1, 1, 0),
    CASE("5x5 st2 p2 (pad >= stride)",       0,  2,  3,  9,  8,   4, 5, 5, 2, 2, 1, 0, 1),
    CASE("3x3 st2 p1 on 2x3",                0,  2,  3,  2,  3,   5, 3, 3, 2, 1, 1, 1, 1),
    CASE("1x3 st1 p1",                       0,  2,  3,  5,  6,   4, 1, 3, 1, 1, 1, 0, 1),
    CASE("2x2 st1 p1 b (window of 3 taps)",  0,  2,  3,  6,  9,   5, 2, 2, 1, 1, 1, 1, 1),
    CASE("7x7 st1 p3 b",                     0,  2,  3, 10, 11,  18, 7, 7, 1, 3, 1, 1, 1),
    CASE("3x3 groups 2",                     0,  2,  6,  7,  7,   4, 3, 3, 1, 1, 2, 0, 1),
    CASE("3x3 st2 groups 3 b",               1,  3,  9, 11, 11,   6, 3, 3, 2, 1, 3, 1, 1),
    CASE("3x3 groups=c, k=2c",               0,  2,  3,  7,  7,   6, 3, 3, 1, 1, 3, 1, 1),
    CASE("depthwise 3x3 st1 p1 b",           1,  2,  5,  9,  9,   5, 3, 3, 1, 1, 5, 1, 1),
    CASE("depthwise 3x3 st2 p1",             0,  3,  7, 11, 11,   7, 3, 3, 2, 1, 7, 0, 1),
    CASE("depthwise 5x5 p2 b first layer",   0,  1,  4, 13, 13,   4, 5, 5, 1, 2, 4, 1, 0),
    CASE("batch 1",                          0,  1,  3,  5,  5,   2, 3, 3, 1, 1, 1, 1, 1),
    CASE("1x1x1x1",                          0,  1,  1,  1,  1,   1, 1, 1, 1, 0, 1, 1, 1),
    CASE("tiles: 32 rows, partial",          0,  2, 24,  5,  5,  31, 3, 3, 2, 1, 1, 0, 1),
    CASE("tiles: 64 rows, partial",          1,  2, 33,  5,  5,  67, 3, 3, 1, 1, 1, 1, 1),
    CASE("cifar 3x3 16ch 32x32",             0,  4, 16, 32, 32,  16, 3, 3, 1, 1, 1, 0, 1),
    CASE("cifar 3x3 64->128 st2 8x8",        0,  2, 64,  8,  8, 128, 3, 3, 2, 1, 1, 0, 1),
    {"fan-out: 3x3 groups 2",                0, fanout_case, {2, 6, 7, 9, 4, 3, 3, 1, 2}},
    {"fan-out: depthwise 3x3",               0, fanout_case, {2, 5, 9, 7, 5, 3, 3, 1, 5}},
    {"frozen w: 3x3 st2",                    0, frozen_case, {2, 4, 7, 7, 6, 3, 3, 2, 1, 1}},
};
/* clang-format on */

const struct vkd_case_family vkd_cases_conv2d = {"conv2d", cases, sizeof(cases) / sizeof(cases[0])};
