/* test_intervene.c — pyvene's interventions as graph nodes (intervene/):
 * gradcheck of every intervention op, the type table and its registry,
 * the config reader and writer, the intervenable model (getters, setters,
 * per-example locations, subspaces and active flags, links, composition,
 * out-of-place scatter, the DAS fast path, a steady state without allocator
 * calls), intervention tensors and data files, the model directory, the seed
 * tutorial's claims, and every error path with its message. The reference
 * values against PyTorch are in test_refcases.c. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_gradcheck.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_type_internal.h"
#include "vn_iv_units.h"
#include "vn_model_dir.h"
#include "vn_ops.h"
#include "vn_optim.h"
#include "vn_safetensors.h"

#ifdef VN_REAL_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-6
#endif

/* The context's error must contain every given fragment; then clears it. */
static void expect_error(const char *const *fragments, int n) {
    ck_assert_msg(vn_context_status(&ctx) != VN_OK, "expected an error containing \"%s\"", fragments[0]);
    for (int i = 0; i < n; i++)
        ck_assert_msg(strstr(vn_context_message(&ctx), fragments[i]) != NULL, "message \"%s\" lacks \"%s\"",
                      vn_context_message(&ctx), fragments[i]);
    vn_context_clear_error(&ctx);
}
#define EXPECT_ERROR(...)                                                      \
    do {                                                                       \
        const char *const frags_[] = {__VA_ARGS__};                            \
        expect_error(frags_, (int)(sizeof frags_ / sizeof frags_[0]));          \
    } while (0)

static void expect_text(const char *text, const char *const *fragments, int n) {
    for (int i = 0; i < n; i++)
        ck_assert_msg(strstr(text, fragments[i]) != NULL, "message \"%s\" lacks \"%s\"", text, fragments[i]);
}
#define EXPECT_TEXT(text, ...)                                                 \
    do {                                                                       \
        const char *const frags_[] = {__VA_ARGS__};                            \
        expect_text((text), frags_, (int)(sizeof frags_ / sizeof frags_[0]));  \
    } while (0)

static double max_diff(const vn_real *a, const vn_real *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

static vn_mlp make_mlp(int64_t h, int64_t layers, const char *act, uint64_t seed) {
    vn_mlp_config c = vn_mlp_config_default();
    c.h_dim = h;
    c.n_layer = layers;
    vn_strlcpy(c.activation_function, act, sizeof c.activation_function);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 7);
    vn_mlp mlp;
    CHECK_CTX(vn_mlp_init(&mlp, &ctx, &c, &rng) == VN_OK);
    return mlp;
}

static vn_iv_config parse_config(const char *json) {
    vn_iv_config config;
    char err[512];
    vn_status status = vn_iv_config_parse(json, strlen(json), &arena, &config, NULL, NULL, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s", err);
    return config;
}

static void make_model(vn_iv_model *model, vn_mlp *mlp, const char *json, uint64_t seed) {
    vn_iv_config config = parse_config(json);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 3);
    vn_iv_model_options options = {&rng, false, false};
    CHECK_CTX(vn_iv_model_init(model, &ctx, mlp, &config, &options) == VN_OK);
}

static vn_node *random_input(size_t b, size_t s, size_t h, uint64_t seed) {
    size_t shape[3] = {b, s, h};
    vn_node *x = vn_input(&ctx, 3, shape);
    CHECK_CTX(x != NULL);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 11);
    vn_rng_fill_normal(&rng, x->value.data, x->value.numel, 0, 1);
    return x;
}

/* B lists of one value each. */
static vn_iv_lists uniform_lists(size_t batch, int64_t value) {
    int64_t *offsets = vn_arena_alloc(&arena, (batch + 1) * sizeof *offsets, 0);
    int64_t *values = vn_arena_alloc(&arena, (batch + 1) * sizeof *values, 0);
    for (size_t b = 0; b <= batch; b++) offsets[b] = (int64_t)b;
    for (size_t b = 0; b < batch; b++) values[b] = value;
    vn_iv_lists l = {offsets, values};
    return l;
}

static vn_iv_lists lists_from(size_t batch, const int64_t *offsets, const int64_t *values) {
    (void)batch;
    vn_iv_lists l = {offsets, values};
    return l;
}

/* ---- ops --------------------------------------------------------------------------- */

START_TEST(gradcheck_every_intervention_op) {
    vn_gradcheck_options options = vn_gradcheck_defaults();
    int ops = 0;
    for (size_t k = 0; k < vn_op_count(); k++) {
        const vn_op *op = vn_op_at(k);
        if (strncmp(op->name, "iv_", 3) != 0) continue;
        ops++;
        int cases = gradcheck_op_cases(op, &options);
        ck_assert_msg(cases >= 2, "op %s has %d gradcheck cases", op->name, cases);
    }
    ck_assert_int_eq(ops, VN_IV_TYPE_COUNT + 2); /* every type, gather and scatter */
}
END_TEST

START_TEST(type_table_and_lookup) {
    ck_assert_uint_ge(vn_iv_type_count(), VN_IV_TYPE_COUNT);
    for (int i = 0; i < VN_IV_TYPE_COUNT; i++) {
        const vn_iv_type *t = vn_iv_builtin_type((vn_iv_type_id)i);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_eq(vn_iv_type_at((size_t)i), t);
        ck_assert_ptr_nonnull(t->op);
        ck_assert(t->apply != NULL);
        ck_assert_int_eq(t->op->role, VN_ROLE_INTERVENTION);
        ck_assert_ptr_eq(vn_op_find(t->op->name), t->op);
        ck_assert_ptr_eq(vn_iv_type_find(t->name), t);
        ck_assert_int_eq(t->trainable, t->tensors != 0);
        ck_assert_int_eq(t->rotation != VN_IV_ROTATION_NONE, (t->tensors & VN_IV_TENSOR_ROTATION) != 0);
        for (int j = 0; j < i; j++) ck_assert_str_ne(vn_iv_builtin_type((vn_iv_type_id)j)->name, t->name);
    }
    ck_assert_ptr_null(vn_iv_builtin_type(VN_IV_TYPE_COUNT));
    ck_assert_ptr_eq(vn_iv_type_find("<class 'pyvene.models.interventions.RotatedSpaceIntervention'>"),
                     &vn_iv_type_rotated_space);
    ck_assert_ptr_eq(vn_iv_type_find("LowRankRotatedSpaceIntervention"), &vn_iv_type_low_rank_rotated_space);
    ck_assert_ptr_null(vn_iv_type_find("RotatedSpace"));
    char message[600];
    const vn_iv_type *t;
    ck_assert_int_eq(vn_iv_type_lookup("PCARotatedSpaceIntervention", &t, message, sizeof message), VN_EINVAL);
    EXPECT_TEXT(message, "unknown intervention type \"PCARotatedSpaceIntervention\"", "VanillaIntervention",
                "SkipIntervention", "BoundlessRotatedSpaceIntervention", "SigmoidMaskIntervention");
    /* pyvene's defaults */
    ck_assert_double_eq(vn_iv_type_boundless_rotated_space.boundaries_init, 0.5);
    ck_assert_double_eq(vn_iv_type_boundless_rotated_space.temperature_init, 50.0);
    ck_assert_double_eq(vn_iv_type_sigmoid_mask_rotated_space.masks_init, 100.0);
    ck_assert_double_eq(vn_iv_type_sigmoid_mask_rotated_space.temperature_init, 50.0);
    ck_assert_double_eq(vn_iv_type_sigmoid_mask.masks_init, 0.0);
    ck_assert_double_eq(vn_iv_type_sigmoid_mask.temperature_init, 0.01);
    ck_assert_int_eq(vn_iv_type_zero.source, VN_IV_SOURCE_NONE);
    ck_assert_int_eq(vn_iv_type_skip.source, VN_IV_SOURCE_MODULE_INPUT);
}
END_TEST

/* A type defined outside the built-in table, as a new file in intervene/
 * would define it: y = x with the selected coordinates negated. */
static const ivt_mix negate_mix = {1, -2, 0};
static const vn_op negate_op = {.name = "iv_test_negate", .min_inputs = 2, .max_inputs = 2,
                                .infer = ivt_mask_mix_infer, .forward = ivt_mask_mix_forward,
                                .backward = ivt_mask_mix_backward, .example = ivt_mask_mix_example,
                                .role = VN_ROLE_INTERVENTION, .data = &negate_mix};
extern const vn_iv_type negate_type;
static vn_node *negate_apply(vn_context *c, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(c, &negate_type, args);
}
const vn_iv_type negate_type = {.name = "NegateIntervention", .op = &negate_op, .apply = negate_apply,
                                .source = VN_IV_SOURCE_NONE, .uses_subspaces = true, .unitwise = true};

START_TEST(a_new_type_registers_without_core_changes) {
    ck_assert_int_eq(vn_iv_type_register(&negate_type), VN_OK);
    ck_assert_int_eq(vn_iv_type_register(&negate_type), VN_OK); /* idempotent */
    static vn_iv_type impostor;
    impostor = negate_type;
    ck_assert_int_eq(vn_iv_type_register(&impostor), VN_EINVAL); /* name taken */
    impostor.name = NULL;
    ck_assert_int_eq(vn_iv_type_register(&impostor), VN_EINVAL);
    ck_assert_ptr_eq(vn_iv_type_find("NegateIntervention"), &negate_type);
    ck_assert_ptr_eq(vn_op_find("iv_test_negate"), &negate_op);
    vn_mlp mlp = make_mlp(4, 1, "gelu", 1);
    vn_iv_model model;
    make_model(&model, &mlp, "{\"representations\": [{\"layer\": 0, \"component\": \"block_input\", "
               "\"subspace_partition\": [[0, 2], [2, 4]]}], \"intervention_types\": \"NegateIntervention\"}", 1);
    vn_node *base = random_input(2, 1, 4, 5);
    vn_iv_lists sub = uniform_lists(2, 1);
    vn_iv_inputs in = {0};
    vn_node *none[1] = {NULL};
    in.base = base;
    in.n_sources = 1;
    in.sources = none;
    in.subspaces = &sub;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    /* the same as the plain model on the input with coordinates 2, 3 negated */
    vn_node *flipped = random_input(2, 1, 4, 5);
    for (size_t b = 0; b < 2; b++)
        for (size_t j = 2; j < 4; j++) flipped->value.data[b * 4 + j] *= -1;
    vn_mlp_set_hook(&mlp, NULL, NULL);
    vn_node *want = vn_mlp_forward(&mlp, &ctx, flipped);
    CHECK_CTX(want != NULL);
    ck_assert_double_le(max_diff(out.counterfactual_logits->value.data, want->value.data, 4), TOL);
}
END_TEST

