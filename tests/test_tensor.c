/* test_tensor.c — arenas, shapes, kernels, RNG and the formatter. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_arena.h"
#include "vn_kernels.h"
#include "vn_rng.h"
#include "vn_tensor.h"

#ifdef VN_REAL_DOUBLE
#define TOL 1e-12
#else
#define TOL 1e-5
#endif

/* ---- arena ----------------------------------------------------------------- */

START_TEST(arena_buffer_alignment_and_exhaustion) {
    static unsigned char buffer[1024];
    vn_arena arena;
    vn_arena_init_buffer(&arena, buffer, sizeof buffer);
    unsigned char *a = vn_arena_alloc(&arena, 10, 0);
    unsigned char *b = vn_arena_alloc(&arena, 10, 0);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_eq((uintptr_t)a % VN_ARENA_ALIGN, 0);
    ck_assert_uint_eq((uintptr_t)b % VN_ARENA_ALIGN, 0);
    ck_assert(b >= a + 10);
    ck_assert_ptr_null(vn_arena_alloc(&arena, 2048, 0));
    ck_assert_ptr_null(vn_arena_alloc(&arena, SIZE_MAX, 0));
    ck_assert_ptr_null(vn_arena_alloc(&arena, 8, 3)); /* not a power of two */
    unsigned char *c = vn_arena_alloc(&arena, 16, 8);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq((uintptr_t)c % 8, 0);
}
END_TEST

START_TEST(arena_mark_rewind_reuses_memory) {
    static unsigned char buffer[4096];
    vn_arena arena;
    vn_arena_init_buffer(&arena, buffer, sizeof buffer);
    vn_arena_alloc(&arena, 100, 0);
    vn_arena_mark mark = vn_arena_get_mark(&arena);
    void *first = vn_arena_alloc(&arena, 1000, 0);
    vn_arena_alloc(&arena, 1000, 0);
    vn_arena_rewind(&arena, mark);
    void *again = vn_arena_alloc(&arena, 1000, 0);
    ck_assert_ptr_eq(first, again);
    ck_assert_uint_ge(arena.peak, 2000);
}
END_TEST

START_TEST(arena_callback_reaches_steady_state) {
    vn_host_alloc_stats stats = {0};
    vn_arena arena;
    vn_arena_init_alloc(&arena, vn_host_alloc, &stats, 4096);
    vn_arena_alloc(&arena, 100, 0);
    vn_arena_mark mark = vn_arena_get_mark(&arena);
    size_t calls_after_first = 0;
    for (int step = 0; step < 5; step++) {
        for (int i = 0; i < 10; i++) ck_assert_ptr_nonnull(vn_arena_alloc(&arena, 3000, 0));
        ck_assert_ptr_nonnull(vn_arena_alloc(&arena, 100000, 0)); /* larger than a block */
        vn_arena_rewind(&arena, mark);
        if (step == 0) calls_after_first = stats.calls;
    }
    ck_assert_uint_eq(stats.calls, calls_after_first); /* no allocator calls after step 0 */
    vn_arena_release(&arena);
    ck_assert_uint_eq(stats.live_bytes, 0);
}
END_TEST

START_TEST(arena_callback_failure_is_null) {
    vn_host_alloc_stats stats = {0};
    stats.fail_at = 2;
    vn_arena arena;
    vn_arena_init_alloc(&arena, vn_host_alloc, &stats, 1024);
    ck_assert_ptr_nonnull(vn_arena_alloc(&arena, 512, 0));
    ck_assert_ptr_null(vn_arena_alloc(&arena, 4096, 0)); /* needs a 2nd block: fails */
    ck_assert_ptr_nonnull(vn_arena_alloc(&arena, 64, 0)); /* still room in the first */
    vn_arena_release(&arena);
    ck_assert_uint_eq(stats.live_bytes, 0);
}
END_TEST

