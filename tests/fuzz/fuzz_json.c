/* fuzz_json.c — the JSON reader and the two config parsers built on it, on
 * arbitrary bytes:
 *   - vn_json_parse, then every lookup and typed getter over the tree
 *     (vn_json_get_n must find each member, vn_json_at each element);
 *   - vn_json_parse_double on the whole input;
 *   - vn_model_config_parse (config.json of a model directory);
 *   - vn_iv_config_parse (config.json of an intervention directory), then
 *     keys, groups and vn_iv_config_check against a small fixed MLP, and,
 *     when the check passes and the rotations are small, vn_iv_model_init
 *     and an intervened forward and backward pass on a zero input.
 * A rejected input must leave a message and the arena as it was. */
#include "fuzz_common.h"
#include "vn_iv_config.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_json.h"
#include "vn_model_dir.h"
#include "vn_ops.h"

/* The MLP the intervention configs are checked against. */
#define FUZZ_H 4
#define FUZZ_LAYERS 3
#define FUZZ_CLASSES 3
/* Largest rotation (h · units) the harness builds. */
#define FUZZ_MAX_ROTATION 64

static size_t walk(const vn_json_value *v, int depth) {
    FUZZ_CHECK(depth <= VN_JSON_MAX_DEPTH + 1, "tree deeper than the limit");
    char err[256];
    size_t nodes = 1;
    switch (v->type) {
    case VN_JSON_ARRAY:
        FUZZ_CHECK(vn_json_length(v) == v->length, "array length");
        for (size_t i = 0; i < v->length; i++) {
            FUZZ_CHECK(vn_json_at(v, i) == v->items[i], "vn_json_at");
            nodes += walk(v->items[i], depth + 1);
        }
        FUZZ_CHECK(vn_json_at(v, v->length) == NULL, "vn_json_at past the end");
        break;
    case VN_JSON_OBJECT:
        for (size_t i = 0; i < v->length; i++) {
            const vn_json_member *m = vn_json_member_at(v, i);
            FUZZ_CHECK(m == &v->members[i], "vn_json_member_at");
            FUZZ_CHECK(m->key[m->key_length] == '\0', "key not terminated");
            FUZZ_CHECK(vn_json_get_n(v, m->key, m->key_length) == m->value, "vn_json_get_n");
            if (!memchr(m->key, '\0', m->key_length))
                FUZZ_CHECK(vn_json_get(v, m->key) == m->value, "vn_json_get");
            nodes += walk(m->value, depth + 1);
        }
        break;
    case VN_JSON_NUMBER: {
        double d;
        int64_t i;
        FUZZ_CHECK(vn_json_get_number(v, "x", &d, err, sizeof err) == VN_OK, "number");
        FUZZ_CHECK(d == v->number || (d != d && v->number != v->number), "number value");
        FUZZ_CHECK(v->number - v->number == 0, "a parsed number is not finite");
        if (vn_json_get_int64(v, "x", &i, err, sizeof err) == VN_OK) {
            FUZZ_CHECK(v->is_integer && v->integer_syntax && i == v->integer, "int64");
            FUZZ_CHECK((double)i == v->number || i > (int64_t)1 << 53 || i < -((int64_t)1 << 53),
                       "integer and double disagree");
        } else {
            fuzz_check_message(err, sizeof err);
        }
        if (v->is_uint64) FUZZ_CHECK(v->integer_syntax, "uint64 without integer syntax");
        break;
    }
    case VN_JSON_STRING: {
        const char *s;
        size_t n;
        FUZZ_CHECK(vn_json_get_string(v, "x", &s, &n, err, sizeof err) == VN_OK, "string");
        FUZZ_CHECK(s[n] == '\0', "string not terminated");
        FUZZ_CHECK(vn_json_get_bool(v, "x", NULL, err, sizeof err) != VN_OK, "a string read as a bool");
        fuzz_check_message(err, sizeof err);
        break;
    }
    case VN_JSON_BOOL:
    case VN_JSON_NULL:
        FUZZ_CHECK(vn_json_get_number(v, "x", NULL, err, sizeof err) != VN_OK, "not a number");
        break;
    }
    FUZZ_CHECK(vn_json_expect(v, v->type, "x", err, sizeof err) == VN_OK, "expect its own type");
    return nodes;
}

static void fuzz_json_tree(const uint8_t *data, size_t size, vn_arena *arena) {
    const vn_json_value *root = NULL;
    char err[256];
    size_t before = arena->in_use;
    vn_status status = vn_json_parse(data, size, arena, &root, err, sizeof err);
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
        FUZZ_CHECK(status == VN_EFORMAT || status == VN_ENOMEM, err);
        FUZZ_CHECK(arena->in_use == before, "a failed parse kept arena memory");
        return;
    }
    walk(root, 0);
    double d;
    if (vn_json_parse_double((const char *)data, size, &d))
        FUZZ_CHECK(root->type == VN_JSON_NUMBER && (d == root->number || size == 0), "parse_double");
}

