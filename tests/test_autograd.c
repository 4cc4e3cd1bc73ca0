/* test_autograd.c — the graph engine, every op's forward values, gradcheck
 * over every registered op, and every error path. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_gradcheck.h"
#include "vn_op_util.h"
#include "vn_ops.h"

#ifdef VN_REAL_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-6
#endif

static vn_node *leaf_from(const double *values, int ndim, const size_t *shape, unsigned flags) {
    vn_node *n = vn_leaf(&ctx, ndim, shape, flags);
    ck_assert_ptr_nonnull(n);
    for (size_t i = 0; i < n->value.numel; i++) n->value.data[i] = (vn_real)values[i];
    return n;
}

/* ---- gradcheck over every registered op ------------------------------------- */

/* A plugin op defined outside autograd/: y = x³, registered like intervene's. */
static vn_status cube_infer(vn_context *c, vn_node *out) { return vn_infer_like(c, out, &out->inputs[0]->value); }
static void cube_forward(vn_node *out) {
    for (size_t i = 0; i < out->value.numel; i++) {
        vn_real x = out->inputs[0]->value.data[i];
        out->value.data[i] = x * x * x;
    }
}
static vn_status cube_backward(vn_context *c, vn_node *out) {
    (void)c; /* dX = 3X² ⊙ G */
    for (size_t i = 0; i < out->value.numel; i++) {
        vn_real x = out->inputs[0]->value.data[i];
        out->inputs[0]->grad.data[i] += 3 * x * x * out->grad.data[i];
    }
    return VN_OK;
}
static vn_node *cube_example(vn_context *c, const vn_op *op, int index, vn_rng *rng) {
    size_t shape[VN_MAX_DIMS];
    int ndim = vn_example_shape(index, shape);
    if (ndim < 0) return NULL;
    vn_node *x = vn_example_param(c, rng, ndim, shape, -1, 1);
    return vn_apply(c, op, &x, 1, NULL);
}
static const vn_op cube_op = {.name = "test_cube", .min_inputs = 1, .max_inputs = 1,
                              .infer = cube_infer, .forward = cube_forward,
                              .backward = cube_backward, .example = cube_example};

START_TEST(gradcheck_every_registered_op) {
    ck_assert_int_eq(vn_op_register(&cube_op), VN_OK);
    ck_assert_uint_eq(vn_op_count(), VN_OP_COUNT + 1);
    vn_gradcheck_options options = vn_gradcheck_defaults();
    for (size_t k = 0; k < vn_op_count(); k++) {
        const vn_op *op = vn_op_at(k);
        int cases = gradcheck_op_cases(op, &options);
        ck_assert_msg(cases > 0, "op %s has no gradcheck case", op->name);
    }
}
END_TEST

START_TEST(gradcheck_catches_a_wrong_backward) {
    /* An op whose backward is off by a factor must fail the check. */
    static vn_op broken;
    broken = cube_op;
    broken.name = "broken_cube";
    broken.backward = NULL;
    ck_assert_int_eq(vn_op_register(&broken), VN_EINVAL); /* incomplete */
    vn_rng rng;
    vn_rng_seed(&rng, 1, 1);
    vn_node *y = cube_example(&ctx, &vn_op_exp, 0, &rng); /* exp's node */
    ck_assert_ptr_nonnull(y);
    /* Corrupt the op pointer's math by checking exp's node against cube's
     * backward through a copy of the op. */
    static vn_op wrong;
    wrong = vn_op_exp;
    wrong.backward = cube_backward;
    y->op = &wrong;
    vn_gradcheck_result result;
    ck_assert_int_eq(vn_gradcheck_node(&ctx, y, NULL, &result), VN_OK);
    ck_assert_uint_gt(result.failed, 0);
}
END_TEST

/* ---- forward values against the host libm ------------------------------------------ */

