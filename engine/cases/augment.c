/*
 * augment.c - op-check cases of the augmentation family: training crops with padding and flips
 * over data split into several chunks, a Fashion-MNIST-like single-channel set, evaluation
 * (no padding, no flip) and odd sizes. The per-sample parameters are drawn here within their
 * valid ranges; the data words are random bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "vkd_cases.h"
#include "vkd_ops.h"
#include "vkd_rng.h"

/* a: n c h w oh ow pad per_chunk images train(0/1) */
static struct vkd_check *augment_case(const int *a)
{
    char shape[64];
    snprintf(shape, sizeof(shape), "n%d c%d %dx%d->%dx%d pad%d %s", a[0], a[1], a[2], a[3], a[4],
             a[5], a[6], a[9] ? "train" : "eval");
    struct vkd_check *c = vkd_check_create("augment", shape);
    if (!c)
        return NULL;
    struct vkd_graph *g = vkd_check_graph(c);
    struct vkd_augment_params p = {
        .n = (uint32_t)a[0], .c = (uint32_t)a[1], .h = (uint32_t)a[2], .w = (uint32_t)a[3],
        .oh = (uint32_t)a[4], .ow = (uint32_t)a[5], .pad = (uint32_t)a[6],
        .per_chunk = (uint32_t)a[7], .images = (uint32_t)a[8],
        .mean = {0.4914f, 0.4822f, 0.4465f}, .inv_std = {1 / 0.2470f, 1 / 0.2435f, 1 / 0.2616f}};
    int data[VKD_AUGMENT_CHUNKS], n_data = (a[8] + a[7] - 1) / a[7];
    size_t image_bytes = (size_t)a[1] * a[2] * a[3];
    for (int i = 0; i < n_data; i++) {
        char name[16];
        snprintf(name, sizeof(name), "data%d", i);
        data[i] = vkd_graph_tensor(g, name, VKD_T_STATE, VKD_U32,
                                   (int)((a[7] * image_bytes + 3) / 4), 1, 1, 1);
        vkd_check_labels(c, data[i], 0xffffffffu); /* random bytes */
    }
    int prm = vkd_graph_input(g, "params", VKD_U32, a[0], 4, 1, 1);
    double *v = malloc(sizeof(double) * 4 * (size_t)a[0]);
    if (!v) {
        vkd_check_destroy(c);
        return NULL;
    }
    struct vkd_rng rng = {(uint64_t)a[0] * 7919 + (uint64_t)a[2]};
    for (int n = 0; n < a[0]; n++) {
        v[4 * n] = vkd_rng_below(&rng, (uint32_t)a[8]);
        v[4 * n + 1] = a[9] ? vkd_rng_below(&rng, (uint32_t)(a[2] + 2 * a[6] - a[4] + 1)) : 0;
        v[4 * n + 2] = a[9] ? vkd_rng_below(&rng, (uint32_t)(a[3] + 2 * a[6] - a[5] + 1)) : 0;
        v[4 * n + 3] = a[9] ? vkd_rng_below(&rng, 2) : 0;
    }
    vkd_check_values(c, prm, v);
    free(v);
    vkd_augment(g, "x", data, n_data, prm, &p);
    if (vkd_check_finalize(c) != VKD_OK) {
        vkd_check_destroy(c);
        return NULL;
    }
    return c;
}

static const struct vkd_case cases[] = {
    {"cifar-like train, 3 chunks", 1, augment_case, {5, 3, 32, 32, 32, 32, 4, 7, 20, 1}},
    {"fashion-like train", 0, augment_case, {3, 1, 28, 28, 28, 28, 4, 50, 50, 1}},
    {"cifar-like eval", 1, augment_case, {4, 3, 32, 32, 32, 32, 0, 9, 9, 0}},
    {"odd sizes, 4 chunks", 0, augment_case, {7, 2, 5, 7, 4, 6, 1, 3, 12, 1}},
    {"batch 1", 0, augment_case, {1, 3, 9, 9, 9, 9, 2, 1, 1, 1}},
};

const struct vkd_case_family vkd_cases_augment = {"augment", cases,
                                                  sizeof(cases) / sizeof(cases[0])};