START_TEST(op_semantics) {
    /* Vanilla selects exactly; a 0/1 mask per row */
    size_t xs[2] = {2, 3};
    vn_node *x = vn_input(&ctx, 2, xs), *s = vn_input(&ctx, 2, xs), *m = vn_constant(&ctx, 2, xs);
    CHECK_CTX(x && s && m);
    const double xv[6] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6}, sv[6] = {1.7, -2.3, 3.1, 9.0, 8.0, 7.0},
                 mv[6] = {1, 0, 1, 0, 0, 1};
    for (int i = 0; i < 6; i++) {
        x->value.data[i] = (vn_real)xv[i];
        s->value.data[i] = (vn_real)sv[i];
        m->value.data[i] = (vn_real)mv[i];
    }
    vn_iv_apply_args args = {x, s, m, NULL, NULL, NULL, NULL};
    vn_node *y = vn_iv_type_vanilla.apply(&ctx, &args);
    CHECK_CTX(y != NULL);
    for (int i = 0; i < 6; i++) ck_assert(y->value.data[i] == (mv[i] ? s->value.data[i] : x->value.data[i]));
    y = vn_iv_type_addition.apply(&ctx, &args);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(y->value.data[i], xv[i] + mv[i] * sv[i], TOL * 10);
    y = vn_iv_type_subtraction.apply(&ctx, &args);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(y->value.data[i], xv[i] - mv[i] * sv[i], TOL * 10);
    y = vn_iv_type_zero.apply(&ctx, &args);
    for (int i = 0; i < 6; i++) ck_assert(y->value.data[i] == (mv[i] ? 0 : x->value.data[i]));
    y = vn_iv_type_collect.apply(&ctx, &args);
    for (int i = 0; i < 6; i++) ck_assert(y->value.data[i] == (mv[i] ? x->value.data[i] : 0));
    /* a missing input is an error naming the type */
    args.source = NULL;
    ck_assert_ptr_null(vn_iv_type_vanilla.apply(&ctx, &args));
    EXPECT_ERROR("VanillaIntervention", "no source");
    /* soft masks at pyvene's initial values, read off with x = 0, s = 1, R = I */
    size_t ns[2] = {1, 8}, rs[2] = {8, 8}, one = 1;
    vn_node *zero = vn_input(&ctx, 2, ns), *ones = vn_input(&ctx, 2, ns), *r = vn_constant(&ctx, 2, rs);
    vn_node *b = vn_constant(&ctx, 1, &one), *t = vn_scalar(&ctx, 50), *theta = vn_constant(&ctx, 1, &ns[1]);
    CHECK_CTX(zero && ones && r && b && t && theta);
    for (int i = 0; i < 8; i++) {
        ones->value.data[i] = 1;
        r->value.data[i * 8 + i] = 1;
        theta->value.data[i] = 100;
    }
    b->value.data[0] = 0.5;
    vn_iv_apply_args soft = {zero, ones, NULL, r, b, t, theta};
    y = vn_iv_type_boundless_rotated_space.apply(&ctx, &soft);
    CHECK_CTX(y != NULL);
    for (int j = 0; j < 8; j++) {
        double want = 1 / (1 + exp(-j / 50.0)) * 1 / (1 + exp(-(4.0 - j) / 50.0));
        ck_assert_double_eq_tol(y->value.data[j], want, 1e-6);
    }
    ck_assert_double_le(y->value.data[0], 0.5); /* m_0 ≤ ½ */
    y = vn_iv_type_sigmoid_mask_rotated_space.apply(&ctx, &soft);
    for (int j = 0; j < 8; j++) ck_assert_double_eq_tol(y->value.data[j], 1 / (1 + exp(-2.0)), 1e-6);
    t->value.data[0] = (vn_real)0.01;
    for (int i = 0; i < 8; i++) theta->value.data[i] = 0;
    y = vn_iv_type_sigmoid_mask.apply(&ctx, &soft);
    for (int j = 0; j < 8; j++) ck_assert_double_eq_tol(y->value.data[j], 0.5, 1e-7);
    /* a zero temperature is an error */
    t->value.data[0] = 0;
    ck_assert_ptr_null(vn_iv_type_sigmoid_mask.apply(&ctx, &soft));
    EXPECT_ERROR("iv_sigmoid_mask", "temperature");
    /* mask shape rule */
    size_t bad[2] = {3, 3};
    args.source = s;
    args.mask = vn_constant(&ctx, 2, bad);
    ck_assert_ptr_null(vn_iv_type_vanilla.apply(&ctx, &args));
    EXPECT_ERROR("iv_vanilla", "mask of shape (3, 3)");
}
END_TEST

START_TEST(gather_and_scatter) {
    size_t xs[3] = {2, 3, 2};
    vn_node *x = vn_input(&ctx, 3, xs);
    CHECK_CTX(x != NULL);
    for (size_t i = 0; i < x->value.numel; i++) x->value.data[i] = (vn_real)i;
    static const size_t rows[3] = {4, 1, 4};
    size_t ys[2] = {3, 2};
    vn_node *g = vn_iv_gather_units(&ctx, x, rows, 3, 2, ys);
    CHECK_CTX(g != NULL);
    ck_assert(g->value.data[0] == 8 && g->value.data[2] == 2 && g->value.data[5] == 9);
    vn_node *z = vn_input(&ctx, 2, ys);
    for (size_t i = 0; i < 6; i++) z->value.data[i] = (vn_real)(100 + i);
    vn_node *y = vn_iv_scatter_units(&ctx, x, z, rows, 3);
    CHECK_CTX(y != NULL);
    ck_assert(y->value.data[8] == 104 && y->value.data[9] == 105); /* row 4: the last write wins */
    ck_assert(y->value.data[2] == 102 && y->value.data[0] == 0);
    ck_assert(x->value.data[8] == 8); /* out of place */
    static const size_t past[1] = {6};
    ck_assert_ptr_null(vn_iv_gather_units(&ctx, x, past, 1, 2, (size_t[2]){1, 2}));
    EXPECT_ERROR("iv_gather_units", "row 6 is past the 6 rows");
    ck_assert_ptr_null(vn_iv_scatter_units(&ctx, x, z, rows, 2));
    EXPECT_ERROR("iv_scatter_units", "do not match");
}
END_TEST

/* ---- config ---------------------------------------------------------------------- */

static const char *full_config =
    "{\"representations\": ["
    " {\"layer\": 1, \"component\": \"block_output\", \"unit\": \"pos\", \"max_number_of_units\": 1,"
    "  \"low_rank_dimension\": 4, \"subspace_partition\": [[0, 2], [1, 3, 3], [2, 4]],"
    "  \"intervention_link_key\": 7, \"group_key\": 2, \"intervention_type\": \"LowRankRotatedSpaceIntervention\","
    "  \"orthogonal_map\": \"cayley\"},"
    " {\"layer\": 1, \"component\": \"block_output\", \"low_rank_dimension\": 4, \"intervention_link_key\": 7,"
    "  \"group_key\": 2, \"intervention_type\": \"LowRankRotatedSpaceIntervention\", \"orthogonal_map\": \"cayley\"},"
    " {\"layer\": 0, \"component\": \"mlp_activation\", \"max_number_of_units\": 2, \"group_key\": 5,"
    "  \"intervention_type\": \"VanillaIntervention\"}],"
    " \"orthogonal_map\": \"householder\", \"model_type\": \"x\", \"mode\": \"parallel\"}";

static void same_config(const vn_iv_config *a, const vn_iv_config *b) {
    ck_assert_uint_eq(a->count, b->count);
    ck_assert_int_eq(a->has_orthogonal_map, b->has_orthogonal_map);
    for (size_t i = 0; i < a->count; i++) {
        const vn_iv_representation *p = &a->representations[i], *q = &b->representations[i];
        ck_assert_int_eq(p->layer, q->layer);
        ck_assert_int_eq(p->component, q->component);
        ck_assert_int_eq(p->max_number_of_units, q->max_number_of_units);
        ck_assert_int_eq(p->low_rank_dimension, q->low_rank_dimension);
        ck_assert_ptr_eq(p->type, q->type);
        ck_assert_int_eq(p->has_link_key, q->has_link_key);
        ck_assert_int_eq(p->link_key, q->link_key);
        ck_assert_int_eq(p->has_group_key, q->has_group_key);
        ck_assert_int_eq(p->group_key, q->group_key);
        ck_assert_int_eq(p->has_orthogonal_map, q->has_orthogonal_map);
        ck_assert_uint_eq(p->n_partitions, q->n_partitions);
        for (size_t e = 0; e < p->n_partitions; e++) {
            ck_assert_int_eq(p->partition[e].is_pair, q->partition[e].is_pair);
            ck_assert_uint_eq(p->partition[e].count, q->partition[e].count);
            for (size_t k = 0; k < p->partition[e].count; k++)
                ck_assert_int_eq(p->partition[e].values[k], q->partition[e].values[k]);
        }
    }
}

