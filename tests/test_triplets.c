/*
 * test_triplets.c - CORSD's triplet sampling (host/triplets.c) and its targets
 * (kd_triplet_fill): every drawn triplet is (anchor, same class, other class), anchors are
 * taken in the given order, an empty class is never drawn as the negative, every other class
 * is, the same RNG state draws the same triplets (resume), and the targets are the anchors'
 * labels and (onehot(y_a) + onehot(y_n)) / 2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "method.h"
#include "triplets.h"

static int fails;
#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                                   \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fprintf(stderr, "\n");                                                                 \
            fails++;                                                                               \
        }                                                                                          \
    } while (0)

int main(void)
{
    enum { N = 211, K = 7, EMPTY = 4, COUNT = 600 };
    uint32_t labels[N], anchors[COUNT], out[3 * COUNT], again[3 * COUNT];
    struct vkd_rng rng = {12345};
    /* class 4 has no image; class 6 has exactly one (its positive is the anchor itself) */
    for (int i = 0; i < N; i++) {
        uint32_t y = vkd_rng_below(&rng, K - 2);
        labels[i] = y >= EMPTY ? y + 1 : y;
    }
    labels[100] = 6;
    for (int i = 0; i < COUNT; i++)
        anchors[i] = vkd_rng_below(&rng, N);
    struct triplet_sampler t;
    CHECK(triplet_sampler_init(&t, labels, N, K) == 0, "init");
    CHECK(t.filled == K - 1, "%u classes with images, want %d", t.filled, K - 1);
    struct vkd_rng r1 = {777}, r2 = {777};
    triplet_sampler_draw(&t, anchors, COUNT, &r1, out);
    triplet_sampler_draw(&t, anchors, COUNT, &r2, again);
    CHECK(memcmp(out, again, sizeof(out)) == 0, "the same RNG state draws other triplets");
    int neg_seen[K] = {0}, bad = 0;
    for (int i = 0; i < COUNT; i++) {
        uint32_t a = out[3 * i], p = out[3 * i + 1], n = out[3 * i + 2];
        bad += a != anchors[i] || p >= N || n >= N || labels[p] != labels[a] ||
               labels[n] == labels[a];
        if (n < N)
            neg_seen[labels[n]]++;
    }
    CHECK(bad == 0, "%d of %d triplets are not (anchor, same class, other class)", bad, COUNT);
    CHECK(neg_seen[EMPTY] == 0, "the empty class was drawn");
    for (int c = 0; c < K; c++)
        CHECK(c == EMPTY || neg_seen[c] > 0, "class %d never drawn as a negative", c);

    /* the targets of the first 5 triplets as a batch of 15 images */
    uint32_t lab[15], ya[5];
    float soft[5 * K];
    for (int i = 0; i < 15; i++)
        lab[i] = labels[out[i]];
    kd_triplet_fill(lab, 15, K, ya, soft);
    for (int i = 0; i < 5; i++) {
        CHECK(ya[i] == lab[3 * i], "anchor label %d", i);
        for (int c = 0; c < K; c++) {
            float want = 0.5f * (float)(c == (int)lab[3 * i]) +
                         0.5f * (float)(c == (int)lab[3 * i + 2]);
            CHECK(soft[i * K + c] == want, "soft target [%d][%d] %g, want %g", i, c,
                  soft[i * K + c], want);
        }
    }
    triplet_sampler_free(&t);
    printf("%s\n", fails ? "FAILED" : "ok: triplets are (anchor, same class, other class)");
    return fails ? 1 : 0;
}
