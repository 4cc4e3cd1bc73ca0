/* test_math.c — accuracy and special values of the freestanding elementary
 * functions in tensor/vn_math.c, checked against the host libm.
 *
 * Float functions are compared with libm's double result, double functions
 * with libm's long double result (when long double is wider than double).
 * Errors are in ULPs of the exact result's format; below the normal range
 * the ULP is that of the smallest subnormal. Each accuracy test sweeps about
 * a million (double) to several million (float) points: strided over every
 * float bit pattern, plus random and structured samples concentrated near 0,
 * at range and branch boundaries, the reduction breakpoints and the overflow
 * and underflow thresholds. Each prints its measured maximum error, one line
 * per function (VN_MATH_POINTS=k runs k times as many random points). sqrt must match libm's
 * (IEEE, correctly rounded) sqrt exactly; for float every significand is
 * checked. */
#include <check.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "vn_math.h"

/* ------------------------------------------------------------ helpers */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd64(void) { /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static double rnd_unit(void) { return (double)(rnd64() >> 11) * 0x1p-53; }
static double rnd_range(double a, double b) { return a + (b - a) * rnd_unit(); }
/* magnitude 2^u, u uniform in [elo, ehi), random significand and sign */
static double rnd_logu(int elo, int ehi, int sign) {
    int e = elo + (int)(rnd64() % (uint64_t)(ehi - elo));
    double v = ldexp(1.0 + rnd_unit(), e);
    if (sign && (rnd64() & 1)) v = -v;
    return v;
}

static uint64_t dbits(double x) {
    uint64_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static double bitsd(uint64_t u) {
    double x;
    memcpy(&x, &u, sizeof x);
    return x;
}
static uint32_t fbits(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}
static float bitsf(uint32_t u) {
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* Exact expectations: the same bits, or both NaN. */
static int same_d(double got, double want) {
    return (isnan(got) && isnan(want)) || dbits(got) == dbits(want);
}
static int same_f(float got, float want) {
    return (isnan(got) && isnan(want)) || fbits(got) == fbits(want);
}

/* Whether the reference is precise enough to resolve tenths of a ULP. */
#define LD_WIDE (LDBL_MANT_DIG >= 64)

/* Error of got in ULPs of the double format, against ref. */
static double ulp_err_d(double got, long double ref) {
    if (isnan(ref) || isnan(got)) return (isnan(ref) && isnan(got)) ? 0.0 : INFINITY;
    if (isinf(ref)) return (got == ref) ? 0.0 : INFINITY;
    long double g = got;
    if (isinf(got)) {
        if (isinf((double)ref) && signbit(got) == signbit((double)ref)) return 0.0;
        g = signbit(got) ? -0x1p1024L : 0x1p1024L;
    }
    int e = -1073;
    if (ref != 0) {
        frexpl(ref, &e); /* |ref| in [2^(e-1), 2^e) */
        if (e - 1 < -1022) e = -1021;
    } else {
        e = -1021;
    }
    return (double)(fabsl(g - ref) / ldexpl(1.0L, e - 1 - 52));
}

/* Error of got in ULPs of the float format, against a double reference. */
static double ulp_err_f(float got, double ref) {
    if (isnan(ref) || isnan(got)) return (isnan(ref) && isnan(got)) ? 0.0 : INFINITY;
    if (isinf(ref)) return (got == ref) ? 0.0 : INFINITY;
    double g = got;
    if (isinf(got)) {
        if (isinf((float)ref) && signbit(got) == signbit((float)ref)) return 0.0;
        g = signbit(got) ? -0x1p128 : 0x1p128;
    }
    /* ulp: 2^(exponent of ref - 23), at least 2^-149 */
    int e = (int)((dbits(ref) >> 52) & 0x7ff) - 1023;
    if (e < -126) e = -126;
    double ulp = bitsd((uint64_t)(e - 23 + 1023) << 52);
    return fabs(g - ref) / ulp;
}

typedef struct {
    const char *name;
    double bound;
    double max;
    double worst;
    long n;
} acc_t;

static acc_t acc_make(const char *name, double bound) {
    acc_t a;
    a.name = name;
    a.bound = bound;
    a.max = 0;
    a.worst = 0;
    a.n = 0;
    return a;
}

static void acc_add(acc_t *a, double err, double x) {
    a->n++;
    if (!(err <= a->max)) {
        a->max = err;
        a->worst = x;
    }
}

static void acc_report(const acc_t *a) {
    printf("math: %-10s max error %.3f ULP (bound %g) over %ld points, worst at x = %a\n",
        a->name, a->max, a->bound, a->n, a->worst);
    fflush(stdout);
    ck_assert_msg(a->max <= a->bound, "%s: max error %.3f ULP at x = %a exceeds %g ULP",
        a->name, a->max, a->worst, a->bound);
}

/* For correctly rounded functions: the count of results that differ from
 * libm's (IEEE) ones. */
static void report_exact(const char *name, long n, long bad, double worst) {
    if (bad == 0)
        printf("math: %-10s max error 0 ULP (bound 0): all %ld points correctly rounded\n", name, n);
    else
        printf("math: %-10s %ld of %ld points not correctly rounded, e.g. x = %a\n", name, bad, n, worst);
    fflush(stdout);
}

/* VN_MATH_POINTS=k multiplies the random sample sizes by k (for longer
 * local runs); the default keeps the suite within a few seconds. */
static long points(long n) {
    static long scale = 0;
    if (scale == 0) {
        const char *s = getenv("VN_MATH_POINTS");
        scale = s ? atol(s) : 1;
        if (scale < 1) scale = 1;
    }
    return n * scale;
}

/* ---------------------------------------------------- float sweeps */

typedef float (*fn_f)(float);
typedef double (*ref_f)(double);

static void check_f(acc_t *a, fn_f f, ref_f ref, float x) {
    acc_add(a, ulp_err_f(f(x), ref((double)x)), (double)x);
}

/* Every 1499th float bit pattern (both signs, all exponents, varied low
 * bits), then n random floats in [lo, hi] and n log-uniform in magnitude. */
static void sweep_f(acc_t *a, fn_f f, ref_f ref, double lo, double hi, long n) {
    for (uint64_t u = 0; u < 0x100000000ULL; u += 1499) check_f(a, f, ref, bitsf((uint32_t)u));
    for (long i = 0; i < points(n); i++) check_f(a, f, ref, (float)rnd_range(lo, hi));
    for (long i = 0; i < points(n); i++) {
        float x = (float)rnd_logu(-30, 7, 1);
        if (x >= lo && x <= hi) check_f(a, f, ref, x);
    }
}

static double r_exp(double x) { return exp(x); }
static double r_expm1(double x) { return expm1(x); }
static double r_log(double x) { return log(x); }
static double r_log1p(double x) { return log1p(x); }
static double r_tanh(double x) { return tanh(x); }
static double r_erf(double x) { return erf(x); }

START_TEST(test_expf_accuracy) {
    acc_t a = acc_make("vn_expf", 1.0);
    sweep_f(&a, vn_expf, r_exp, -104, 89, 500000);
    /* overflow, underflow and the subnormal range, densely */
    for (float x = 88.0f; x < 89.0f; x = nextafterf(x, 100.0f)) check_f(&a, vn_expf, r_exp, x);
    for (long i = 0; i < points(300000); i++) check_f(&a, vn_expf, r_exp, (float)rnd_range(-104.0, -87.0));
    acc_report(&a);
}
END_TEST

START_TEST(test_expm1f_accuracy) {
    acc_t a = acc_make("vn_expm1f", 2.0);
    sweep_f(&a, vn_expm1f, r_expm1, -20, 89, 500000);
    acc_report(&a);
}
END_TEST

START_TEST(test_logf_accuracy) {
    acc_t a = acc_make("vn_logf", 1.0);
    sweep_f(&a, vn_logf, r_log, 0, 100, 300000);
    /* every float in [0.99, 1.01] (the near-1 path and its neighbours) */
    for (float x = 0.99f; x < 1.01f; x = nextafterf(x, 2.0f)) check_f(&a, vn_logf, r_log, x);
    /* subnormal inputs */
    for (uint32_t u = 1; u < 0x00800000u; u += 37) check_f(&a, vn_logf, r_log, bitsf(u));
    acc_report(&a);
}
END_TEST

START_TEST(test_log1pf_accuracy) {
    acc_t a = acc_make("vn_log1pf", 2.0);
    sweep_f(&a, vn_log1pf, r_log1p, -1, 100, 300000);
    for (long i = 0; i < points(300000); i++) check_f(&a, vn_log1pf, r_log1p, (float)rnd_range(-1.0, -0.9));
    acc_report(&a);
}
END_TEST

START_TEST(test_tanhf_accuracy) {
    acc_t a = acc_make("vn_tanhf", 2.0);
    sweep_f(&a, vn_tanhf, r_tanh, -12, 12, 500000);
    /* around the branch points 2^-12, 2^-6 and 10 */
    for (uint32_t u = fbits(0x1p-13f); u < fbits(0x1p-11f); u += 17) check_f(&a, vn_tanhf, r_tanh, bitsf(u));
    for (uint32_t u = fbits(0x1p-7f); u < fbits(0x1p-5f); u += 17) check_f(&a, vn_tanhf, r_tanh, -bitsf(u));
    for (uint32_t u = fbits(8.0f); u < fbits(12.0f); u += 17) check_f(&a, vn_tanhf, r_tanh, bitsf(u));
    acc_report(&a);
}
END_TEST

START_TEST(test_erff_accuracy) {
    acc_t a = acc_make("vn_erff", 2.0);
    sweep_f(&a, vn_erff, r_erf, -7, 7, 500000);
    acc_report(&a);
}
END_TEST

START_TEST(test_sqrtf_exact) {
    /* The method does not depend on the exponent beyond its parity, so all
     * floats in [1, 4) cover every significand of every normal input. */
    long n = 0, bad = 0;
    float worst = 0;
    for (uint32_t u = 0x3f800000u; u < 0x40800000u; u++) {
        float x = bitsf(u);
        if (!same_f(vn_sqrtf(x), sqrtf(x))) bad++, worst = x;
        n++;
    }
    for (uint64_t u = 0; u < 0x80000000ULL; u += 997) {
        float x = bitsf((uint32_t)u);
        if (!same_f(vn_sqrtf(x), sqrtf(x))) bad++, worst = x;
        n++;
    }
    for (uint32_t u = 1; u < 0x00800000u; u += 13) { /* subnormals */
        float x = bitsf(u);
        if (!same_f(vn_sqrtf(x), sqrtf(x))) bad++, worst = x;
        n++;
    }
    report_exact("vn_sqrtf", n, bad, (double)worst);
    fflush(stdout);
    ck_assert_msg(bad == 0, "vn_sqrtf not correctly rounded at %a", (double)worst);
}
END_TEST

/* --------------------------------------------------- double sweeps */

typedef double (*fn_d)(double);
typedef long double (*ref_d)(long double);

/* With a long double reference the bounds are checked as stated; with a
 * reference no wider than double, 0.5 ULP of reference error is allowed. */
#define REF_SLACK (LD_WIDE ? 0.0 : 0.5)

static void check_d(acc_t *a, fn_d f, ref_d ref, double x) {
    acc_add(a, ulp_err_d(f(x), ref((long double)x)), x);
}

/* n points of each of: uniform in [lo, hi], log-uniform magnitudes with
 * exponents in [elo, ehi) (both signs unless pos), random bit patterns. */
static void sweep_d(acc_t *a, fn_d f, ref_d ref, double lo, double hi, int elo, int ehi, int pos, long n) {
    for (long i = 0; i < points(n); i++) check_d(a, f, ref, rnd_range(lo, hi));
    for (long i = 0; i < points(n); i++) {
        double x = rnd_logu(elo, ehi, !pos);
        if (x >= lo && x <= hi) check_d(a, f, ref, x);
    }
    for (long i = 0; i < points(n / 4); i++) {
        double x = bitsd(rnd64());
        if (x >= lo && x <= hi) check_d(a, f, ref, x);
    }
}

/* points within a few ULPs of x0 */
static void near_d(acc_t *a, fn_d f, ref_d ref, double x0, int k) {
    double x = x0;
    for (int i = 0; i < k; i++) x = nextafter(x, -INFINITY);
    for (int i = 0; i < 2 * k + 1; i++, x = nextafter(x, INFINITY)) check_d(a, f, ref, x);
}

static long double r_expl(long double x) { return expl(x); }
static long double r_expm1l(long double x) { return expm1l(x); }
static long double r_logl(long double x) { return logl(x); }
static long double r_log1pl(long double x) { return log1pl(x); }
static long double r_tanhl(long double x) { return tanhl(x); }
static long double r_erfl(long double x) { return erfl(x); }

/* the breakpoints of the exp reduction: x = (j + 1/2) ln2/128 */
static double exp_break(long j) {
    return (double)(((long double)j + 0.5L) * 0.693147180559945309417232121458176568L / 128);
}

START_TEST(test_exp_accuracy) {
    acc_t a = acc_make("vn_exp_d", 1.0 + REF_SLACK);
    sweep_d(&a, vn_exp_d, r_expl, -746, 710, -60, 10, 0, 300000);
    for (long i = 0; i < points(20000); i++) {
        long j = (long)(rnd64() % 262144) - 137600;
        near_d(&a, vn_exp_d, r_expl, exp_break(j), 2);
    }
    /* overflow threshold and the subnormal range */
    for (long i = 0; i < points(100000); i++) check_d(&a, vn_exp_d, r_expl, rnd_range(709.0, 709.8));
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_exp_d, r_expl, rnd_range(-745.2, -707.0));
    near_d(&a, vn_exp_d, r_expl, 709.782712893384, 1000);
    near_d(&a, vn_exp_d, r_expl, -745.1332191019411, 1000);
    near_d(&a, vn_exp_d, r_expl, -708.3964185322641, 1000);
    near_d(&a, vn_exp_d, r_expl, 512.0, 100);
    near_d(&a, vn_exp_d, r_expl, -512.0, 100);
    acc_report(&a);
}
END_TEST

START_TEST(test_expm1_accuracy) {
    acc_t a = acc_make("vn_expm1_d", 2.0 + REF_SLACK);
    sweep_d(&a, vn_expm1_d, r_expm1l, -45, 710, -60, 7, 0, 300000);
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_expm1_d, r_expm1l, rnd_range(-0.1, 0.1));
    for (long i = 0; i < points(2000); i++) {
        long j = (long)(rnd64() % 2000) - 1000;
        near_d(&a, vn_expm1_d, r_expm1l, exp_break(j), 2);
    }
    near_d(&a, vn_expm1_d, r_expm1l, 0x1p-5, 1000);
    near_d(&a, vn_expm1_d, r_expm1l, -0x1p-5, 1000);
    near_d(&a, vn_expm1_d, r_expm1l, 40.0, 100);
    near_d(&a, vn_expm1_d, r_expm1l, -40.0, 100);
    near_d(&a, vn_expm1_d, r_expm1l, 709.782712893384, 200);
    acc_report(&a);
}
END_TEST

START_TEST(test_log_accuracy) {
    acc_t a = acc_make("vn_log_d", 1.0 + REF_SLACK);
    sweep_d(&a, vn_log_d, r_logl, 0, DBL_MAX, -1074, 1024, 1, 300000);
    /* near 1 */
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_log_d, r_logl, 1.0 + rnd_logu(-60, -3, 1));
    /* the table's interval boundaries (m = 0.6875 + i/256 or 1 + ...) times 2^e */
    for (long i = 0; i < points(20000); i++) {
        uint64_t b = 0x3fe6000000000000ULL + ((rnd64() & 127) << 45);
        int e = (int)(rnd64() % 2000) - 1000;
        near_d(&a, vn_log_d, r_logl, ldexp(bitsd(b), e), 2);
    }
    /* subnormal inputs */
    for (long i = 0; i < points(100000); i++) check_d(&a, vn_log_d, r_logl, bitsd(rnd64() & 0x000fffffffffffffULL));
    acc_report(&a);
}
END_TEST

