/* fuzz_roundtrip.c — whatever parses must re-serialise and re-parse to the
 * same thing, and re-serialising that gives the same bytes again.
 *
 * The first input byte picks the format (mod 4), the rest is the file:
 *   0  safetensors: open → vn_safetensors_write (F32/F64 as themselves,
 *      integer and BOOL tensors as I64, metadata kept) → open; names,
 *      dtypes, shapes, values and metadata must agree, and the writer's
 *      size prediction must be exact;
 *   1  JSON: vn_json_parse → vn_json_writer (compact, or indented by the
 *      second byte) → vn_json_parse; the trees must be equal (types, number
 *      bits, exact integers, string and key bytes, member order);
 *   2  model config.json: parse → vn_model_config_write → parse;
 *   3  intervention config.json: parse → vn_iv_config_write → parse; and,
 *      when it fits a small MLP, the intervention tensors:
 *      vn_iv_save_tensors → vn_iv_load_tensors into a fresh model →
 *      vn_iv_save_tensors gives the same bytes.
 * Tensors of dtypes the writer cannot produce (F16, BF16, F8, ...) and
 * names with NUL bytes (the writer takes C strings) are skipped. */
#include <math.h>

#include "fuzz_common.h"
#include "vn_iv_config.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_json.h"
#include "vn_model_dir.h"
#include "vn_safetensors.h"

static bool same_bytes(const fuzz_buffer *a, const fuzz_buffer *b) {
    return a->size == b->size && (a->size == 0 || memcmp(a->data, b->data, a->size) == 0);
}

static bool same_real(vn_real a, vn_real b) {
    return memcmp(&a, &b, sizeof a) == 0 || (a != a && b != b);
}

/* ======================================================================== */
/* safetensors                                                              */
/* ======================================================================== */

#define MAX_ITEMS 256

typedef struct st_copy {
    size_t count, metadata_count;
    vn_safetensors_item items[MAX_ITEMS];
    vn_safetensors_kv metadata[MAX_ITEMS];
} st_copy;

/* Items for the writer from an opened file, converted in the arena; false
 * when the file has something the writer cannot express. */
static bool copy_file(const vn_safetensors *st, vn_arena *arena, st_copy *c) {
    char err[256];
    c->count = c->metadata_count = 0;
    if (st->count > MAX_ITEMS || st->metadata_count > MAX_ITEMS) return false;
    for (size_t i = 0; i < st->metadata_count; i++) {
        const vn_safetensors_metadata *m = &st->metadata[i];
        if (memchr(m->key, '\0', m->key_length) || memchr(m->value, '\0', m->value_length)) return false;
        c->metadata[c->metadata_count].key = m->key;
        c->metadata[c->metadata_count].value = m->value;
        c->metadata_count++;
    }
    for (size_t i = 0; i < st->count; i++) {
        const vn_safetensors_entry *e = &st->entries[i];
        if (memchr(e->name, '\0', e->name_length)) return false;
        vn_safetensors_item it = {0};
        it.name = e->name;
        it.ndim = e->ndim;
        it.shape = e->shape;
        if (e->dtype == VN_ST_F32 || e->dtype == VN_ST_F64) {
            vn_real *v = vn_arena_alloc(arena, (e->numel + 1) * sizeof *v, 0);
            if (!v || vn_safetensors_read_real(e, v, e->numel, err, sizeof err) != VN_OK) return false;
            it.dtype = e->dtype;
            it.real_data = v;
        } else {
            int64_t *v = vn_arena_alloc(arena, (e->numel + 1) * sizeof *v, 0);
            if (!v || vn_safetensors_read_int64(e, v, e->numel, err, sizeof err) != VN_OK) continue;
            it.dtype = VN_ST_I64;
            it.int_data = v;
        }
        c->items[c->count++] = it;
    }
    return true;
}

static void write_copy(const st_copy *c, fuzz_buffer *out) {
    char err[256];
    size_t predicted = 0;
    vn_status s = vn_safetensors_file_size(c->items, c->count, c->metadata, c->metadata_count, &predicted, err,
                                           sizeof err);
    FUZZ_CHECK(s == VN_OK, err);
    s = vn_safetensors_write(fuzz_buffer_write, out, c->items, c->count, c->metadata, c->metadata_count, err,
                             sizeof err);
    FUZZ_CHECK(s == VN_OK, err);
    FUZZ_CHECK(out->size == predicted, "vn_safetensors_file_size is not the written size");
}

