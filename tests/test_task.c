/* test_task.c — the hierarchical-equality task (intervene/vn_iv_task.h):
 * the causal model, the entity coordinates, the factual and realising
 * samplers, pyvene's intervention sampler, counterfactual examples and
 * batches, seeded datasets, and the tutorial's hand-built MLP, which solves
 * the task exactly and whose layer-0 halves are a perfect causal abstraction
 * (two Vanilla interventions give IIA 1.00). */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_iv_das.h"
#include "vn_iv_model.h"
#include "vn_iv_task.h"
#include "vn_iv_types.h"

enum { DIM = 4, WIDTH = 4 * DIM };

/* |count/n − p| within tol. */
static void assert_rate(size_t count, size_t n, double p, double tol, const char *what) {
    double rate = (double)count / (double)n;
    ck_assert_msg(fabs(rate - p) <= tol, "%s: rate %.4f, expected %.4f +- %.4f", what, rate, p, tol);
}

/* ---- the causal model -------------------------------------------------------------- */

START_TEST(causal_model_by_hand) {
    /* W X Y Z with dim 1: patterns and labels */
    vn_real aabb[4] = {0.5f, 0.5f, -0.25f, -0.25f}, abcd[4] = {0.5f, 0.25f, -0.25f, 0.75f};
    vn_real aacd[4] = {0.5f, 0.5f, -0.25f, 0.75f}, abcc[4] = {0.5f, 0.25f, -0.25f, -0.25f};
    ck_assert(vn_iv_heq_wx(aabb, 1) && vn_iv_heq_yz(aabb, 1));
    ck_assert_int_eq(vn_iv_heq_label(aabb, 1), 1);
    ck_assert_int_eq(vn_iv_heq_label(abcd, 1), 1);
    ck_assert_int_eq(vn_iv_heq_label(aacd, 1), 0);
    ck_assert_int_eq(vn_iv_heq_label(abcc, 1), 0);
    ck_assert_int_eq(vn_iv_heq_pattern_of(aabb, 1), VN_IV_HEQ_AABB);
    ck_assert_int_eq(vn_iv_heq_pattern_of(abcd, 1), VN_IV_HEQ_ABCD);
    ck_assert_int_eq(vn_iv_heq_pattern_of(aacd, 1), VN_IV_HEQ_AACD);
    ck_assert_int_eq(vn_iv_heq_pattern_of(abcc, 1), VN_IV_HEQ_ABCC);
    ck_assert_str_eq(vn_iv_heq_pattern_name(VN_IV_HEQ_AACD), "AACD");
    ck_assert_str_eq(vn_iv_heq_pattern_name((vn_iv_heq_pattern)9), "?");
    /* equality is exact, over every coordinate */
    vn_real a[2] = {0.1f, 0.2f}, b[2] = {0.1f, 0.2000001f};
    ck_assert(!vn_iv_heq_equal(a, b, 2));
    ck_assert(vn_iv_heq_equal(a, b, 1));
    /* interchange labels: O of the base with WX / YZ / W from the sources */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_WX, aacd, abcd, NULL), 1); /* WX := F, YZ F */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_YZ, aacd, NULL, aabb), 1); /* WX T, YZ := T */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_BOTH, aabb, abcd, abcc), 0); /* F vs T */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_BOTH, aabb, abcd, aacd), 1); /* F == F */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_BOTH, abcd, aabb, aabb), 1); /* T == T */
    vn_real w_is_x[4] = {0.25f, 0.9f, 0.9f, 0.9f}; /* source whose W (0.25) is abcd's X */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_W, abcd, w_is_x, NULL), 0); /* W==X, Y!=Z */
    ck_assert_int_eq(vn_iv_heq_interchange_label(1, VN_IV_CF_W, abcd, abcd, NULL), 1);  /* W!=X, Y!=Z */
}
END_TEST