START_TEST(test_log1p_accuracy) {
    acc_t a = acc_make("vn_log1p_d", 2.0 + REF_SLACK);
    sweep_d(&a, vn_log1p_d, r_log1pl, -1, DBL_MAX, -1074, 1024, 0, 300000);
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_log1p_d, r_log1pl, rnd_logu(-60, 2, 1));
    for (long i = 0; i < points(100000); i++) check_d(&a, vn_log1p_d, r_log1pl, -1.0 + rnd_logu(-60, -1, 0));
    near_d(&a, vn_log1p_d, r_log1pl, -0x1p-8, 1000);
    near_d(&a, vn_log1p_d, r_log1pl, 0x1p-7, 1000);
    near_d(&a, vn_log1p_d, r_log1pl, 0x1p53, 100);
    acc_report(&a);
}
END_TEST

START_TEST(test_tanh_accuracy) {
    acc_t a = acc_make("vn_tanh_d", 2.0 + REF_SLACK);
    sweep_d(&a, vn_tanh_d, r_tanhl, -25, 25, -60, 5, 0, 300000);
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_tanh_d, r_tanhl, rnd_range(-1.0, 1.0));
    near_d(&a, vn_tanh_d, r_tanhl, 0x1p-27, 1000);
    near_d(&a, vn_tanh_d, r_tanhl, 0x1p-6, 1000);
    near_d(&a, vn_tanh_d, r_tanhl, -22.0, 1000);
    acc_report(&a);
}
END_TEST