static void roundtrip_safetensors(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_safetensors st, st2;
    char err[256];
    if (vn_safetensors_open(&st, data, size, arena, err, sizeof err) != VN_OK) return;
    static st_copy first, second;
    if (!copy_file(&st, arena, &first)) return;
    fuzz_buffer out1 = {0}, out2 = {0};
    write_copy(&first, &out1);
    if (vn_safetensors_open(&st2, out1.data, out1.size, arena, err, sizeof err) != VN_OK)
        fuzz_fail("the writer's output does not open", err);
    FUZZ_CHECK(st2.count == first.count && st2.metadata_count == first.metadata_count, "counts");
    FUZZ_CHECK(copy_file(&st2, arena, &second) && second.count == first.count, "re-read");
    for (size_t i = 0; i < first.count; i++) {
        const vn_safetensors_item *a = &first.items[i];
        const vn_safetensors_entry *e = vn_safetensors_find(&st2, a->name);
        FUZZ_CHECK(e != NULL, a->name);
        FUZZ_CHECK(e->dtype == a->dtype && e->ndim == a->ndim, a->name);
        for (int d = 0; d < a->ndim; d++) FUZZ_CHECK(e->shape[d] == a->shape[d], a->name);
        const vn_safetensors_item *b = NULL;
        for (size_t j = 0; j < second.count && !b; j++)
            if (strcmp(second.items[j].name, a->name) == 0) b = &second.items[j];
        FUZZ_CHECK(b != NULL, a->name);
        for (size_t k = 0; k < e->numel; k++) {
            if (a->dtype == VN_ST_I64) FUZZ_CHECK(a->int_data[k] == b->int_data[k], a->name);
            else FUZZ_CHECK(same_real(a->real_data[k], b->real_data[k]), a->name);
        }
    }
    for (size_t i = 0; i < first.metadata_count; i++) {
        const char *v = vn_safetensors_metadata_get(&st2, first.metadata[i].key);
        FUZZ_CHECK(v && strcmp(v, first.metadata[i].value) == 0, first.metadata[i].key);
    }
    FUZZ_CHECK(st2.header_length % 8 == 0, "header not padded to a multiple of 8");
    /* The entries come back in offset order, which is the order they were
     * written in: once more must give the same bytes. */
    write_copy(&second, &out2);
    FUZZ_CHECK(same_bytes(&out1, &out2), "second serialisation differs");
    fuzz_buffer_free(&out1);
    fuzz_buffer_free(&out2);
}

/* ======================================================================== */
/* JSON                                                                     */
/* ======================================================================== */

static void write_value(vn_json_writer *w, const vn_json_value *v) {
    switch (v->type) {
    case VN_JSON_NULL: vn_json_null(w); break;
    case VN_JSON_BOOL: vn_json_bool(w, v->boolean); break;
    case VN_JSON_NUMBER:
        if (v->is_integer && !(v->integer == 0 && signbit(v->number))) vn_json_integer(w, v->integer);
        else if (v->is_uint64) vn_json_unsigned(w, v->uint64);
        else vn_json_number(w, v->number);
        break;
    case VN_JSON_STRING: vn_json_string_n(w, v->string, v->length); break;
    case VN_JSON_ARRAY:
        vn_json_begin_array(w);
        for (size_t i = 0; i < v->length; i++) write_value(w, v->items[i]);
        vn_json_end_array(w);
        break;
    case VN_JSON_OBJECT:
        vn_json_begin_object(w);
        for (size_t i = 0; i < v->length; i++) {
            vn_json_key_n(w, v->members[i].key, v->members[i].key_length);
            write_value(w, v->members[i].value);
        }
        vn_json_end_object(w);
        break;
    }
}

static void same_tree(const vn_json_value *a, const vn_json_value *b) {
    FUZZ_CHECK(a->type == b->type, "type");
    FUZZ_CHECK(a->length == b->length, "length");
    switch (a->type) {
    case VN_JSON_NULL: break;
    case VN_JSON_BOOL: FUZZ_CHECK(a->boolean == b->boolean, "bool"); break;
    case VN_JSON_NUMBER:
        FUZZ_CHECK(memcmp(&a->number, &b->number, sizeof a->number) == 0, "number bits");
        if (a->is_integer) FUZZ_CHECK(!b->is_integer || a->integer == b->integer, "integer");
        if (a->is_integer && !(a->integer == 0 && signbit(a->number)))
            FUZZ_CHECK(b->is_integer && a->integer == b->integer, "exact integer lost");
        if (a->is_uint64 || b->is_uint64) FUZZ_CHECK(a->is_uint64 == b->is_uint64 && a->uint64 == b->uint64, "uint64");
        break;
    case VN_JSON_STRING:
        FUZZ_CHECK(a->length == 0 || memcmp(a->string, b->string, a->length) == 0, "string bytes");
        break;
    case VN_JSON_ARRAY:
        for (size_t i = 0; i < a->length; i++) same_tree(a->items[i], b->items[i]);
        break;
    case VN_JSON_OBJECT:
        for (size_t i = 0; i < a->length; i++) {
            const vn_json_member *x = &a->members[i], *y = &b->members[i];
            FUZZ_CHECK(x->key_length == y->key_length && memcmp(x->key, y->key, x->key_length) == 0, "key");
            same_tree(x->value, y->value);
        }
        break;
    }
}

