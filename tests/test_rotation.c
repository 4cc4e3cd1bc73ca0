/* test_rotation.c — the orthogonal parametrisations (intervene/
 * vn_iv_rotation.h): gradcheck of the three ops, PyTorch reference cases
 * (data/rotation/, made by tools/gen_rotation_reference.py), the matrix
 * exponential and its Fréchet derivative against independent references,
 * orthogonality after training, initialisation, re-basing and errors. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_gradcheck.h"
#include "vn_iv_rotation.h"
#include "vn_nn.h"
#include "vn_ops.h"
#include "vn_optim.h"
#include "vn_safetensors.h"

/* Against PyTorch (float64 references): R within R_TOL (absolute; R's
 * entries are at most 1), dX within DX_REL_TOL relative to max |dX|. */
#define R_TOL 1e-5
#define DX_REL_TOL 1e-4
#define EPS ((double)VN_REAL_EPSILON)

static void setup(void) {
    fixture_setup();
    ck_assert_int_eq(vn_iv_rotation_register_ops(), VN_OK);
}

static const vn_iv_orth_map all_maps[] = {VN_IV_ORTH_MATRIX_EXP, VN_IV_ORTH_HOUSEHOLDER,
                                          VN_IV_ORTH_CAYLEY};

/* ‖RᵀR − I‖∞ (largest row sum of |RᵀR − I|), in double. */
static double orth_inf_norm(const vn_real *r, size_t n, size_t m) {
    double worst = 0;
    for (size_t a = 0; a < m; a++) {
        double row = 0;
        for (size_t b = 0; b < m; b++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++) dot += (double)r[i * m + a] * (double)r[i * m + b];
            row += fabs(dot - (a == b ? 1.0 : 0.0));
        }
        if (!(row <= worst)) worst = row;
    }
    return worst;
}

static double max_abs_diff(const vn_real *a, const vn_real *b, size_t n) {
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (!(d <= worst)) worst = d;
    }
    return worst;
}

static vn_node *matrix_leaf(size_t rows, size_t cols, unsigned flags) {
    size_t shape[2] = {rows, cols};
    vn_node *node = vn_leaf(&ctx, 2, shape, flags);
    CHECK_CTX(node != NULL);
    return node;
}

/* ---- names and registration ---------------------------------------------------------- */

START_TEST(map_names_and_registry) {
    for (int i = 0; i < VN_IV_ORTH_MAP_COUNT; i++) {
        vn_iv_orth_map map;
        ck_assert_int_eq(vn_iv_orth_map_lookup(vn_iv_orth_map_name((vn_iv_orth_map)i), &map), VN_OK);
        ck_assert_int_eq(map, i);
        const vn_op *op = vn_iv_orth_op(map);
        ck_assert_ptr_nonnull(op);
        ck_assert_ptr_eq(vn_op_find(op->name), op);
    }
    ck_assert_str_eq(vn_iv_orth_map_name(VN_IV_ORTH_MATRIX_EXP), "matrix_exp");
    ck_assert_str_eq(vn_iv_orth_map_name(VN_IV_ORTH_HOUSEHOLDER), "householder");
    ck_assert_str_eq(vn_iv_orth_map_name(VN_IV_ORTH_CAYLEY), "cayley");
    ck_assert_str_eq(vn_iv_orth_map_name(VN_IV_ORTH_MAP_COUNT), "?");
    ck_assert_int_eq(vn_iv_orth_map_lookup("Cayley", NULL), VN_EINVAL);
    ck_assert_int_eq(vn_iv_orth_map_lookup(NULL, NULL), VN_EINVAL);
    ck_assert_ptr_null(vn_iv_orth_op(VN_IV_ORTH_MAP_COUNT));
    ck_assert_int_eq(vn_iv_orth_map_default(8, 8), VN_IV_ORTH_MATRIX_EXP);
    ck_assert_int_eq(vn_iv_orth_map_default(8, 3), VN_IV_ORTH_HOUSEHOLDER);
    /* Idempotent. */
    size_t count = vn_op_count();
    ck_assert_int_eq(vn_iv_rotation_register_ops(), VN_OK);
    ck_assert_uint_eq(vn_op_count(), count);
}
END_TEST

/* ---- gradcheck ------------------------------------------------------------------------ */

START_TEST(gradcheck_every_map) {
    vn_gradcheck_options options = vn_gradcheck_defaults();
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++) {
        const vn_op *op = vn_iv_orth_op(all_maps[k]);
        int cases = gradcheck_op_cases(op, &options);
        ck_assert_int_ge(cases, 5);
    }
}
END_TEST

/* A larger X than the op's saved memory was sized for: forward then takes
 * its fallback path (squarings beyond the saved slots) and backward
 * recomputes the powers. Both must agree with a node built for that X. */