START_TEST(coordinates_are_rounded_uniforms) {
    vn_rng rng;
    vn_rng_seed(&rng, 7, 1);
    enum { N = 201 * 300 };
    static size_t counts[201];
    memset(counts, 0, sizeof counts);
    for (size_t i = 0; i < N; i++) {
        vn_real c = vn_iv_heq_coordinate(&rng);
        double k = floor((double)c * 100.0 + 100.5);
        ck_assert_msg(k >= 0 && k <= 200, "coordinate %g out of [-1, 1]", (double)c);
        ck_assert_msg((vn_real)((k - 100.0) / 100.0) == c, "coordinate %.9g is not float(k/100)", (double)c);
        counts[(size_t)k]++;
    }
    /* ±1.00 get half a bin; the inner values about N/200 each */
    ck_assert_msg(counts[0] > 100 && counts[0] < 200, "count of -1.00: %zu", counts[0]);
    ck_assert_msg(counts[200] > 100 && counts[200] < 200, "count of 1.00: %zu", counts[200]);
    for (size_t k = 1; k < 200; k++) ck_assert_msg(counts[k] > 220 && counts[k] < 380, "count of %zu: %zu", k, counts[k]);
}
END_TEST

/* ---- samplers ----------------------------------------------------------------------------- */

START_TEST(factual_sampler_balance_and_patterns) {
    vn_rng rng;
    vn_rng_seed(&rng, 11, 3);
    enum { N = 20000 };
    size_t patterns[VN_IV_HEQ_PATTERN_COUNT] = {0}, positive = 0;
    vn_real x[WIDTH];
    for (size_t i = 0; i < N; i++) {
        vn_iv_heq_pattern p = vn_iv_heq_sample(&rng, DIM, x);
        ck_assert_int_eq(vn_iv_heq_pattern_of(x, DIM), p); /* the input realises its pattern exactly */
        patterns[p]++;
        positive += (size_t)vn_iv_heq_label(x, DIM);
        ck_assert_int_eq(vn_iv_heq_label(x, DIM), p == VN_IV_HEQ_ABCD || p == VN_IV_HEQ_AABB);
        for (size_t j = 0; j < WIDTH; j++) ck_assert(x[j] >= -1 && x[j] <= 1);
    }
    assert_rate(positive, N, 0.5, 0.015, "label 1");
    for (int p = 0; p < VN_IV_HEQ_PATTERN_COUNT; p++) assert_rate(patterns[p], N, 0.25, 0.012, vn_iv_heq_pattern_name(p));
}
END_TEST

START_TEST(realising_sampler) {
    vn_rng rng;
    vn_rng_seed(&rng, 5, 5);
    vn_real x[WIDTH];
    for (int var = 0; var < VN_IV_HEQ_VAR_COUNT; var++)
        for (int value = 0; value < 2; value++) {
            size_t other = 0, n = 2000;
            for (size_t i = 0; i < n; i++) {
                vn_iv_heq_sample_realising(&rng, DIM, (vn_iv_heq_variable)var, value, x);
                bool wx = vn_iv_heq_wx(x, DIM), yz = vn_iv_heq_yz(x, DIM);
                ck_assert_int_eq(var == VN_IV_HEQ_VAR_WX ? wx : yz, value);
                other += var == VN_IV_HEQ_VAR_WX ? yz : wx;
            }
            assert_rate(other, n, 0.5, 0.04, "the other pair's equality");
        }
}
END_TEST

START_TEST(intervention_sampler) {
    vn_rng rng;
    vn_rng_seed(&rng, 9, 2);
    enum { N = 15000 };
    size_t kinds[VN_IV_CF_KIND_COUNT] = {0}, value_true[2] = {0}, value_n[2] = {0};
    for (size_t i = 0; i < N; i++) {
        vn_iv_heq_intervention iv = vn_iv_heq_sample_intervention(&rng, VN_IV_HYP_BOTH);
        ck_assert(iv.kind <= VN_IV_CF_BOTH);
        kinds[iv.kind]++;
        if (iv.kind != VN_IV_CF_YZ) value_true[0] += iv.value[0], value_n[0]++;
        else ck_assert(!iv.value[0]);
        if (iv.kind != VN_IV_CF_WX) value_true[1] += iv.value[1], value_n[1]++;
        else ck_assert(!iv.value[1]);
    }
    for (int k = 0; k < 3; k++) assert_rate(kinds[k], N, 1.0 / 3.0, 0.016, vn_iv_cf_kind_name(k));
    assert_rate(value_true[0], value_n[0], 0.5, 0.02, "WX value");
    assert_rate(value_true[1], value_n[1], 0.5, 0.02, "YZ value");
    size_t left_true = 0;
    for (size_t i = 0; i < 2000; i++) {
        vn_iv_heq_intervention l = vn_iv_heq_sample_intervention(&rng, VN_IV_HYP_LEFT);
        vn_iv_heq_intervention w = vn_iv_heq_sample_intervention(&rng, VN_IV_HYP_IDENTITY);
        ck_assert_int_eq(l.kind, VN_IV_CF_WX);
        ck_assert_int_eq(w.kind, VN_IV_CF_W);
        left_true += l.value[0];
    }
    assert_rate(left_true, 2000, 0.5, 0.05, "left value");
    /* names and kinds of the hypotheses */
    vn_iv_hypothesis h;
    ck_assert_int_eq(vn_iv_hypothesis_lookup("identity", &h), VN_OK);
    ck_assert_int_eq(h, VN_IV_HYP_IDENTITY);
    ck_assert_int_eq(vn_iv_hypothesis_lookup("Both", &h), VN_EINVAL);
    vn_iv_cf_kind list[3];
    ck_assert_uint_eq(vn_iv_hypothesis_kinds(VN_IV_HYP_BOTH, list), 3);
    ck_assert_uint_eq(vn_iv_hypothesis_kinds(VN_IV_HYP_LEFT, list), 1);
    ck_assert_int_eq(list[0], VN_IV_CF_WX);
    ck_assert_uint_eq(vn_iv_hypothesis_variables(VN_IV_HYP_BOTH), 2);
    ck_assert_str_eq(vn_iv_cf_kind_name(VN_IV_CF_BOTH), "WX+YZ");
}
END_TEST