START_TEST(config_round_trip_keys_groups) {
    vn_iv_config c = parse_config(full_config);
    ck_assert_uint_eq(c.count, 3);
    ck_assert(c.representations[0].partition[0].is_pair && !c.representations[0].partition[1].is_pair);
    ck_assert_int_eq(c.representations[2].component, VN_NN_MLP_ACTIVATION);
    char key[VN_IV_KEY_MAX];
    ck_assert_str_eq(vn_iv_config_key(&c, 0, key, sizeof key), "layer_1_comp_block_output_unit_pos_nunit_1#0");
    ck_assert_str_eq(vn_iv_config_key(&c, 1, key, sizeof key), "layer_1_comp_block_output_unit_pos_nunit_1#1");
    ck_assert_str_eq(vn_iv_config_key(&c, 2, key, sizeof key), "layer_0_comp_mlp_activation_unit_pos_nunit_2#0");
    size_t groups[3], n;
    char err[300];
    ck_assert_int_eq(vn_iv_config_groups(&c, groups, &n, err, sizeof err), VN_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert(groups[0] == 0 && groups[1] == 0 && groups[2] == 1);
    ck_assert_int_eq(vn_iv_config_orth_map(&c, 0, 8), VN_IV_ORTH_CAYLEY);
    ck_assert_int_eq(vn_iv_config_orth_map(&c, 2, 8), VN_IV_ORTH_HOUSEHOLDER);
    vn_host_buffer buffer = {0};
    ck_assert_int_eq(vn_iv_config_write(&c, vn_host_buffer_write, &buffer), VN_OK);
    vn_iv_config again;
    ck_assert_int_eq(vn_iv_config_parse(buffer.data, buffer.size, &arena, &again, NULL, NULL, err, sizeof err), VN_OK);
    vn_host_buffer_free(&buffer);
    same_config(&c, &again);
    /* pyvene's defaults */
    vn_iv_config d = parse_config("{\"representations\": [{}], \"intervention_types\": \"VanillaIntervention\"}");
    ck_assert_int_eq(d.representations[0].layer, 0);
    ck_assert_int_eq(d.representations[0].component, VN_NN_BLOCK_OUTPUT);
    ck_assert_int_eq(d.representations[0].max_number_of_units, 1);
    ck_assert_ptr_null(d.representations[0].partition);
    ck_assert_int_eq(vn_iv_config_orth_map(&d, 0, 8), VN_IV_ORTH_MATRIX_EXP);
}
END_TEST

static int count_lines(void *user, const char *bytes, size_t length) {
    (void)bytes;
    (void)length;
    (*(int *)user)++;
    return 0;
}

START_TEST(config_pyvene_forms) {
    /* pyvene's own save: positional representations and class strings */
    const char *saved = "{\"representations\": [[0, \"block_output\", \"pos\", 1, null, null, null, [[0, 16], [16, 32]],"
                        " null, null, null, null, null, null]], \"intervention_types\": "
                        "[\"<class 'pyvene.models.interventions.RotatedSpaceIntervention'>\"], \"sorted_keys\": "
                        "[\"layer_0_comp_block_output_unit_pos_nunit_1#0\"], \"transformers_version\": \"4.36.2\","
                        " \"extra\": 1}";
    int warnings = 0;
    vn_iv_config c;
    char err[400];
    ck_assert_int_eq(vn_iv_config_parse(saved, strlen(saved), &arena, &c, count_lines, &warnings, err, sizeof err), VN_OK);
    ck_assert_int_eq(warnings, 1); /* "extra" */
    ck_assert_ptr_eq(c.representations[0].type, &vn_iv_type_rotated_space);
    ck_assert_uint_eq(c.representations[0].n_partitions, 2);
    warnings = 0;
    const char *unknown = "{\"representations\": [{\"layerr\": 1}], \"intervention_types\": \"ZeroIntervention\"}";
    ck_assert_int_eq(vn_iv_config_parse(unknown, strlen(unknown), &arena, &c, count_lines, &warnings, err, sizeof err), VN_OK);
    ck_assert_int_eq(warnings, 1);
}
END_TEST

typedef struct config_error_case {
    const char *json;
    int64_t layers;
    const char *fragments[3];
} config_error_case;

START_TEST(config_errors_name_the_problem) {
    static const config_error_case cases[] = {
        {"{\"representations\": [{\"component\": \"attention_output\"}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 0", "unknown component \"attention_output\"", "block_input, mlp_activation, block_output"}},
        {"{\"representations\": [{}], \"intervention_types\": \"Vanilla\"}",
         1, {"unknown intervention type \"Vanilla\"", "VanillaIntervention", "LowRankRotatedSpaceIntervention"}},
        {"{\"representations\": [{\"unit\": \"h.pos\"}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 0", "\"h.pos\" is not supported", "\"pos\""}},
        {"{\"representations\": [{\"layer\": 2}], \"intervention_types\": \"VanillaIntervention\"}",
         2, {"representation 0 (layer_2_comp_block_output", "layer 2 is out of range", "2 layers (0 .. 1)"}},
        {"{\"representations\": [{\"layer\": -1}], \"intervention_types\": \"VanillaIntervention\"}",
         2, {"layer -1 is out of range"}},
        {"{\"representations\": [{\"subspace_partition\": [[0, 4], [4, 9]]}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 0", "entry 1 [4, 9) is outside the 8 coordinates of VanillaIntervention"}},
        {"{\"representations\": [{\"subspace_partition\": [[3, 3]]}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"entry 0 [3, 3) is empty"}},
        {"{\"representations\": [{\"subspace_partition\": [[]]}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"entry 0 is an empty list"}},
        {"{\"representations\": [{\"subspace_partition\": []}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"subspace_partition is empty"}},
        {"{\"representations\": [{\"subspace_partition\": [[1, 2, 8]]}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"index 8 is outside the 8 coordinates"}},
        {"{\"representations\": [{\"low_rank_dimension\": 4, \"subspace_partition\": [[0, 5]]}], "
         "\"intervention_types\": \"LowRankRotatedSpaceIntervention\"}",
         1, {"[0, 5) is outside the 4 coordinates of LowRankRotatedSpaceIntervention"}},
        {"{\"representations\": [{}], \"intervention_types\": \"LowRankRotatedSpaceIntervention\"}",
         1, {"representation 0", "needs low_rank_dimension (1 .. 8)"}},
        {"{\"representations\": [{\"low_rank_dimension\": 9}], \"intervention_types\": \"LowRankRotatedSpaceIntervention\"}",
         1, {"low_rank_dimension 9 is larger than the representation's 8 coordinates"}},
        {"{\"representations\": [{\"component\": \"mlp_activation\"}], \"intervention_types\": \"SkipIntervention\"}",
         1, {"SkipIntervention needs the input of the site's module", "not a hook site",
             "supported: block_output"}},
        {"{\"representations\": [{\"group_key\": 1}, {}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 1 has no group_key", "every representation needs one"}},
        {"{\"representations\": [{\"group_key\": 2}, {\"group_key\": 1}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 1: group_key 1 after 2", "non-decreasing"}},
        {"{\"representations\": [{\"intervention_link_key\": 0}, {\"intervention_link_key\": 0, "
         "\"max_number_of_units\": 2}], \"intervention_types\": \"RotatedSpaceIntervention\"}",
         1, {"representation 1", "linked (key 0) to representation 0", "share one set of parameters"}},
        {"{\"representations\": [{}]}", 1, {"representation 0: intervention_type: missing"}},
        {"{\"representations\": []}", 1, {"\"representations\" must be a non-empty list"}},
        {"{\"representations\": [{\"layer\": \"0\"}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"representation 0: layer", "expected an integer"}},
        {"{\"representations\": [{}], \"intervention_types\": \"VanillaIntervention\", \"mode\": \"serial\"}",
         1, {"mode \"serial\" is not supported"}},
        {"{\"representations\": [{\"intervention\": {\"a\": 1}}], \"intervention_types\": \"VanillaIntervention\"}",
         1, {"intervention: is not supported"}},
        {"{\"representations\": [{}], \"intervention_types\": \"RotatedSpaceIntervention\", \"orthogonal_map\": \"qr\"}",
         1, {"unknown orthogonal_map \"qr\"", "matrix_exp, householder, cayley"}},
        {"{\"representations\": [{}], \"intervention_types\": [\"VanillaIntervention\", \"ZeroIntervention\"]}",
         1, {"intervention_types lists 2 types for 1 representations"}},
        {"[1, 2", 1, {"intervention config:"}},
    };
    for (size_t k = 0; k < VN_ARRAY_COUNT(cases); k++) {
        const config_error_case *c = &cases[k];
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_mlp mlp = make_mlp(8, c->layers, "gelu", 1);
        vn_iv_config config;
        char err[600];
        vn_status status = vn_iv_config_parse(c->json, strlen(c->json), &arena, &config, NULL, NULL, err, sizeof err);
        if (status == VN_OK) {
            vn_iv_model model;
            ck_assert_msg(vn_iv_model_init(&model, &ctx, &mlp, &config, NULL) != VN_OK, "case %zu accepted", k);
            vn_strlcpy(err, vn_context_message(&ctx), sizeof err);
            vn_context_clear_error(&ctx);
        }
        for (int f = 0; f < 3 && c->fragments[f]; f++)
            ck_assert_msg(strstr(err, c->fragments[f]) != NULL, "case %zu: \"%s\" lacks \"%s\"", k, err, c->fragments[f]);
        vn_context_rewind(&ctx, mark);
    }
}
END_TEST

/* ---- the model ------------------------------------------------------------------------ */

static const char *rotated_json =
    "{\"representations\": [{\"layer\": 0, \"component\": \"block_output\", "
    "\"subspace_partition\": [[0, 4], [4, 8]]}], \"intervention_types\": \"RotatedSpaceIntervention\"}";

START_TEST(model_is_frozen_in_eval_mode_with_pyvene_parameters) {
    vn_mlp mlp = make_mlp(8, 2, "gelu", 3);
    ck_assert(mlp.training); /* a new module is in training mode */
    vn_iv_model model;
    make_model(&model, &mlp,
               "{\"representations\": [{\"intervention_link_key\": 1, \"intervention_type\": \"BoundlessRotatedSpaceIntervention\"},"
               " {\"layer\": 1, \"intervention_link_key\": 1, \"intervention_type\": \"BoundlessRotatedSpaceIntervention\"},"
               " {\"layer\": 1, \"intervention_type\": \"SigmoidMaskIntervention\"}]}", 3);
    ck_assert(!mlp.training);
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&mlp, &count);
    for (size_t k = 0; k < count; k++) ck_assert(!vn_node_requires_grad(params[k].node));
    ck_assert_ptr_eq(model.units[0].params, model.units[1].params); /* linked: one parameter set */
    ck_assert_uint_eq(model.units[1].owner, 0);
    ck_assert_uint_eq(model.n_groups, 3);
    const vn_iv_params *p = model.units[0].params;
    ck_assert(p->has_rotation && p->rotation.n == 8 && p->rotation.m == 8);
    ck_assert_double_eq(p->boundaries->value.data[0], 0.5);
    ck_assert_double_eq(p->temperature->value.data[0], 50);
    /* R starts orthogonal */
    vn_real r[64];
    CHECK_CTX(vn_iv_rotation_compute(&p->rotation, &ctx, r) == VN_OK);
    ck_assert_double_le(vn_iv_orthogonality_error(r, 8, 8), 1e-5);
    const vn_iv_params *q = model.units[2].params;
    ck_assert(!q->has_rotation && q->masks->value.numel == 8 && q->masks->value.data[3] == 0);
    ck_assert_double_eq_tol(q->temperature->value.data[0], 0.01, 1e-9);
    vn_node *train[8];
    ck_assert_uint_eq(vn_iv_model_trainable(&model, train, 8), 3); /* X, b (shared), θ */
    ck_assert(vn_iv_model_has_temperature(&model));
    ck_assert_int_eq(vn_iv_model_set_temperature(&model, 0), VN_EINVAL);
    ck_assert_int_eq(vn_iv_model_set_temperature(&model, 2.5), VN_OK);
    ck_assert_double_eq(model.units[2].params->temperature->value.data[0], 2.5);
}
END_TEST

