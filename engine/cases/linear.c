/*
 * linear.c - op-check cases of the linear family (engine/ops/linear.c): y = x w^T + b with and
 * without bias, x with and without a gradient, a frozen w (only db wanted), x given as a 4-D
 * feature map, sizes that are 1, primes, and no multiple of the 64 x 64 GEMM tile or its 16-deep
 * K slice, and the classifier heads of the CIFAR zoo.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

enum { A_N, A_C, A_H, A_W, A_OUT, A_BIAS, A_XGRAD, A_FROZEN };

/* a: x (n, c, h, w), out features, bias?, x requires grad?, w frozen (STATE, no gradient)? */
static struct vkd_check *linear_case(const int *a)
{
    int n = a[A_N], in = a[A_C] * a[A_H] * a[A_W], out = a[A_OUT];
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d x%dx%dx%d out%d%s%s%s", n, a[A_C], a[A_H], a[A_W], out,
             a[A_BIAS] ? " b" : "", a[A_XGRAD] ? " dx" : "", a[A_FROZEN] ? " frozen-w" : "");
    struct vkd_check *c = vkd_check_create("linear", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, n, a[A_C], a[A_H], a[A_W]);
    if (a[A_XGRAD])
        vkd_graph_set_requires_grad(g, x);
    int w = a[A_FROZEN] ? vkd_graph_tensor(g, "w", VKD_T_STATE, VKD_F32, out, in, 1, 1)
                        : vkd_graph_param(g, "w", out, in, 1, 1);
    int b = a[A_BIAS] ? vkd_graph_param(g, "b", out, 1, 1, 1) : -1;
    int y = vkd_linear(g, "y", x, w, b);
    vkd_check_seed(c, y);
    /* Reduction lengths: y sums in products (plus the bias), dx sums over the out features,
     * dw and db over the batch. */
    vkd_check_k(c, y, in + (b >= 0));
    vkd_check_k(c, x, out);
    vkd_check_k(c, w, n);
    if (b >= 0)
        vkd_check_k(c, b, n);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

/* a: n, in, out. Two linear nodes sharing x, w and b (a weight-tied pair of heads): backward
 * reaches each gradient twice, so the second pass accumulates (node.acc) into dx, dw and db. */
static struct vkd_check *shared_case(const int *a)
{
    int n = a[0], in = a[1], out = a[2];
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d in%d out%d b dx x2", n, in, out);
    struct vkd_check *c = vkd_check_create("linear", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, n, in, 1, 1);
    vkd_graph_set_requires_grad(g, x);
    int w = vkd_graph_param(g, "w", out, in, 1, 1);
    int b = vkd_graph_param(g, "b", out, 1, 1, 1);
    int y0 = vkd_linear(g, "y0", x, w, b);
    int y1 = vkd_linear(g, "y1", x, w, b);
    vkd_check_seed(c, y0);
    vkd_check_seed(c, y1);
    vkd_check_k(c, y0, in + 1);
    vkd_check_k(c, y1, in + 1);
    /* each gradient is the sum of both nodes' reductions */
    vkd_check_k(c, x, 2 * out);
    vkd_check_k(c, w, 2 * n);
    vkd_check_k(c, b, 2 * n);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    /* corners: one of everything */
    {"n1 in1 out1 b", 0, linear_case, {1, 1, 1, 1, 1, 1, 1, 0}},
    {"n1 in1 out1", 0, linear_case, {1, 1, 1, 1, 1, 0, 1, 0}},
    /* primes; the first three are the validate set (fwd, bwd data, bwd weight + bias) */
    {"n3 in37 out11 b", 1, linear_case, {3, 37, 1, 1, 11, 1, 1, 0}},
    {"n3 in37 out11", 0, linear_case, {3, 37, 1, 1, 11, 0, 0, 0}},
    /* x as a (N, C, H, W) feature map, flattened in NCHW order */
    {"n5 x3x7x5 out13 b", 1, linear_case, {5, 3, 7, 5, 13, 1, 1, 0}},
    /* frozen w: only db from the weight pass (its bias column alone); and only dx */
    {"n7 in19 out23 b frozen-w", 1, linear_case, {7, 19, 1, 1, 23, 1, 0, 1}},
    {"n7 in19 out23 frozen-w", 0, linear_case, {7, 19, 1, 1, 23, 0, 1, 1}},
    /* no multiple of the tile in any dimension; in 63 + bias column = one full tile */
    {"n67 in131 out73 b", 0, linear_case, {67, 131, 1, 1, 73, 1, 1, 0}},
    {"n2 in63 out5 b", 0, linear_case, {2, 63, 1, 1, 5, 1, 1, 0}},
    {"n131 in67 out97", 0, linear_case, {131, 67, 1, 1, 97, 0, 0, 0}},
    /* gradient accumulation into dx, dw and db */
    {"n5 in17 out7 b dx x2", 1, shared_case, {5, 17, 7}},
    {"n67 in70 out66 b dx x2", 0, shared_case, {67, 70, 66}},
    /* CIFAR zoo heads: ResNet-20/32/56 (64), ResNet-8x4/WRN (256), MobileNetV2 (1280) */
    {"n64 in64 out100 b", 0, linear_case, {64, 64, 1, 1, 100, 1, 1, 0}},
    {"n128 in256 out100 b", 0, linear_case, {128, 256, 1, 1, 100, 1, 1, 0}},
    {"n64 in1280 out100 b", 0, linear_case, {64, 1280, 1, 1, 100, 1, 1, 0}},
};

const struct vkd_case_family vkd_cases_linear = {"linear", cases, sizeof(cases) / sizeof(cases[0])};