START_TEST(expm_more_squarings_than_sized) {
    size_t n = 5;
    vn_rng rng;
    vn_rng_seed(&rng, 7, 1);
    vn_node *base = matrix_leaf(n, n, VN_NODE_CONST);
    ck_assert_int_eq(vn_nn_init_orthogonal(&base->value, 1, &rng, &arena), VN_OK);
    vn_node *x = matrix_leaf(n, n, VN_NODE_PARAM);
    vn_rng_fill_uniform(&rng, x->value.data, n * n, -0.05, 0.05);
    vn_node *r_small = vn_iv_orthogonal(&ctx, VN_IV_ORTH_MATRIX_EXP, x, base);
    CHECK_CTX(r_small != NULL);
    for (size_t i = 0; i < n * n; i++) x->value.data[i] *= 400; /* ‖A‖₁ ~ 40: several squarings */
    r_small->op->forward(r_small);
    vn_real seed[25];
    vn_rng_fill_uniform(&rng, seed, n * n, -1, 1);
    CHECK_CTX(vn_backward_with(&ctx, r_small, seed) == VN_OK);
    vn_real grad_small[25];
    memcpy(grad_small, x->grad.data, sizeof grad_small);
    vn_zero_grad(&ctx);
    vn_node *r_big = vn_iv_orthogonal(&ctx, VN_IV_ORTH_MATRIX_EXP, x, base);
    CHECK_CTX(r_big != NULL);
    CHECK_CTX(vn_backward_with(&ctx, r_big, seed) == VN_OK);
    ck_assert_double_eq(max_abs_diff(r_small->value.data, r_big->value.data, n * n), 0);
    ck_assert_double_eq(max_abs_diff(grad_small, x->grad.data, n * n), 0);
    ck_assert_double_le(orth_inf_norm(r_big->value.data, n, n), 10 * n * EPS);
}
END_TEST

/* ---- PyTorch reference cases -------------------------------------------------------- */

static size_t ref_meta_size(const ref_file *r, const char *key) {
    return (size_t)strtoul(ref_meta(r, key), NULL, 10);
}

static const char *const ref_names[] = {
    "matrix_exp_square", "matrix_exp_tall", "matrix_exp_large", "householder_square",
    "householder_tall", "cayley_square", "cayley_tall",
};

START_TEST(pytorch_reference) {
    for (size_t f = 0; f < VN_ARRAY_COUNT(ref_names); f++) {
        ref_file r;
        ref_open(&r, "data/rotation", ref_names[f]);
        size_t n = ref_meta_size(&r, "n"), m = ref_meta_size(&r, "m");
        vn_iv_orth_map map;
        ck_assert_int_eq(vn_iv_orth_map_lookup(vn_safetensors_metadata_get(&r.st, "map"), &map), VN_OK);
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_node *x = matrix_leaf(n, m, VN_NODE_PARAM);
        vn_node *base = matrix_leaf(n, n, VN_NODE_CONST);
        ref_read(&r, "original", x->value.data, n * m);
        ref_read(&r, "base", base->value.data, n * n);
        vn_node *out = vn_iv_orthogonal(&ctx, map, x, base);
        CHECK_CTX(out != NULL);
        vn_real *want = malloc(n * m * sizeof *want), *seed = malloc(n * m * sizeof *seed);
        ref_read(&r, "weight", want, n * m);
        double r_err = max_abs_diff(out->value.data, want, n * m);
        ref_read(&r, "grad_weight", seed, n * m);
        CHECK_CTX(vn_backward_with(&ctx, out, seed) == VN_OK);
        ref_read(&r, "grad_original", want, n * m);
        double scale = 0;
        for (size_t i = 0; i < n * m; i++)
            if (fabs((double)want[i]) > scale) scale = fabs((double)want[i]);
        double dx_err = max_abs_diff(x->grad.data, want, n * m) / scale;
        printf("rotation reference %-20s R max abs error %.3g, dX max rel error %.3g\n",
               ref_names[f], r_err, dx_err);
        ck_assert_msg(r_err <= R_TOL, "%s: R off by %g", ref_names[f], r_err);
        ck_assert_msg(dx_err <= DX_REL_TOL, "%s: dX off by %g (relative)", ref_names[f], dx_err);

        /* The same state through the rotation object. */
        vn_iv_rotation rot;
        CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, n, m, map, NULL) == VN_OK);
        CHECK_CTX(vn_iv_rotation_set_state(&rot, &ctx, x->value.data, base->value.data) == VN_OK);
        vn_real *got = malloc(n * m * sizeof *got);
        CHECK_CTX(vn_iv_rotation_compute(&rot, &ctx, got) == VN_OK);
        ck_assert_double_eq(max_abs_diff(got, out->value.data, n * m), 0);
        free(got);
        free(want);
        free(seed);
        vn_context_rewind(&ctx, mark);
        ref_close(&r);
    }
}
END_TEST

/* ---- the exponential against independent references ----------------------------- */

/* expm of an n × n long double matrix: Taylor series after scaling to norm
 * ≤ 1/8, then squaring. Plenty for the small, well-conditioned cases here. */