START_TEST(plain_forward_has_no_counterfactual) {
    vn_mlp mlp = make_mlp(8, 1, "gelu", 4);
    vn_iv_model model;
    make_model(&model, &mlp, rotated_json, 4);
    vn_iv_inputs in = {0};
    in.base = random_input(3, 1, 8, 1);
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert_ptr_null(out.counterfactual_logits);
    ck_assert_ptr_nonnull(out.base_logits);
    ck_assert_int_eq(out.base_logits->value.ndim, 2);
    ck_assert(!vn_node_requires_grad(out.base_logits));
}
END_TEST

/* One RotatedSpace forward; returns the counterfactual logits. */
static vn_node *rotated_forward(vn_iv_model *model, vn_node *base, vn_node *source, const vn_iv_lists *sub,
                                const uint8_t *active) {
    vn_node *sources[1] = {source};
    const uint8_t *act[1] = {active};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.subspaces = sub;
    in.active = act;
    in.base_logits = true;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(model, &ctx, &in, &out) == VN_OK);
    return out.counterfactual_logits;
}

START_TEST(each_example_uses_its_own_subspaces) {
    vn_mlp mlp = make_mlp(8, 2, "tanh", 5);
    vn_iv_model model;
    make_model(&model, &mlp, rotated_json, 5);
    static const int64_t offsets[5] = {0, 1, 2, 4, 4}, ids[4] = {1, 0, 1, 0};
    vn_iv_lists sub = lists_from(4, offsets, ids);
    vn_node *base = random_input(4, 1, 8, 10), *source = random_input(4, 1, 8, 11);
    vn_node *all = rotated_forward(&model, base, source, &sub, NULL);
    for (size_t b = 0; b < 4; b++) {
        size_t shape[3] = {1, 1, 8};
        vn_node *xb = vn_leaf_wrap(&ctx, base->value.data + b * 8, 3, shape, VN_NODE_INPUT);
        vn_node *sb = vn_leaf_wrap(&ctx, source->value.data + b * 8, 3, shape, VN_NODE_INPUT);
        int64_t o[2] = {0, offsets[b + 1] - offsets[b]};
        vn_iv_lists one = lists_from(1, o, ids + offsets[b]);
        vn_node *single = rotated_forward(&model, xb, sb, &one, NULL);
        ck_assert_double_le(max_diff(single->value.data, all->value.data + b * 2, 2), 10 * TOL);
    }
    /* example 3 selected nothing: y = x R Rᵀ, about the base */
    vn_iv_inputs plain = {0};
    plain.base = base;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &plain, &out) == VN_OK);
    ck_assert_double_le(max_diff(out.base_logits->value.data + 6, all->value.data + 6, 2), 1e-5);
    ck_assert_double_gt(max_diff(out.base_logits->value.data, all->value.data, 6), 1e-4);
}
END_TEST

START_TEST(inactive_examples_keep_the_base_exactly) {
    vn_mlp mlp = make_mlp(8, 2, "gelu", 6);
    vn_iv_model model;
    make_model(&model, &mlp, rotated_json, 6);
    vn_node *base = random_input(4, 1, 8, 20), *source = random_input(4, 1, 8, 21);
    static const uint8_t active[4] = {1, 0, 0, 1};
    vn_node *sources[1] = {source};
    const uint8_t *act[1] = {active};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.active = act;
    in.base_logits = true;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert_uint_eq(out.applied[0], 2);
    for (int i = 2; i < 6; i++) ck_assert(out.counterfactual_logits->value.data[i] == out.base_logits->value.data[i]);
    ck_assert_double_gt(max_diff(out.counterfactual_logits->value.data, out.base_logits->value.data, 2), 1e-4);
    /* nobody active: nothing applies, the rotation gets no node */
    static const uint8_t none[4] = {0, 0, 0, 0};
    act[0] = none;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert_uint_eq(out.applied[0], 0);
    ck_assert_ptr_null(model.units[0].params->weight);
    ck_assert_double_eq(max_diff(out.counterfactual_logits->value.data, out.base_logits->value.data, 8), 0);
}
END_TEST

static bool graph_has(const char *op_name) {
    for (vn_node *n = ctx.last; n; n = n->prev)
        if (n->op && strcmp(n->op->name, op_name) == 0) return true;
    return false;
}

START_TEST(das_shape_skips_gather_and_scatter) {
    vn_mlp mlp = make_mlp(8, 2, "relu", 7);
    vn_iv_model model;
    make_model(&model, &mlp, rotated_json, 7);
    vn_context_mark mark = vn_context_mark_get(&ctx);
    vn_node *base = random_input(6, 1, 8, 30), *source = random_input(6, 1, 8, 31);
    vn_iv_lists sub = uniform_lists(6, 0), loc = uniform_lists(6, 0);
    vn_node *sources[1] = {source};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.subspaces = &sub;
    in.base_locations = &loc;
    in.source_locations = &loc;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert(graph_has("iv_rotated_space"));
    ck_assert(!graph_has("iv_gather_units") && !graph_has("iv_scatter_units"));
    ck_assert_uint_eq(model.units[0].mask->value.shape[0], 1); /* one shared mask row */
    vn_node *fast = out.counterfactual_logits;
    /* with one example inactive the same values come through gather/scatter */
    static const uint8_t active[6] = {1, 1, 1, 1, 1, 0};
    const uint8_t *act[1] = {active};
    in.active = act;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert(graph_has("iv_gather_units") && graph_has("iv_scatter_units"));
    ck_assert_double_le(max_diff(fast->value.data, out.counterfactual_logits->value.data, 10), TOL);
    vn_context_rewind(&ctx, mark);
}
END_TEST

START_TEST(caller_inputs_are_never_written) {
    vn_mlp mlp = make_mlp(8, 2, "gelu", 8);
    vn_iv_model model;
    mlp.config.pdrop = 0.3; /* layer 0 block_input is the caller's tensor in eval mode */
    make_model(&model, &mlp,
               "{\"representations\": [{\"component\": \"block_input\", \"intervention_type\": \"VanillaIntervention\"},"
               " {\"component\": \"block_input\", \"intervention_type\": \"ZeroIntervention\", "
               "\"subspace_partition\": [[0, 3]]}]}", 8);
    vn_node *base = random_input(3, 1, 8, 40), *source = random_input(3, 1, 8, 41);
    vn_real before_base[24], before_source[24];
    memcpy(before_base, base->value.data, sizeof before_base);
    memcpy(before_source, source->value.data, sizeof before_source);
    vn_node *sources[2] = {source, NULL};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 2;
    in.sources = sources;
    in.base_logits = true;
    vn_mlp_set_trainable(&mlp, true);
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    CHECK_CTX(vn_backward(&ctx, vn_sum(&ctx, out.counterfactual_logits)) == VN_OK);
    ck_assert(memcmp(before_base, base->value.data, sizeof before_base) == 0);
    ck_assert(memcmp(before_source, source->value.data, sizeof before_source) == 0);
    ck_assert_double_gt(max_diff(out.counterfactual_logits->value.data, out.base_logits->value.data, 6), 1e-4);
    ck_assert_uint_eq(out.applied[0], 3);
    ck_assert_uint_eq(out.applied[1], 3); /* source-less Zero applies without a source */
}
END_TEST

/* Sum of the counterfactual logits' gradient with respect to R (all uses). */
START_TEST(same_site_composition_and_links) {
    vn_mlp mlp = make_mlp(8, 1, "gelu", 9);
    const char *unlinked = "{\"representations\": ["
                           "{\"subspace_partition\": [[0, 4], [4, 8]]}, {\"subspace_partition\": [[0, 4], [4, 8]]}],"
                           " \"intervention_types\": \"RotatedSpaceIntervention\"}";
    const char *linked = "{\"representations\": ["
                         "{\"subspace_partition\": [[0, 4], [4, 8]], \"intervention_link_key\": 0},"
                         " {\"subspace_partition\": [[0, 4], [4, 8]], \"intervention_link_key\": 0}],"
                         " \"intervention_types\": \"RotatedSpaceIntervention\"}";
    vn_iv_model a, b;
    make_model(&a, &mlp, unlinked, 9);
    make_model(&b, &mlp, linked, 9);
    /* give a's second rotation the first's state: the same math as the link */
    vn_iv_rotation *r0 = &a.units[0].params->rotation, *r1 = &a.units[1].params->rotation;
    CHECK_CTX(vn_iv_rotation_set_state(r1, &ctx, r0->original->value.data, r0->base->value.data) == VN_OK);
    CHECK_CTX(vn_iv_rotation_set_state(&b.units[0].params->rotation, &ctx, r0->original->value.data,
                                       r0->base->value.data) == VN_OK);
    vn_node *base = random_input(3, 1, 8, 50), *s1 = random_input(3, 1, 8, 51), *s2 = random_input(3, 1, 8, 52);
    vn_iv_lists subs[2] = {uniform_lists(3, 0), uniform_lists(3, 1)};
    vn_node *sources[2] = {s1, s2};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 2;
    in.sources = sources;
    in.subspaces = subs;
    vn_iv_outputs oa, ob;
    CHECK_CTX(vn_iv_forward(&a, &ctx, &in, &oa) == VN_OK);
    CHECK_CTX(vn_backward(&ctx, vn_sum(&ctx, oa.counterfactual_logits)) == VN_OK); /* unlinked: backprop works */
    CHECK_CTX(vn_iv_forward(&b, &ctx, &in, &ob) == VN_OK);
    CHECK_CTX(vn_backward(&ctx, vn_sum(&ctx, ob.counterfactual_logits)) == VN_OK);
    ck_assert_double_le(max_diff(oa.counterfactual_logits->value.data, ob.counterfactual_logits->value.data, 6), TOL);
    const vn_node *ga0 = a.units[0].params->weight, *ga1 = a.units[1].params->weight, *gb = b.units[0].params->weight;
    ck_assert_ptr_eq(gb, b.units[1].params->weight);
    for (size_t k = 0; k < 64; k++)
        ck_assert_double_eq_tol(gb->grad.data[k], ga0->grad.data[k] + ga1->grad.data[k], 1e-5);
    double norm = 0;
    for (size_t k = 0; k < 64; k++) norm += fabs((double)gb->grad.data[k]);
    ck_assert_double_gt(norm, 1e-4);
    /* the second acts on the first's output: coordinates 0-3 of s1, 4-7 of s2; with
     * s1 == s2 the result is the source's output */
    sources[1] = s1;
    CHECK_CTX(vn_iv_forward(&b, &ctx, &in, &ob) == VN_OK);
    vn_iv_inputs plain = {0};
    plain.base = s1;
    vn_iv_outputs os;
    CHECK_CTX(vn_iv_forward(&b, &ctx, &plain, &os) == VN_OK);
    ck_assert_double_le(max_diff(ob.counterfactual_logits->value.data, os.base_logits->value.data, 6), 1e-5);
}
END_TEST

