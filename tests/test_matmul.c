/* test_matmul.c — vn_gemm against a double-precision reference.
 *
 * Every case fills A and B with values in [-1, 1), computes op(A)·op(B) in
 * double, and checks each element of C against it with the tolerance
 *
 *     |C - C_ref| <= (k + 2) · eps · (Σ_p |a_ip| |b_pj| + |C0_ij|)
 *
 * where eps is VN_REAL_EPSILON and C0 is what C held before the call when
 * accumulating (0 otherwise). That is the standard bound for a sum of k
 * products plus one final addition, whatever the order of summation. */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_support.h"
#include "vn_kernels.h"

/* ---- helpers ------------------------------------------------------------ */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rng_next(void) {
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static vn_real rng_real(void) {
    return (vn_real)((double)(rng_next() >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0);
}

static void fill_random(vn_real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = rng_real();
}

/* Garbage for C when not accumulating: large values and a NaN pattern. */
static void fill_garbage(vn_real *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (i % 3 == 0) ? (vn_real)NAN : (i % 3 == 1) ? (vn_real)1e30 : (vn_real)-3e29;
}

/* A buffer of n elements starting `offset` elements past a 64-byte
 * boundary, so the kernels also see unaligned operands. */
typedef struct buffer {
    void *raw;
    vn_real *data;
} buffer;

static buffer buffer_make(size_t n, size_t offset) {
    buffer b;
    size_t bytes = (n + offset + 1) * sizeof(vn_real) + 64;
    b.raw = malloc(bytes);
    ck_assert_ptr_nonnull(b.raw);
    uintptr_t p = ((uintptr_t)b.raw + 63) & ~(uintptr_t)63;
    b.data = (vn_real *)p + offset;
    return b;
}

static void buffer_free(buffer *b) {
    free(b->raw);
    b->raw = NULL;
    b->data = NULL;
}

static double get_a(const vn_real *a, size_t m, size_t k, bool ta, size_t i, size_t p) {
    return ta ? (double)a[p * m + i] : (double)a[i * k + p];
}

static double get_b(const vn_real *b, size_t n, size_t k, bool tb, size_t p, size_t j) {
    return tb ? (double)b[j * k + p] : (double)b[p * n + j];
}

/* Runs one case and checks it. Returns the number of bad elements. */
static size_t check_case(size_t m, size_t n, size_t k, bool ta, bool tb, bool acc,
                         size_t offset) {
    size_t na = m * k, nb = k * n, nc = m * n;
    buffer A = buffer_make(na, offset), B = buffer_make(nb, (offset * 3) % 5);
    buffer C = buffer_make(nc, (offset * 7) % 3);
    fill_random(A.data, na);
    fill_random(B.data, nb);
    double *c0 = malloc((nc + 1) * sizeof *c0);
    ck_assert_ptr_nonnull(c0);
    if (acc) {
        fill_random(C.data, nc);
        for (size_t i = 0; i < nc; i++) c0[i] = (double)C.data[i];
    } else {
        fill_garbage(C.data, nc);
        for (size_t i = 0; i < nc; i++) c0[i] = 0.0;
    }
    /* Sentinels right after A, B, C catch out-of-bounds writes. */
    A.data[na] = (vn_real)12345;
    B.data[nb] = (vn_real)23456;
    C.data[nc] = (vn_real)34567;
    vn_real *a_copy = malloc((na + 1) * sizeof *a_copy);
    vn_real *b_copy = malloc((nb + 1) * sizeof *b_copy);
    ck_assert_ptr_nonnull(a_copy);
    ck_assert_ptr_nonnull(b_copy);
    memcpy(a_copy, A.data, na * sizeof *a_copy);
    memcpy(b_copy, B.data, nb * sizeof *b_copy);

    vn_gemm(C.data, A.data, B.data, m, n, k, ta, tb, acc);

    size_t bad = 0;
    const double eps = (double)VN_REAL_EPSILON;
    for (size_t i = 0; i < m; i++) {
        for (size_t j = 0; j < n; j++) {
            double sum = c0[i * n + j], mag = fabs(c0[i * n + j]);
            for (size_t p = 0; p < k; p++) {
                double x = get_a(A.data, m, k, ta, i, p), y = get_b(B.data, n, k, tb, p, j);
                sum += x * y;
                mag += fabs(x * y);
            }
            double got = (double)C.data[i * n + j];
            double tol = (double)(k + 2) * eps * mag;
            if (!(fabs(got - sum) <= tol)) {
                if (bad < 3)
                    fprintf(stderr,
                            "gemm m=%zu n=%zu k=%zu ta=%d tb=%d acc=%d: C[%zu,%zu] = %.9g, want %.9g (tol %.3g)\n",
                            m, n, k, ta, tb, acc, i, j, got, sum, tol);
                bad++;
            }
        }
    }
    ck_assert_msg(memcmp(a_copy, A.data, na * sizeof *a_copy) == 0, "A was modified");
    ck_assert_msg(memcmp(b_copy, B.data, nb * sizeof *b_copy) == 0, "B was modified");
    ck_assert_msg(A.data[na] == (vn_real)12345 && B.data[nb] == (vn_real)23456 &&
                      C.data[nc] == (vn_real)34567,
                  "write past the end (m=%zu n=%zu k=%zu)", m, n, k);
    free(a_copy);
    free(b_copy);
    free(c0);
    buffer_free(&A);
    buffer_free(&B);
    buffer_free(&C);
    return bad;
}

static size_t check_all_variants(size_t m, size_t n, size_t k, size_t offset) {
    size_t bad = 0;
    for (int v = 0; v < 8; v++)
        bad += check_case(m, n, k, v & 1, (v >> 1) & 1, (v >> 2) & 1, offset + (size_t)v);
    return bad;
}

/* ---- a parallel-for hook for tests: runs the chunks in a scrambled order --- */

typedef struct scramble_hook {
    size_t calls;       /* hook invocations */
    size_t max_count;   /* largest count seen */
    unsigned seed;
} scramble_hook;

static void scramble_parallel_for(void *user, vn_parallel_task run, void *task, size_t count) {
    scramble_hook *h = user;
    h->calls++;
    if (count > h->max_count) h->max_count = count;
    /* Chunks of one index, visited in a permuted order; every other call
     * also hands one multi-index chunk to check ranges work too. */
    size_t order[64];
    ck_assert_uint_le(count, 64);
    for (size_t i = 0; i < count; i++) order[i] = i;
    for (size_t i = count; i > 1; i--) {
        h->seed = h->seed * 1103515245u + 12345u;
        size_t j = (h->seed >> 8) % i;
        size_t t = order[i - 1];
        order[i - 1] = order[j];
        order[j] = t;
    }
    if ((h->calls & 1) == 0 && count >= 3) {
        /* [count-2, count) as one range, the rest one by one, backwards. */
        run(task, count - 2, count);
        for (size_t i = count - 2; i-- > 0;) run(task, i, i + 1);
        return;
    }
    for (size_t i = 0; i < count; i++) run(task, order[i], order[i] + 1);
}

/* ---- tests ----------------------------------------------------------------- */

START_TEST(gemm_empty_and_k_zero) {
    vn_real c[6] = {7, 7, 7, 7, 7, 7};
    vn_real a[1] = {1}, b[1] = {1};
    vn_gemm(c, a, b, 0, 3, 4, false, false, false);
    vn_gemm(c, a, b, 2, 0, 4, true, true, false);
    for (int i = 0; i < 6; i++) ck_assert(c[i] == 7);
    vn_gemm(c, a, b, 2, 3, 0, false, false, true);
    for (int i = 0; i < 6; i++) ck_assert(c[i] == 7);
    vn_gemm(c, a, b, 2, 3, 0, true, false, false);
    for (int i = 0; i < 6; i++) ck_assert(c[i] == 0);
}
END_TEST

START_TEST(gemm_small_exact) {
    /* [1 2 3; 4 5 6] · [7 8; 9 10; 11 12] = [58 64; 139 154] */
    const vn_real a[6] = {1, 2, 3, 4, 5, 6}, at[6] = {1, 4, 2, 5, 3, 6};
    const vn_real b[6] = {7, 8, 9, 10, 11, 12}, bt[6] = {7, 9, 11, 8, 10, 12};
    const vn_real want[4] = {58, 64, 139, 154};
    for (int v = 0; v < 4; v++) {
        bool ta = v & 1, tb = (v >> 1) & 1;
        vn_real c[4] = {NAN, NAN, NAN, NAN};
        vn_gemm(c, ta ? at : a, tb ? bt : b, 2, 2, 3, ta, tb, false);
        for (int i = 0; i < 4; i++) ck_assert(c[i] == want[i]);
        vn_gemm(c, ta ? at : a, tb ? bt : b, 2, 2, 3, ta, tb, true);
        for (int i = 0; i < 4; i++) ck_assert(c[i] == 2 * want[i]);
    }
}
END_TEST

/* Every combination of small sizes, including 0 and 1. */
START_TEST(gemm_small_shapes) {
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 16, 17};
    size_t bad = 0;
    for (size_t x = 0; x < VN_ARRAY_COUNT(sizes); x++)
        for (size_t y = 0; y < VN_ARRAY_COUNT(sizes); y++)
            for (size_t z = 0; z < VN_ARRAY_COUNT(sizes); z++)
                bad += check_all_variants(sizes[x], sizes[y], sizes[z], x + y + z);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Sizes straddling register tiles (multiples of 4, 6, 8, 14, 16, 32) and primes. */
START_TEST(gemm_tile_edges) {
    static const size_t ms[] = {1, 5, 6, 7, 13, 14, 15, 23, 27, 28, 29, 31, 37, 43};
    static const size_t ns[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 47, 63, 64, 65, 97};
    static const size_t ks[] = {1, 2, 11, 16, 33};
    size_t bad = 0, idx = 0;
    for (size_t x = 0; x < VN_ARRAY_COUNT(ms); x++)
        for (size_t y = 0; y < VN_ARRAY_COUNT(ns); y++) {
            size_t k = ks[idx++ % VN_ARRAY_COUNT(ks)];
            bad += check_all_variants(ms[x], ns[y], k, idx);
        }
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Inner dimensions straddling the cache blocks (KC is a few hundred), and
 * widths straddling the packed B block. */
START_TEST(gemm_cache_blocks) {
    static const size_t cases[][3] = {
        {17, 33, 127},  {13, 31, 128},  {29, 65, 129},  {15, 17, 255},  {30, 40, 256},
        {14, 32, 257},  {9, 47, 383},   {28, 64, 384},  {31, 33, 385},  {7, 70, 511},
        {43, 97, 512},  {15, 19, 513},  {3, 5, 769},    {2, 130, 1025}, {61, 251, 97},
        {37, 531, 19},  {5, 1000, 23},  {97, 383, 41},  {200, 257, 13}, {1, 700, 300},
        {300, 1, 300},  {301, 3, 7},    {16, 16, 6400}, {257, 129, 1},  {128, 128, 128},
        {1, 2100, 30},  {3, 2050, 17},  {2, 4500, 3},   {1, 77, 1000},  {3, 300, 520},
        {5, 1100, 520}, {12, 1030, 600},
    };
    size_t bad = 0;
    for (size_t i = 0; i < VN_ARRAY_COUNT(cases); i++)
        bad += check_all_variants(cases[i][0], cases[i][1], cases[i][2], i);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* The shapes training uses (smaller batch for the big one). */
START_TEST(gemm_training_shapes) {
    size_t bad = 0;
    bad += check_all_variants(640, 16, 16, 0);
    bad += check_all_variants(64, 16, 16, 1);
    bad += check_all_variants(16, 16, 640, 2);
    bad += check_all_variants(64, 200, 200, 3);
    bad += check_all_variants(200, 200, 64, 4);
    ck_assert_uint_eq(bad, 0);
}
END_TEST

/* Runs a product into a fresh buffer and returns it (malloc'd). */
static vn_real *run_product(const vn_real *a, const vn_real *b, const vn_real *c_init, size_t m,
                            size_t n, size_t k, bool ta, bool tb, bool acc) {
    vn_real *c = malloc((m * n + 1) * sizeof *c);
    ck_assert_ptr_nonnull(c);
    if (acc) memcpy(c, c_init, m * n * sizeof *c);
    else fill_garbage(c, m * n);
    vn_gemm(c, a, b, m, n, k, ta, tb, acc);
    return c;
}

/* Products large enough to be split over the hook (at least 2^21
 * multiply-adds), by columns and by rows, with tasks of a few rows. */
static const size_t parallel_cases[][3] = {
    {128, 128, 128}, {9600, 16, 16},   {64, 512, 512}, {201, 37, 301}, {37, 301, 201},
    {512, 64, 512},  {16, 16, 9000},   {1500, 3, 500}, {3, 1500, 500}, {257, 259, 33},
    {26, 40, 4200},  {10, 40, 6000},   {1, 6000, 400}, {2, 4000, 300},
};

/* The same product twice gives the same bits. */
START_TEST(gemm_deterministic) {
    size_t idx = (size_t)_i;
    size_t m = parallel_cases[idx][0], n = parallel_cases[idx][1], k = parallel_cases[idx][2];
    vn_real *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
    vn_real *c0 = malloc(m * n * sizeof *c0);
    ck_assert(a && b && c0);
    fill_random(a, m * k);
    fill_random(b, k * n);
    fill_random(c0, m * n);
    for (int v = 0; v < 8; v++) {
        bool ta = v & 1, tb = (v >> 1) & 1, acc = (v >> 2) & 1;
        vn_real *x = run_product(a, b, c0, m, n, k, ta, tb, acc);
        vn_real *y = run_product(a, b, c0, m, n, k, ta, tb, acc);
        ck_assert_msg(memcmp(x, y, m * n * sizeof *x) == 0, "not deterministic: %zu %zu %zu v%d",
                      m, n, k, v);
        free(x);
        free(y);
    }
    free(a);
    free(b);
    free(c0);
}
END_TEST

/* With a parallel-for hook that runs the chunks in a scrambled order the
 * results are bitwise the same as without a hook. */
START_TEST(gemm_parallel_hook_bitwise) {
    size_t idx = (size_t)_i;
    size_t m = parallel_cases[idx][0], n = parallel_cases[idx][1], k = parallel_cases[idx][2];
    vn_real *a = malloc(m * k * sizeof *a), *b = malloc(k * n * sizeof *b);
    vn_real *c0 = malloc(m * n * sizeof *c0);
    ck_assert(a && b && c0);
    fill_random(a, m * k);
    fill_random(b, k * n);
    fill_random(c0, m * n);
    scramble_hook hook = {0, 0, 7u + (unsigned)idx};
    for (int v = 0; v < 8; v++) {
        bool ta = v & 1, tb = (v >> 1) & 1, acc = (v >> 2) & 1;
        vn_set_parallel_for(NULL, NULL);
        vn_real *serial = run_product(a, b, c0, m, n, k, ta, tb, acc);
        vn_set_parallel_for(scramble_parallel_for, &hook);
        vn_real *split = run_product(a, b, c0, m, n, k, ta, tb, acc);
        vn_real *split2 = run_product(a, b, c0, m, n, k, ta, tb, acc);
        vn_set_parallel_for(NULL, NULL);
        ck_assert_msg(memcmp(serial, split, m * n * sizeof *serial) == 0,
                      "hook changed the result: %zu %zu %zu v%d", m, n, k, v);
        ck_assert_msg(memcmp(serial, split2, m * n * sizeof *serial) == 0,
                      "hook changed the result: %zu %zu %zu v%d", m, n, k, v);
        free(serial);
        free(split);
        free(split2);
    }
    /* Products this large are split: the hook was used with several chunks. */
    ck_assert_uint_gt(hook.calls, 0);
    ck_assert_uint_gt(hook.max_count, 1);
    free(a);
    free(b);
    free(c0);
}
END_TEST

/* vn_parallel_for itself: inline without a hook, through it with one. */
static void count_task(void *task, size_t begin, size_t end) {
    size_t *seen = task;
    for (size_t i = begin; i < end; i++) seen[i]++;
}

START_TEST(parallel_for_covers_range) {
    size_t seen[10] = {0};
    vn_set_parallel_for(NULL, NULL);
    vn_parallel_for(count_task, seen, 10);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(seen[i], 1);
    scramble_hook hook = {0, 0, 1};
    vn_set_parallel_for(scramble_parallel_for, &hook);
    vn_parallel_for(count_task, seen, 10);
    vn_parallel_for(count_task, seen, 0);
    vn_set_parallel_for(NULL, NULL);
    for (int i = 0; i < 10; i++) ck_assert_uint_eq(seen[i], 2);
    ck_assert_uint_eq(hook.calls, 1);
}
END_TEST

int main(void) {
    Suite *s = suite_create("matmul");
    TCase *tc = test_case(s, "gemm", NULL, NULL, 600);
    tcase_add_test(tc, gemm_empty_and_k_zero);
    tcase_add_test(tc, gemm_small_exact);
    tcase_add_test(tc, gemm_small_shapes);
    tcase_add_test(tc, gemm_tile_edges);
    tcase_add_test(tc, gemm_cache_blocks);
    tcase_add_test(tc, gemm_training_shapes);
    tcase_add_loop_test(tc, gemm_deterministic, 0, (int)VN_ARRAY_COUNT(parallel_cases));
    tcase_add_loop_test(tc, gemm_parallel_hook_bitwise, 0, (int)VN_ARRAY_COUNT(parallel_cases));
    tcase_add_test(tc, parallel_for_covers_range);
    return test_run(s);
}
