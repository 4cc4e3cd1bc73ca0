/* fuzz_safetensors.c — vn_safetensors_open on arbitrary bytes, then every
 * accessor on what it accepted, and the two readers of safetensors files
 * in a model or intervention directory: vn_model_load_params
 * (model.safetensors) and vn_iv_load_tensors (interventions.safetensors),
 * against one of the reference cases' models (fuzz_cases.h), picked by the
 * width the file's tensors suggest and a hash of its header.
 *
 * Checks beyond "no crash, no leak, no undefined behaviour":
 *   - a rejected file leaves a message and the arena as it was;
 *   - an accepted file's tensors lie inside the data section, tile it in
 *     offset order, have size = numel × dtype bits / 8, and every unique
 *     name is found by vn_safetensors_find;
 *   - conversion (read_real, read_int64, entry_tensor, int64 by name)
 *     either succeeds or fails with a message, for every entry;
 *   - loading weights or intervention tensors either succeeds, and then
 *     saving them gives a file that loads to the same values, or fails
 *     with a message. */
#include "fuzz_cases.h"
#include "fuzz_common.h"
#include "vn_iv_io.h"
#include "vn_safetensors.h"

static bool has_nul(const char *s, size_t n) { return memchr(s, '\0', n) != NULL; }

static void check_entry(const vn_safetensors *st, const vn_safetensors_entry *e, vn_arena *arena) {
    char err[256];
    const unsigned char *data_start = st->bytes + 8 + st->header_length, *end = st->bytes + st->size;
    FUZZ_CHECK(e->data >= data_start && e->data <= end && (size_t)(end - e->data) >= e->size, e->name);
    FUZZ_CHECK(e->end - e->begin == e->size && e->data == data_start + e->begin, e->name);
    size_t numel = 1;
    for (int d = 0; d < e->ndim; d++) numel *= e->shape[d];
    FUZZ_CHECK(numel == e->numel, e->name);
    FUZZ_CHECK(e->numel * vn_safetensors_dtype_bits(e->dtype) == 8 * e->size, e->name);
    if (!has_nul(e->name, e->name_length)) FUZZ_CHECK(vn_safetensors_find(st, e->name) == e, e->name);

    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_real *real = vn_arena_alloc(arena, (e->numel + 1) * sizeof *real, 0);
    int64_t *ints = vn_arena_alloc(arena, (e->numel + 1) * sizeof *ints, 0);
    if (real) {
        vn_status s = vn_safetensors_read_real(e, real, e->numel, err, sizeof err);
        if (s != VN_OK) fuzz_check_message(err, sizeof err);
        FUZZ_CHECK(s == VN_OK || (e->dtype != VN_ST_F32 && e->dtype != VN_ST_F64), err);
        if (e->numel > 0) {
            s = vn_safetensors_read_real(e, real, e->numel - 1, err, sizeof err);
            FUZZ_CHECK(s != VN_OK, "read_real accepted a wrong count");
        }
    }
    if (ints) {
        vn_status s = vn_safetensors_read_int64(e, ints, e->numel, err, sizeof err);
        if (s != VN_OK) fuzz_check_message(err, sizeof err);
    }
    vn_tensor t;
    vn_status s = vn_safetensors_entry_tensor(e, arena, &t, err, sizeof err);
    if (s == VN_OK) {
        FUZZ_CHECK(t.numel == e->numel && t.ndim == e->ndim, e->name);
        for (size_t k = 0; real && k < t.numel; k++)
            FUZZ_CHECK(memcmp(&t.data[k], &real[k], sizeof(vn_real)) == 0, "entry_tensor differs from read_real");
    } else {
        fuzz_check_message(err, sizeof err);
    }
    if (!has_nul(e->name, e->name_length)) {
        int64_t *values;
        size_t count;
        const vn_safetensors_entry *found;
        s = vn_safetensors_int64(st, e->name, arena, &values, &count, &found, err, sizeof err);
        if (s == VN_OK) {
            FUZZ_CHECK(found == e && count == e->numel, e->name);
            for (size_t k = 0; ints && k < count; k++) FUZZ_CHECK(values[k] == ints[k], "int64 differs");
        } else {
            fuzz_check_message(err, sizeof err);
        }
    }
    vn_arena_rewind(arena, mark);
}

static bool ends_with(const vn_safetensors_entry *e, const char *suffix) {
    size_t n = strlen(suffix);
    return e->name_length >= n && memcmp(e->name + e->name_length - n, suffix, n) == 0;
}

/* The model width the file's tensors suggest (0: none). */
static size_t guess_h(const vn_safetensors *st) {
    for (size_t i = 0; i < st->count; i++) {
        const vn_safetensors_entry *e = &st->entries[i];
        if (e->ndim >= 1 && (ends_with(e, ".rotate_layer.weight") || ends_with(e, ".masks") ||
                             ends_with(e, ".weight.0.base")))
            return e->shape[0];
        if (e->ndim == 2 && (ends_with(e, "ff1.weight") || ends_with(e, "score.weight"))) return e->shape[1];
    }
    return 0;
}

static bool same_values(const vn_node *a, const vn_node *b) {
    return a->value.numel == b->value.numel &&
           memcmp(a->value.data, b->value.data, a->value.numel * sizeof(vn_real)) == 0;
}