static void roundtrip_json(const uint8_t *data, size_t size, vn_arena *arena) {
    int indent = size > 0 ? data[0] % 5 : 0;
    if (size > 0) data++, size--;
    const vn_json_value *a, *b, *c;
    char err[256];
    if (vn_json_parse(data, size, arena, &a, err, sizeof err) != VN_OK) return;
    fuzz_buffer out1 = {0}, out2 = {0};
    vn_json_writer w;
    vn_json_writer_init(&w, fuzz_buffer_write, &out1, indent);
    write_value(&w, a);
    FUZZ_CHECK(vn_json_writer_finish(&w) == VN_OK, "the writer refused a parsed tree");
    vn_status s = vn_json_parse(out1.data, out1.size, arena, &b, err, sizeof err);
    if (s != VN_OK) fuzz_fail("the writer's output does not parse", err);
    same_tree(a, b);
    vn_json_writer_init(&w, fuzz_buffer_write, &out2, indent);
    write_value(&w, b);
    FUZZ_CHECK(vn_json_writer_finish(&w) == VN_OK, "second write");
    FUZZ_CHECK(same_bytes(&out1, &out2), "second serialisation differs");
    FUZZ_CHECK(vn_json_parse(out2.data, out2.size, arena, &c, err, sizeof err) == VN_OK, err);
    fuzz_buffer_free(&out1);
    fuzz_buffer_free(&out2);
}

/* ======================================================================== */
/* model config                                                             */
/* ======================================================================== */

static void same_model_config(const vn_mlp_config *a, const vn_mlp_config *b) {
    FUZZ_CHECK(a->h_dim == b->h_dim && a->n_layer == b->n_layer && a->num_classes == b->num_classes, "sizes");
    FUZZ_CHECK(strcmp(a->activation_function, b->activation_function) == 0, "activation_function");
    FUZZ_CHECK(memcmp(&a->pdrop, &b->pdrop, sizeof a->pdrop) == 0, "pdrop");
    FUZZ_CHECK(a->include_bias == b->include_bias && a->squeeze_output == b->squeeze_output, "flags");
    FUZZ_CHECK(a->include_emb == b->include_emb, "include_emb");
    FUZZ_CHECK(a->vocab_size == b->vocab_size && a->max_position_embeddings == b->max_position_embeddings, "sizes");
    FUZZ_CHECK(a->problem_type == b->problem_type, "problem_type");
}

static void roundtrip_model_config(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_mlp_config a, b;
    char err[256];
    if (vn_model_config_parse(data, size, arena, &a, NULL, NULL, err, sizeof err) != VN_OK) return;
    fuzz_buffer out1 = {0}, out2 = {0};
    FUZZ_CHECK(vn_model_config_write(&a, fuzz_buffer_write, &out1) == VN_OK, "write");
    vn_status s = vn_model_config_parse(out1.data, out1.size, arena, &b, NULL, NULL, err, sizeof err);
    if (s != VN_OK) fuzz_fail("the written model config does not parse", err);
    same_model_config(&a, &b);
    FUZZ_CHECK(vn_model_config_write(&b, fuzz_buffer_write, &out2) == VN_OK, "write");
    FUZZ_CHECK(same_bytes(&out1, &out2), "second serialisation differs");
    fuzz_buffer_free(&out1);
    fuzz_buffer_free(&out2);
}

/* ======================================================================== */
/* intervention config and tensors                                          */
/* ======================================================================== */

static void same_iv_config(const vn_iv_config *a, const vn_iv_config *b) {
    FUZZ_CHECK(a->count == b->count, "count");
    FUZZ_CHECK(a->has_orthogonal_map == b->has_orthogonal_map, "orthogonal_map presence");
    if (a->has_orthogonal_map) FUZZ_CHECK(a->orthogonal_map == b->orthogonal_map, "orthogonal_map");
    for (size_t i = 0; i < a->count; i++) {
        const vn_iv_representation *x = &a->representations[i], *y = &b->representations[i];
        FUZZ_CHECK(x->layer == y->layer && x->component == y->component, "site");
        FUZZ_CHECK(x->max_number_of_units == y->max_number_of_units, "units");
        FUZZ_CHECK(x->low_rank_dimension == y->low_rank_dimension, "low_rank_dimension");
        FUZZ_CHECK(x->type == y->type, "type");
        FUZZ_CHECK(x->has_link_key == y->has_link_key && (!x->has_link_key || x->link_key == y->link_key), "link");
        FUZZ_CHECK(x->has_group_key == y->has_group_key && (!x->has_group_key || x->group_key == y->group_key),
                   "group");
        FUZZ_CHECK(x->has_orthogonal_map == y->has_orthogonal_map, "own orthogonal_map presence");
        if (x->has_orthogonal_map) FUZZ_CHECK(x->orthogonal_map == y->orthogonal_map, "own orthogonal_map");
        FUZZ_CHECK((x->partition == NULL) == (y->partition == NULL), "partition presence");
        FUZZ_CHECK(x->n_partitions == y->n_partitions, "partition length");
        for (size_t e = 0; e < x->n_partitions; e++) {
            const vn_iv_partition_entry *p = &x->partition[e], *q = &y->partition[e];
            FUZZ_CHECK(p->is_pair == q->is_pair && p->count == q->count, "partition entry");
            for (size_t k = 0; k < p->count; k++) FUZZ_CHECK(p->values[k] == q->values[k], "partition value");
        }
    }
}