START_TEST(test_erf_accuracy) {
    acc_t a = acc_make("vn_erf_d", 2.0 + REF_SLACK);
    sweep_d(&a, vn_erf_d, r_erfl, -7, 7, -60, 3, 0, 300000);
    for (long i = 0; i < points(200000); i++) check_d(&a, vn_erf_d, r_erfl, rnd_range(-6.0, 6.0));
    /* the interval boundaries 1, 1.5, ..., 6 and 2^-28 */
    for (int j = 2; j <= 12; j++) near_d(&a, vn_erf_d, r_erfl, j * 0.5, 1000);
    near_d(&a, vn_erf_d, r_erfl, 0x1p-28, 1000);
    for (long i = 0; i < points(10000); i++) check_d(&a, vn_erf_d, r_erfl, bitsd(rnd64() & 0x001fffffffffffffULL));
    acc_report(&a);
}
END_TEST

START_TEST(test_sqrt_exact) {
    long n = 0, bad = 0;
    double worst = 0;
#define SQRT_CHECK(xv)                                                                     \
    do {                                                                                   \
        double x_ = (xv);                                                                  \
        if (!same_d(vn_sqrt_d(x_), sqrt(x_))) bad++, worst = x_;                   \
        n++;                                                                               \
    } while (0)
    for (long i = 0; i < points(1000000); i++) SQRT_CHECK(bitsd(rnd64() >> 1));
    for (long i = 0; i < points(200000); i++) SQRT_CHECK(rnd_range(1.0, 4.0));
    for (long i = 0; i < points(100000); i++) SQRT_CHECK(bitsd(rnd64() & 0x000fffffffffffffULL));
    /* squares and near-midpoints: x close to (s + 1/2)^2 and s^2, where
     * the rounding decision is hardest */
    for (long i = 0; i < points(200000); i++) {
        uint64_t s = (rnd64() >> 11) | (1ULL << 52);
        long double h = ((long double)s + 0.5L) * ((long double)s + 0.5L);
        long double q = (long double)s * (long double)s;
        int e = (int)(rnd64() % 200) - 100;
        double xh = ldexp((double)h, 2 * e - 104), xq = ldexp((double)q, 2 * e - 104);
        SQRT_CHECK(xh);
        SQRT_CHECK(nextafter(xh, 0));
        SQRT_CHECK(nextafter(xh, 10));
        SQRT_CHECK(xq);
        SQRT_CHECK(nextafter(xq, 0));
        SQRT_CHECK(nextafter(xq, 10));
    }
#undef SQRT_CHECK
    report_exact("vn_sqrt_d", n, bad, worst);
    fflush(stdout);
    ck_assert_msg(bad == 0, "vn_sqrt_d not correctly rounded at %a", worst);
}
END_TEST