static void expm_taylor(const long double *a, size_t n, long double *out) {
    long double norm = 0;
    for (size_t j = 0; j < n; j++) {
        long double col = 0;
        for (size_t i = 0; i < n; i++) col += fabsl(a[i * n + j]);
        if (col > norm) norm = col;
    }
    int s = 0;
    while (norm > 0.125L) {
        norm /= 2;
        s++;
    }
    long double scale = ldexpl(1.0L, -s);
    long double *term = malloc(n * n * sizeof *term), *next = malloc(n * n * sizeof *next);
    for (size_t i = 0; i < n * n; i++) out[i] = term[i] = (i % (n + 1) == 0) ? 1 : 0;
    for (int k = 1; k < 24; k++) { /* 8^-24 / 24! is far below long double precision */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                long double sum = 0;
                for (size_t t = 0; t < n; t++) sum += term[i * n + t] * a[t * n + j] * scale;
                next[i * n + j] = sum / k;
            }
        for (size_t i = 0; i < n * n; i++) {
            term[i] = next[i];
            out[i] += term[i];
        }
    }
    for (int q = 0; q < s; q++) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                long double sum = 0;
                for (size_t t = 0; t < n; t++) sum += out[i * n + t] * out[t * n + j];
                next[i * n + j] = sum;
            }
        memcpy(out, next, n * n * sizeof *out);
    }
    free(term);
    free(next);
}

/* R = expm(A) through the op with base = I, for X's strictly lower part. */
static vn_node *expm_node(vn_node *x) {
    size_t n = x->value.shape[0];
    vn_node *base = matrix_leaf(n, n, VN_NODE_CONST);
    for (size_t i = 0; i < n; i++) base->value.data[i * n + i] = 1;
    vn_node *r = vn_iv_orthogonal(&ctx, VN_IV_ORTH_MATRIX_EXP, x, base);
    CHECK_CTX(r != NULL);
    return r;
}

START_TEST(expm_against_taylor) {
    /* Norms that select each Padé degree (and squarings). */
    const double norms[] = {0.005, 0.1, 0.4, 0.9, 1.5, 3, 5, 12};
    size_t n = 5;
    vn_rng rng;
    vn_rng_seed(&rng, 11, 3);
    for (size_t c = 0; c < VN_ARRAY_COUNT(norms); c++) {
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_node *x = matrix_leaf(n, n, VN_NODE_PARAM);
        vn_rng_fill_uniform(&rng, x->value.data, n * n, -1, 1);
        /* Rescale so that ‖A‖₁ = norms[c]. */
        long double a[25], want[25];
        double norm = 0;
        for (size_t j = 0; j < n; j++) {
            double col = 0;
            for (size_t i = 0; i < n; i++)
                col += i > j ? fabs((double)x->value.data[i * n + j]) : i < j ? fabs((double)x->value.data[j * n + i]) : 0;
            if (col > norm) norm = col;
        }
        for (size_t i = 0; i < n * n; i++) x->value.data[i] = (vn_real)(x->value.data[i] * norms[c] / norm);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++)
                a[i * n + j] = i > j ? (long double)x->value.data[i * n + j]
                             : i < j ? -(long double)x->value.data[j * n + i] : 0;
        expm_taylor(a, n, want);
        vn_node *r = expm_node(x);
        double err = 0;
        for (size_t i = 0; i < n * n; i++) {
            double d = fabs((double)r->value.data[i] - (double)want[i]);
            if (!(d <= err)) err = d;
        }
        ck_assert_msg(err <= 20 * n * EPS, "‖A‖₁ = %g: expm off by %g (%.1f eps)", norms[c], err, err / EPS);
        vn_context_rewind(&ctx, mark);
    }
}
END_TEST

START_TEST(expm_of_rotation_generator) {
    /* expm([[0, −θ], [θ, 0]]) = [[cos θ, −sin θ], [sin θ, cos θ]]. */
    const double thetas[] = {1e-6, 1e-3, 0.3, -0.7, 1, 2.5, 3.14159, -6, 10, 31.4, 100, -1000, 12345};
    for (size_t c = 0; c < VN_ARRAY_COUNT(thetas); c++) {
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_node *x = matrix_leaf(2, 2, VN_NODE_PARAM);
        x->value.data[2] = (vn_real)thetas[c];
        double theta = (double)x->value.data[2]; /* as represented */
        vn_node *r = expm_node(x);
        double want[4] = {cos(theta), -sin(theta), sin(theta), cos(theta)};
        double err = 0;
        for (int i = 0; i < 4; i++) {
            double d = fabs((double)r->value.data[i] - want[i]);
            if (d > err) err = d;
        }
        /* The exponential's condition number here is about |θ|. */
        double tol = 8 * EPS * (fabs(theta) > 1 ? fabs(theta) : 1);
        ck_assert_msg(err <= tol, "θ = %g: off by %g (%.1f eps)", theta, err, err / EPS);
        vn_context_rewind(&ctx, mark);
    }
}
END_TEST

/* The backward of matrix_exp (base = I, square) is dA = L(Aᵀ, G), then
 * dX = strictly lower part of dA − dAᵀ. Reference: the upper-right block of
 * expm([[Aᵀ, G], [0, Aᵀ]]), in long double. */