static void fuzz_model_config(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_mlp_config config;
    char err[256];
    size_t warnings = 0;
    size_t before = arena->in_use;
    vn_status status = vn_model_config_parse(data, size, arena, &config, fuzz_null_write, &warnings, err, sizeof err);
    FUZZ_CHECK(arena->in_use == before, "the model config parser kept arena memory");
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
        return;
    }
    FUZZ_CHECK(vn_mlp_config_check(&config, err, sizeof err) == VN_OK, err);
    size_t written = 0;
    FUZZ_CHECK(vn_model_config_write(&config, fuzz_null_write, &written) == VN_OK && written > 0, "write");
}

/* A forward and backward pass of the intervened model on zeros: base and
 * every source (B, S, h) with S = the largest max_number_of_units. */
static void run_model(vn_iv_model *model, vn_context *ctx) {
    size_t units = 1;
    for (size_t i = 0; i < model->config.count; i++)
        if ((size_t)model->config.representations[i].max_number_of_units > units)
            units = (size_t)model->config.representations[i].max_number_of_units;
    size_t shape[3] = {2, units, FUZZ_H};
    vn_node *base = vn_input(ctx, 3, shape);
    vn_node *sources[VN_IV_MAX_REPRESENTATIONS] = {0};
    for (size_t g = 0; g < model->n_groups; g++) sources[g] = g % 3 == 2 ? NULL : vn_input(ctx, 3, shape);
    if (ctx->status != VN_OK) return;
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = model->n_groups;
    in.sources = sources;
    in.base_logits = true;
    vn_iv_outputs out;
    if (vn_iv_forward(model, ctx, &in, &out) != VN_OK) return;
    FUZZ_CHECK(out.counterfactual_logits != NULL, "forward without logits");
    vn_backward(ctx, vn_sum(ctx, out.counterfactual_logits));
}

static void fuzz_iv_config(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_iv_config config;
    char err[512];
    size_t warnings = 0;
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_status status = vn_iv_config_parse(data, size, arena, &config, fuzz_null_write, &warnings, err, sizeof err);
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
        vn_arena_rewind(arena, mark);
        return;
    }
    FUZZ_CHECK(config.count >= 1 && config.count <= VN_IV_MAX_REPRESENTATIONS, "representation count");
    char key[VN_IV_KEY_MAX];
    for (size_t i = 0; i < config.count; i++) {
        vn_iv_config_key(&config, i, key, sizeof key);
        FUZZ_CHECK(key[0] != '\0', "empty key");
        FUZZ_CHECK(config.representations[i].type != NULL, "representation without a type");
    }
    size_t groups[VN_IV_MAX_REPRESENTATIONS], n_groups = 0;
    if (vn_iv_config_groups(&config, groups, &n_groups, err, sizeof err) == VN_OK) {
        FUZZ_CHECK(n_groups >= 1 && n_groups <= config.count, "group count");
        for (size_t i = 0; i < config.count; i++) FUZZ_CHECK(groups[i] < n_groups, "group index");
    }
    size_t written = 0;
    FUZZ_CHECK(vn_iv_config_write(&config, fuzz_null_write, &written) == VN_OK, "config write");

    vn_mlp_config mc = vn_mlp_config_default();
    mc.h_dim = FUZZ_H;
    mc.n_layer = FUZZ_LAYERS;
    mc.num_classes = FUZZ_CLASSES;
    if (vn_iv_config_check(&config, &mc, err, sizeof err) != VN_OK) {
        fuzz_check_message(err, sizeof err);
        vn_arena_rewind(arena, mark);
        return;
    }
    for (size_t i = 0; i < config.count; i++)
        if ((size_t)config.representations[i].max_number_of_units * FUZZ_H > FUZZ_MAX_ROTATION) {
            vn_arena_rewind(arena, mark);
            return;
        }
    vn_context ctx;
    vn_context_init(&ctx, arena);
    vn_mlp mlp;
    vn_rng rng;
    vn_rng_seed(&rng, 1, 2);
    vn_iv_model model;
    vn_iv_model_options options = {&rng, true, false};
    if (vn_mlp_init(&mlp, &ctx, &mc, &rng) == VN_OK && vn_iv_model_init(&model, &ctx, &mlp, &config, &options) == VN_OK)
        run_model(&model, &ctx);
    if (ctx.status != VN_OK) fuzz_check_message(ctx.message, sizeof ctx.message);
    vn_arena_rewind(arena, mark);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_register_ops();
    fuzz_heap heap;
    fuzz_heap_init(&heap);
    vn_arena arena;
    fuzz_arena(&arena, &heap);
    fuzz_json_tree(data, size, &arena);
    fuzz_model_config(data, size, &arena);
    fuzz_iv_config(data, size, &arena);
    fuzz_arena_done(&arena, &heap);
    return 0;
}