START_TEST(counterfactual_examples_realise_values_and_label_correctly) {
    vn_rng rng;
    vn_rng_seed(&rng, 21, 4);
    vn_real base[WIDTH], wx[WIDTH], yz[WIDTH];
    size_t positive = 0, n = 0;
    for (size_t i = 0; i < 3000; i++) {
        vn_iv_heq_intervention iv = vn_iv_heq_sample_intervention(&rng, (vn_iv_hypothesis)(i % 3));
        int64_t label = vn_iv_heq_counterfactual(&rng, DIM, &iv, base, wx, yz);
        bool base_wx = vn_iv_heq_wx(base, DIM), base_yz = vn_iv_heq_yz(base, DIM), expected;
        switch (iv.kind) {
        case VN_IV_CF_WX:
            ck_assert_int_eq(vn_iv_heq_wx(wx, DIM), iv.value[0]); /* the source realises the value */
            expected = iv.value[0] == base_yz;
            break;
        case VN_IV_CF_YZ:
            ck_assert_int_eq(vn_iv_heq_yz(yz, DIM), iv.value[1]);
            expected = base_wx == iv.value[1];
            break;
        case VN_IV_CF_BOTH:
            ck_assert_int_eq(vn_iv_heq_wx(wx, DIM), iv.value[0]);
            ck_assert_int_eq(vn_iv_heq_yz(yz, DIM), iv.value[1]);
            expected = iv.value[0] == iv.value[1];
            break;
        default: /* W: the source's W is the base's X exactly when the value says so */
            ck_assert_int_eq(vn_iv_heq_equal(wx, base + DIM, DIM), iv.value[0]);
            expected = iv.value[0] == base_yz;
            break;
        }
        ck_assert_int_eq(label, expected);
        positive += (size_t)label;
        n++;
    }
    assert_rate(positive, n, 0.5, 0.04, "counterfactual label 1");
}
END_TEST

START_TEST(counterfactual_batches) {
    enum { B = 2000 };
    vn_real *mem = calloc(3 * B * WIDTH, sizeof *mem);
    int64_t *labels = malloc(B * sizeof *labels), *base_labels = malloc(B * sizeof *base_labels);
    ck_assert(mem && labels && base_labels);
    for (size_t i = 0; i < 3 * B * WIDTH; i++) mem[i] = 7; /* must be overwritten */
    vn_iv_cf_batch b = {B, DIM, {VN_IV_CF_WX, {true, false}}, false, mem, {mem + B * WIDTH, mem + 2 * B * WIDTH},
                        labels, base_labels};
    vn_rng rng;
    vn_rng_seed(&rng, 3, 3);
    vn_iv_heq_cf_fill(&b, &rng);
    for (size_t e = 0; e < B; e++) {
        const vn_real *base = mem + e * WIDTH, *src = b.source[0] + e * WIDTH, *unused = b.source[1] + e * WIDTH;
        ck_assert(vn_iv_heq_wx(src, DIM)); /* one intervention for the batch: WX := true */
        ck_assert_int_eq(labels[e], vn_iv_heq_yz(base, DIM));
        ck_assert_int_eq(base_labels[e], vn_iv_heq_label(base, DIM));
        for (size_t j = 0; j < WIDTH; j++) ck_assert(unused[j] == 0); /* pyvene's zero padding */
    }
    /* values per example: both values of both variables appear, each about half the time */
    b.intervention.kind = VN_IV_CF_BOTH;
    b.values_per_example = true;
    vn_iv_heq_cf_fill(&b, &rng);
    size_t wx_true = 0, yz_true = 0;
    for (size_t e = 0; e < B; e++) {
        wx_true += vn_iv_heq_wx(b.source[0] + e * WIDTH, DIM);
        yz_true += vn_iv_heq_yz(b.source[1] + e * WIDTH, DIM);
        ck_assert_int_eq(labels[e], vn_iv_heq_wx(b.source[0] + e * WIDTH, DIM) == vn_iv_heq_yz(b.source[1] + e * WIDTH, DIM));
    }
    assert_rate(wx_true, B, 0.5, 0.05, "WX value per example");
    assert_rate(yz_true, B, 0.5, 0.05, "YZ value per example");
    free(mem);
    free(labels);
    free(base_labels);
}
END_TEST

