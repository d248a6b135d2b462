/*
 * eltwise.c - op-check cases of the elementwise family: relu, add, copy, and a fan-out graph
 * (one tensor feeding two nodes) that checks gradient accumulation (node.acc); sigmoid over
 * [-1, 1], over [-30, 30] and at fixed edge values (+-30, +-17.5 where fp32's y rounds to 1,
 * 0); the spatial-mask multiply with and without a mask gradient, with a constant x, and with
 * both inputs feeding other nodes (node.acc); stop_grad in front of a differentiable node;
 * the hard threshold x [x >= h] at h = 0.5 (a sigmoid mask's range, values kept 1e-3 away from
 * h so that finite differences do not cross the jump) and at h = 1e-3 over [-1, 1].
 *
 * Reduction lengths (vkd_check_k). The check allows 8 u sqrt(K) (|ref| + rms) per element.
 *   sigmoid: no sum, but exp. Vulkan's precision for exp(v) is 3 + 2|v| ULP (an ULP is at most
 *     2u relative), so e = exp(-|x|) carries up to (6 + 4R) u for |x| <= R. y = 1 / (1 + e) or
 *     e / (1 + e) inherits at most e's relative error (d ln y = d ln e / (1 + e) for the second,
 *     less for the first) plus the rounding of 1 + e (u) and the division (2.5 ULP = 5u):
 *     (12 + 4R) u. The backward's e / (1 + e)^2 times dy: e's error again, (1 + e)^2 (3u), the
 *     division (5u) and the product (u): (15 + 4R) u. 8 sqrt(K) >= 16 + 4R for both:
 *     K = (2 + R/2)^2.
 *   threshold: y is x or 0 and dx is dy or 0, exactly: K = 1.
 *   mask_mul: y and dx are one product each: K = 1 (2 when dx adds to another gradient: one
 *     more rounding, the rms covers cancellation). dm is a C-term sum of signed products:
 *     K = C (C + 1 with the accumulate).
 */
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* a: n c h w */
static struct vkd_check *relu_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d", a[0], a[1], a[2], a[3]);
    struct vkd_check *c = vkd_check_create("relu", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* finite differences stay off the kink */
    int y = vkd_relu(g, "y", x);
    vkd_check_seed(c, y);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static struct vkd_check *add_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d", a[0], a[1], a[2], a[3]);
    struct vkd_check *c = vkd_check_create("add", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x0 = vkd_graph_input(g, "a", VKD_F32, a[0], a[1], a[2], a[3]);
    int x1 = vkd_graph_input(g, "b", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x0);
    vkd_graph_set_requires_grad(g, x1);
    int y = vkd_add(g, "y", x0, x1);
    vkd_check_seed(c, y);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

/* x feeds relu, copy and add: its gradient is written once and accumulated twice. */
static struct vkd_check *fanout_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d", a[0], a[1], a[2], a[3]);
    struct vkd_check *c = vkd_check_create("fan-out", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    vkd_check_uniform_gap(c, x, -1, 1, 1e-3);
    int r = vkd_relu(g, "r", x);
    int cp = vkd_copy(g, "c", x);
    int s = vkd_add(g, "s", r, cp);
    int y = vkd_add(g, "y", s, x);
    vkd_check_seed(c, y);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

/* The reduction length of sigmoid over inputs with |x| <= r (see the top). */
static double k_sigmoid(double r)
{
    return (2 + r / 2) * (2 + r / 2);
}

/* a: n c h w, input range r (x in [-r, r]); r = 0: the fixed edge values below (n c h w must
 * hold exactly 11 elements). */
static struct vkd_check *sigmoid_case(const int *a)
{
    static const double edges[11] = {-30, -20, -17.5, -5, -1, 0, 1e-3, 1, 5, 17.5, 30};
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d %s%d", a[0], a[1], a[2], a[3],
             a[4] ? "x in +-" : "edges +-", a[4] ? a[4] : 30);
    struct vkd_check *c = vkd_check_create("sigmoid", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    if (a[4]) {
        vkd_check_uniform(c, x, -a[4], a[4]);
    } else if (a[0] * a[1] * a[2] * a[3] == 11) {
        vkd_check_values(c, x, edges);
    } else {
        vkd_check_destroy(c); /* a malformed case row: reported as not built */
        return NULL;
    }
    int y = vkd_sigmoid(g, "y", x);
    vkd_check_seed(c, y);
    double k = k_sigmoid(a[4] ? a[4] : 30);
    vkd_check_k(c, y, k);
    vkd_check_k(c, x, k);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

enum { MK_MGRAD = 1, MK_XCONST = 2, MK_FANOUT = 4 };

/* a: n c h w flags. The mask is drawn in [0, 1] (a sigmoid's range). */
static struct vkd_check *mask_case(const int *a)
{
    int flags = a[4];
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d%s%s%s", a[0], a[1], a[2], a[3],
             flags & MK_MGRAD ? " dm" : " m const", flags & MK_XCONST ? " x const" : "",
             flags & MK_FANOUT ? " acc" : "");
    struct vkd_check *c = vkd_check_create("mask_mul", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    int m = vkd_graph_input(g, "m", VKD_F32, a[0], 1, a[2], a[3]);
    vkd_check_uniform(c, m, 0, 1);
    if (!(flags & MK_XCONST))
        vkd_graph_set_requires_grad(g, x);
    if (flags & MK_MGRAD)
        vkd_graph_set_requires_grad(g, m);
    int y = vkd_mask_mul(g, "y", x, m);
    vkd_check_seed(c, y);
    if (flags & MK_FANOUT) {
        /* Both inputs feed a second node, added after y: backward visits it first, so the
         * mask_mul backward adds to both gradients. */
        vkd_check_uniform_gap(c, x, -1, 1, 1e-3); /* relu's FD stays off its kink */
        vkd_check_seed(c, vkd_relu(g, "r", x));
        vkd_check_seed(c, vkd_copy(g, "mc", m));
    }
    int acc = (flags & MK_FANOUT) != 0;
    vkd_check_k(c, x, 1 + acc);
    vkd_check_k(c, m, a[1] + acc);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

/* y = a + stop_grad(x): a gets its gradient, x (a constant here: finite differences would see
 * the path that stop_grad cuts) none; test_eltwise.c checks an x that requires a gradient. */
static struct vkd_check *stop_grad_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d", a[0], a[1], a[2], a[3]);
    struct vkd_check *c = vkd_check_create("stop_grad", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int x0 = vkd_graph_input(g, "a", VKD_F32, a[0], a[1], a[2], a[3]);
    int x1 = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x0);
    int y = vkd_add(g, "y", x0, vkd_stop_grad(g, "sg", x1));
    vkd_check_seed(c, y);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

/* a: n c h w h_milli lo_milli. Values uniform in [lo, 1], fp32, at least 1e-3 from h. */
static struct vkd_check *threshold_case(const int *a)
{
    size_t n = (size_t)a[0] * a[1] * a[2] * a[3];
    float h = (float)(a[4] / 1000.0);
    double lo = a[5] / 1000.0;
    char shape[64];
    snprintf(shape, sizeof(shape), "%dx%dx%dx%d h%g", a[0], a[1], a[2], a[3], h);
    struct vkd_check *c = vkd_check_create("threshold", shape);
    double *v = malloc(n * sizeof(double));
    if (!c || !v) {
        free(v);
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_rng rng = {(uint64_t)n * 131 + (uint64_t)a[4]};
    for (size_t i = 0; i < n; i++) {
        double d;
        do
            d = (float)(lo + (1 - lo) * vkd_rng_uniform(&rng));
        while (d > h - 1e-3 && d < h + 1e-3);
        v[i] = d;
    }
    struct vkd_graph *g = vkd_check_graph(c);
    int x = vkd_graph_input(g, "x", VKD_F32, a[0], a[1], a[2], a[3]);
    vkd_graph_set_requires_grad(g, x);
    vkd_check_values(c, x, v);
    free(v);
    vkd_check_seed(c, vkd_threshold(g, "y", x, h));
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1x1x1x1", 0, relu_case, {1, 1, 1, 1}},
    {"3x5x7x7", 1, relu_case, {3, 5, 7, 7}},
    {"2x3x97x89", 0, relu_case, {2, 3, 97, 89}},
    {"4x4x8x8", 0, relu_case, {4, 4, 8, 8}}, /* whole vec4s (the CPU-device kernels) */
    {"1x1x1x1", 0, add_case, {1, 1, 1, 1}},
    {"3x5x7x7", 1, add_case, {3, 5, 7, 7}},
    {"1x13x1x257", 0, add_case, {1, 13, 1, 257}},
    {"2x3x5x11", 1, fanout_case, {2, 3, 5, 11}},
    {"2x4x6x6", 0, fanout_case, {2, 4, 6, 6}},
    {"1x1x1x1 +-1", 0, sigmoid_case, {1, 1, 1, 1, 1}},
    {"3x5x7x7 +-1", 1, sigmoid_case, {3, 5, 7, 7, 1}},
    {"2x3x97x89 +-30", 1, sigmoid_case, {2, 3, 97, 89, 30}},
    {"1x1x1x11 edges", 1, sigmoid_case, {1, 1, 1, 11, 0}},
    {"1x1x1x1 dm", 0, mask_case, {1, 1, 1, 1, MK_MGRAD}},
    {"3x5x7x7 m const", 0, mask_case, {3, 5, 7, 7, 0}},
    {"2x13x17x19 dm", 1, mask_case, {2, 13, 17, 19, MK_MGRAD}},
    {"2x7x5x3 dm x const", 0, mask_case, {2, 7, 5, 3, MK_MGRAD | MK_XCONST}},
    {"1x3x97x89 dm acc", 0, mask_case, {1, 3, 97, 89, MK_MGRAD | MK_FANOUT}},
    {"4x64x8x8 dm (LKD stage 3)", 1, mask_case, {4, 64, 8, 8, MK_MGRAD}},
    {"3x5x7x7", 1, stop_grad_case, {3, 5, 7, 7}},
    {"1x1x1x1 h0.5", 0, threshold_case, {1, 1, 1, 1, 500, 0}},
    {"4x1x8x8 h0.5 (LKD mask)", 1, threshold_case, {4, 1, 8, 8, 500, 0}},
    {"2x3x17x19 h0.001 over +-1", 0, threshold_case, {2, 3, 17, 19, 1, -1000}},
};

const struct vkd_case_family vkd_cases_eltwise = {"eltwise", cases,
                                                  sizeof(cases) / sizeof(cases[0])};