START_TEST(arena_mark_before_first_block) {
    vn_host_alloc_stats stats = {0};
    vn_arena arena;
    vn_arena_init_alloc(&arena, vn_host_alloc, &stats, 1024);
    vn_arena_mark mark = vn_arena_get_mark(&arena);
    void *p = vn_arena_alloc(&arena, 100, 0);
    vn_arena_rewind(&arena, mark);
    void *q = vn_arena_alloc(&arena, 100, 0);
    ck_assert_ptr_eq(p, q);
    ck_assert_uint_eq(stats.allocations, 1);
    vn_arena_release(&arena);
}
END_TEST

/* ---- tensor shapes -------------------------------------------------------------- */

START_TEST(tensor_shapes_and_overflow) {
    vn_tensor t;
    size_t shape[4] = {2, 3, 4, 5};
    ck_assert_int_eq(vn_tensor_set_shape(&t, 4, shape), VN_OK);
    ck_assert_uint_eq(t.numel, 120);
    ck_assert_uint_eq(vn_tensor_cols(&t), 5);
    ck_assert_uint_eq(vn_tensor_rows(&t), 24);
    ck_assert_int_eq(vn_tensor_set_shape(&t, 5, shape), VN_EINVAL);
    ck_assert_int_eq(vn_tensor_set_shape(&t, -1, shape), VN_EINVAL);
    size_t huge[2] = {SIZE_MAX / 2, 3};
    ck_assert_int_eq(vn_tensor_set_shape(&t, 2, huge), VN_EOVERFLOW);
    size_t bytes_overflow[1] = {SIZE_MAX / sizeof(vn_real) + 1};
    ck_assert_int_eq(vn_tensor_set_shape(&t, 1, bytes_overflow), VN_EOVERFLOW);
    ck_assert_int_eq(vn_tensor_set_shape(&t, 0, NULL), VN_OK);
    ck_assert_uint_eq(t.numel, 1);
    char buf[64];
    ck_assert_int_eq(vn_tensor_set_shape(&t, 3, shape), VN_OK);
    ck_assert_str_eq(vn_shape_string(&t, buf, sizeof buf), "(2, 3, 4)");
    static unsigned char mem[256];
    vn_arena arena;
    vn_arena_init_buffer(&arena, mem, sizeof mem);
    size_t big[1] = {1000};
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 1, big), VN_ENOMEM);
    size_t small[1] = {4};
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 1, small), VN_OK);
    for (int i = 0; i < 4; i++) ck_assert(t.data[i] == 0);
}
END_TEST

/* Every element finite except the ones set; checked against isfinite. */
START_TEST(first_nonfinite_finds_the_first) {
    enum { N = 1000 };
    static vn_real x[N];
    ck_assert_uint_eq(vn_first_nonfinite(x, 0), 0);
    ck_assert_uint_eq(vn_first_nonfinite(NULL, 0), 0);
    /* the extremes of the finite range, zeros and subnormals are finite */
    vn_real edge[8] = {0, -(vn_real)0, VN_REAL_MAX, -VN_REAL_MAX, (vn_real)1e-40, -(vn_real)1e-40, 1, -1};
    for (size_t i = 0; i < N; i++) x[i] = edge[i % 8] * (i % 3 ? 1 : (vn_real)0.5);
    ck_assert_uint_eq(vn_first_nonfinite(x, N), N);
    /* a non-finite value at every position around the 256-element blocks, of each kind */
    static const size_t at[] = {0, 1, 7, 254, 255, 256, 257, 511, 512, 700, 998, 999};
    vn_real bad[3] = {(vn_real)NAN, (vn_real)INFINITY, -(vn_real)INFINITY};
    for (size_t k = 0; k < VN_ARRAY_COUNT(at); k++) {
        for (int b = 0; b < 3; b++) {
            vn_real keep = x[at[k]];
            x[at[k]] = bad[b];
            ck_assert_uint_eq(vn_first_nonfinite(x, N), at[k]);
            ck_assert_uint_eq(vn_first_nonfinite(x, at[k]), at[k]); /* not within the first at[k] */
            ck_assert_uint_eq(vn_first_nonfinite(x + at[k], N - at[k]), 0);
            x[at[k]] = keep;
        }
    }
    /* the first of several, in a later block */
    x[900] = (vn_real)NAN;
    x[600] = (vn_real)INFINITY;
    x[601] = (vn_real)NAN;
    ck_assert_uint_eq(vn_first_nonfinite(x, N), 600);
    /* a NaN with a payload and the sign bit set */
    vn_real nan_neg = -(vn_real)NAN;
    x[300] = nan_neg;
    ck_assert_uint_eq(vn_first_nonfinite(x, N), 300);
    for (size_t i = 0; i < N; i++) ck_assert(!isfinite(x[i]) == (i == 300 || i == 600 || i == 601 || i == 900));
}
END_TEST