#define RT_H 4
#define RT_LAYERS 3
#define RT_MAX_ROTATION 32

/* Saves the tensors of a model built from `config` with random parameters,
 * loads them into a second model, saves again: same bytes. */
static void roundtrip_tensors(const vn_iv_config *config, vn_arena *arena) {
    vn_mlp_config mc = vn_mlp_config_default();
    mc.h_dim = RT_H;
    mc.n_layer = RT_LAYERS;
    mc.num_classes = 2;
    char err[512];
    if (vn_iv_config_check(config, &mc, err, sizeof err) != VN_OK) return;
    for (size_t i = 0; i < config->count; i++)
        if ((size_t)config->representations[i].max_number_of_units * RT_H > RT_MAX_ROTATION) return;
    vn_context ctx;
    vn_context_init(&ctx, arena);
    vn_rng rng;
    vn_rng_seed(&rng, 3, 4);
    vn_mlp mlp;
    vn_iv_model m1, m2;
    vn_iv_model_options options = {&rng, false, false};
    if (vn_mlp_init(&mlp, &ctx, &mc, &rng) != VN_OK || vn_iv_model_init(&m1, &ctx, &mlp, config, &options) != VN_OK ||
        vn_iv_model_init(&m2, &ctx, &mlp, config, NULL) != VN_OK) {
        FUZZ_CHECK(ctx.status == VN_ENOMEM, ctx.message);
        return;
    }
    if (!vn_iv_model_has_tensors(&m1)) return;
    fuzz_buffer out1 = {0}, out2 = {0};
    if (vn_iv_save_tensors(&m1, &ctx, fuzz_buffer_write, &out1) == VN_OK) {
        if (vn_iv_load_tensors(&m2, &ctx, out1.data, out1.size) != VN_OK)
            FUZZ_CHECK(ctx.status == VN_ENOMEM, ctx.message);
        else if (vn_iv_save_tensors(&m2, &ctx, fuzz_buffer_write, &out2) == VN_OK)
            FUZZ_CHECK(same_bytes(&out1, &out2), "intervention tensors changed on a save/load/save round trip");
    }
    if (ctx.status != VN_OK) FUZZ_CHECK(ctx.status == VN_ENOMEM, ctx.message);
    fuzz_buffer_free(&out1);
    fuzz_buffer_free(&out2);
}

static void roundtrip_iv_config(const uint8_t *data, size_t size, vn_arena *arena) {
    vn_iv_config a, b;
    char err[512];
    if (vn_iv_config_parse(data, size, arena, &a, NULL, NULL, err, sizeof err) != VN_OK) return;
    fuzz_buffer out1 = {0}, out2 = {0};
    FUZZ_CHECK(vn_iv_config_write(&a, fuzz_buffer_write, &out1) == VN_OK, "write");
    vn_status s = vn_iv_config_parse(out1.data, out1.size, arena, &b, NULL, NULL, err, sizeof err);
    if (s != VN_OK) fuzz_fail("the written intervention config does not parse", err);
    same_iv_config(&a, &b);
    FUZZ_CHECK(vn_iv_config_write(&b, fuzz_buffer_write, &out2) == VN_OK, "write");
    FUZZ_CHECK(same_bytes(&out1, &out2), "second serialisation differs");
    fuzz_buffer_free(&out1);
    fuzz_buffer_free(&out2);
    roundtrip_tensors(&a, arena);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_register_ops();
    if (size == 0) return 0;
    fuzz_heap heap;
    fuzz_heap_init(&heap);
    vn_arena arena;
    fuzz_arena(&arena, &heap);
    switch (data[0] % 4) {
    case 0: roundtrip_safetensors(data + 1, size - 1, &arena); break;
    case 1: roundtrip_json(data + 1, size - 1, &arena); break;
    case 2: roundtrip_model_config(data + 1, size - 1, &arena); break;
    default: roundtrip_iv_config(data + 1, size - 1, &arena); break;
    }
    fuzz_arena_done(&arena, &heap);
    return 0;
}