static double ref_unary(const vn_op *op, double x) {
    if (op == &vn_op_neg) return -x;
    if (op == &vn_op_relu) return x > 0 ? x : 0;
    if (op == &vn_op_gelu) return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    if (op == &vn_op_gelu_tanh) return 0.5 * x * (1 + tanh(sqrt(2 / 3.14159265358979323846) * (x + 0.044715 * x * x * x)));
    if (op == &vn_op_quick_gelu) return x / (1 + exp(-1.702 * x));
    if (op == &vn_op_tanh) return tanh(x);
    if (op == &vn_op_sigmoid) return 1 / (1 + exp(-x));
    if (op == &vn_op_silu) return x / (1 + exp(-x));
    if (op == &vn_op_leaky_relu) return x > 0 ? x : 0.01 * x;
    if (op == &vn_op_relu6) return x < 0 ? 0 : (x > 6 ? 6 : x);
    if (op == &vn_op_exp) return exp(x);
    if (op == &vn_op_log) return log(x);
    ck_abort_msg("no reference for %s", op->name);
    return 0;
}

START_TEST(unary_forward_values) {
    const vn_op *ops[] = {&vn_op_neg, &vn_op_relu, &vn_op_gelu, &vn_op_gelu_tanh, &vn_op_quick_gelu,
                          &vn_op_tanh, &vn_op_sigmoid, &vn_op_silu, &vn_op_leaky_relu, &vn_op_relu6,
                          &vn_op_exp, &vn_op_log};
    double xs[] = {-7, -3.5, -1, -0.25, 0.001, 0.5, 1, 2.75, 6.5, 30};
    size_t n = sizeof xs / sizeof xs[0];
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        double input[10];
        for (size_t i = 0; i < n; i++) input[i] = ops[k] == &vn_op_log ? fabs(xs[i]) : xs[i];
        vn_node *x = leaf_from(input, 1, &n, VN_NODE_INPUT);
        vn_attrs attrs = {0};
        attrs.f[0] = ops[k] == &vn_op_leaky_relu ? 0.01 : 0;
        vn_node *y = vn_apply(&ctx, ops[k], &x, 1, &attrs);
        ck_assert_ptr_nonnull(y);
        for (size_t i = 0; i < n; i++) {
            double want = ref_unary(ops[k], (double)x->value.data[i]);
            ck_assert_msg(fabs(y->value.data[i] - want) <= 4 * TOL * (1 + fabs(want)),
                          "%s(%g) = %.9g, want %.9g", ops[k]->name, input[i], (double)y->value.data[i], want);
        }
    }
    /* sigmoid and silu stay finite and exact at large magnitudes */
    size_t one = 1;
    double big = -1000;
    vn_node *s = vn_sigmoid(&ctx, leaf_from(&big, 1, &one, VN_NODE_INPUT));
    ck_assert(s->value.data[0] == 0);
    vn_node *sc = vn_scale(&ctx, leaf_from(&big, 1, &one, VN_NODE_INPUT), 0.5);
    ck_assert(sc->value.data[0] == -500);
}
END_TEST

/* As in PyTorch, a NaN input gives a NaN output for every activation: a NaN
 * in training must surface, not be zeroed by ReLU. */
START_TEST(unary_ops_propagate_nan) {
    const vn_op *ops[] = {&vn_op_neg, &vn_op_relu, &vn_op_gelu, &vn_op_gelu_tanh, &vn_op_quick_gelu,
                          &vn_op_tanh, &vn_op_sigmoid, &vn_op_silu, &vn_op_leaky_relu, &vn_op_relu6,
                          &vn_op_exp, &vn_op_log};
    size_t one = 1;
    double nan_value = NAN;
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        vn_node *x = leaf_from(&nan_value, 1, &one, VN_NODE_INPUT);
        vn_attrs attrs = {0};
        attrs.f[0] = ops[k] == &vn_op_leaky_relu ? 0.01 : 0;
        vn_node *y = vn_apply(&ctx, ops[k], &x, 1, &attrs);
        ck_assert_ptr_nonnull(y);
        ck_assert_msg(isnan(y->value.data[0]), "%s(NaN) = %g, want NaN", ops[k]->name, (double)y->value.data[0]);
    }
}
END_TEST