/* --------------------------------------------------- special values */

typedef struct {
    double x, want;
} case_t;

static void run_cases_d(const char *name, fn_d f, const case_t *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double got = f(c[i].x);
        ck_assert_msg(same_d(got, c[i].want), "%s(%a) = %a, want %a", name, c[i].x, got, c[i].want);
    }
}
/* The same table through the float function (values are all floats). */
static void run_cases_f(const char *name, fn_f f, const case_t *c, size_t n) {
    for (size_t i = 0; i < n; i++) {
        float got = f((float)c[i].x);
        ck_assert_msg(same_f(got, (float)c[i].want), "%s(%a) = %a, want %a", name, c[i].x, (double)got,
            c[i].want);
    }
}

#define N_(t) (sizeof(t) / sizeof((t)[0]))
#define E_D 2.718281828459045235360287471352662498
#define LN2_D 0.693147180559945309417232121458176568
#define LN2_LD 0.693147180559945309417232121458176568L
#define DMIN_SUB 0x1p-1074
#define FMIN_SUB 0x1p-149

START_TEST(test_special_values) {
    const double inf = INFINITY, nan_ = NAN;
    const case_t exp_c[] = {{0.0, 1.0}, {-0.0, 1.0}, {-inf, 0.0}, {inf, inf}, {nan_, nan_}, {1e-300, 1.0},
        {-1e-300, 1.0}, {1e6, inf}, {-1e6, 0.0}, {DMIN_SUB, 1.0}, {-DMIN_SUB, 1.0}, {1.0, E_D}};
    const case_t expm1_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-inf, -1.0}, {inf, inf}, {nan_, nan_}, {1e6, inf},
        {-1e6, -1.0}, {-50.0, -1.0}, {DMIN_SUB, DMIN_SUB}, {-DMIN_SUB, -DMIN_SUB}, {0x1p-60, 0x1p-60}};
    const case_t log_c[] = {{0.0, -inf}, {-0.0, -inf}, {-1.0, nan_}, {-inf, nan_}, {inf, inf}, {nan_, nan_},
        {1.0, 0.0}, {-DMIN_SUB, nan_}, {2.0, LN2_D}, {0.5, -LN2_D}};
    const case_t log1p_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-1.0, -inf}, {-2.0, nan_}, {-inf, nan_}, {inf, inf},
        {nan_, nan_}, {DMIN_SUB, DMIN_SUB}, {-DMIN_SUB, -DMIN_SUB}, {0x1p-60, 0x1p-60}, {1.0, LN2_D}};
    const case_t tanh_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {inf, 1.0}, {-inf, -1.0}, {nan_, nan_}, {100.0, 1.0},
        {-100.0, -1.0}, {DMIN_SUB, DMIN_SUB}, {-DMIN_SUB, -DMIN_SUB}, {0x1p-40, 0x1p-40}};
    const case_t erf_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {inf, 1.0}, {-inf, -1.0}, {nan_, nan_}, {10.0, 1.0},
        {-10.0, -1.0}, {DMIN_SUB, DMIN_SUB}, {-DMIN_SUB, -DMIN_SUB}};
    const case_t sqrt_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-1.0, nan_}, {-inf, nan_}, {inf, inf}, {nan_, nan_},
        {4.0, 2.0}, {0x1p-1074, 0x1p-537}, {-DMIN_SUB, nan_}, {0x1p-1022, 0x1p-511}, {0x1p1022, 0x1p511}};
    run_cases_d("vn_exp_d", vn_exp_d, exp_c, N_(exp_c));
    run_cases_d("vn_expm1_d", vn_expm1_d, expm1_c, N_(expm1_c));
    run_cases_d("vn_log_d", vn_log_d, log_c, N_(log_c));
    run_cases_d("vn_log1p_d", vn_log1p_d, log1p_c, N_(log1p_c));
    run_cases_d("vn_tanh_d", vn_tanh_d, tanh_c, N_(tanh_c));
    run_cases_d("vn_erf_d", vn_erf_d, erf_c, N_(erf_c));
    run_cases_d("vn_sqrt_d", vn_sqrt_d, sqrt_c, N_(sqrt_c));

    const case_t expf_c[] = {{0.0, 1.0}, {-0.0, 1.0}, {-inf, 0.0}, {inf, inf}, {nan_, nan_}, {1e-30, 1.0},
        {-1e-30, 1.0}, {100.0, inf}, {-200.0, 0.0}, {FMIN_SUB, 1.0}};
    const case_t expm1f_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-inf, -1.0}, {inf, inf}, {nan_, nan_}, {100.0, inf},
        {-100.0, -1.0}, {FMIN_SUB, FMIN_SUB}, {-FMIN_SUB, -FMIN_SUB}};
    const case_t logf_c[] = {{0.0, -inf}, {-0.0, -inf}, {-1.0, nan_}, {-inf, nan_}, {inf, inf}, {nan_, nan_},
        {1.0, 0.0}, {-FMIN_SUB, nan_}};
    const case_t log1pf_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-1.0, -inf}, {-2.0, nan_}, {-inf, nan_}, {inf, inf},
        {nan_, nan_}, {FMIN_SUB, FMIN_SUB}, {-FMIN_SUB, -FMIN_SUB}};
    const case_t tanhf_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {inf, 1.0}, {-inf, -1.0}, {nan_, nan_}, {100.0, 1.0},
        {-100.0, -1.0}, {FMIN_SUB, FMIN_SUB}, {-FMIN_SUB, -FMIN_SUB}};
    const case_t erff_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {inf, 1.0}, {-inf, -1.0}, {nan_, nan_}, {10.0, 1.0},
        {-10.0, -1.0}};
    const case_t sqrtf_c[] = {{0.0, 0.0}, {-0.0, -0.0}, {-1.0, nan_}, {-inf, nan_}, {inf, inf}, {nan_, nan_},
        {4.0, 2.0}, {0x1p-148, 0x1p-74}, {-FMIN_SUB, nan_}, {0x1p-126, 0x1p-63}, {0x1p126, 0x1p63}};
    run_cases_f("vn_expf", vn_expf, expf_c, N_(expf_c));
    run_cases_f("vn_expm1f", vn_expm1f, expm1f_c, N_(expm1f_c));
    run_cases_f("vn_logf", vn_logf, logf_c, N_(logf_c));
    run_cases_f("vn_log1pf", vn_log1pf, log1pf_c, N_(log1pf_c));
    run_cases_f("vn_tanhf", vn_tanhf, tanhf_c, N_(tanhf_c));
    run_cases_f("vn_erff", vn_erff, erff_c, N_(erff_c));
    run_cases_f("vn_sqrtf", vn_sqrtf, sqrtf_c, N_(sqrtf_c));
}
END_TEST