START_TEST(expm_frechet_against_block_matrix) {
    const double norms[] = {0.2, 1.5, 4, 9};
    size_t n = 4, nn = 2 * n;
    vn_rng rng;
    vn_rng_seed(&rng, 13, 4);
    for (size_t c = 0; c < VN_ARRAY_COUNT(norms); c++) {
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_node *x = matrix_leaf(n, n, VN_NODE_PARAM);
        vn_rng_fill_uniform(&rng, x->value.data, n * n, -1, 1);
        for (size_t i = 0; i < n * n; i++) x->value.data[i] = (vn_real)(x->value.data[i] * norms[c] / n);
        vn_real g[16];
        vn_rng_fill_uniform(&rng, g, n * n, -1, 1);
        vn_node *r = expm_node(x);
        CHECK_CTX(vn_backward_with(&ctx, r, g) == VN_OK);

        long double block[64] = {0}, e[64];
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                long double aij = i > j ? (long double)x->value.data[i * n + j]
                                : i < j ? -(long double)x->value.data[j * n + i] : 0;
                block[j * nn + i] = aij;           /* Aᵀ top-left */
                block[(n + j) * nn + n + i] = aij; /* Aᵀ bottom-right */
                block[i * nn + n + j] = (long double)g[i * n + j];
            }
        expm_taylor(block, nn, e);
        double worst = 0, scale = 0;
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < n; j++) {
                double want = i > j ? (double)(e[i * nn + n + j] - e[j * nn + n + i]) : 0;
                double d = fabs((double)x->grad.data[i * n + j] - want);
                if (!(d <= worst)) worst = d;
                if (fabs(want) > scale) scale = fabs(want);
            }
        ck_assert_msg(worst <= 50 * n * EPS * (scale > 1 ? scale : 1),
                      "‖A‖ ~ %g: Fréchet adjoint off by %g (%.1f eps)", norms[c], worst, worst / EPS);
        vn_context_rewind(&ctx, mark);
    }
}
END_TEST

/* ---- sizes past the block size: against plain long-double references ------------ */

/* The skew A of X (n × m) in long double. */
static void skew_ld(const vn_real *x, size_t n, size_t m, long double *a) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            a[i * n + j] = (i > j && j < m) ? (long double)x[i * m + j]
                         : (j > i && i < m) ? -(long double)x[j * m + i] : 0;
}

/* Solves M·Y = C (n × n, n × r, both overwritten) by Gaussian elimination
 * with partial pivoting, in long double. */
static void solve_ld(long double *mat, long double *c, size_t n, size_t r) {
    for (size_t k = 0; k < n; k++) {
        size_t p = k;
        for (size_t i = k + 1; i < n; i++)
            if (fabsl(mat[i * n + k]) > fabsl(mat[p * n + k])) p = i;
        for (size_t j = 0; j < n; j++) {
            long double t = mat[k * n + j];
            mat[k * n + j] = mat[p * n + j];
            mat[p * n + j] = t;
        }
        for (size_t j = 0; j < r; j++) {
            long double t = c[k * r + j];
            c[k * r + j] = c[p * r + j];
            c[p * r + j] = t;
        }
        for (size_t i = k + 1; i < n; i++) {
            long double l = mat[i * n + k] / mat[k * n + k];
            for (size_t j = k; j < n; j++) mat[i * n + j] -= l * mat[k * n + j];
            for (size_t j = 0; j < r; j++) c[i * r + j] -= l * c[k * r + j];
        }
    }
    for (size_t k = n; k-- > 0;) {
        for (size_t j = 0; j < r; j++) {
            long double v = c[k * r + j];
            for (size_t t = k + 1; t < n; t++) v -= mat[k * n + t] * c[t * r + j];
            c[k * r + j] = v / mat[k * n + k];
        }
    }
}

/* R = base · map(X) in long double, straight from the definitions. */
static void reference_weight(vn_iv_orth_map map, const vn_real *x, const vn_real *base, size_t n,
                             size_t m, long double *r) {
    long double *q = malloc(n * n * sizeof *q), *a = malloc(n * n * sizeof *a);
    long double *c = malloc(n * n * sizeof *c);
    if (map == VN_IV_ORTH_HOUSEHOLDER) {
        /* Q = H_1 (H_2 (⋯ (H_m E))), columns times trunc(X_jj). */
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) q[i * m + j] = i == j;
        for (size_t k = m; k-- > 0;) {
            long double norm2 = 1;
            for (size_t i = k + 1; i < n; i++) norm2 += (long double)x[i * m + k] * x[i * m + k];
            long double tau = 2 / norm2;
            for (size_t j = 0; j < m; j++) {
                long double dot = q[k * m + j];
                for (size_t i = k + 1; i < n; i++) dot += (long double)x[i * m + k] * q[i * m + j];
                q[k * m + j] -= tau * dot;
                for (size_t i = k + 1; i < n; i++) q[i * m + j] -= tau * dot * x[i * m + k];
            }
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) q[i * m + j] *= truncl((long double)x[j * m + j]);
    } else {
        skew_ld(x, n, m, a);
        if (map == VN_IV_ORTH_MATRIX_EXP) {
            expm_taylor(a, n, c);
        } else { /* solve (I − A/2) Q = (I + A/2) */
            for (size_t i = 0; i < n * n; i++) {
                long double id = (i % (n + 1) == 0) ? 1 : 0;
                c[i] = id + a[i] / 2;
                a[i] = id - a[i] / 2;
            }
            solve_ld(a, c, n, n);
        }
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) q[i * m + j] = c[i * n + j];
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) {
            long double sum = 0;
            for (size_t t = 0; t < n; t++) sum += (long double)base[i * n + t] * q[t * m + j];
            r[i * m + j] = sum;
        }
    free(q);
    free(a);
    free(c);
}