START_TEST(seeded_datasets_are_functions_of_seed_stream_index) {
    vn_real a[WIDTH], b[WIDTH], c[WIDTH];
    int64_t la = vn_iv_heq_factual_example(4, VN_IV_STREAM_FACTUAL_TRAIN, 123456, DIM, a);
    int64_t lb = vn_iv_heq_factual_example(4, VN_IV_STREAM_FACTUAL_TRAIN, 123456, DIM, b);
    ck_assert_int_eq(la, lb);
    ck_assert(vn_iv_heq_equal(a, b, WIDTH));
    vn_iv_heq_factual_example(4, VN_IV_STREAM_FACTUAL_TRAIN, 123457, DIM, c);
    ck_assert(!vn_iv_heq_equal(a, c, WIDTH));
    vn_iv_heq_factual_example(5, VN_IV_STREAM_FACTUAL_TRAIN, 123456, DIM, c);
    ck_assert(!vn_iv_heq_equal(a, c, WIDTH));
    vn_iv_heq_factual_example(4, VN_IV_STREAM_FACTUAL_TEST, 123456, DIM, c);
    ck_assert(!vn_iv_heq_equal(a, c, WIDTH));
    ck_assert(vn_iv_task_seed(1, 2, 3) != vn_iv_task_seed(1, 2, 4));
    ck_assert(vn_iv_task_seed(1, 2, 3) != vn_iv_task_seed(1, 3, 3));
    ck_assert(vn_iv_task_seed(1, 2, 3) == vn_iv_task_seed(1, 2, 3));
}
END_TEST

/* ---- the hand-built MLP ----------------------------------------------------------------------- */

START_TEST(handcrafted_mlp_solves_the_task) {
    vn_mlp mlp;
    CHECK_CTX(vn_iv_heq_handcrafted_mlp(&mlp, &ctx) == VN_OK);
    ck_assert_int_eq(mlp.config.h_dim, 8);
    ck_assert_int_eq(mlp.config.n_layer, 2);
    ck_assert_str_eq(mlp.config.activation_function, "relu");
    ck_assert(mlp.score.bias->value.data[1] == (vn_real)1e-14);
    enum { N = 2000, H = 8 };
    vn_real *x = malloc(N * H * sizeof *x);
    int64_t *labels = malloc(N * sizeof *labels);
    vn_rng rng;
    vn_rng_seed(&rng, 2, 2);
    for (size_t i = 0; i < N; i++) {
        vn_iv_heq_sample(&rng, VN_IV_HEQ_HANDCRAFTED_DIM, x + i * H);
        labels[i] = vn_iv_heq_label(x + i * H, VN_IV_HEQ_HANDCRAFTED_DIM);
    }
    vn_iv_step_result r;
    CHECK_CTX(vn_iv_classify(&mlp, &ctx, x, labels, N, &r) == VN_OK);
    ck_assert_uint_eq(r.correct, N); /* accuracy 1.00 */
    free(x);
    free(labels);
}
END_TEST

/* pyvene's §"causal abstraction" check: two Vanilla interventions at layer 0
 * block_output with subspace_partition [[0, 4], [4, 8]] (not linked); WX
 * intervenes on partition 0, YZ on partition 1. */