/* ---- kernels ----------------------------------------------------------------- */

static void fill(vn_real *x, size_t n, unsigned seed) {
    vn_rng rng;
    vn_rng_seed(&rng, seed, 1);
    vn_rng_fill_uniform(&rng, x, n, -2, 2);
}

START_TEST(kernels_binary_broadcast) {
    vn_real a[24], b[4], out[24];
    fill(a, 24, 1);
    fill(b, 4, 2);
    for (int k = 0; k < VN_BINARY_COUNT; k++) {
        if (k == VN_BINARY_DIV) for (int j = 0; j < 4; j++) b[j] = (vn_real)(1.5 + j);
        vn_binary(out, a, b, 24, 4, (vn_binary_kind)k);
        for (int i = 0; i < 24; i++) {
            vn_real x = a[i], y = b[i % 4];
            vn_real want = k == VN_BINARY_ADD ? x + y : k == VN_BINARY_SUB ? x - y : k == VN_BINARY_MUL ? x * y : x / y;
            ck_assert(out[i] == want);
        }
    }
    vn_real acc[4] = {0};
    vn_reduce_broadcast(acc, a, 24, 4);
    for (int j = 0; j < 4; j++) {
        double want = 0;
        for (int r = 0; r < 6; r++) want += a[r * 4 + j];
        ck_assert_double_eq_tol(acc[j], want, TOL * 10);
    }
}
END_TEST

START_TEST(kernels_reductions_and_softmax) {
    enum { R = 5, C = 7 };
    vn_real x[R * C], sums[R], means[R], maxes[R], sm[R * C], lsm[R * C];
    size_t arg[R];
    fill(x, R * C, 3);
    x[2 * C + 4] = 100; /* large value: softmax must stay finite */
    vn_row_sum(sums, x, R, C);
    vn_row_mean(means, x, R, C);
    vn_row_max(maxes, x, R, C);
    vn_row_argmax(arg, x, R, C);
    vn_softmax_rows(sm, x, R, C);
    vn_log_softmax_rows(lsm, x, R, C);
    for (int r = 0; r < R; r++) {
        double s = 0, m = -1e30, total = 0, lse = 0, rmax = x[r * C];
        size_t best = 0;
        for (int j = 1; j < C; j++) rmax = x[r * C + j] > rmax ? x[r * C + j] : rmax;
        for (int j = 0; j < C; j++) lse += exp(x[r * C + j] - rmax);
        lse = log(lse);
        for (int j = 0; j < C; j++) {
            s += x[r * C + j];
            if (x[r * C + j] > m) m = x[r * C + j], best = (size_t)j;
            total += sm[r * C + j];
            ck_assert(isfinite(sm[r * C + j]));
            ck_assert_double_eq_tol(lsm[r * C + j], x[r * C + j] - rmax - lse, 100 * TOL);
        }
        ck_assert_double_eq_tol(sums[r], s, 10 * TOL);
        ck_assert_double_eq_tol(means[r], s / C, 10 * TOL);
        ck_assert(maxes[r] == (vn_real)m);
        ck_assert_uint_eq(arg[r], best);
        ck_assert_double_eq_tol(total, 1.0, 10 * TOL);
    }
    ck_assert_double_eq_tol(sm[2 * C + 4], 1.0, TOL);
    vn_real big[1000];
    for (int i = 0; i < 1000; i++) big[i] = (vn_real)0.1;
    ck_assert_double_eq_tol(vn_array_sum(big, 1000), 100.0, 100 * TOL);
}
END_TEST