/* L = Σ w ⊙ R, in double. */
static double weighted(const vn_node *r, const vn_real *w) {
    double sum = 0;
    for (size_t i = 0; i < r->value.numel; i++) sum += (double)w[i] * (double)r->value.data[i];
    return sum;
}

START_TEST(blocked_sizes_against_references) {
    /* Shapes past the 64-row blocks of the LU, the solves and the products,
     * not multiples of 64; cayley takes its narrow path for (150, 70) and
     * its wide one for (150, 100) and (150, 150). */
    const size_t cases[][2] = {{150, 150}, {150, 70}, {150, 100}};
    const double spread[] = {0.02, 0.2}; /* ‖A‖₁ ≈ 1.5 and ≈ 15 (squarings) */
#ifdef VN_REAL_DOUBLE
    const double r_tol = 1e-12, fd_step = 1e-6, fd_tol = 1e-6;
#else
    const double r_tol = 2e-5, fd_step = 1e-2, fd_tol = 2e-2;
#endif
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++)
        for (size_t c = 0; c < VN_ARRAY_COUNT(cases); c++)
            for (size_t sp = 0; sp < VN_ARRAY_COUNT(spread); sp++) {
                if (all_maps[k] != VN_IV_ORTH_MATRIX_EXP && sp > 0) continue;
                size_t n = cases[c][0], m = cases[c][1];
                vn_context_mark mark = vn_context_mark_get(&ctx);
                vn_rng rng;
                vn_rng_seed(&rng, 90 + c, 4);
                vn_node *base = matrix_leaf(n, n, VN_NODE_CONST);
                ck_assert_int_eq(vn_nn_init_orthogonal(&base->value, 1, &rng, &arena), VN_OK);
                vn_node *x = matrix_leaf(n, m, VN_NODE_PARAM);
                vn_rng_fill_uniform(&rng, x->value.data, n * m, -spread[sp], spread[sp]);
                for (size_t j = 0; j < m; j++) x->value.data[j * m + j] = (j % 3) ? (vn_real)-1.2 : (vn_real)1.4;
                vn_node *r = vn_iv_orthogonal(&ctx, all_maps[k], x, base);
                CHECK_CTX(r != NULL);
                const char *name = vn_iv_orth_map_name(all_maps[k]);

                long double *want = malloc(n * m * sizeof *want);
                reference_weight(all_maps[k], x->value.data, base->value.data, n, m, want);
                double err = 0;
                for (size_t i = 0; i < n * m; i++) {
                    double d = fabs((double)r->value.data[i] - (double)want[i]);
                    if (!(d <= err)) err = d;
                }
                free(want);
                ck_assert_msg(err <= r_tol, "%s (%zu, %zu) spread %g: R off by %g", name, n, m,
                              spread[sp], err);

                /* Gradient: central differences of L = Σ w ⊙ R for entries spread
                 * over every block, and along one random direction. */
                vn_real *w = malloc(n * m * sizeof *w), *dir = malloc(n * m * sizeof *dir);
                vn_rng_fill_uniform(&rng, w, n * m, -1, 1);
                vn_zero_grad(&ctx);
                CHECK_CTX(vn_backward_with(&ctx, r, w) == VN_OK);
                double gmax = 0;
                for (size_t i = 0; i < n * m; i++)
                    if (fabs((double)x->grad.data[i]) > gmax) gmax = fabs((double)x->grad.data[i]);
                ck_assert(gmax > 0);
                const size_t rows[] = {1, 63, 64, 65, 100, 128, 149};
                for (size_t a = 0; a < VN_ARRAY_COUNT(rows); a++) {
                    size_t i = rows[a], j = (i * 7 + 3) % (i < m ? i : m);
                    vn_real *xe = &x->value.data[i * m + j], saved = *xe;
                    *xe = (vn_real)(saved + fd_step);
                    r->op->forward(r);
                    double lp = weighted(r, w);
                    *xe = (vn_real)(saved - fd_step);
                    r->op->forward(r);
                    double lm = weighted(r, w);
                    *xe = saved;
                    double numeric = (lp - lm) / (2 * fd_step), analytic = x->grad.data[i * m + j];
                    ck_assert_msg(fabs(numeric - analytic) <= fd_tol * gmax,
                                  "%s (%zu, %zu) spread %g: dX[%zu][%zu] analytic %g numeric %g", name,
                                  n, m, spread[sp], i, j, analytic, numeric);
                }
                /* A unit direction, so that the step stays small in norm. */
                vn_rng_fill_uniform(&rng, dir, n * m, -1, 1);
                double along = 0, dnorm = 0;
                for (size_t i = 0; i < n * m; i++) dnorm += (double)dir[i] * (double)dir[i];
                dnorm = sqrt(dnorm);
                for (size_t i = 0; i < n * m; i++) {
                    dir[i] = (vn_real)(dir[i] / dnorm);
                    along += (double)dir[i] * (double)x->grad.data[i];
                }
                vn_real *x0 = malloc(n * m * sizeof *x0);
                memcpy(x0, x->value.data, n * m * sizeof *x0);
                double lpm[2];
                for (int sgn = 0; sgn < 2; sgn++) {
                    for (size_t i = 0; i < n * m; i++)
                        x->value.data[i] = (vn_real)(x0[i] + (sgn ? -fd_step : fd_step) * dir[i]);
                    r->op->forward(r);
                    lpm[sgn] = weighted(r, w);
                }
                memcpy(x->value.data, x0, n * m * sizeof *x0);
                double numeric = (lpm[0] - lpm[1]) / (2 * fd_step);
                ck_assert_msg(fabs(numeric - along) <= fd_tol * fabs(numeric) + fd_tol * gmax,
                              "%s (%zu, %zu) spread %g: directional derivative %g, backward %g", name,
                              n, m, spread[sp], numeric, along);
                free(x0);
                free(w);
                free(dir);
                vn_context_rewind(&ctx, mark);
            }
}
END_TEST

