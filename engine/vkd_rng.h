/*
 * vkd_rng.h - the engine's one random number generator: splitmix64, seeded explicitly, so every
 * run with the same seed draws the same numbers on every machine. Used for checks, weight
 * initialisation and augmentation parameters.
 */
#ifndef VKD_RNG_H
#define VKD_RNG_H

#include <math.h>
#include <stdint.h>

struct vkd_rng {
    uint64_t s;
};

static inline uint64_t vkd_rng_next(struct vkd_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double vkd_rng_uniform(struct vkd_rng *r)
{
    return (double)(vkd_rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Uniform integer in [0, n). */
static inline uint32_t vkd_rng_below(struct vkd_rng *r, uint32_t n)
{
    return (uint32_t)(vkd_rng_uniform(r) * n);
}

/* Standard normal (Box-Muller; one draw per call keeps the stream simple to reason about). */
static inline double vkd_rng_normal(struct vkd_rng *r)
{
    double u1 = vkd_rng_uniform(r), u2 = vkd_rng_uniform(r);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

#endif