START_TEST(kernels_rows_and_columns) {
    vn_real src[12], out[12], acc[12] = {0};
    for (int i = 0; i < 12; i++) src[i] = (vn_real)i;
    size_t index[3] = {2, 0, 2};
    vn_gather_rows(out, src, index, 3, 4);
    for (int j = 0; j < 4; j++) {
        ck_assert(out[j] == src[8 + j]);
        ck_assert(out[4 + j] == src[j]);
    }
    vn_scatter_add_rows(acc, out, index, 3, 4);
    for (int j = 0; j < 4; j++) {
        ck_assert(acc[8 + j] == 2 * src[8 + j]);
        ck_assert(acc[j] == src[j]);
        ck_assert(acc[4 + j] == 0);
    }
    /* copy_cols: columns 1..3 of a 3×4 matrix into a 3×2 one and back */
    vn_real part[6];
    vn_copy_cols(part, 2, 0, src, 4, 1, 3, 2, false);
    for (int r = 0; r < 3; r++) {
        ck_assert(part[r * 2] == src[r * 4 + 1]);
        ck_assert(part[r * 2 + 1] == src[r * 4 + 2]);
    }
    vn_real back[12] = {0};
    vn_copy_cols(back, 4, 2, part, 2, 0, 3, 2, true);
    vn_copy_cols(back, 4, 2, part, 2, 0, 3, 2, true);
    ck_assert(back[2] == 2 * src[1]);
    ck_assert(back[0] == 0);
    vn_real t[12];
    vn_transpose(t, src, 3, 4);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 4; c++) ck_assert(t[c * 3 + r] == src[r * 4 + c]);
}
END_TEST

/* ---- RNG ----------------------------------------------------------------------- */

START_TEST(rng_matches_pcg32_reference_stream) {
    /* The published PCG32 demo stream for seed 42, sequence 54. */
    static const uint32_t expected[6] = {0xa15c02b7u, 0x7b47f409u, 0xba1d3330u,
                                         0x83d2f293u, 0xbfa4784bu, 0xcbed606eu};
    vn_rng rng;
    vn_rng_seed(&rng, 42, 54);
    for (int i = 0; i < 6; i++) ck_assert_uint_eq(vn_rng_u32(&rng), expected[i]);
}
END_TEST

START_TEST(rng_distributions) {
    vn_rng rng;
    vn_rng_seed(&rng, 7, 0);
    enum { N = 200000 };
    double sum = 0, sum2 = 0, nsum = 0, nsum2 = 0;
    unsigned counts[10] = {0};
    for (int i = 0; i < N; i++) {
        double u = vn_rng_uniform(&rng);
        ck_assert(u >= 0 && u < 1);
        sum += u, sum2 += u * u;
        double z = vn_rng_normal(&rng);
        nsum += z, nsum2 += z * z;
        uint32_t k = vn_rng_below(&rng, 10);
        ck_assert_uint_lt(k, 10);
        counts[k]++;
    }
    ck_assert_double_eq_tol(sum / N, 0.5, 0.005);
    ck_assert_double_eq_tol(sum2 / N - (sum / N) * (sum / N), 1.0 / 12, 0.002);
    ck_assert_double_eq_tol(nsum / N, 0.0, 0.01);
    ck_assert_double_eq_tol(nsum2 / N, 1.0, 0.02);
    for (int k = 0; k < 10; k++) ck_assert_double_eq_tol(counts[k] / (double)N, 0.1, 0.005);
    ck_assert_uint_eq(vn_rng_below(&rng, 0), 0);
    /* shuffle is a permutation; the same seed gives the same order */
    uint32_t a[50], b[50];
    for (uint32_t i = 0; i < 50; i++) a[i] = b[i] = i;
    vn_rng r1, r2;
    vn_rng_seed(&r1, 3, 3);
    vn_rng_seed(&r2, 3, 3);
    vn_rng_shuffle(&r1, a, 50);
    vn_rng_shuffle(&r2, b, 50);
    ck_assert_mem_eq(a, b, sizeof a);
    unsigned seen[50] = {0};
    int moved = 0;
    for (uint32_t i = 0; i < 50; i++) seen[a[i]]++, moved += a[i] != i;
    for (int i = 0; i < 50; i++) ck_assert_uint_eq(seen[i], 1);
    ck_assert_int_gt(moved, 10);
}
END_TEST

