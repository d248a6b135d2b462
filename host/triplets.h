/*
 * triplets.h - triplet sampling for triplet methods (CORSD): per-class index lists built once
 * from the training labels, and an epoch's triplets drawn from the run's RNG.
 */
#ifndef VKD_TRIPLETS_H
#define VKD_TRIPLETS_H

#include <stdint.h>

#include "vkd_rng.h"

struct triplet_sampler {
    const uint32_t *labels;
    uint32_t classes;
    uint32_t filled; /* classes that have at least one image */
    uint32_t *start; /* (classes + 1): class c's images are idx[start[c] .. start[c + 1]) */
    uint32_t *idx;   /* (n) image indices grouped by class, ascending within a class */
};

/* Builds the lists of n images' labels (each < classes); 0, or -1 when out of memory. */
int triplet_sampler_init(struct triplet_sampler *t, const uint32_t *labels, uint32_t n,
                         uint32_t classes);
void triplet_sampler_free(struct triplet_sampler *t);

/* For each of `count` anchors writes out[3 i .. 3 i + 2] = anchor, positive, negative: the
 * positive any image of the anchor's class (the anchor itself included, as random.choice in the
 * code), the negative an image of a class drawn uniformly among the other classes that have
 * images. Needs t->filled >= 2. */
void triplet_sampler_draw(const struct triplet_sampler *t, const uint32_t *anchors,
                          uint64_t count, struct vkd_rng *rng, uint32_t *out);

#endif