START_TEST(handcrafted_mlp_vanilla_iia_is_one) {
    vn_mlp mlp;
    CHECK_CTX(vn_iv_heq_handcrafted_mlp(&mlp, &ctx) == VN_OK);
    static const int64_t halves[2][2] = {{0, 4}, {4, 8}};
    vn_iv_partition_entry partition[2] = {{true, 2, halves[0]}, {true, 2, halves[1]}};
    vn_iv_representation reps[2];
    for (int i = 0; i < 2; i++) {
        reps[i] = vn_iv_representation_default(&vn_iv_type_vanilla);
        reps[i].n_partitions = 2;
        reps[i].partition = partition;
    }
    vn_iv_config config = {2, reps, false, VN_IV_ORTH_MATRIX_EXP};
    vn_iv_model model;
    CHECK_CTX(vn_iv_model_init(&model, &ctx, &mlp, &config, NULL) == VN_OK);
    enum { B = 1024, H = 8, D = VN_IV_HEQ_HANDCRAFTED_DIM };
    vn_real *mem = calloc(3 * B * H, sizeof *mem);
    int64_t *labels = malloc(B * sizeof *labels), *offsets = malloc((B + 1) * sizeof *offsets);
    int64_t *ids[2] = {malloc(B * sizeof(int64_t)), malloc(B * sizeof(int64_t))};
    for (size_t b = 0; b <= B; b++) offsets[b] = (int64_t)b;
    for (size_t b = 0; b < B; b++) ids[0][b] = 0, ids[1][b] = 1;
    vn_iv_lists subspaces[2] = {{offsets, ids[0]}, {offsets, ids[1]}};
    vn_rng rng;
    vn_rng_seed(&rng, 8, 1);
    size_t agree_with_base = 0;
    for (int kind = 0; kind < 3; kind++) {
        vn_iv_cf_batch batch = {B, D, {(vn_iv_cf_kind)kind, {false, false}}, true, mem, {mem + B * H, mem + 2 * B * H},
                                labels, NULL};
        vn_iv_heq_cf_fill(&batch, &rng);
        vn_context_mark mark = vn_context_mark_get(&ctx);
        size_t shape[3] = {B, 1, H};
        vn_node *base = vn_leaf_wrap(&ctx, mem, 3, shape, VN_NODE_INPUT);
        vn_node *s_wx = vn_leaf_wrap(&ctx, batch.source[0], 3, shape, VN_NODE_INPUT);
        vn_node *s_yz = vn_leaf_wrap(&ctx, batch.source[1], 3, shape, VN_NODE_INPUT);
        vn_node *sources[2] = {kind != VN_IV_CF_YZ ? s_wx : NULL, kind != VN_IV_CF_WX ? s_yz : NULL};
        vn_iv_inputs in = {0};
        in.base = base;
        in.n_sources = 2;
        in.sources = sources;
        in.subspaces = subspaces;
        in.base_logits = true;
        vn_iv_outputs out;
        CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
        size_t correct = vn_iv_correct(out.counterfactual_logits->value.data, B, 2, labels);
        ck_assert_msg(correct == B, "kind %s: IIA %zu/%d", vn_iv_cf_kind_name(kind), correct, B);
        agree_with_base += vn_iv_correct(out.base_logits->value.data, B, 2, labels);
        vn_context_rewind(&ctx, mark);
    }
    /* the interventions matter: the base's own outputs match the counterfactual labels only about half the time */
    assert_rate(agree_with_base, 3 * B, 0.5, 0.1, "base output agreeing with counterfactual labels");
    free(mem);
    free(labels);
    free(offsets);
    free(ids[0]);
    free(ids[1]);
}
END_TEST

int main(void) {
    Suite *s = suite_create("task");
    TCase *tc = test_case(s, "hierarchical_equality", fixture_setup_iv, fixture_teardown, 120);
    tcase_add_test(tc, causal_model_by_hand);
    tcase_add_test(tc, coordinates_are_rounded_uniforms);
    tcase_add_test(tc, factual_sampler_balance_and_patterns);
    tcase_add_test(tc, realising_sampler);
    tcase_add_test(tc, intervention_sampler);
    tcase_add_test(tc, counterfactual_examples_realise_values_and_label_correctly);
    tcase_add_test(tc, counterfactual_batches);
    tcase_add_test(tc, seeded_datasets_are_functions_of_seed_stream_index);
    tcase_add_test(tc, handcrafted_mlp_solves_the_task);
    tcase_add_test(tc, handcrafted_mlp_vanilla_iia_is_one);
    return test_run(s);
}