/* Values that need no reference: identities that hold exactly. */
START_TEST(test_exact_identities) {
    for (int k = -1074; k <= 1023; k++) { /* log of powers of two */
        double x = ldexp(1.0, k);
        ck_assert_msg(ulp_err_d(vn_log_d(x), (long double)k * LN2_LD) <= 1.0, "log(2^%d)", k);
    }
    for (int k = -1074; k <= 1023; k += 2) /* sqrt of even powers of two */
        ck_assert(vn_sqrt_d(ldexp(1.0, k)) == ldexp(1.0, k / 2));
    for (int k = -148; k <= 127; k += 2) ck_assert(vn_sqrtf(ldexpf(1.0f, k)) == ldexpf(1.0f, k / 2));
    ck_assert(vn_log_d(1.0) == 0.0 && !signbit(vn_log_d(1.0)));
    ck_assert(vn_logf(1.0f) == 0.0f && !signbit(vn_logf(1.0f)));
    ck_assert(vn_exp_d(0.0) == 1.0 && vn_expf(0.0f) == 1.0f);
    /* subnormal results of exp land on the right grid point */
    for (int k = -1074; k <= -1023; k++) {
        long double x = (long double)k * LN2_LD;
        ck_assert_msg(ulp_err_d(vn_exp_d((double)x), expl((long double)(double)x)) <= 1.0, "exp near 2^%d", k);
    }
    for (int k = -149; k <= -127; k++) {
        double x = k * LN2_D;
        ck_assert_msg(ulp_err_f(vn_expf((float)x), exp((double)(float)x)) <= 1.0, "expf near 2^%d", k);
    }
}
END_TEST

static Suite *math_suite(void) {
    Suite *s = suite_create("math");
    TCase *tc = test_case(s, "special", NULL, NULL, 0);
    tcase_add_test(tc, test_special_values);
    tcase_add_test(tc, test_exact_identities);

    TCase *tf = test_case(s, "float", NULL, NULL, 300);
    tcase_add_test(tf, test_expf_accuracy);
    tcase_add_test(tf, test_expm1f_accuracy);
    tcase_add_test(tf, test_logf_accuracy);
    tcase_add_test(tf, test_log1pf_accuracy);
    tcase_add_test(tf, test_tanhf_accuracy);
    tcase_add_test(tf, test_erff_accuracy);
    tcase_add_test(tf, test_sqrtf_exact);

    TCase *td = test_case(s, "double", NULL, NULL, 300);
    tcase_add_test(td, test_exp_accuracy);
    tcase_add_test(td, test_expm1_accuracy);
    tcase_add_test(td, test_log_accuracy);
    tcase_add_test(td, test_log1p_accuracy);
    tcase_add_test(td, test_tanh_accuracy);
    tcase_add_test(td, test_erf_accuracy);
    tcase_add_test(td, test_sqrt_exact);
    return s;
}

int main(void) {
    return test_run(math_suite());
}
