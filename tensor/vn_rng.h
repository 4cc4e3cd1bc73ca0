/* vn_rng.h — PCG32, a small seedable generator with identical streams on
 * every platform (integer arithmetic only; the normal sampler uses cvene's
 * own log/sqrt, so its stream is the same wherever the build is the same).
 *
 * PCG32 (O'Neill, 2014): a 64-bit linear congruential state advanced by
 * state·6364136223846793005 + increment, output by the XSH-RR permutation.
 * `seed` picks the starting point and `stream` one of 2^63 independent
 * sequences. */
#ifndef VN_RNG_H
#define VN_RNG_H

#include "vn_base.h"

#define VN_PCG_MULTIPLIER 6364136223846793005ULL

typedef struct vn_rng {
    uint64_t state;
    uint64_t increment; /* always odd */
    bool has_spare;     /* the polar method gives normals in pairs */
    double spare;
} vn_rng;

void vn_rng_seed(vn_rng *rng, uint64_t seed, uint64_t stream);

/* Uniform 32-bit integer. Defined here (C99 inline; vn_rng.c emits the
 * external definition) so samplers in other files inline it. */
inline uint32_t vn_rng_u32(vn_rng *rng) {
    uint64_t old = rng->state;
    rng->state = old * VN_PCG_MULTIPLIER + rng->increment;
    /* XSH-RR: xorshift high bits, then a random rotation. */
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rotation = (uint32_t)(old >> 59);
    return (xorshifted >> rotation) | (xorshifted << ((32u - rotation) & 31u));
}

/* Uniform integer in [0, bound) without modulo bias; 0 when bound is 0. */
uint32_t vn_rng_below(vn_rng *rng, uint32_t bound);

/* Uniform double in [0, 1) with 53 random bits. */
double vn_rng_uniform(vn_rng *rng);

/* Standard normal (Marsaglia polar method: rejection sampling in the unit
 * disc, then two normals from one accepted point; needs only log and sqrt). */
double vn_rng_normal(vn_rng *rng);

/* Fills data[0..n) with uniform values in [low, high). */
void vn_rng_fill_uniform(vn_rng *rng, vn_real *data, size_t n, double low, double high);

/* Fills data[0..n) with normal values of the given mean and std. */
void vn_rng_fill_normal(vn_rng *rng, vn_real *data, size_t n, double mean, double std);

/* Fisher–Yates shuffle of n indices. */
void vn_rng_shuffle(vn_rng *rng, uint32_t *items, size_t n);

#endif