/* ---- initialisation, re-basing, state ---------------------------------------------- */

static const size_t shapes[][2] = {{6, 6}, {6, 3}, {5, 1}, {1, 1}, {9, 8}};

START_TEST(init_equals_orthogonal_init) {
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++)
        for (size_t s = 0; s < VN_ARRAY_COUNT(shapes); s++) {
            size_t n = shapes[s][0], m = shapes[s][1];
            vn_rng rng;
            vn_rng_seed(&rng, 42 + s, 9);
            vn_iv_rotation rot;
            CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, n, m, all_maps[k], &rng) == VN_OK);
            ck_assert(rot.original->flags & VN_NODE_PARAM);
            ck_assert(rot.base->flags & VN_NODE_CONST);
            ck_assert_str_eq(rot.original->name, "rotate_layer.parametrizations.weight.original");
            ck_assert_str_eq(rot.base->name, "rotate_layer.parametrizations.weight.0.base");
            /* The same draw through nn's orthogonal_. */
            vn_rng_seed(&rng, 42 + s, 9);
            vn_tensor q0;
            size_t shape[2] = {n, m};
            ck_assert_int_eq(vn_tensor_alloc(&q0, &arena, 2, shape), VN_OK);
            ck_assert_int_eq(vn_nn_init_orthogonal(&q0, 1, &rng, &arena), VN_OK);
            vn_real *r = malloc(n * m * sizeof *r);
            CHECK_CTX(vn_iv_rotation_compute(&rot, &ctx, r) == VN_OK);
            ck_assert_msg(max_abs_diff(r, q0.data, n * m) == 0, "%s (%zu, %zu): R ≠ Q0",
                          vn_iv_orth_map_name(all_maps[k]), n, m);
            /* X = −I; base's first m columns are Q0 and base is orthogonal. */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < m; j++) {
                    ck_assert(rot.original->value.data[i * m + j] == (i == j ? -1 : 0));
                    ck_assert(rot.base->value.data[i * n + j] == q0.data[i * m + j]);
                }
            double err = orth_inf_norm(rot.base->value.data, n, n);
            ck_assert_msg(err <= 10 * n * EPS, "base not orthogonal: %g", err);
            err = orth_inf_norm(r, n, m);
            ck_assert_msg(err <= 10 * n * EPS, "R not orthogonal at init: %g", err);
            free(r);
        }
}
END_TEST

START_TEST(init_without_rng_is_identity) {
    vn_iv_rotation rot;
    CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, 4, 2, VN_IV_ORTH_HOUSEHOLDER, NULL) == VN_OK);
    vn_real r[8];
    CHECK_CTX(vn_iv_rotation_compute(&rot, &ctx, r) == VN_OK);
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 2; j++) ck_assert(r[i * 2 + j] == (i == j ? 1 : 0));
    for (size_t i = 0; i < 4; i++)
        for (size_t j = 0; j < 4; j++) ck_assert(rot.base->value.data[i * 4 + j] == (i == j ? 1 : 0));
}
END_TEST

START_TEST(rebase_reproduces_weight) {
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++)
        for (size_t s = 0; s < VN_ARRAY_COUNT(shapes); s++) {
            size_t n = shapes[s][0], m = shapes[s][1];
            vn_rng rng;
            vn_rng_seed(&rng, 5 + s, 2);
            vn_iv_rotation rot;
            CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, n, m, all_maps[k], &rng) == VN_OK);
            /* Move X, then re-base on an unrelated orthonormal R. */
            vn_rng_fill_uniform(&rng, rot.original->value.data, n * m, -0.5, 0.5);
            vn_tensor w;
            size_t shape[2] = {n, m};
            ck_assert_int_eq(vn_tensor_alloc(&w, &arena, 2, shape), VN_OK);
            ck_assert_int_eq(vn_nn_init_orthogonal(&w, 1, &rng, &arena), VN_OK);
            CHECK_CTX(vn_iv_rotation_set_weight(&rot, &ctx, w.data, 0) == VN_OK);
            vn_real *r = malloc(n * m * sizeof *r);
            CHECK_CTX(vn_iv_rotation_compute(&rot, &ctx, r) == VN_OK);
            ck_assert_msg(max_abs_diff(r, w.data, n * m) == 0, "%s (%zu, %zu): re-based R differs",
                          vn_iv_orth_map_name(all_maps[k]), n, m);
            double err = orth_inf_norm(rot.base->value.data, n, n);
            ck_assert_msg(err <= 10 * n * EPS, "completed base not orthogonal: %g", err);
            /* A second re-base on the same R gives the same base (deterministic). */
            vn_real *first = malloc(n * n * sizeof *first);
            memcpy(first, rot.base->value.data, n * n * sizeof *first);
            CHECK_CTX(vn_iv_rotation_set_weight(&rot, &ctx, r, 0) == VN_OK);
            ck_assert_double_eq(max_abs_diff(first, rot.base->value.data, n * n), 0);
            free(first);
            free(r);
        }
}
END_TEST