START_TEST(matmul_and_friends_forward) {
    size_t sa[2] = {2, 3}, sb[2] = {3, 2}, sbt[2] = {2, 3};
    double a[6] = {1, 2, 3, 4, 5, 6}, b[6] = {7, 8, 9, 10, 11, 12};
    vn_node *A = leaf_from(a, 2, sa, VN_NODE_INPUT), *B = leaf_from(b, 2, sb, VN_NODE_INPUT);
    vn_node *C = vn_matmul(&ctx, A, B, false, false);
    ck_assert_ptr_nonnull(C);
    double want[4] = {58, 64, 139, 154};
    for (int i = 0; i < 4; i++) ck_assert(C->value.data[i] == want[i]);
    /* A · Bᵀ with B stored (2, 3): rows of A dotted with rows of B */
    vn_node *Bt = leaf_from(b, 2, sbt, VN_NODE_INPUT);
    vn_node *D = vn_matmul(&ctx, A, Bt, false, true);
    double want_d[4] = {1 * 7 + 2 * 8 + 3 * 9, 1 * 10 + 2 * 11 + 3 * 12, 4 * 7 + 5 * 8 + 6 * 9, 4 * 10 + 5 * 11 + 6 * 12};
    for (int i = 0; i < 4; i++) ck_assert(D->value.data[i] == want_d[i]);
    ck_assert_int_eq(D->value.ndim, 2);
    /* Aᵀ · A: (3, 3) */
    vn_node *E = vn_matmul(&ctx, A, A, true, false);
    ck_assert_uint_eq(E->value.shape[0], 3);
    ck_assert(E->value.data[0] == 1 * 1 + 4 * 4);
    /* batched A (2, 1, 3) · Bᵀ keeps the leading dims */
    size_t s3[3] = {2, 1, 3};
    vn_node *A3 = leaf_from(a, 3, s3, VN_NODE_INPUT);
    vn_node *F = vn_matmul(&ctx, A3, Bt, false, true);
    ck_assert_int_eq(F->value.ndim, 3);
    ck_assert_uint_eq(F->value.shape[2], 2);
    ck_assert(F->value.data[3] == want_d[3]);
    /* slice, concat, reshape, sums */
    vn_node *sl = vn_slice(&ctx, A, 1, 2);
    ck_assert(sl->value.data[0] == 2 && sl->value.data[3] == 6);
    vn_node *parts[2] = {sl, A};
    vn_node *cat = vn_concat(&ctx, parts, 2);
    ck_assert_uint_eq(cat->value.shape[1], 5);
    ck_assert(cat->value.data[5] == 5 && cat->value.data[7] == 4);
    size_t flat[1] = {6};
    vn_node *r = vn_reshape(&ctx, A, 1, flat);
    ck_assert_int_eq(r->value.ndim, 1);
    ck_assert(vn_sum(&ctx, r)->value.data[0] == 21);
    ck_assert(vn_mean(&ctx, A)->value.data[0] == 3.5);
    vn_node *rows = vn_sum_rows(&ctx, A);
    ck_assert_int_eq(rows->value.ndim, 1);
    ck_assert(rows->value.data[0] == 6 && rows->value.data[1] == 15);
    ck_assert(vn_mean_rows(&ctx, A)->value.data[1] == 5);
    /* mask_mix: m = 1 takes b, m = 0 keeps a */
    size_t s2[1] = {3};
    double m[3] = {1, 0, 0.25};
    vn_node *mix = vn_mask_mix(&ctx, A, leaf_from(b, 2, sa, VN_NODE_INPUT), leaf_from(m, 1, s2, VN_NODE_CONST));
    ck_assert(mix->value.data[0] == 7 && mix->value.data[1] == 2);
    ck_assert_double_eq_tol(mix->value.data[5], 0.75 * 6 + 0.25 * 12, TOL);
}
END_TEST