/* ---- formatter ------------------------------------------------------------------ */

START_TEST(format_matches_printf) {
    char got[128], want[128];
    const double values[] = {0.0, 1.0, -2.5, 0.1, 1e-7, 123456789.0, 3.14159265358979, 1e300, 6.02e23, 0.3};
    const char *formats[] = {"%g", "%.3g", "%.9g", "%e", "%.2e", "%f", "%.3f"};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
            if (values[i] > 1e20 && formats[f][strlen(formats[f]) - 1] == 'f') continue;
            vn_format(got, sizeof got, formats[f], values[i]);
            snprintf(want, sizeof want, formats[f], values[i]);
            ck_assert_msg(strcmp(got, want) == 0, "%s of %.17g: got %s want %s", formats[f], values[i], got, want);
        }
    }
    vn_format(got, sizeof got, "%d|%5d|%-4s|%05zu|%x|%lld|%c|%%|%s", -42, 7, "ab", (size_t)12, 255u, -9000000000LL, 'q', "end");
    snprintf(want, sizeof want, "%d|%5d|%-4s|%05zu|%x|%lld|%c|%%|%s", -42, 7, "ab", (size_t)12, 255u, -9000000000LL, 'q', "end");
    ck_assert_str_eq(got, want);
    vn_format(got, sizeof got, "%g %g %g", NAN, INFINITY, -INFINITY);
    ck_assert_str_eq(got, "nan inf -inf");
    char tiny[5];
    size_t n = vn_format(tiny, sizeof tiny, "%s", "truncated");
    ck_assert_uint_eq(n, 9);
    ck_assert_str_eq(tiny, "trun");
}
END_TEST

static int collect(void *user, const char *bytes, size_t length) {
    vn_host_buffer *b = user;
    return vn_host_buffer_write(b, bytes, length);
}

START_TEST(writef_handles_long_output) {
    vn_host_buffer buf = {0};
    char big[5000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ck_assert_int_eq(vn_writef(collect, &buf, "<%s|%d>", big, 5), VN_OK);
    ck_assert_uint_eq(buf.size, 4999 + 4);
    ck_assert_int_eq(buf.data[0], '<');
    ck_assert_int_eq(buf.data[buf.size - 2], '5');
    vn_host_buffer_free(&buf);
    ck_assert_str_eq(vn_status_string(VN_ENOMEM), "out of memory");
    ck_assert_str_eq(vn_status_string((vn_status)999), "unknown status");
}
END_TEST

static int failing_writer(void *user, const char *bytes, size_t length) {
    (void)user, (void)bytes, (void)length;
    return -1;
}

START_TEST(writef_reports_writer_failure) {
    ck_assert_int_eq(vn_writef(failing_writer, NULL, "hello %d", 1), VN_EIO);
    ck_assert_int_eq(vn_writef(NULL, NULL, "hello"), VN_EINVAL);
}
END_TEST

int main(void) {
    Suite *s = suite_create("tensor");
    TCase *tc = test_case(s, "core", NULL, NULL, 0);
    tcase_add_test(tc, arena_buffer_alignment_and_exhaustion);
    tcase_add_test(tc, arena_mark_rewind_reuses_memory);
    tcase_add_test(tc, arena_callback_reaches_steady_state);
    tcase_add_test(tc, arena_callback_failure_is_null);
    tcase_add_test(tc, arena_mark_before_first_block);
    tcase_add_test(tc, tensor_shapes_and_overflow);
    tcase_add_test(tc, first_nonfinite_finds_the_first);
    tcase_add_test(tc, kernels_binary_broadcast);
    tcase_add_test(tc, kernels_reductions_and_softmax);
    tcase_add_test(tc, kernels_rows_and_columns);
    tcase_add_test(tc, rng_matches_pcg32_reference_stream);
    tcase_add_test(tc, rng_distributions);
    tcase_add_test(tc, format_matches_printf);
    tcase_add_test(tc, writef_handles_long_output);
    tcase_add_test(tc, writef_reports_writer_failure);
    return test_run(s);
}