START_TEST(rebase_rejects_bad_weights) {
    size_t n = 5, m = 3;
    vn_rng rng;
    vn_rng_seed(&rng, 77, 1);
    vn_iv_rotation rot;
    CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, n, m, VN_IV_ORTH_HOUSEHOLDER, &rng) == VN_OK);
    vn_real saved_base[25], w[15];
    memcpy(saved_base, rot.base->value.data, sizeof saved_base);
    vn_tensor t;
    size_t shape[2] = {n, m};
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 2, shape), VN_OK);
    ck_assert_int_eq(vn_nn_init_orthogonal(&t, 1, &rng, &arena), VN_OK);
    memcpy(w, t.data, sizeof w);
    for (size_t i = 0; i < n; i++) w[i * m + 1] *= (vn_real)1.001; /* column 1 too long */
    vn_context_mark mark = vn_context_mark_get(&ctx);
    ck_assert_int_eq(vn_iv_rotation_set_weight(&rot, &ctx, w, 0), VN_EINVAL);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "orthonormal"));
    ck_assert_double_eq(max_abs_diff(saved_base, rot.base->value.data, n * n), 0);
    vn_context_rewind(&ctx, mark);
    ck_assert_int_eq(vn_context_status(&ctx), VN_OK);
    /* A looser tolerance accepts it. */
    ck_assert_int_eq(vn_iv_rotation_set_weight(&rot, &ctx, w, 0.01), VN_OK);
    w[4] = (vn_real)NAN;
    ck_assert_int_eq(vn_iv_rotation_set_weight(&rot, &ctx, w, 0.01), VN_ENAN);
    vn_context_rewind(&ctx, mark);
    vn_real bad_state[15] = {0};
    bad_state[3] = (vn_real)INFINITY;
    ck_assert_int_eq(vn_iv_rotation_set_state(&rot, &ctx, bad_state, NULL), VN_ENAN);
}
END_TEST

/* ---- training keeps R orthogonal ------------------------------------------------------- */

START_TEST(orthogonal_after_adam) {
    const size_t cases[][2] = {{6, 6}, {6, 3}};
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++)
        for (size_t c = 0; c < VN_ARRAY_COUNT(cases); c++) {
            size_t n = cases[c][0], m = cases[c][1];
            vn_context_mark outer = vn_context_mark_get(&ctx);
            vn_rng rng;
            vn_rng_seed(&rng, 3 + c, 8);
            vn_iv_rotation rot;
            CHECK_CTX(vn_iv_rotation_init(&rot, &ctx, n, m, all_maps[k], &rng) == VN_OK);
            vn_node *target = matrix_leaf(n, m, VN_NODE_CONST);
            vn_rng_fill_normal(&rng, target->value.data, n * m, 0, 1);
            vn_optim opt;
            vn_optim_options options = vn_optim_defaults(VN_OPTIM_ADAM);
            options.lr = 0.02;
            CHECK_CTX(vn_optim_init(&opt, &ctx, &arena, &options, &rot.original, 1) == VN_OK);
            vn_context_mark mark = vn_context_mark_get(&ctx);
            double first_loss = 0, last_loss = 0;
            for (int step = 0; step < 1000; step++) {
                vn_zero_grad(&ctx);
                vn_node *r = vn_iv_rotation_weight(&rot, &ctx);
                vn_node *loss = vn_mse(&ctx, r, target);
                CHECK_CTX(loss != NULL);
                CHECK_CTX(vn_backward(&ctx, loss) == VN_OK);
                if (step == 0) first_loss = loss->value.data[0];
                last_loss = loss->value.data[0];
                ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
                vn_context_rewind(&ctx, mark);
            }
            vn_real *r = malloc(n * m * sizeof *r);
            CHECK_CTX(vn_iv_rotation_compute(&rot, &ctx, r) == VN_OK);
            double err = orth_inf_norm(r, n, m);
            double moved = 0;
            for (size_t i = 0; i < n * m; i++) {
                double d = fabs((double)rot.original->value.data[i] - (i % (m + 1) == 0 ? -1.0 : 0.0));
                if (d > moved) moved = d;
            }
            printf("rotation adam %-11s (%zu, %zu): loss %.4f -> %.4f, max |ΔX| %.2f, ‖RᵀR − I‖∞ = %.2g (%.2f n·eps)\n",
                   vn_iv_orth_map_name(all_maps[k]), n, m, first_loss, last_loss, moved, err,
                   err / (n * EPS));
            ck_assert_msg(last_loss < first_loss, "training did not reduce the loss");
            ck_assert_msg(err <= 10 * n * EPS, "%s (%zu, %zu): ‖RᵀR − I‖∞ = %g after training",
                          vn_iv_orth_map_name(all_maps[k]), n, m, err);
            free(r);
            vn_context_rewind(&ctx, outer);
        }
}
END_TEST