START_TEST(loss_forward_values) {
    size_t s[2] = {2, 3};
    double logits[6] = {1, 2, 3, -1, 0.5, 0};
    vn_node *x = leaf_from(logits, 2, s, VN_NODE_PARAM);
    int64_t labels[2] = {2, 0};
    vn_node *ce = vn_cross_entropy(&ctx, x, labels, 2);
    double l0 = -(3 - log(exp(1) + exp(2) + exp(3)));
    double l1 = -(-1 - log(exp(-1) + exp(0.5) + exp(0)));
    ck_assert_double_eq_tol(ce->value.data[0], (l0 + l1) / 2, 10 * TOL);
    ck_assert_int_eq(ce->value.ndim, 0);
    double t[6] = {1, 0, 1, 0, 1, 0};
    vn_node *bce = vn_bce_with_logits(&ctx, x, leaf_from(t, 2, s, VN_NODE_CONST));
    double want = 0;
    for (int i = 0; i < 6; i++) want += -(t[i] * log(1 / (1 + exp(-logits[i]))) + (1 - t[i]) * log(1 - 1 / (1 + exp(-logits[i]))));
    ck_assert_double_eq_tol(bce->value.data[0], want / 6, 10 * TOL);
    vn_node *mse = vn_mse(&ctx, x, leaf_from(t, 2, s, VN_NODE_CONST));
    want = 0;
    for (int i = 0; i < 6; i++) want += (logits[i] - t[i]) * (logits[i] - t[i]);
    ck_assert_double_eq_tol(mse->value.data[0], want / 6, 10 * TOL);
    /* softmax and log_softmax agree */
    vn_node *sm = vn_softmax(&ctx, x), *lsm = vn_log_softmax(&ctx, x);
    for (int i = 0; i < 6; i++) ck_assert_double_eq_tol(log(sm->value.data[i]), lsm->value.data[i], 10 * TOL);
}
END_TEST

START_TEST(dropout_semantics) {
    size_t s[1] = {10000};
    vn_node *x = vn_leaf(&ctx, 1, s, VN_NODE_PARAM);
    for (size_t i = 0; i < s[0]; i++) x->value.data[i] = 1;
    vn_node *eval = vn_dropout(&ctx, x, 0.3, false, 1, 0);
    ck_assert_mem_eq(eval->value.data, x->value.data, s[0] * sizeof(vn_real));
    vn_node *d1 = vn_dropout(&ctx, x, 0.3, true, 5, 0);
    vn_node *d2 = vn_dropout(&ctx, x, 0.3, true, 5, 0);
    vn_node *d3 = vn_dropout(&ctx, x, 0.3, true, 6, 0);
    ck_assert_mem_eq(d1->value.data, d2->value.data, s[0] * sizeof(vn_real));
    size_t zeros = 0, differ = 0;
    for (size_t i = 0; i < s[0]; i++) {
        vn_real v = d1->value.data[i];
        ck_assert(v == 0 || fabs(v - 1 / 0.7) < 1e-6);
        zeros += v == 0;
        differ += d1->value.data[i] != d3->value.data[i];
    }
    ck_assert_uint_gt(zeros, 2700);
    ck_assert_uint_lt(zeros, 3300);
    ck_assert_uint_gt(differ, 1000);
    vn_node *all = vn_dropout(&ctx, x, 1.0, true, 5, 0);
    ck_assert(all->value.data[0] == 0 && all->value.data[9999] == 0);
    ck_assert_ptr_null(vn_dropout(&ctx, x, 1.5, true, 5, 0));
    ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
}
END_TEST

/* ---- backward semantics ------------------------------------------------------------ */

START_TEST(backward_accumulates_and_zeroes) {
    size_t s[1] = {3};
    double xv[3] = {1, 2, 3};
    vn_node *x = leaf_from(xv, 1, s, VN_NODE_PARAM);
    vn_node *loss = vn_sum(&ctx, vn_mul(&ctx, x, x)); /* Σ x², dx = 2x */
    ck_assert_int_eq(vn_backward(&ctx, loss), VN_OK);
    for (int i = 0; i < 3; i++) ck_assert(x->grad.data[i] == 2 * xv[i]);
    ck_assert(loss->flags & VN_NODE_LOSS);
    ck_assert_int_eq(vn_backward(&ctx, loss), VN_OK); /* accumulates into the leaf */
    for (int i = 0; i < 3; i++) ck_assert(x->grad.data[i] == 4 * xv[i]);
    vn_zero_grad(&ctx);
    for (int i = 0; i < 3; i++) ck_assert(x->grad.data[i] == 0);
    /* a diamond: y = x·x + 3x, both paths flow back */
    vn_node *y = vn_sum(&ctx, vn_add(&ctx, vn_mul(&ctx, x, x), vn_scale(&ctx, x, 3)));
    vn_backward(&ctx, y);
    for (int i = 0; i < 3; i++) ck_assert(x->grad.data[i] == 2 * xv[i] + 3);
}
END_TEST

