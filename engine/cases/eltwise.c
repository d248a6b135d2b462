/*
 * eltwise.c - op-check cases of the elementwise family: relu, add, copy, and a fan-out graph
 * (one tensor feeding two nodes) that checks gradient accumulation (node.acc).
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

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

static const struct vkd_case cases[] = {
    {"1x1x1x1", 0, relu_case, {1, 1, 1, 1}},
    {"3x5x7x7", 1, relu_case, {3, 5, 7, 7}},
    {"2x3x97x89", 0, relu_case, {2, 3, 97, 89}},
    {"1x1x1x1", 0, add_case, {1, 1, 1, 1}},
    {"3x5x7x7", 1, add_case, {3, 5, 7, 7}},
    {"1x13x1x257", 0, add_case, {1, 13, 1, 257}},
    {"2x3x5x11", 1, fanout_case, {2, 3, 5, 11}},
};

const struct vkd_case_family vkd_cases_eltwise = {"eltwise", cases,
                                                  sizeof(cases) / sizeof(cases[0])};