/* model.safetensors and interventions.safetensors readers on the input. */
static void load_into_models(const uint8_t *data, size_t size, const vn_safetensors *st) {
    fuzz_heap own, *heap = &own;
    fuzz_heap_init(heap);
    vn_arena arena;
    fuzz_arena(&arena, heap);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    size_t p = fuzz_pick_pair(guess_h(st), st->bytes ? fuzz_hash(data, 8 + st->header_length) : fuzz_hash(data, size));
    fuzz_model fm;
    fuzz_build_pair(p, &ctx, &fm);
    char err[512];
    size_t before = arena.in_use;
    vn_status status = vn_model_load_params(&fm.mlp, data, size, &arena, err, sizeof err);
    FUZZ_CHECK(arena.in_use == before, "vn_model_load_params kept arena memory");
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
    } else {
        /* Saved again, the weights load to the same values. */
        fuzz_buffer out = {0};
        FUZZ_CHECK(vn_model_save_params(&fm.mlp, &arena, fuzz_buffer_write, &out, err, sizeof err) == VN_OK, err);
        fuzz_model again;
        fuzz_build_pair(p, &ctx, &again);
        status = vn_model_load_params(&again.mlp, out.data, out.size, &arena, err, sizeof err);
        FUZZ_CHECK(status == VN_OK || status == VN_ENOMEM, err);
        size_t count;
        const vn_nn_param *a = vn_mlp_params(&fm.mlp, &count), *b = vn_mlp_params(&again.mlp, &count);
        for (size_t k = 0; status == VN_OK && k < count; k++)
            FUZZ_CHECK(same_values(a[k].node, b[k].node) || sizeof(vn_real) > 4, a[k].name);
        fuzz_buffer_free(&out);
    }
    status = vn_iv_load_tensors(&fm.model, &ctx, data, size);
    if (status != VN_OK) {
        fuzz_check_message(ctx.message, sizeof ctx.message);
        vn_context_clear_error(&ctx);
    } else if (vn_iv_model_has_tensors(&fm.model)) {
        /* Accepted: every name was exactly a key's tensor (no NUL inside). */
        for (size_t k = 0; k < st->count; k++)
            FUZZ_CHECK(!has_nul(st->entries[k].name, st->entries[k].name_length),
                       "interventions.safetensors with a NUL in a tensor name was accepted");
        fuzz_buffer out1 = {0}, out2 = {0};
        fuzz_model again;
        fuzz_build_pair(p, &ctx, &again);
        if (vn_iv_save_tensors(&fm.model, &ctx, fuzz_buffer_write, &out1) == VN_OK) {
            status = vn_iv_load_tensors(&again.model, &ctx, out1.data, out1.size);
            FUZZ_CHECK(status == VN_OK || status == VN_ENOMEM, ctx.message);
            if (status == VN_OK && vn_iv_save_tensors(&again.model, &ctx, fuzz_buffer_write, &out2) == VN_OK)
                FUZZ_CHECK(out1.size == out2.size && memcmp(out1.data, out2.data, out1.size) == 0,
                           "intervention tensors changed on a load/save/load/save round trip");
        }
        FUZZ_CHECK(ctx.status == VN_OK || ctx.status == VN_ENOMEM, ctx.message);
        fuzz_buffer_free(&out1);
        fuzz_buffer_free(&out2);
    }
    fuzz_arena_done(&arena, heap);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_register_ops();
    fuzz_heap heap;
    fuzz_heap_init(&heap);
    vn_arena arena;
    fuzz_arena(&arena, &heap);
    vn_safetensors st;
    char err[256];
    size_t before = arena.in_use;
    vn_status status = vn_safetensors_open(&st, data, size, &arena, err, sizeof err);
    if (status != VN_OK) {
        fuzz_check_message(err, sizeof err);
        FUZZ_CHECK(arena.in_use == before, "a failed open kept arena memory");
        FUZZ_CHECK(st.count == 0 && st.entries == NULL, "a failed open left entries");
    } else {
        FUZZ_CHECK(size >= 8 && st.header_length <= size - 8, "header length");
        size_t offset = 0;
        for (size_t i = 0; i < st.count; i++) {
            const vn_safetensors_entry *e = &st.entries[i];
            FUZZ_CHECK(e->begin == offset, "tensors do not tile the data section");
            offset = e->end;
            check_entry(&st, e, &arena);
        }
        FUZZ_CHECK(offset == size - 8 - st.header_length, "data section length");
        for (size_t i = 0; i < st.metadata_count; i++) {
            const vn_safetensors_metadata *m = &st.metadata[i];
            if (has_nul(m->key, m->key_length)) continue;
            FUZZ_CHECK(vn_safetensors_metadata_find(&st, m->key) == m, "metadata lookup");
            /* as a C string only when it holds no NUL */
            const char *value = vn_safetensors_metadata_get(&st, m->key);
            FUZZ_CHECK(value == (has_nul(m->value, m->value_length) ? NULL : m->value), "metadata text lookup");
        }
        FUZZ_CHECK(vn_safetensors_find(&st, "") == NULL || st.count > 0, "find on an empty file");
    }
    vn_safetensors opened = status == VN_OK ? st : (vn_safetensors){0};
    load_into_models(data, size, &opened);
    fuzz_arena_done(&arena, &heap);
    return 0;
}