START_TEST(frozen_constants_and_no_grad) {
    size_t s[1] = {2};
    double v[2] = {1, -2};
    vn_node *w = leaf_from(v, 1, s, VN_NODE_PARAM);
    vn_node *frozen = leaf_from(v, 1, s, VN_NODE_PARAM);
    vn_node_set_trainable(frozen, false);
    vn_node *c = leaf_from(v, 1, s, VN_NODE_CONST);
    vn_node *loss = vn_sum(&ctx, vn_mul(&ctx, vn_mul(&ctx, w, frozen), c));
    ck_assert(vn_node_requires_grad(loss));
    ck_assert_int_eq(vn_backward(&ctx, loss), VN_OK);
    ck_assert(w->grad.data[0] == 1 && w->grad.data[1] == 4); /* frozen·c = v² */
    ck_assert(frozen->grad.data[0] == 0 && frozen->grad.data[1] == 0);
    ck_assert_ptr_null(c->grad.data);
    /* no-grad mode: nothing requires a gradient, backward is a no-op */
    bool was = vn_context_set_grad(&ctx, false);
    ck_assert(was);
    vn_node *inference = vn_sum(&ctx, vn_mul(&ctx, w, w));
    ck_assert(!vn_node_requires_grad(inference));
    ck_assert_int_eq(vn_backward(&ctx, inference), VN_OK);
    ck_assert(w->grad.data[0] == 1);
    vn_context_set_grad(&ctx, true);
    /* a graph of constants only needs no gradient */
    vn_node *const_only = vn_sum(&ctx, c);
    ck_assert(!vn_node_requires_grad(const_only));
}
END_TEST

START_TEST(intermediate_gradients_recomputed_each_pass) {
    size_t s[1] = {2};
    double v[2] = {0.5, 1.5};
    vn_node *x = leaf_from(v, 1, s, VN_NODE_PARAM);
    vn_node *h = vn_tanh_op(&ctx, x);
    vn_node *loss = vn_sum(&ctx, h);
    vn_backward(&ctx, loss);
    vn_real first = h->grad.data[0];
    vn_backward(&ctx, loss);
    ck_assert(h->grad.data[0] == first); /* not doubled */
    ck_assert_double_eq_tol(x->grad.data[0], 2 * (1 - tanh(0.5) * tanh(0.5)), 10 * TOL);
    /* vector-Jacobian product from a non-scalar root */
    vn_zero_grad(&ctx);
    vn_real seed[2] = {2, -1};
    ck_assert_int_eq(vn_backward_with(&ctx, h, seed), VN_OK);
    ck_assert_double_eq_tol(x->grad.data[1], -(1 - tanh(1.5) * tanh(1.5)), 10 * TOL);
}
END_TEST

START_TEST(rewind_reaches_steady_state) {
    vn_host_alloc_stats stats = {0};
    vn_arena counted;
    vn_host_arena(&counted, &stats);
    vn_context c;
    vn_context_init(&c, &counted);
    size_t ws[2] = {16, 16}, xs[2] = {64, 16};
    vn_node *w = vn_param(&c, 2, ws);
    vn_context_mark mark = vn_context_mark_get(&c);
    size_t calls = 0;
    for (int step = 0; step < 4; step++) {
        vn_node *x = vn_input(&c, 2, xs);
        vn_node *loss = vn_mean(&c, vn_relu(&c, vn_matmul(&c, x, w, false, true)));
        ck_assert_int_eq(vn_backward(&c, loss), VN_OK);
        vn_context_rewind(&c, mark);
        if (step == 0) calls = stats.calls;
    }
    ck_assert_uint_eq(stats.calls, calls);
    ck_assert_int_eq(c.n_nodes, 1);
    vn_arena_release(&counted);
}
END_TEST

/* ---- error paths -------------------------------------------------------------------- */

static void expect_error(vn_node *result, vn_status status, const char *fragment) {
    ck_assert_ptr_null(result);
    ck_assert_int_eq(vn_context_status(&ctx), status);
    ck_assert_msg(strstr(vn_context_message(&ctx), fragment) != NULL, "message '%s' lacks '%s'",
                  vn_context_message(&ctx), fragment);
    vn_context_clear_error(&ctx);
}