START_TEST(skip_and_collect) {
    vn_mlp mlp = make_mlp(8, 1, "gelu", 12);
    vn_iv_model skip;
    make_model(&skip, &mlp, "{\"representations\": [{\"layer\": 0, \"component\": \"block_output\"}],"
                            " \"intervention_types\": \"SkipIntervention\"}", 12);
    vn_node *base = random_input(2, 1, 8, 60);
    vn_node *sources[1] = {base};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&skip, &ctx, &in, &out) == VN_OK);
    /* block 0 skipped: logits = score(x) */
    vn_node *want = vn_nn_linear(&ctx, base, mlp.score.weight, mlp.score.bias);
    CHECK_CTX(want != NULL);
    ck_assert_double_le(max_diff(out.counterfactual_logits->value.data, want->value.data, 4), TOL * 10);
    vn_iv_model collect;
    make_model(&collect, &mlp, "{\"representations\": [{\"component\": \"mlp_activation\", "
                               "\"subspace_partition\": [[0, 2], [2, 8]]}], \"intervention_types\": \"CollectIntervention\"}", 12);
    vn_iv_lists sub = uniform_lists(2, 0);
    vn_node *none[1] = {NULL};
    in.sources = none;
    in.subspaces = &sub;
    in.base_logits = true;
    CHECK_CTX(vn_iv_forward(&collect, &ctx, &in, &out) == VN_OK);
    ck_assert_ptr_nonnull(out.collected[0]);
    ck_assert_double_eq(max_diff(out.counterfactual_logits->value.data, out.base_logits->value.data, 4), 0);
    vn_node *act = vn_gelu(&ctx, vn_nn_linear(&ctx, base, mlp.blocks[0].weight, mlp.blocks[0].bias));
    for (size_t b = 0; b < 2; b++)
        for (size_t j = 0; j < 8; j++)
            ck_assert(out.collected[0]->value.data[b * 8 + j] == (j < 2 ? act->value.data[b * 8 + j] : 0));
}
END_TEST

START_TEST(several_units_and_positions) {
    vn_mlp mlp = make_mlp(4, 1, "gelu", 13);
    vn_iv_model model;
    make_model(&model, &mlp, "{\"representations\": [{\"component\": \"block_input\", \"max_number_of_units\": 2}],"
                             " \"intervention_types\": \"VanillaIntervention\"}", 13);
    /* base positions (2, 0) take source positions (1, 1): a permutation check */
    vn_node *base = random_input(1, 3, 4, 70), *source = random_input(1, 3, 4, 71);
    static const int64_t off[2] = {0, 2}, src_loc[2] = {1, 1}, base_loc[2] = {2, 0};
    vn_iv_lists sl = lists_from(1, off, src_loc), bl = lists_from(1, off, base_loc);
    vn_node *sources[1] = {source};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.source_locations = &sl;
    in.base_locations = &bl;
    vn_iv_outputs out;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &out) == VN_OK);
    ck_assert_int_eq(out.counterfactual_logits->value.ndim, 3); /* (B, S, C) */
    size_t shape[3] = {1, 3, 4};
    vn_node *edited = vn_input(&ctx, 3, shape);
    memcpy(edited->value.data, base->value.data, 12 * sizeof(vn_real));
    memcpy(edited->value.data + 8, source->value.data + 4, 4 * sizeof(vn_real));
    memcpy(edited->value.data + 0, source->value.data + 4, 4 * sizeof(vn_real));
    vn_mlp_set_hook(&mlp, NULL, NULL);
    vn_node *want = vn_mlp_forward(&mlp, &ctx, edited);
    ck_assert_double_le(max_diff(out.counterfactual_logits->value.data, want->value.data, 6), TOL);
}
END_TEST

