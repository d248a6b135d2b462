/*
 * optim.c - op-check cases of the optimizer family: one SGD step (with and without Nesterov)
 * over parameters of awkward sizes, from a non-zero momentum, against the reference.
 * y = relu(w1) + w2 gives both parameters gradients; the update is what is compared.
 */
#include <stdio.h>

#include "vkd_cases.h"
#include "vkd_ops.h"

/* a: count of the parameters, nesterov */
static struct vkd_check *sgd_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "%d params%s", 2 * a[0], a[1] ? " nesterov" : "");
    struct vkd_check *c = vkd_check_create("sgd", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    int w1 = vkd_graph_param(g, "w1", a[0], 1, 1, 1);
    int w2 = vkd_graph_param(g, "w2", a[0], 1, 1, 1);
    vkd_check_uniform_gap(c, w1, -1, 1, 1e-3);
    int y = vkd_add(g, "y", vkd_relu(g, "r", w1), w2);
    vkd_check_seed(c, y);
    vkd_check_step(c, VKD_SP_LR, 0.05);
    vkd_check_step(c, VKD_SP_MOMENTUM, 0.9);
    vkd_check_step(c, VKD_SP_WEIGHT_DECAY, 5e-4);
    vkd_check_step(c, VKD_SP_NESTEROV, a[1]);
    if (vkd_check_finalize_sgd(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"1", 0, sgd_case, {1, 0}},
    {"1000", 1, sgd_case, {1000, 0}},
    {"4099 nesterov", 1, sgd_case, {4099, 1}},
};

const struct vkd_case_family vkd_cases_optim = {"optim", cases, sizeof(cases) / sizeof(cases[0])};
