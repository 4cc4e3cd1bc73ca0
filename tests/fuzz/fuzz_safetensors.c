/* fuzz_safetensors.c — vn_safetensors_open on arbitrary bytes, then every
 * accessor on what it accepted.
 *
 * Checks beyond "no crash, no leak, no undefined behaviour":
 *   - a rejected file leaves a message and the arena as it was;
 *   - an accepted file's tensors lie inside the data section, tile it in
 *     offset order, have size = numel × dtype bits / 8, and every unique
 *     name is found by vn_safetensors_find;
 *   - conversion (read_real, read_int64, entry_tensor, int64 by name)
 *     either succeeds or fails with a message, for every entry. */
#include "fuzz_common.h"
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
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
            const char *value = vn_safetensors_metadata_get(&st, m->key);
            FUZZ_CHECK(value == m->value, "metadata lookup");
        }
        FUZZ_CHECK(vn_safetensors_find(&st, "") == NULL || st.count > 0, "find on an empty file");
    }
    fuzz_arena_done(&arena, &heap);
    return 0;
}
