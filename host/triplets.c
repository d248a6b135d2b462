/*
 * triplets.c - triplet sampling (see triplets.h).
 */
#include <stdlib.h>
#include <string.h>

#include "triplets.h"

int triplet_sampler_init(struct triplet_sampler *t, const uint32_t *labels, uint32_t n,
                         uint32_t classes)
{
    memset(t, 0, sizeof(*t));
    t->labels = labels;
    t->classes = classes;
    t->start = calloc((size_t)classes + 1, sizeof(uint32_t));
    t->idx = malloc(sizeof(uint32_t) * (n ? n : 1));
    uint32_t *at = malloc(sizeof(uint32_t) * (classes ? classes : 1));
    if (!t->start || !t->idx || !at) {
        free(at);
        triplet_sampler_free(t);
        return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        t->start[labels[i] + 1]++;
    for (uint32_t c = 0; c < classes; c++) {
        t->filled += t->start[c + 1] > 0;
        t->start[c + 1] += t->start[c];
    }
    memcpy(at, t->start, sizeof(uint32_t) * classes);
    for (uint32_t i = 0; i < n; i++)
        t->idx[at[labels[i]]++] = i;
    free(at);
    return 0;
}

void triplet_sampler_free(struct triplet_sampler *t)
{
    free(t->start);
    free(t->idx);
    t->start = t->idx = NULL;
}

void triplet_sampler_draw(const struct triplet_sampler *t, const uint32_t *anchors,
                          uint64_t count, struct vkd_rng *rng, uint32_t *out)
{
    const uint32_t *st = t->start, *ci = t->idx;
    for (uint64_t i = 0; i < count; i++) {
        uint32_t a = anchors[i], y = t->labels[a], yn;
        uint32_t p = ci[st[y] + vkd_rng_below(rng, st[y + 1] - st[y])];
        do /* uniform over the other classes that have images (rejection) */
            yn = vkd_rng_below(rng, t->classes);
        while (yn == y || st[yn + 1] == st[yn]);
        uint32_t neg = ci[st[yn] + vkd_rng_below(rng, st[yn + 1] - st[yn])];
        out[3 * i] = a, out[3 * i + 1] = p, out[3 * i + 2] = neg;
    }
}
