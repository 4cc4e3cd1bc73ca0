/* vn_rng.c — PCG32 and the samplers built on it. */
#include "vn_rng.h"
#include "vn_math.h"

void vn_rng_seed(vn_rng *rng, uint64_t seed, uint64_t stream) {
    rng->state = 0;
    rng->increment = (stream << 1) | 1u;
    rng->has_spare = false;
    rng->spare = 0;
    vn_rng_u32(rng);
    rng->state += seed;
    vn_rng_u32(rng);
}

extern inline uint32_t vn_rng_u32(vn_rng *rng); /* the external definition */

uint32_t vn_rng_below(vn_rng *rng, uint32_t bound) {
    if (bound == 0) return 0;
    /* Reject the low values that would make modulo biased. */
    uint32_t threshold = (0u - bound) % bound;
    for (;;) {
        uint32_t r = vn_rng_u32(rng);
        if (r >= threshold) return r % bound;
    }
}

double vn_rng_uniform(vn_rng *rng) {
    uint64_t high = vn_rng_u32(rng) >> 5; /* 27 bits */
    uint64_t low = vn_rng_u32(rng) >> 6;  /* 26 bits */
    return (double)((high << 26) | low) * (1.0 / 9007199254740992.0);
}

double vn_rng_normal(vn_rng *rng) {
    if (rng->has_spare) {
        rng->has_spare = false;
        return rng->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * vn_rng_uniform(rng) - 1.0;
        v = 2.0 * vn_rng_uniform(rng) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double factor = vn_sqrt_d(-2.0 * vn_log_d(s) / s);
    rng->spare = v * factor;
    rng->has_spare = true;
    return u * factor;
}

void vn_rng_fill_uniform(vn_rng *rng, vn_real *data, size_t n, double low, double high) {
    for (size_t i = 0; i < n; i++) data[i] = (vn_real)(low + (high - low) * vn_rng_uniform(rng));
}

void vn_rng_fill_normal(vn_rng *rng, vn_real *data, size_t n, double mean, double std) {
    for (size_t i = 0; i < n; i++) data[i] = (vn_real)(mean + std * vn_rng_normal(rng));
}

void vn_rng_shuffle(vn_rng *rng, uint32_t *items, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = vn_rng_below(rng, (uint32_t)i);
        uint32_t t = items[i - 1];
        items[i - 1] = items[j];
        items[j] = t;
    }
}