START_TEST(shape_errors_are_reported) {
    size_t s23[2] = {2, 3}, s32[2] = {3, 2}, s4[1] = {4}, s24[2] = {2, 4};
    vn_node *a = vn_param(&ctx, 2, s23), *b = vn_param(&ctx, 2, s32), *v4 = vn_param(&ctx, 1, s4);
    vn_node *a24 = vn_param(&ctx, 2, s24);
    expect_error(vn_add(&ctx, a, b), VN_ESHAPE, "add: shape (3, 2) does not broadcast to shape (2, 3)");
    expect_error(vn_mul(&ctx, a, v4), VN_ESHAPE, "mul");
    expect_error(vn_matmul(&ctx, a, a, false, false), VN_ESHAPE, "matmul");
    expect_error(vn_matmul(&ctx, a, v4, false, false), VN_ESHAPE, "2-D");
    expect_error(vn_slice(&ctx, a, 2, 2), VN_ERANGE, "slice");
    expect_error(vn_slice(&ctx, a, SIZE_MAX, 1), VN_ERANGE, "slice");
    size_t bad[2] = {5, 5};
    expect_error(vn_reshape(&ctx, a, 2, bad), VN_ESHAPE, "reshape");
    expect_error(vn_reshape(&ctx, a, 7, bad), VN_EINVAL, "reshape");
    vn_node *parts[2] = {a, b};
    expect_error(vn_concat(&ctx, parts, 2), VN_ESHAPE, "concat");
    expect_error(vn_mask_mix(&ctx, a, b, v4), VN_ESHAPE, "mask_mix");
    expect_error(vn_mask_mix(&ctx, a, a, v4), VN_ESHAPE, "mask_mix");
    int64_t labels[2] = {0, 3};
    expect_error(vn_cross_entropy(&ctx, a, labels, 2), VN_ERANGE, "label 3 of row 1");
    expect_error(vn_cross_entropy(&ctx, a, labels, 1), VN_ESHAPE, "1 labels for 2 rows");
    int64_t negative[2] = {0, -1};
    expect_error(vn_cross_entropy(&ctx, a, negative, 2), VN_ERANGE, "label -1");
    expect_error(vn_mse(&ctx, a, a24), VN_ESHAPE, "mse");
    expect_error(vn_bce_with_logits(&ctx, a, b), VN_ESHAPE, "bce_with_logits");
    expect_error(vn_apply(&ctx, &vn_op_add, &a, 1, NULL), VN_EINVAL, "takes 2 to 2 inputs, got 1");
    expect_error(vn_apply(&ctx, NULL, &a, 1, NULL), VN_EINVAL, "NULL op");
    vn_node *scalar_needed = vn_add(&ctx, a, a);
    ck_assert_int_eq(vn_backward(&ctx, scalar_needed), VN_ESHAPE);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "scalar"));
    vn_context_clear_error(&ctx);
    ck_assert_int_eq(vn_backward(&ctx, NULL), VN_EINVAL);
    vn_context_clear_error(&ctx);
}
END_TEST

START_TEST(errors_are_sticky) {
    size_t s23[2] = {2, 3}, s32[2] = {3, 2};
    vn_node *a = vn_param(&ctx, 2, s23), *b = vn_param(&ctx, 2, s32);
    vn_node *bad = vn_add(&ctx, a, b);
    ck_assert_ptr_null(bad);
    char first[256];
    strcpy(first, vn_context_message(&ctx));
    /* later ops, even valid ones, return NULL and keep the first message */
    ck_assert_ptr_null(vn_relu(&ctx, bad));
    ck_assert_ptr_null(vn_relu(&ctx, a));
    ck_assert_ptr_null(vn_sum(&ctx, vn_mul(&ctx, vn_relu(&ctx, bad), a)));
    ck_assert_str_eq(vn_context_message(&ctx), first);
    ck_assert_int_eq(vn_backward(&ctx, a), VN_ESHAPE);
    /* a NULL input to a fresh context is an error of its own */
    vn_context_clear_error(&ctx);
    expect_error(vn_relu(&ctx, NULL), VN_EINVAL, "input 0 is NULL");
    /* rewinding clears the error */
    vn_context_mark mark = vn_context_mark_get(&ctx);
    ck_assert_ptr_null(vn_add(&ctx, a, b));
    vn_context_rewind(&ctx, mark);
    ck_assert_int_eq(vn_context_status(&ctx), VN_OK);
    ck_assert_ptr_nonnull(vn_relu(&ctx, a));
}
END_TEST