START_TEST(forward_errors_name_representation_and_example) {
    vn_mlp mlp = make_mlp(8, 2, "gelu", 14);
    vn_iv_model model;
    make_model(&model, &mlp, rotated_json, 14);
    vn_node *base = random_input(3, 1, 8, 80), *source = random_input(3, 1, 8, 81);
    vn_node *sources[2] = {source, source};
    vn_iv_outputs out;
    vn_iv_inputs in = {0};
    in.base = base;
    in.sources = sources;
    in.n_sources = 2;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("wrong number of sources: 2 given for 1 group");
    in.n_sources = 1;
    vn_node *short_source = random_input(2, 1, 8, 82);
    sources[0] = short_source;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("batch mismatch: source 0 has 2 examples, the base has 3");
    sources[0] = random_input(3, 1, 6, 83);
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("source 0: shape (3, 1, 6), expected (B, S, 8)");
    sources[0] = source;
    size_t flat[2] = {3, 8};
    in.base = vn_input(&ctx, 2, flat);
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("base: shape (3, 8), expected (B, S, 8)");
    in.base = base;
    static const int64_t off[4] = {0, 1, 2, 3}, far[3] = {0, 1, 0}, negative[3] = {0, 0, -1};
    vn_iv_lists bad = lists_from(3, off, far);
    in.base_locations = &bad;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("representation 0 (layer_0_comp_block_output_unit_pos_nunit_1#0)", "example 1",
                 "base unit location 1 is out of range (the base has 1 position)");
    in.base_locations = NULL;
    bad = lists_from(3, off, negative);
    in.source_locations = &bad;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("example 2: source unit location -1 is out of range");
    static const int64_t two_off[4] = {0, 1, 3, 4}, two[4] = {0, 0, 0, 0};
    bad = lists_from(3, two_off, two);
    in.source_locations = &bad;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("example 1 has 2 source unit locations; max_number_of_units is 1");
    in.source_locations = NULL;
    static const int64_t ids[3] = {0, 2, 1};
    vn_iv_lists sub = lists_from(3, off, ids);
    in.subspaces = &sub;
    ck_assert_int_ne(vn_iv_forward(&model, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("representation 0 (layer_0_comp_block_output_unit_pos_nunit_1#0): example 1: subspace 2 is out of "
                 "range (the partition has 2 entries)");
    /* raw coordinates without a partition */
    vn_iv_model raw;
    make_model(&raw, &mlp, "{\"representations\": [{}], \"intervention_types\": \"VanillaIntervention\"}", 1);
    static const int64_t coords[3] = {7, 8, 0};
    sub = lists_from(3, off, coords);
    ck_assert_int_ne(vn_iv_forward(&raw, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("example 1: subspace 8 is out of range (no partition: raw coordinates of 8 coordinates)");
    /* two units on a one-position input without locations */
    vn_iv_model units;
    make_model(&units, &mlp, "{\"representations\": [{\"max_number_of_units\": 2}], \"intervention_types\": "
                             "\"VanillaIntervention\"}", 1);
    in.subspaces = NULL;
    ck_assert_int_ne(vn_iv_forward(&units, &ctx, &in, &out), VN_OK);
    EXPECT_ERROR("max_number_of_units 2 exceeds the 1 position of the base");
}
END_TEST

START_TEST(training_steady_state_allocates_nothing) {
    vn_host_alloc_stats stats = {0};
    vn_arena counted;
    vn_host_arena(&counted, &stats);
    vn_context c;
    vn_context_init(&c, &counted);
    vn_mlp_config mc = vn_mlp_config_default();
    mc.h_dim = 16;
    mc.n_layer = 3;
    vn_strlcpy(mc.activation_function, "relu", sizeof mc.activation_function);
    vn_rng rng;
    vn_rng_seed(&rng, 1, 1);
    vn_mlp mlp;
    ck_assert_int_eq(vn_mlp_init(&mlp, &c, &mc, &rng), VN_OK);
    const char *json = "{\"representations\": [{\"intervention_link_key\": 0}, {\"intervention_link_key\": 0}],"
                       " \"intervention_types\": \"RotatedSpaceIntervention\"}";
    vn_iv_config config;
    char err[300];
    ck_assert_int_eq(vn_iv_config_parse(json, strlen(json), &counted, &config, NULL, NULL, err, sizeof err), VN_OK);
    vn_iv_model model;
    vn_iv_model_options options = {&rng, false, false};
    ck_assert_int_eq(vn_iv_model_init(&model, &c, &mlp, &config, &options), VN_OK);
    enum { B = 64 };
    size_t shape[3] = {B, 1, 16};
    vn_real *base = calloc(B * 16, sizeof *base), *source = calloc(B * 16, sizeof *source);
    vn_rng_fill_normal(&rng, base, B * 16, 0, 1);
    vn_rng_fill_normal(&rng, source, B * 16, 0, 1);
    int64_t labels[B], offsets[B + 1], low[B * 8], high[B * 8];
    for (int b = 0; b <= B; b++) offsets[b] = 8 * b;
    for (int b = 0; b < B; b++) {
        labels[b] = b % 2;
        for (int j = 0; j < 8; j++) {
            low[b * 8 + j] = j;
            high[b * 8 + j] = 8 + j;
        }
    }
    vn_iv_lists subs[2] = {{offsets, low}, {offsets, high}};
    vn_node *params[4];
    size_t n = vn_iv_model_trainable(&model, params, 4);
    vn_optim_options oo = vn_optim_defaults(VN_OPTIM_ADAM);
    vn_optim opt;
    ck_assert_int_eq(vn_optim_init(&opt, &c, &counted, &oo, params, n), VN_OK);
    vn_context_mark mark = vn_context_mark_get(&c);
    size_t calls_after[4] = {0};
    for (int step = 0; step < 4; step++) {
        vn_node *sources[2];
        sources[0] = sources[1] = vn_leaf_wrap(&c, source, 3, shape, VN_NODE_INPUT);
        vn_iv_inputs in = {0};
        in.base = vn_leaf_wrap(&c, base, 3, shape, VN_NODE_INPUT);
        in.n_sources = 2;
        in.sources = sources;
        in.subspaces = subs;
        vn_iv_outputs out;
        ck_assert_int_eq(vn_iv_forward(&model, &c, &in, &out), VN_OK);
        vn_node *loss = vn_cross_entropy(&c, out.counterfactual_logits, labels, B);
        vn_zero_grad(&c);
        ck_assert_msg(vn_backward(&c, loss) == VN_OK, "%s", vn_context_message(&c));
        vn_optim_step(&opt);
        vn_context_rewind(&c, mark);
        calls_after[step] = stats.calls;
    }
    ck_assert_uint_eq(calls_after[3], calls_after[1]);
    ck_assert_uint_eq(calls_after[2], calls_after[1]);
    free(base);
    free(source);
    vn_arena_release(&counted);
}
END_TEST

/* ---- intervention tensors ------------------------------------------------------------ */

static void save_bytes(vn_iv_model *model, vn_host_buffer *buffer) {
    *buffer = (vn_host_buffer){0};
    CHECK_CTX(vn_iv_save_tensors(model, &ctx, vn_host_buffer_write, buffer) == VN_OK);
}

START_TEST(tensors_round_trip_and_links) {
    vn_mlp mlp = make_mlp(8, 2, "gelu", 15);
    const char *json = "{\"representations\": ["
                       "{\"intervention_link_key\": 3, \"intervention_type\": \"BoundlessRotatedSpaceIntervention\"},"
                       "{\"layer\": 1, \"intervention_link_key\": 3, \"intervention_type\": \"BoundlessRotatedSpaceIntervention\"},"
                       "{\"low_rank_dimension\": 3, \"intervention_type\": \"LowRankRotatedSpaceIntervention\"},"
                       "{\"intervention_type\": \"SigmoidMaskIntervention\"},"
                       "{\"intervention_type\": \"VanillaIntervention\"}]}";
    vn_iv_model a, b;
    make_model(&a, &mlp, json, 16);
    make_model(&b, &mlp, json, 17);
    /* move a away from its initial state */
    vn_iv_params *p = a.units[0].params;
    for (size_t k = 0; k < 64; k++) p->rotation.original->value.data[k] += (vn_real)(0.01 * (double)(k % 7));
    p->boundaries->value.data[0] = (vn_real)0.3;
    p->temperature->value.data[0] = 7;
    a.units[2].params->rotation.original->value.data[5] += (vn_real)0.2;
    a.units[3].params->masks->value.data[2] = (vn_real)1.5;
    vn_host_buffer buffer;
    save_bytes(&a, &buffer);
    vn_safetensors st;
    char err[300];
    ck_assert_int_eq(vn_safetensors_open(&st, buffer.data, buffer.size, &arena, err, sizeof err), VN_OK);
    ck_assert_uint_eq(st.count, 3 + 2 + 3 + 2); /* linked: once, under the first key */
    ck_assert_ptr_nonnull(vn_safetensors_find(&st, "layer_0_comp_block_output_unit_pos_nunit_1#0.temperature"));
    ck_assert_ptr_null(vn_safetensors_find(&st, "layer_1_comp_block_output_unit_pos_nunit_1#0.temperature"));
    CHECK_CTX(vn_iv_load_tensors(&b, &ctx, buffer.data, buffer.size) == VN_OK);
    for (size_t i = 0; i < 4; i++) {
        if (b.units[i].owner != i) continue;
        vn_iv_params *pa = a.units[i].params, *pb = b.units[i].params;
        if (pa->has_rotation) {
            vn_real ra[64], rb[64];
            CHECK_CTX(vn_iv_rotation_compute(&pa->rotation, &ctx, ra) == VN_OK);
            CHECK_CTX(vn_iv_rotation_compute(&pb->rotation, &ctx, rb) == VN_OK);
            ck_assert_double_le(max_diff(ra, rb, pa->rotation.n * pa->rotation.m), 1e-6);
        }
    }
    ck_assert_double_eq_tol(b.units[0].params->boundaries->value.data[0], 0.3, 1e-7);
    ck_assert_double_eq(b.units[1].params->temperature->value.data[0], 7);
    ck_assert_double_eq(b.units[3].params->masks->value.data[2], 1.5);
    vn_host_buffer_free(&buffer);
}
END_TEST

/* Writes items into a safetensors buffer. */
static void build_file(vn_host_buffer *buffer, const vn_safetensors_item *items, size_t n, const vn_safetensors_kv *meta,
                       size_t n_meta) {
    *buffer = (vn_host_buffer){0};
    char err[300];
    ck_assert_msg(vn_safetensors_write(vn_host_buffer_write, buffer, items, n, meta, n_meta, err, sizeof err) == VN_OK,
                  "%s", err);
}

static void expect_load_error(vn_iv_model *model, const vn_safetensors_item *items, size_t n, const char *fragment) {
    vn_host_buffer buffer;
    build_file(&buffer, items, n, NULL, 0);
    ck_assert_int_ne(vn_iv_load_tensors(model, &ctx, buffer.data, buffer.size), VN_OK);
    EXPECT_ERROR("interventions.safetensors", fragment);
    vn_host_buffer_free(&buffer);
}

START_TEST(tensor_load_errors) {
    vn_mlp mlp = make_mlp(4, 1, "gelu", 18);
    vn_iv_model model;
    make_model(&model, &mlp, "{\"representations\": [{\"intervention_link_key\": 1}, {\"intervention_link_key\": 1}],"
                             " \"intervention_types\": \"RotatedSpaceIntervention\"}", 18);
    const char *w = "layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer.weight";
    const char *x = "layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer.parametrizations.weight.original";
    const char *bn = "layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer.parametrizations.weight.0.base";
    const char *w1 = "layer_0_comp_block_output_unit_pos_nunit_1#1.rotate_layer.weight";
    size_t s44[2] = {4, 4}, s43[2] = {4, 3};
    vn_real eye[16] = {0}, perm[16] = {0}, minus[16] = {0}, skewed[16] = {0}, twice[16] = {0}, wide[12] = {0};
    for (int i = 0; i < 4; i++) {
        eye[i * 5] = 1;
        minus[i * 5] = -1;
        perm[i * 4 + (i + 1) % 4] = 1;
        twice[i * 5] = 2;
    }
    memcpy(skewed, minus, sizeof skewed);
    skewed[4] = (vn_real)0.3; /* X[1][0] */
    vn_tensor te, tp, tm, ts, tt, tw;
    vn_tensor_wrap(&te, eye, 2, s44);
    vn_tensor_wrap(&tp, perm, 2, s44);
    vn_tensor_wrap(&tm, minus, 2, s44);
    vn_tensor_wrap(&ts, skewed, 2, s44);
    vn_tensor_wrap(&tt, twice, 2, s44);
    vn_tensor_wrap(&tw, wide, 2, s43);
    /* good: weight only, then a linked copy equal to it */
    vn_safetensors_item ok[2] = {vn_safetensors_item_real(w, &tp, VN_ST_F32), vn_safetensors_item_real(w1, &tp, VN_ST_F32)};
    vn_host_buffer buffer;
    build_file(&buffer, ok, 2, NULL, 0);
    CHECK_CTX(vn_iv_load_tensors(&model, &ctx, buffer.data, buffer.size) == VN_OK);
    vn_host_buffer_free(&buffer);
    vn_safetensors_item items[3];
    items[0] = vn_safetensors_item_real(w, &tp, VN_ST_F32);
    items[1] = vn_safetensors_item_real(w1, &te, VN_ST_F32);
    expect_load_error(&model, items, 2, "differs from the first linked key's copy");
    items[1] = vn_safetensors_item_real("layer_0_comp_block_output_unit_pos_nunit_1#0.masks", &te, VN_ST_F32);
    expect_load_error(&model, items, 2, "RotatedSpaceIntervention has no masks");
    items[1] = vn_safetensors_item_real("layer_3_comp_block_output_unit_pos_nunit_1#0.rotate_layer.weight", &te, VN_ST_F32);
    expect_load_error(&model, items, 2, "unknown tensor \"layer_3_comp_block_output_unit_pos_nunit_1#0.rotate_layer.weight\"");
    items[0] = vn_safetensors_item_real(x, &tm, VN_ST_F32);
    expect_load_error(&model, items, 1, "the parametrisation needs both");
    items[0] = vn_safetensors_item_real(w, &tt, VN_ST_F32);
    expect_load_error(&model, items, 1, "does not have orthonormal columns");
    items[0] = vn_safetensors_item_real(w, &tw, VN_ST_F32);
    expect_load_error(&model, items, 1, "expected shape (4, 4)");
    items[0] = vn_safetensors_item_real("unrelated", &te, VN_ST_F32);
    expect_load_error(&model, items, 1, "unknown tensor \"unrelated\"");
    expect_load_error(&model, items, 0, "no rotation: give");
    /* the parametrisation and a weight that disagrees with it */
    items[0] = vn_safetensors_item_real(x, &ts, VN_ST_F32);
    items[1] = vn_safetensors_item_real(bn, &te, VN_ST_F32);
    items[2] = vn_safetensors_item_real(w, &te, VN_ST_F32);
    expect_load_error(&model, items, 3, "disagrees with the parametrisation");
    build_file(&buffer, items, 2, NULL, 0); /* without the weight it loads */
    CHECK_CTX(vn_iv_load_tensors(&model, &ctx, buffer.data, buffer.size) == VN_OK);
    vn_host_buffer_free(&buffer);
    ck_assert_int_ne(vn_iv_load_tensors(&model, &ctx, "garbage", 7), VN_OK);
    EXPECT_ERROR("interventions.safetensors");
}
END_TEST

/* ---- data files ------------------------------------------------------------------------ */

typedef struct data_builder {
    vn_safetensors_item items[8];
    vn_tensor tensors[8];
    size_t n;
    vn_safetensors_kv meta[2];
    size_t n_meta;
} data_builder;

static void add_real(data_builder *d, const char *name, vn_real *data, int ndim, const size_t *shape) {
    vn_tensor_wrap(&d->tensors[d->n], data, ndim, shape);
    d->items[d->n] = vn_safetensors_item_real(name, &d->tensors[d->n], VN_ST_F32);
    d->n++;
}

static vn_status parse_data(const data_builder *d, const vn_iv_model *model, vn_iv_batch *batch, char *err) {
    vn_host_buffer buffer;
    build_file(&buffer, d->items, d->n, d->meta, d->n_meta);
    vn_status status = vn_iv_data_parse(buffer.data, buffer.size, model, 4, 2, &arena, batch, err, 400);
    vn_host_buffer_free(&buffer);
    return status;
}

START_TEST(data_files) {
    vn_mlp mlp = make_mlp(4, 2, "gelu", 19);
    vn_iv_model model;
    make_model(&model, &mlp, "{\"representations\": [{\"group_key\": 0}, {\"layer\": 1, \"group_key\": 1}],"
                             " \"intervention_types\": \"VanillaIntervention\"}", 19);
    vn_real base[12], src[12], wide[15];
    for (int i = 0; i < 12; i++) base[i] = src[i] = (vn_real)i;
    size_t s3[3] = {3, 1, 4}, s2[3] = {2, 1, 4}, sw[3] = {3, 1, 5}, v3 = 3;
    static const int64_t labels_ok[3] = {0, 1, 1}, labels_bad[3] = {0, 2, 1}, flags[3] = {1, 0, 1}, flags_bad[3] = {1, 2, 0};
    data_builder d = {0};
    add_real(&d, "base", base, 3, s3);
    add_real(&d, "source.1", src, 3, s3);
    d.items[d.n++] = vn_safetensors_item_int64("active.1", flags, 1, &v3);
    d.items[d.n++] = vn_safetensors_item_int64("labels", labels_ok, 1, &v3);
    d.meta[0] = (vn_safetensors_kv){"unit_locations", "{\"sources->base\": [[null, [[0], [0], [0]]], [null, null]]}"};
    d.meta[1] = (vn_safetensors_kv){"subspaces", "[[[0], [1, 2], []], null]"};
    d.n_meta = 2;
    vn_iv_batch batch;
    char err[400];
    ck_assert_msg(parse_data(&d, &model, &batch, err) == VN_OK, "%s", err);
    ck_assert(batch.batch == 3 && batch.seq == 1 && batch.n_groups == 2 && batch.n_reps == 2);
    ck_assert_ptr_null(batch.sources[0]);
    ck_assert_ptr_nonnull(batch.sources[1]);
    ck_assert(batch.active[1][1] == 0 && batch.active[1][2] == 1 && !batch.active[0]);
    ck_assert_int_eq(batch.labels[2], 1);
    ck_assert_ptr_null(batch.source_locations[0].offsets);
    ck_assert_ptr_nonnull(batch.source_locations[1].offsets);
    ck_assert_ptr_null(batch.base_locations[1].offsets);
    ck_assert_int_eq(batch.subspaces[0].offsets[3] - batch.subspaces[0].offsets[2], 0);
    ck_assert_int_eq(batch.subspaces[0].values[2], 2);
    ck_assert_ptr_null(batch.subspaces[1].offsets);
    /* slices and gathers of a batch give the same inputs */
    vn_iv_batch part, picked;
    vn_iv_batch_slice(&batch, 1, 2, &part);
    size_t index[2] = {1, 2};
    ck_assert_int_eq(vn_iv_batch_gather(&batch, index, 2, &arena, &picked), VN_OK);
    ck_assert(part.batch == 2 && picked.batch == 2 && part.base[0] == 4 && picked.base[0] == 4);
    ck_assert(part.active[1][0] == 0 && picked.active[1][0] == 0 && part.labels[1] == 1 && picked.labels[1] == 1);
    ck_assert_int_eq(part.subspaces[0].offsets[1] - part.subspaces[0].offsets[0], 2);
    ck_assert_int_eq(picked.subspaces[0].values[picked.subspaces[0].offsets[0] + 1], 2);
    vn_iv_batch_nodes nodes;
    vn_iv_inputs in;
    CHECK_CTX(vn_iv_batch_inputs(&part, &ctx, &nodes, &in) == VN_OK);
    ck_assert(in.n_sources == 2 && in.sources[0] == NULL && in.sources[1] != NULL);
    vn_iv_outputs o1, o2;
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &o1) == VN_OK);
    CHECK_CTX(vn_iv_batch_inputs(&picked, &ctx, &nodes, &in) == VN_OK);
    CHECK_CTX(vn_iv_forward(&model, &ctx, &in, &o2) == VN_OK);
    ck_assert_double_eq(max_diff(o1.counterfactual_logits->value.data, o2.counterfactual_logits->value.data, 4), 0);
    /* without a model: base and labels only */
    d.items[1] = vn_safetensors_item_real("source.7", &d.tensors[1], VN_ST_F32);
    ck_assert_msg(parse_data(&d, NULL, &batch, err) == VN_OK, "%s", err);
    ck_assert_uint_eq(batch.n_groups, 0);
    /* errors */
    struct {
        const char *meta_key, *meta_value, *fragment;
    } meta_cases[] = {
        {"subspaces", "[[[0]], null]", "subspaces[0] lists 1 examples, the batch has 3"},
        {"subspaces", "[[[0], [1], [0]]]", "one entry per representation (2)"},
        {"subspaces", "[[[0], [\"1\"], [0]], null]", "subspaces[0][1][0]"},
        {"subspaces", "[[[0], 1, [0]], null]", "subspaces[0][1] must be a list of integers"},
        {"subspaces", "[[[0], [1], [0]], null", "metadata \"subspaces\""},
        {"unit_locations", "{\"base\": [[0]]}", "{\"sources->base\": [source_locations, base_locations]}"},
    };
    d.items[1] = vn_safetensors_item_real("source.1", &d.tensors[1], VN_ST_F32);
    for (size_t k = 0; k < VN_ARRAY_COUNT(meta_cases); k++) {
        d.meta[0] = (vn_safetensors_kv){meta_cases[k].meta_key, meta_cases[k].meta_value};
        d.n_meta = 1;
        ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
        EXPECT_TEXT(err, "data file:", meta_cases[k].fragment);
    }
    d.n_meta = 0;
    d.items[3] = vn_safetensors_item_int64("labels", labels_bad, 1, &v3);
    ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "labels[1] = 2 is not a class of this model (0 .. 1)");
    d.items[3] = vn_safetensors_item_int64("active.1", flags_bad, 1, &v3);
    d.items[2] = vn_safetensors_item_int64("labels", labels_ok, 1, &v3);
    ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "active.1[1] = 2; active flags are 0 or 1");
    d.n = 2;
    d.items[1] = vn_safetensors_item_real("source.2", &d.tensors[1], VN_ST_F32);
    ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "source.2: the intervention has 2 groups (0 .. 1)");
    d.items[1] = vn_safetensors_item_real("sources.0", &d.tensors[1], VN_ST_F32);
    ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "unknown tensor \"sources.0\"");
    add_real(&d, "x", src, 3, s2);
    d.n = 2;
    d.items[1] = vn_safetensors_item_real("source.0", &d.tensors[2], VN_ST_F32);
    ck_assert_int_ne(parse_data(&d, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "source.0 has 2 examples, base has 3 (batch mismatch)");
    data_builder e = {0};
    add_real(&e, "base", wide, 3, sw);
    ck_assert_int_ne(parse_data(&e, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "base has shape (3, 1, 5), expected (B, S, 4)");
    data_builder f = {0};
    add_real(&f, "source.0", src, 3, s3);
    ck_assert_int_ne(parse_data(&f, &model, &batch, err), VN_OK);
    EXPECT_TEXT(err, "no tensor \"base\"");
}
END_TEST

/* ---- the model directory ------------------------------------------------------------------ */

static int collect_text(void *user, const char *bytes, size_t length) {
    strncat(user, bytes, length);
    return 0;
}

START_TEST(model_directory_files) {
    char warnings[512] = "", err[300];
    const char *json = "{\"model_type\": \"mlp\", \"h_dim\": 4, \"n_layer\": 2, \"num_classes\": 3, "
                       "\"activation_function\": \"relu\", \"pdrop\": 0, \"transformers_version\": \"4.36.2\"}";
    vn_mlp_config c;
    ck_assert_int_eq(vn_model_config_parse(json, strlen(json), &arena, &c, collect_text, warnings, err, sizeof err), VN_OK);
    ck_assert(c.h_dim == 4 && c.n_layer == 2 && c.num_classes == 3 && c.pdrop == 0 && c.include_bias);
    ck_assert_str_eq(c.activation_function, "relu");
    EXPECT_TEXT(warnings, "ignoring unknown key \"transformers_version\"");
    static const char *bad[][2] = {
        {"{\"h_dim\": \"16\"}", "expected an integer for \"h_dim\""},
        {"{\"pdrop\": 2}", "pdrop must be in [0, 1]"},
        {"{\"activation_function\": \"swishy\"}", "unknown activation_function \"swishy\""},
        {"{\"model_type\": \"gpt2\"}", "model_type \"gpt2\" is not supported"},
        {"{\"include_bias\": 1}", "include_bias"},
        {"[]", "expected a JSON object"},
    };
    for (size_t k = 0; k < VN_ARRAY_COUNT(bad); k++) {
        ck_assert_int_ne(vn_model_config_parse(bad[k][0], strlen(bad[k][0]), &arena, &c, NULL, NULL, err, sizeof err), VN_OK);
        EXPECT_TEXT(err, "config", bad[k][1]);
    }
    vn_mlp a = make_mlp(4, 2, "relu", 21), b = make_mlp(4, 2, "relu", 22);
    vn_host_buffer buffer = {0};
    ck_assert_int_eq(vn_model_save_params(&a, &arena, vn_host_buffer_write, &buffer, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_model_load_params(&b, buffer.data, buffer.size, &arena, err, sizeof err), VN_OK);
    ck_assert_double_eq(max_diff(a.score.weight->value.data, b.score.weight->value.data, 8), 0);
    vn_host_buffer_free(&buffer);
    vn_mlp three = make_mlp(4, 3, "relu", 23), wide = make_mlp(5, 2, "relu", 24);
    ck_assert_int_eq(vn_model_save_params(&three, &arena, vn_host_buffer_write, &buffer, err, sizeof err), VN_OK);
    ck_assert_int_ne(vn_model_load_params(&a, buffer.data, buffer.size, &arena, err, sizeof err), VN_OK);
    EXPECT_TEXT(err, "tensor \"mlp.h.2.ff1.", "is not a parameter of this model");
    ck_assert_int_ne(vn_model_load_params(&three, "x", 1, &arena, err, sizeof err), VN_OK);
    EXPECT_TEXT(err, "model weights:");
    vn_host_buffer_free(&buffer);
    ck_assert_int_eq(vn_model_save_params(&wide, &arena, vn_host_buffer_write, &buffer, err, sizeof err), VN_OK);
    ck_assert_int_ne(vn_model_load_params(&a, buffer.data, buffer.size, &arena, err, sizeof err), VN_OK);
    EXPECT_TEXT(err, "expects shape (4");
    vn_host_buffer_free(&buffer);
    buffer = (vn_host_buffer){0};
    ck_assert_int_eq(vn_model_config_write(&c, vn_host_buffer_write, &buffer), VN_OK);
    vn_mlp_config again;
    ck_assert_int_eq(vn_model_config_parse(buffer.data, buffer.size, &arena, &again, NULL, NULL, err, sizeof err), VN_OK);
    ck_assert(again.h_dim == c.h_dim && again.num_classes == c.num_classes && again.pdrop == c.pdrop);
    vn_host_buffer_free(&buffer);
}
END_TEST

/* ---- the seed tutorial's claims (seed-tutorial-mlp.txt, pyvene-semantics.md §10) ------------ */

START_TEST(seed_tutorial_claims) {
    vn_rng rng;
    vn_rng_seed(&rng, 2024, 0);
    vn_mlp_config mc = vn_mlp_config_default(); /* MLPConfig(h_dim=32, n_layer=1): gelu, pdrop 0.3 */
    mc.h_dim = 32;
    mc.n_layer = 1;
    vn_mlp mlp;
    CHECK_CTX(vn_mlp_init(&mlp, &ctx, &mc, &rng) == VN_OK);
    vn_iv_model rotated;
    make_model(&rotated, &mlp, "{\"representations\": [{\"layer\": 0, \"component\": \"block_output\", \"unit\": \"pos\","
               " \"max_number_of_units\": 1, \"subspace_partition\": [[0, 16], [16, 32]]}],"
               " \"intervention_types\": \"RotatedSpaceIntervention\"}", 2024);
    /* (5) frozen, eval */
    ck_assert(!mlp.training);
    size_t shape[3] = {1, 1, 32};
    vn_node *base = vn_input(&ctx, 3, shape), *source = vn_input(&ctx, 3, shape);
    vn_rng_fill_uniform(&rng, base->value.data, 32, 0, 1);
    vn_rng_fill_uniform(&rng, source->value.data, 32, 0, 1);
    /* (1) a plain forward: logits (1, 2), no counterfactual, no gradient */
    vn_iv_inputs in = {0};
    vn_iv_outputs base_out, source_out, out;
    in.base = base;
    CHECK_CTX(vn_iv_forward(&rotated, &ctx, &in, &base_out) == VN_OK);
    in.base = source;
    CHECK_CTX(vn_iv_forward(&rotated, &ctx, &in, &source_out) == VN_OK);
    ck_assert_ptr_null(base_out.counterfactual_logits);
    ck_assert(base_out.base_logits->value.ndim == 2 && base_out.base_logits->value.shape[1] == 2);
    ck_assert(!vn_node_requires_grad(base_out.base_logits));
    /* (2) cell 5: subspaces [[[1, 0]]] swaps every rotated coordinate: the source's logits */
    static const int64_t off[2] = {0, 2}, ids[2] = {1, 0}, loc_off[2] = {0, 1}, loc[1] = {0};
    vn_iv_lists sub = lists_from(1, off, ids), locations = lists_from(1, loc_off, loc);
    vn_node *sources[1] = {source};
    in = (vn_iv_inputs){0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.subspaces = &sub;
    in.source_locations = &locations;
    in.base_locations = &locations;
    CHECK_CTX(vn_iv_forward(&rotated, &ctx, &in, &out) == VN_OK);
    ck_assert_double_le(max_diff(out.counterfactual_logits->value.data, source_out.base_logits->value.data, 2), 1e-5);
    ck_assert_double_gt(max_diff(base_out.base_logits->value.data, source_out.base_logits->value.data, 2), 1e-4);
    ck_assert(vn_node_requires_grad(out.counterfactual_logits)); /* has a grad_fn */
    /* (3) cells 7-8: two linked low-rank (32) interventions, complementary halves, two sources */
    vn_iv_model low_rank;
    make_model(&low_rank, &mlp, "{\"representations\": ["
               "{\"layer\": 0, \"component\": \"block_output\", \"low_rank_dimension\": 32,"
               " \"subspace_partition\": [[0, 16], [16, 32]], \"intervention_link_key\": 0},"
               "{\"layer\": 0, \"component\": \"block_output\", \"low_rank_dimension\": 32,"
               " \"subspace_partition\": [[0, 16], [16, 32]], \"intervention_link_key\": 0}],"
               " \"intervention_types\": \"LowRankRotatedSpaceIntervention\"}", 2025);
    ck_assert_ptr_eq(low_rank.units[0].params, low_rank.units[1].params);
    ck_assert_int_eq(low_rank.units[0].params->rotation.map, VN_IV_ORTH_MATRIX_EXP); /* square: matrix_exp */
    size_t shape10[3] = {10, 1, 32};
    vn_node *base10 = vn_input(&ctx, 3, shape10), *source10 = vn_input(&ctx, 3, shape10);
    vn_rng_fill_uniform(&rng, base10->value.data, 320, 0, 1);
    vn_rng_fill_uniform(&rng, source10->value.data, 320, 0, 1);
    vn_iv_lists subs[2] = {uniform_lists(10, 1), uniform_lists(10, 0)};
    vn_iv_lists locs[2] = {uniform_lists(10, 0), uniform_lists(10, 0)};
    vn_node *two[2] = {source10, source10};
    in = (vn_iv_inputs){0};
    in.base = base10;
    in.n_sources = 2;
    in.sources = two;
    in.subspaces = subs;
    in.source_locations = locs;
    in.base_locations = locs;
    in.base_logits = true;
    vn_iv_inputs plain = {0};
    plain.base = source10;
    CHECK_CTX(vn_iv_forward(&low_rank, &ctx, &plain, &source_out) == VN_OK);
    CHECK_CTX(vn_iv_forward(&low_rank, &ctx, &in, &out) == VN_OK); /* params->weight: this pass's R */
    ck_assert_uint_eq(out.counterfactual_logits->value.shape[0], 10);
    ck_assert_double_le(max_diff(out.counterfactual_logits->value.data, source_out.base_logits->value.data, 20), 1e-5);
    ck_assert_double_gt(max_diff(out.base_logits->value.data, source_out.base_logits->value.data, 20), 1e-4);
    /* (4) backward fills the shared rotation's gradient; the model's weights get none */
    CHECK_CTX(vn_backward(&ctx, vn_sum(&ctx, out.counterfactual_logits)) == VN_OK);
    vn_node *original = low_rank.units[0].params->rotation.original;
    ck_assert_ptr_nonnull(original->grad.data);
    for (size_t i = 0; i < 32; i++) /* dL/dX reaches only X's strictly lower triangle; here it is ~0 */
        for (size_t j = 0; j < 32; j++) {
            double g = original->grad.data[i * 32 + j];
            ck_assert(j >= i ? g == 0 : fabs(g) < 1e-4);
        }
    ck_assert_ptr_nonnull(low_rank.units[0].params->weight->grad.data);
    double r_grad = 0;
    for (size_t k = 0; k < 1024; k++) r_grad += fabs((double)low_rank.units[0].params->weight->grad.data[k]);
    ck_assert_double_gt(r_grad, 1e-3); /* dL/dR is not zero, though dL/dX is (s = y for every R) */
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&mlp, &count);
    for (size_t k = 0; k < count; k++) {
        ck_assert(!vn_node_requires_grad(params[k].node));
        for (size_t e = 0; e < params[k].node->value.numel; e++) ck_assert(params[k].node->grad.data[e] == 0);
    }
}
END_TEST

int main(void) {
    Suite *s = suite_create("intervene");
    TCase *tc = test_case(s, "intervene", fixture_setup_iv, fixture_teardown, 120);
    tcase_add_test(tc, gradcheck_every_intervention_op);
    tcase_add_test(tc, type_table_and_lookup);
    tcase_add_test(tc, a_new_type_registers_without_core_changes);
    tcase_add_test(tc, op_semantics);
    tcase_add_test(tc, gather_and_scatter);
    tcase_add_test(tc, config_round_trip_keys_groups);
    tcase_add_test(tc, config_pyvene_forms);
    tcase_add_test(tc, config_errors_name_the_problem);
    tcase_add_test(tc, model_is_frozen_in_eval_mode_with_pyvene_parameters);
    tcase_add_test(tc, plain_forward_has_no_counterfactual);
    tcase_add_test(tc, each_example_uses_its_own_subspaces);
    tcase_add_test(tc, inactive_examples_keep_the_base_exactly);
    tcase_add_test(tc, das_shape_skips_gather_and_scatter);
    tcase_add_test(tc, caller_inputs_are_never_written);
    tcase_add_test(tc, same_site_composition_and_links);
    tcase_add_test(tc, skip_and_collect);
    tcase_add_test(tc, several_units_and_positions);
    tcase_add_test(tc, forward_errors_name_representation_and_example);
    tcase_add_test(tc, training_steady_state_allocates_nothing);
    tcase_add_test(tc, tensors_round_trip_and_links);
    tcase_add_test(tc, tensor_load_errors);
    tcase_add_test(tc, data_files);
    tcase_add_test(tc, model_directory_files);
    tcase_add_test(tc, seed_tutorial_claims);
    return test_run(s);
}