/* ---- errors ------------------------------------------------------------------------------ */

START_TEST(shape_and_value_errors) {
    vn_node *wide = matrix_leaf(3, 5, VN_NODE_PARAM);
    vn_node *base3 = matrix_leaf(3, 3, VN_NODE_CONST);
    vn_node *base4 = matrix_leaf(4, 4, VN_NODE_CONST);
    vn_node *x = matrix_leaf(3, 2, VN_NODE_PARAM);
    vn_context_mark mark = vn_context_mark_get(&ctx);
    for (size_t k = 0; k < VN_ARRAY_COUNT(all_maps); k++) {
        ck_assert_ptr_null(vn_iv_orthogonal(&ctx, all_maps[k], wide, base3));
        ck_assert_int_eq(vn_context_status(&ctx), VN_ESHAPE);
        ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "1 ≤ m ≤ n"));
        vn_context_rewind(&ctx, mark);
        ck_assert_ptr_null(vn_iv_orthogonal(&ctx, all_maps[k], x, base4));
        ck_assert_int_eq(vn_context_status(&ctx), VN_ESHAPE);
        ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "base must be (3, 3)"));
        vn_context_rewind(&ctx, mark);
        ck_assert_ptr_null(vn_iv_orthogonal(&ctx, all_maps[k], x, NULL));
        ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
        vn_context_rewind(&ctx, mark);
        x->value.data[3] = (vn_real)NAN;
        ck_assert_ptr_null(vn_iv_orthogonal(&ctx, all_maps[k], x, base3));
        ck_assert_int_eq(vn_context_status(&ctx), VN_ENAN);
        x->value.data[3] = 0;
        vn_context_rewind(&ctx, mark);
    }
    ck_assert_ptr_null(vn_iv_orthogonal(&ctx, VN_IV_ORTH_MAP_COUNT, x, base3));
    ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
    vn_context_rewind(&ctx, mark);
    vn_iv_rotation rot;
    ck_assert_int_eq(vn_iv_rotation_init(&rot, &ctx, 3, 4, VN_IV_ORTH_CAYLEY, NULL), VN_EINVAL);
    vn_context_rewind(&ctx, mark);
    ck_assert_int_eq(vn_iv_rotation_init(&rot, &ctx, 3, 0, VN_IV_ORTH_CAYLEY, NULL), VN_EINVAL);
    vn_context_rewind(&ctx, mark);
    ck_assert_int_eq(vn_iv_rotation_init(&rot, &ctx, 3, 3, VN_IV_ORTH_MAP_COUNT, NULL), VN_EINVAL);
    vn_context_rewind(&ctx, mark);
    ck_assert_int_eq(vn_iv_rotation_init(&rot, &ctx, SIZE_MAX / 2, 1, VN_IV_ORTH_CAYLEY, NULL),
                     VN_EOVERFLOW);
    vn_context_rewind(&ctx, mark);
}
END_TEST

/* Householder's column signs follow PyTorch's int() cast of X's diagonal. */
START_TEST(householder_diagonal_signs) {
    size_t n = 4, m = 3;
    vn_node *base = matrix_leaf(n, n, VN_NODE_CONST);
    for (size_t i = 0; i < n; i++) base->value.data[i * n + i] = 1;
    vn_node *x = matrix_leaf(n, m, VN_NODE_PARAM);
    const vn_real diag[3] = {(vn_real)-1.9, (vn_real)0.7, (vn_real)2.2};
    for (size_t j = 0; j < m; j++) x->value.data[j * m + j] = diag[j];
    vn_node *r = vn_iv_orthogonal(&ctx, VN_IV_ORTH_HOUSEHOLDER, x, base);
    CHECK_CTX(r != NULL);
    /* No reflection (X's lower part is 0): Q = −E, times trunc(diag) = (−1, 0, 2). */
    const double want[3] = {1, 0, -2};
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++)
            ck_assert_double_eq((double)r->value.data[i * m + j], i == j ? want[j] : 0);
}
END_TEST

static Suite *rotation_suite(void) {
    Suite *s = suite_create("rotation");
    TCase *tc = test_case(s, "core", setup, fixture_teardown, 600);
    tcase_add_test(tc, map_names_and_registry);
    tcase_add_test(tc, gradcheck_every_map);
    tcase_add_test(tc, expm_more_squarings_than_sized);
    tcase_add_test(tc, pytorch_reference);
    tcase_add_test(tc, expm_against_taylor);
    tcase_add_test(tc, expm_of_rotation_generator);
    tcase_add_test(tc, expm_frechet_against_block_matrix);
    tcase_add_test(tc, blocked_sizes_against_references);
    tcase_add_test(tc, init_equals_orthogonal_init);
    tcase_add_test(tc, init_without_rng_is_identity);
    tcase_add_test(tc, rebase_reproduces_weight);
    tcase_add_test(tc, rebase_rejects_bad_weights);
    tcase_add_test(tc, orthogonal_after_adam);
    tcase_add_test(tc, shape_and_value_errors);
    tcase_add_test(tc, householder_diagonal_signs);
    return s;
}

int main(void) {
    return test_run(rotation_suite());
}