START_TEST(exhausted_arena_is_enomem) {
    static unsigned char small[4096];
    vn_arena tiny;
    vn_arena_init_buffer(&tiny, small, sizeof small);
    vn_context c;
    vn_context_init(&c, &tiny);
    size_t s[2] = {8, 8};
    vn_node *x = vn_param(&c, 2, s);
    ck_assert_ptr_nonnull(x);
    vn_node *y = x;
    int made = 0;
    while (y) {
        y = vn_tanh_op(&c, y);
        made++;
        ck_assert_int_lt(made, 1000);
    }
    ck_assert_int_eq(vn_context_status(&c), VN_ENOMEM);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&c), "out of arena memory"));
    size_t huge[2] = {SIZE_MAX / 4, 4};
    vn_context_clear_error(&c);
    ck_assert_ptr_null(vn_param(&c, 2, huge));
    ck_assert_int_eq(vn_context_status(&c), VN_EOVERFLOW);
}
END_TEST

START_TEST(registry_rules) {
    ck_assert_ptr_eq(vn_op_find("matmul"), &vn_op_matmul);
    ck_assert_ptr_null(vn_op_find("no_such_op"));
    ck_assert_ptr_eq(vn_builtin_op(VN_OP_DROPOUT), &vn_op_dropout);
    ck_assert_ptr_null(vn_builtin_op(VN_OP_COUNT));
    for (size_t i = 0; i < VN_OP_COUNT; i++) ck_assert_ptr_eq(vn_op_at(i), vn_builtin_op((vn_op_id)i));
    ck_assert_int_eq(vn_op_register(&vn_op_add), VN_OK); /* built-in: already there */
    static vn_op clash;
    clash = cube_op;
    clash.name = "add";
    ck_assert_int_eq(vn_op_register(&clash), VN_EINVAL);
    ck_assert_int_eq(vn_op_register(NULL), VN_EINVAL);
    static vn_op many[VN_MAX_PLUGIN_OPS + 1];
    static char names[VN_MAX_PLUGIN_OPS + 1][32];
    for (int i = 0; i <= VN_MAX_PLUGIN_OPS; i++) {
        many[i] = cube_op;
        snprintf(names[i], sizeof names[i], "plugin_%d", i);
        many[i].name = names[i];
        vn_status status = vn_op_register(&many[i]);
        ck_assert_int_eq(status, i < VN_MAX_PLUGIN_OPS ? VN_OK : VN_EFULL);
    }
    ck_assert_int_eq(vn_op_register(&many[0]), VN_OK); /* same op again */
}
END_TEST

int main(void) {
    Suite *s = suite_create("autograd");
    TCase *tc = test_case(s, "engine", fixture_setup, fixture_teardown, 120);
    tcase_add_test(tc, gradcheck_every_registered_op);
    tcase_add_test(tc, gradcheck_catches_a_wrong_backward);
    tcase_add_test(tc, unary_forward_values);
    tcase_add_test(tc, unary_ops_propagate_nan);
    tcase_add_test(tc, matmul_and_friends_forward);
    tcase_add_test(tc, loss_forward_values);
    tcase_add_test(tc, dropout_semantics);
    tcase_add_test(tc, backward_accumulates_and_zeroes);
    tcase_add_test(tc, frozen_constants_and_no_grad);
    tcase_add_test(tc, intermediate_gradients_recomputed_each_pass);
    tcase_add_test(tc, rewind_reaches_steady_state);
    tcase_add_test(tc, shape_errors_are_reported);
    tcase_add_test(tc, errors_are_sticky);
    tcase_add_test(tc, exhausted_arena_is_enomem);
    tcase_add_test(tc, registry_rules);
    return test_run(s);
}
