/* vn_math.h — freestanding elementary functions for float and double.
 *
 * The core calls no libc, so it carries its own exp, log, tanh, erf, sqrt,
 * expm1 and log1p. Each function's comment in vn_math.c states its accuracy
 * in ULPs over the whole domain; tests/test_math.c checks it against the host
 * libm on dense sweeps and special values (±0, ±inf, NaN, subnormals,
 * overflow and underflow thresholds).
 *
 * The vn_real versions (vn_exp, ...) pick the float or double function to
 * match the build. Special values follow C99 Annex F (exp(-inf) = 0,
 * log(0) = -inf, log(x<0) = NaN, sqrt(-0) = -0, NaN in → NaN out). */
#ifndef VN_MATH_H
#define VN_MATH_H

#include "vn_base.h"

float vn_expf(float x);
float vn_expm1f(float x);
float vn_logf(float x);
float vn_log1pf(float x);
float vn_tanhf(float x);
float vn_erff(float x);
float vn_sqrtf(float x);

double vn_exp_d(double x);
double vn_expm1_d(double x);
double vn_log_d(double x);
double vn_log1p_d(double x);
double vn_tanh_d(double x);
double vn_erf_d(double x);
double vn_sqrt_d(double x);

/* Classification helpers (no libc). */
static inline bool vn_isnan(double x) { return x != x; }
static inline bool vn_isfinite(double x) { return x == x && x - x == 0; }
static inline double vn_fabs(double x) { return x < 0 ? -x : (x == 0 ? 0.0 : x); }
static inline float vn_fabsf(float x) { return x < 0 ? -x : (x == 0 ? 0.0f : x); }

#ifdef VN_REAL_DOUBLE
#define vn_exp vn_exp_d
#define vn_expm1 vn_expm1_d
#define vn_log vn_log_d
#define vn_log1p vn_log1p_d
#define vn_tanh vn_tanh_d
#define vn_erf vn_erf_d
#define vn_sqrt vn_sqrt_d
#define vn_abs vn_fabs
#else
#define vn_exp vn_expf
#define vn_expm1 vn_expm1f
#define vn_log vn_logf
#define vn_log1p vn_log1pf
#define vn_tanh vn_tanhf
#define vn_erf vn_erff
#define vn_sqrt vn_sqrtf
#define vn_abs vn_fabsf
#endif

#endif
