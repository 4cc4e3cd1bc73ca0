/* vn_safetensors.c — strict safetensors reader and writer. */
#include "vn_safetensors.h"

#define ALIGN_OF(type) offsetof(struct { char c; type member; }, member)

VN_STATIC_ASSERT(sizeof(float) == 4 && sizeof(double) == 8, ieee_sizes);

typedef union {
    uint32_t u;
    float f;
} f32_bits;

typedef union {
    uint64_t u;
    double d;
} f64_bits;

static const struct {
    const char *name;
    size_t bits;
} dtype_table[VN_ST_DTYPE_COUNT] = {
    [VN_ST_BOOL] = {"BOOL", 8},       [VN_ST_U8] = {"U8", 8},       [VN_ST_I8] = {"I8", 8},
    [VN_ST_F8_E5M2] = {"F8_E5M2", 8}, [VN_ST_F8_E4M3] = {"F8_E4M3", 8},
    [VN_ST_I16] = {"I16", 16},        [VN_ST_U16] = {"U16", 16},    [VN_ST_F16] = {"F16", 16},
    [VN_ST_BF16] = {"BF16", 16},      [VN_ST_I32] = {"I32", 32},    [VN_ST_U32] = {"U32", 32},
    [VN_ST_F32] = {"F32", 32},        [VN_ST_F64] = {"F64", 64},    [VN_ST_I64] = {"I64", 64},
    [VN_ST_U64] = {"U64", 64},        [VN_ST_F4] = {"F4", 4},       [VN_ST_F6_E2M3] = {"F6_E2M3", 6},
    [VN_ST_F6_E3M2] = {"F6_E3M2", 6}, [VN_ST_F8_E8M0] = {"F8_E8M0", 8},
};

/* Bytes per element of the whole-byte types (0 for sub-byte ones). */
static size_t element_size(vn_safetensors_dtype dtype) {
    return dtype_table[dtype].bits % 8 ? 0 : dtype_table[dtype].bits / 8;
}

const char *vn_safetensors_dtype_name(vn_safetensors_dtype dtype) {
    if ((unsigned)dtype >= VN_ST_DTYPE_COUNT) return "?";
    return dtype_table[dtype].name;
}

size_t vn_safetensors_dtype_bits(vn_safetensors_dtype dtype) {
    if ((unsigned)dtype >= VN_ST_DTYPE_COUNT) return 0;
    return dtype_table[dtype].bits;
}

size_t vn_safetensors_dtype_size(vn_safetensors_dtype dtype) {
    if ((unsigned)dtype >= VN_ST_DTYPE_COUNT) return 0;
    return element_size(dtype);
}

static bool dtype_from_bytes(const char *name, size_t length, vn_safetensors_dtype *out) {
    for (int i = 0; i < VN_ST_DTYPE_COUNT; i++) {
        const char *n = dtype_table[i].name;
        if (vn_str_equal_n(name, length, n)) {
            *out = (vn_safetensors_dtype)i;
            return true;
        }
    }
    return false;
}

bool vn_safetensors_dtype_from_name(const char *name, vn_safetensors_dtype *out) {
    if (!name || !out) return false;
    return dtype_from_bytes(name, vn_strlen(name), out);
}

/* A name quoted for messages: "name", with control characters, quotes and
 * backslashes escaped and long names shortened to 80 bytes plus "...". */
typedef struct quoted {
    char text[128];
} quoted;

static quoted quote(const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    quoted q;
    size_t k = 0;
    q.text[k++] = '"';
    size_t limit = n > 80 ? 80 : n;
    /* Do not cut a UTF-8 sequence in half. */
    if (limit < n)
        while (limit > 0 && ((unsigned char)s[limit] & 0xC0) == 0x80) limit--;
    for (size_t i = 0; i < limit; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            q.text[k++] = '\\';
            q.text[k++] = (char)c;
        } else if (c < 0x20 || c == 0x7F) {
            q.text[k++] = '\\';
            q.text[k++] = 'x';
            q.text[k++] = hex[c >> 4];
            q.text[k++] = hex[c & 15];
        } else {
            q.text[k++] = (char)c;
        }
        if (k > sizeof q.text - 10) break;
    }
    q.text[k++] = '"';
    if (limit < n) {
        q.text[k++] = '.';
        q.text[k++] = '.';
        q.text[k++] = '.';
    }
    q.text[k] = '\0';
    return q;
}

/* Writes "[2, 3, 4]" into buf. */
static const char *shape_text(const size_t *shape, int ndim, char *buf, size_t size) {
    size_t n = vn_format(buf, size, "[");
    for (int i = 0; i < ndim; i++) {
        n += vn_format(buf + (n < size ? n : size - 1), n < size ? size - n : 1, i ? ", %zu" : "%zu",
                       shape[i]);
    }
    vn_format(buf + (n < size ? n : size - 1), n < size ? size - n : 1, "]");
    return buf;
}

static vn_status fail(char *err, size_t err_size, vn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static vn_status fail(char *err, size_t err_size, vn_status status, const char *fmt, ...) {
    if (err && err_size) {
        size_t n = vn_format(err, err_size, "safetensors: ");
        if (n < err_size) {
            va_list args;
            va_start(args, fmt);
            vn_vformat(err + n, err_size - n, fmt, args);
            va_end(args);
        }
    }
    return status;
}

/* ======================================================================== */
/* Reader.                                                                  */
/* ======================================================================== */

/* Reads a non-negative integer for a shape or offset. */
static vn_status read_size(const vn_json_value *v, const char *tensor, const char *field, size_t index,
                           size_t *out, char *err, size_t err_size) {
    if (v->type != VN_JSON_NUMBER || !v->integer_syntax) {
        const char *found = v->type == VN_JSON_NUMBER ? "a number with a fraction or exponent"
                                                      : vn_json_type_name(v->type);
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: %s[%zu] must be a non-negative integer, found %s (header line %zu, column %zu)",
                    tensor, field, index, found, v->line, v->column);
    }
    f64_bits sign;
    sign.d = v->number;
    if (sign.u >> 63) { /* negative, "-0" included (not an unsigned integer either) */
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: %s[%zu] must be a non-negative integer, found a negative number "
                    "(header line %zu, column %zu)",
                    tensor, field, index, v->line, v->column);
    }
    if (!v->is_uint64 || v->uint64 > (uint64_t)SIZE_MAX) {
        return fail(err, err_size, VN_EOVERFLOW, "tensor %s: %s[%zu] is too large (header line %zu, column %zu)",
                    tensor, field, index, v->line, v->column);
    }
    *out = (size_t)v->uint64;
    return VN_OK;
}

/* Fills `e` from the header value of tensor `name`. */
static vn_status read_entry(const vn_json_member *m, vn_safetensors_entry *e, vn_arena *arena,
                            char *err, size_t err_size) {
    quoted q = quote(m->key, m->key_length);
    const char *tname = q.text;
    const vn_json_value *v = m->value;
    e->name = m->key;
    e->name_length = m->key_length;
    if (v->type != VN_JSON_OBJECT) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: expected an object with dtype, shape and data_offsets, found %s "
                    "(header line %zu, column %zu)",
                    tname, vn_json_type_name(v->type), v->line, v->column);
    }
    for (size_t i = 0; i < v->length; i++) {
        const vn_json_member *f = &v->members[i];
        if (!vn_str_equal_n(f->key, f->key_length, "dtype") && !vn_str_equal_n(f->key, f->key_length, "shape") &&
            !vn_str_equal_n(f->key, f->key_length, "data_offsets")) {
            quoted fk = quote(f->key, f->key_length);
            return fail(err, err_size, VN_EFORMAT,
                        "tensor %s: unexpected key %s (a tensor has exactly dtype, shape and data_offsets; "
                        "header line %zu, column %zu)",
                        tname, fk.text, f->line, f->column);
        }
    }
    const vn_json_value *dtype = vn_json_get(v, "dtype");
    const vn_json_value *shape = vn_json_get(v, "shape");
    const vn_json_value *offsets = vn_json_get(v, "data_offsets");
    if (!dtype || !shape || !offsets) {
        return fail(err, err_size, VN_EFORMAT, "tensor %s: missing \"%s\" (header line %zu, column %zu)", tname,
                    !dtype ? "dtype" : !shape ? "shape" : "data_offsets", v->line, v->column);
    }
    if (dtype->type != VN_JSON_STRING) {
        return fail(err, err_size, VN_EFORMAT, "tensor %s: dtype must be a string, found %s (header line %zu, column %zu)",
                    tname, vn_json_type_name(dtype->type), dtype->line, dtype->column);
    }
    if (!dtype_from_bytes(dtype->string, dtype->length, &e->dtype)) {
        quoted dq = quote(dtype->string, dtype->length);
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: unknown dtype %s (known: BOOL, U8, I8, F8_E5M2, F8_E4M3, I16, U16, F16, BF16, "
                    "I32, U32, F32, F64, I64, U64, F4, F6_E2M3, F6_E3M2, F8_E8M0)",
                    tname, dq.text);
    }
    if (shape->type != VN_JSON_ARRAY) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: shape must be an array of non-negative integers, found %s (header line %zu, column %zu)",
                    tname, vn_json_type_name(shape->type), shape->line, shape->column);
    }
    if (shape->length > (size_t)INT_MAX) {
        return fail(err, err_size, VN_EFORMAT, "tensor %s: too many dimensions", tname);
    }
    size_t *dims = NULL;
    if (shape->length) {
        dims = vn_arena_alloc(arena, shape->length * sizeof(size_t), ALIGN_OF(size_t));
        if (!dims) return fail(err, err_size, VN_ENOMEM, "out of memory in the arena reading tensor %s", tname);
    }
    size_t numel = 1;
    bool overflow = false;
    for (size_t i = 0; i < shape->length; i++) {
        vn_status status = read_size(shape->items[i], tname, "shape", i, &dims[i], err, err_size);
        if (status != VN_OK) return status;
        if (!vn_size_mul(numel, dims[i], &numel)) overflow = true;
    }
    e->ndim = (int)shape->length;
    e->shape = dims;
    if (offsets->type != VN_JSON_ARRAY || offsets->length != 2) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s: data_offsets must be an array [begin, end] of two integers, found %s%s "
                    "(header line %zu, column %zu)",
                    tname, offsets->type == VN_JSON_ARRAY ? "an array of length " : vn_json_type_name(offsets->type),
                    offsets->type == VN_JSON_ARRAY ? (offsets->length == 0 ? "0" : offsets->length == 1 ? "1" : "> 2") : "",
                    offsets->line, offsets->column);
    }
    vn_status status = read_size(offsets->items[0], tname, "data_offsets", 0, &e->begin, err, err_size);
    if (status == VN_OK) status = read_size(offsets->items[1], tname, "data_offsets", 1, &e->end, err, err_size);
    if (status != VN_OK) return status;
    char sbuf[160];
    size_t bits = 0;
    if (overflow || !vn_size_mul(numel, dtype_table[e->dtype].bits, &bits)) {
        return fail(err, err_size, VN_EOVERFLOW, "tensor %s: the size of shape %s × %s overflows", tname,
                    shape_text(dims, e->ndim, sbuf, sizeof sbuf), dtype_table[e->dtype].name);
    }
    if (bits % 8) {
        return fail(err, err_size, VN_EFORMAT, "tensor %s: %zu elements of %s do not fill whole bytes", tname, numel,
                    dtype_table[e->dtype].name);
    }
    size_t bytes = bits / 8;
    e->numel = numel;
    e->size = bytes; /* checked against the offsets later */
    return VN_OK;
}

/* Stable merge sort of idx[0..n) by (begin, end) or by name. */
static bool entry_less(const vn_safetensors_entry *a, const vn_safetensors_entry *b, bool by_name) {
    if (by_name) {
        size_t n = a->name_length < b->name_length ? a->name_length : b->name_length;
        for (size_t i = 0; i < n; i++) {
            unsigned char x = (unsigned char)a->name[i], y = (unsigned char)b->name[i];
            if (x != y) return x < y;
        }
        return a->name_length < b->name_length;
    }
    if (a->begin != b->begin) return a->begin < b->begin;
    return a->end < b->end;
}

static void sort_entries(const vn_safetensors_entry *e, size_t *idx, size_t *tmp, size_t n, bool by_name) {
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t a = lo, b = mid, k = lo;
            while (a < mid && b < hi) {
                if (entry_less(&e[idx[b]], &e[idx[a]], by_name)) tmp[k++] = idx[b++];
                else tmp[k++] = idx[a++];
            }
            while (a < mid) tmp[k++] = idx[a++];
            while (b < hi) tmp[k++] = idx[b++];
        }
        for (size_t i = 0; i < n; i++) idx[i] = tmp[i];
    }
}

static vn_status open_file(vn_safetensors *st, const unsigned char *b, size_t size, vn_arena *arena,
                           char *err, size_t err_size) {
    if (size < 8) {
        return fail(err, err_size, VN_EFORMAT,
                    "file is %zu bytes, too short for the 8-byte header length", size);
    }
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | b[i];
    if (n > VN_SAFETENSORS_MAX_HEADER) {
        return fail(err, err_size, VN_EFORMAT, "header length %llu exceeds the limit of %u bytes",
                    (unsigned long long)n, VN_SAFETENSORS_MAX_HEADER);
    }
    if (n > size - 8) {
        return fail(err, err_size, VN_EFORMAT,
                    "header length %llu is larger than the %zu bytes after the length field (file is %zu bytes)",
                    (unsigned long long)n, size - 8, size);
    }
    size_t hlen = (size_t)n;
    st->bytes = b;
    st->size = size;
    st->header_length = hlen;

    char jerr[320];
    const vn_json_value *root;
    vn_status status = vn_json_parse(b + 8, hlen, arena, &root, jerr, sizeof jerr);
    if (status == VN_ENOMEM) {
        return fail(err, err_size, status, "out of memory in the arena while parsing the %zu-byte header", hlen);
    }
    if (status != VN_OK) {
        return fail(err, err_size, status, "invalid JSON header (file bytes 8..%zu): %s", 8 + hlen, jerr);
    }
    st->header = root;
    if (root->type != VN_JSON_OBJECT) {
        return fail(err, err_size, VN_EFORMAT, "the header must be a JSON object, found %s",
                    vn_json_type_name(root->type));
    }

    /* Split metadata from tensors. */
    const vn_json_value *meta = NULL;
    size_t count = 0;
    for (size_t i = 0; i < root->length; i++) {
        const vn_json_member *m = &root->members[i];
        if (vn_str_equal_n(m->key, m->key_length, "__metadata__")) meta = m->value;
        else count++;
    }
    if (meta) {
        if (meta->type != VN_JSON_OBJECT) {
            return fail(err, err_size, VN_EFORMAT,
                        "__metadata__ must be an object of string values, found %s (header line %zu, column %zu)",
                        vn_json_type_name(meta->type), meta->line, meta->column);
        }
        vn_safetensors_metadata *md = NULL;
        if (meta->length) {
            md = vn_arena_alloc(arena, meta->length * sizeof *md, ALIGN_OF(vn_safetensors_metadata));
            if (!md) return fail(err, err_size, VN_ENOMEM, "out of memory in the arena reading __metadata__");
        }
        for (size_t i = 0; i < meta->length; i++) {
            const vn_json_member *m = &meta->members[i];
            if (m->value->type != VN_JSON_STRING) {
                quoted q = quote(m->key, m->key_length);
                return fail(err, err_size, VN_EFORMAT,
                            "__metadata__ value for key %s must be a string, found %s (header line %zu, column %zu)",
                            q.text, vn_json_type_name(m->value->type), m->value->line, m->value->column);
            }
            md[i].key = m->key;
            md[i].key_length = m->key_length;
            md[i].value = m->value->string;
            md[i].value_length = m->value->length;
        }
        st->metadata = md;
        st->metadata_count = meta->length;
    }

    /* Tensors in header order. */
    vn_safetensors_entry *header_order = NULL, *entries = NULL;
    size_t *idx = NULL, *tmp = NULL, *by_name = NULL;
    if (count) {
        size_t ebytes, ibytes;
        if (!vn_size_mul(count, sizeof *entries, &ebytes) || !vn_size_mul(count, sizeof(size_t), &ibytes))
            return fail(err, err_size, VN_EOVERFLOW, "too many tensors");
        header_order = vn_arena_alloc(arena, ebytes, ALIGN_OF(vn_safetensors_entry));
        entries = vn_arena_alloc(arena, ebytes, ALIGN_OF(vn_safetensors_entry));
        idx = vn_arena_alloc(arena, ibytes, ALIGN_OF(size_t));
        by_name = vn_arena_alloc(arena, ibytes, ALIGN_OF(size_t));
        tmp = vn_arena_alloc(arena, ibytes, ALIGN_OF(size_t));
        if (!header_order || !entries || !idx || !by_name || !tmp)
            return fail(err, err_size, VN_ENOMEM, "out of memory in the arena for %zu tensors", count);
    }
    size_t k = 0;
    for (size_t i = 0; i < root->length; i++) {
        const vn_json_member *m = &root->members[i];
        if (vn_str_equal_n(m->key, m->key_length, "__metadata__")) continue;
        header_order[k] = (vn_safetensors_entry){0};
        status = read_entry(m, &header_order[k], arena, err, err_size);
        if (status != VN_OK) return status;
        k++;
    }

    /* Sorted by offsets, the ranges must tile the data section. */
    for (size_t i = 0; i < count; i++) idx[i] = i;
    sort_entries(header_order, idx, tmp, count, false);
    size_t data_length = size - 8 - hlen;
    size_t expected_begin = 0;
    const vn_safetensors_entry *prev = NULL;
    for (size_t i = 0; i < count; i++) {
        vn_safetensors_entry *e = &entries[i];
        *e = header_order[idx[i]];
        quoted q = quote(e->name, e->name_length);
        if (e->end < e->begin) {
            return fail(err, err_size, VN_EFORMAT, "tensor %s: data_offsets [%zu, %zu] end before they begin", q.text,
                        e->begin, e->end);
        }
        if (e->begin != expected_begin) {
            if (!prev) {
                return fail(err, err_size, VN_EFORMAT,
                            "tensor %s: data_offsets [%zu, %zu]: the first tensor's data must begin at offset 0",
                            q.text, e->begin, e->end);
            }
            quoted pq = quote(prev->name, prev->name_length);
            if (e->begin > expected_begin) {
                return fail(err, err_size, VN_EFORMAT,
                            "tensor %s: data_offsets [%zu, %zu] leave a gap after tensor %s, which ends at %zu",
                            q.text, e->begin, e->end, pq.text, expected_begin);
            }
            return fail(err, err_size, VN_EFORMAT,
                        "tensor %s: data_offsets [%zu, %zu] overlap tensor %s at [%zu, %zu]", q.text, e->begin,
                        e->end, pq.text, prev->begin, prev->end);
        }
        if (e->end - e->begin != e->size) {
            char sbuf[160];
            return fail(err, err_size, VN_EFORMAT,
                        "tensor %s: data_offsets [%zu, %zu] span %zu bytes, but shape %s of %s needs %zu bytes",
                        q.text, e->begin, e->end, e->end - e->begin, shape_text(e->shape, e->ndim, sbuf, sizeof sbuf),
                        dtype_table[e->dtype].name, e->size);
        }
        expected_begin = e->end;
        prev = e;
    }
    if (expected_begin != data_length) {
        if (count == 0) {
            return fail(err, err_size, VN_EFORMAT,
                        "the file has no tensors but %zu bytes of data after the header", data_length);
        }
        quoted pq = quote(prev->name, prev->name_length);
        return fail(err, err_size, VN_EFORMAT,
                    "the tensors' data ends at offset %zu (tensor %s), but the data section after the "
                    "header has %zu bytes (%s)",
                    expected_begin, pq.text, data_length,
                    expected_begin > data_length ? "the file is truncated" : "extra bytes at the end");
    }
    const unsigned char *data = b + 8 + hlen;
    for (size_t i = 0; i < count; i++) {
        entries[i].data = data + entries[i].begin;
        by_name[i] = i;
    }
    sort_entries(entries, by_name, tmp, count, true);
    st->entries = entries;
    st->count = count;
    st->by_name_ = by_name;
    return VN_OK;
}

vn_status vn_safetensors_open(vn_safetensors *st, const void *bytes, size_t size, vn_arena *arena,
                              char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (err_size) err[0] = '\0';
    if (!st || (!bytes && size) || !arena) return fail(err, err_size, VN_EINVAL, "vn_safetensors_open: NULL argument");
    *st = (vn_safetensors){0};
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_status status = open_file(st, bytes ? bytes : (const void *)"", size, arena, err, err_size);
    if (status != VN_OK) {
        vn_arena_rewind(arena, mark);
        *st = (vn_safetensors){0};
    }
    return status;
}

const vn_safetensors_entry *vn_safetensors_find(const vn_safetensors *st, const char *name) {
    if (!st || !name) return NULL;
    vn_safetensors_entry probe = {0};
    probe.name = name;
    probe.name_length = vn_strlen(name);
    size_t lo = 0, hi = st->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vn_safetensors_entry *e = &st->entries[st->by_name_[mid]];
        if (entry_less(e, &probe, true)) lo = mid + 1;
        else if (entry_less(&probe, e, true)) hi = mid;
        else return e;
    }
    return NULL;
}

const vn_safetensors_metadata *vn_safetensors_metadata_find(const vn_safetensors *st, const char *key) {
    if (!st || !key) return NULL;
    for (size_t i = 0; i < st->metadata_count; i++)
        if (vn_str_equal_n(st->metadata[i].key, st->metadata[i].key_length, key)) return &st->metadata[i];
    return NULL;
}

const char *vn_safetensors_metadata_get(const vn_safetensors *st, const char *key) {
    const vn_safetensors_metadata *m = vn_safetensors_metadata_find(st, key);
    if (!m) return NULL;
    for (size_t i = 0; i < m->value_length; i++)
        if (m->value[i] == '\0') return NULL; /* not a C string: "12\u0000junk" is not "12" */
    return m->value;
}

/* ---- conversion ----------------------------------------------------------- */

static uint64_t load_le(const unsigned char *p, size_t bytes) {
    uint64_t v = 0;
    for (size_t i = bytes; i > 0; i--) v = (v << 8) | p[i - 1];
    return v;
}

vn_status vn_safetensors_read_real(const vn_safetensors_entry *entry, vn_real *out, size_t count,
                                   char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (!entry) return fail(err, err_size, VN_EINVAL, "read_real: NULL entry");
    quoted q = quote(entry->name, entry->name_length);
    if (entry->dtype != VN_ST_F32 && entry->dtype != VN_ST_F64) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s has dtype %s; only F32 and F64 can be read as real numbers", q.text,
                    vn_safetensors_dtype_name(entry->dtype));
    }
    if (count != entry->numel) {
        return fail(err, err_size, VN_ESHAPE, "tensor %s has %zu elements, the destination %zu", q.text,
                    entry->numel, count);
    }
    if (count && !out) return fail(err, err_size, VN_EINVAL, "read_real: NULL destination for tensor %s", q.text);
    const unsigned char *p = entry->data;
    if (entry->dtype == VN_ST_F32) {
        for (size_t i = 0; i < count; i++) {
            f32_bits b;
            b.u = (uint32_t)load_le(p + 4 * i, 4);
            out[i] = (vn_real)b.f;
        }
    } else {
        for (size_t i = 0; i < count; i++) {
            f64_bits b;
            b.u = load_le(p + 8 * i, 8);
            out[i] = (vn_real)b.d;
        }
    }
    return VN_OK;
}

vn_status vn_safetensors_read_int64(const vn_safetensors_entry *entry, int64_t *out, size_t count,
                                    char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (!entry) return fail(err, err_size, VN_EINVAL, "read_int64: NULL entry");
    quoted q = quote(entry->name, entry->name_length);
    vn_safetensors_dtype dt = entry->dtype;
    bool is_signed = dt == VN_ST_I8 || dt == VN_ST_I16 || dt == VN_ST_I32 || dt == VN_ST_I64;
    bool is_unsigned = dt == VN_ST_U8 || dt == VN_ST_U16 || dt == VN_ST_U32 || dt == VN_ST_U64;
    if (!is_signed && !is_unsigned && dt != VN_ST_BOOL) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s has dtype %s; only integer dtypes (I64, I32, I16, I8, U64, U32, U16, U8) and BOOL "
                    "can be read as integers",
                    q.text, vn_safetensors_dtype_name(dt));
    }
    if (count != entry->numel) {
        return fail(err, err_size, VN_ESHAPE, "tensor %s has %zu elements, the destination %zu", q.text,
                    entry->numel, count);
    }
    if (count && !out) return fail(err, err_size, VN_EINVAL, "read_int64: NULL destination for tensor %s", q.text);
    size_t w = element_size(dt);
    for (size_t i = 0; i < count; i++) {
        uint64_t u = load_le(entry->data + w * i, w);
        if (dt == VN_ST_BOOL) {
            if (u > 1) {
                return fail(err, err_size, VN_EFORMAT,
                            "tensor %s (BOOL) holds byte %u at element %zu; expected 0 or 1", q.text, (unsigned)u, i);
            }
            out[i] = (int64_t)u;
        } else if (is_signed) {
            /* Sign-extend the w-byte two's complement value. */
            if (w < 8 && (u >> (8 * w - 1)) & 1) u |= ~(uint64_t)0 << (8 * w);
            out[i] = u > (uint64_t)INT64_MAX ? -(int64_t)(~u) - 1 : (int64_t)u;
        } else {
            if (u > (uint64_t)INT64_MAX) {
                return fail(err, err_size, VN_ERANGE, "tensor %s (%s) holds %llu at element %zu, beyond int64",
                            q.text, dtype_table[dt].name, (unsigned long long)u, i);
            }
            out[i] = (int64_t)u;
        }
    }
    return VN_OK;
}

vn_status vn_safetensors_entry_tensor(const vn_safetensors_entry *entry, vn_arena *arena,
                                      vn_tensor *out, char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (!entry || !arena || !out) return fail(err, err_size, VN_EINVAL, "entry_tensor: NULL argument");
    quoted q = quote(entry->name, entry->name_length);
    if (entry->dtype != VN_ST_F32 && entry->dtype != VN_ST_F64) {
        return fail(err, err_size, VN_EFORMAT,
                    "tensor %s has dtype %s; only F32 and F64 can be read as real numbers", q.text,
                    vn_safetensors_dtype_name(entry->dtype));
    }
    if (entry->ndim > VN_MAX_DIMS) {
        char sbuf[160];
        return fail(err, err_size, VN_ESHAPE, "tensor %s has %d dimensions %s; at most %d are supported", q.text,
                    entry->ndim, shape_text(entry->shape, entry->ndim, sbuf, sizeof sbuf), VN_MAX_DIMS);
    }
    vn_tensor t;
    vn_status status = vn_tensor_set_shape(&t, entry->ndim, entry->shape);
    if (status != VN_OK) return fail(err, err_size, status, "tensor %s: shape too large for vn_real data", q.text);
    t.data = vn_arena_alloc(arena, t.numel * sizeof(vn_real), 0);
    if (!t.data) return fail(err, err_size, VN_ENOMEM, "out of memory in the arena for tensor %s", q.text);
    status = vn_safetensors_read_real(entry, t.data, t.numel, err, err_size);
    if (status != VN_OK) return status;
    *out = t;
    return VN_OK;
}

vn_status vn_safetensors_tensor(const vn_safetensors *st, const char *name, vn_arena *arena,
                                vn_tensor *out, char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (!st || !name) return fail(err, err_size, VN_EINVAL, "tensor: NULL argument");
    const vn_safetensors_entry *e = vn_safetensors_find(st, name);
    if (!e) {
        quoted q = quote(name, vn_strlen(name));
        return fail(err, err_size, VN_EINVAL, "no tensor named %s", q.text);
    }
    return vn_safetensors_entry_tensor(e, arena, out, err, err_size);
}

vn_status vn_safetensors_int64(const vn_safetensors *st, const char *name, vn_arena *arena,
                               int64_t **out, size_t *count, const vn_safetensors_entry **entry_out,
                               char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (!st || !name || !arena || !out || !count) return fail(err, err_size, VN_EINVAL, "int64: NULL argument");
    quoted q = quote(name, vn_strlen(name));
    const vn_safetensors_entry *e = vn_safetensors_find(st, name);
    if (!e) return fail(err, err_size, VN_EINVAL, "no tensor named %s", q.text);
    size_t bytes;
    if (!vn_size_mul(e->numel, sizeof(int64_t), &bytes))
        return fail(err, err_size, VN_EOVERFLOW, "tensor %s is too large", q.text);
    int64_t *data = vn_arena_alloc(arena, bytes, 0);
    if (!data) return fail(err, err_size, VN_ENOMEM, "out of memory in the arena for tensor %s", q.text);
    vn_status status = vn_safetensors_read_int64(e, data, e->numel, err, err_size);
    if (status != VN_OK) return status;
    *out = data;
    *count = e->numel;
    if (entry_out) *entry_out = e;
    return VN_OK;
}

/* ======================================================================== */
/* Writer.                                                                  */
/* ======================================================================== */

vn_safetensors_item vn_safetensors_item_real(const char *name, const vn_tensor *t, vn_safetensors_dtype dtype) {
    vn_safetensors_item item = {0};
    item.name = name;
    item.dtype = dtype;
    if (t) {
        item.ndim = t->ndim;
        item.shape = t->shape;
        item.real_data = t->data;
    } else {
        item.ndim = -1; /* rejected by the writer */
    }
    return item;
}

vn_safetensors_item vn_safetensors_item_int64(const char *name, const int64_t *data, int ndim,
                                              const size_t *shape) {
    vn_safetensors_item item = {0};
    item.name = name;
    item.dtype = VN_ST_I64;
    item.ndim = ndim;
    item.shape = shape;
    item.int_data = data;
    return item;
}

static bool utf8_ok(const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        unsigned c = u[i];
        size_t need;
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c < 0xE0) {
            need = 2;
        } else if (c >= 0xE0 && c < 0xF0) {
            need = 3;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c < 0xF5) {
            need = 4;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else {
            return false;
        }
        if (n - i < need) return false;
        for (size_t k = 1; k < need; k++) {
            unsigned b = u[i + k];
            if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xBF)) return false;
        }
        i += need;
    }
    return true;
}

/* Checks the items and metadata; *data_bytes gets the data section's size. */
static vn_status check_items(const vn_safetensors_item *items, size_t count, const vn_safetensors_kv *metadata,
                             size_t metadata_count, size_t *data_bytes, char *err, size_t err_size) {
    if ((count && !items) || (metadata_count && !metadata))
        return fail(err, err_size, VN_EINVAL, "write: NULL item or metadata array");
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
        const vn_safetensors_item *it = &items[i];
        if (!it->name) return fail(err, err_size, VN_EINVAL, "write: tensor %zu has no name", i);
        size_t nlen = vn_strlen(it->name);
        quoted q = quote(it->name, nlen);
        if (!utf8_ok(it->name, nlen)) return fail(err, err_size, VN_EINVAL, "write: tensor name %s is not valid UTF-8", q.text);
        if (vn_str_equal_n(it->name, nlen, "__metadata__"))
            return fail(err, err_size, VN_EINVAL, "write: \"__metadata__\" cannot name a tensor");
        for (size_t j = 0; j < i; j++) {
            if (items[j].name && vn_strcmp(items[j].name, it->name) == 0)
                return fail(err, err_size, VN_EINVAL, "write: duplicate tensor name %s (items %zu and %zu)", q.text, j, i);
        }
        if (it->dtype != VN_ST_F32 && it->dtype != VN_ST_F64 && it->dtype != VN_ST_I64) {
            return fail(err, err_size, VN_EINVAL, "write: tensor %s: dtype %s cannot be written (F32, F64 or I64)",
                        q.text, vn_safetensors_dtype_name(it->dtype));
        }
        if (it->ndim < 0 || (it->ndim > 0 && !it->shape))
            return fail(err, err_size, VN_EINVAL, "write: tensor %s: invalid shape", q.text);
        size_t numel = 1, bytes;
        for (int d = 0; d < it->ndim; d++) {
            if (!vn_size_mul(numel, it->shape[d], &numel))
                return fail(err, err_size, VN_EOVERFLOW, "write: tensor %s: element count overflows", q.text);
        }
        if (!vn_size_mul(numel, element_size(it->dtype), &bytes) || !vn_size_add(total, bytes, &total))
            return fail(err, err_size, VN_EOVERFLOW, "write: tensor %s: byte size overflows", q.text);
        bool has_data = it->dtype == VN_ST_I64 ? it->int_data != NULL : it->real_data != NULL;
        if (numel > 0 && !has_data)
            return fail(err, err_size, VN_EINVAL, "write: tensor %s: no %s data", q.text,
                        it->dtype == VN_ST_I64 ? "int64" : "real");
    }
    for (size_t i = 0; i < metadata_count; i++) {
        const vn_safetensors_kv *kv = &metadata[i];
        if (!kv->key || !kv->value) return fail(err, err_size, VN_EINVAL, "write: metadata entry %zu has a NULL key or value", i);
        quoted q = quote(kv->key, vn_strlen(kv->key));
        if (!utf8_ok(kv->key, vn_strlen(kv->key)) || !utf8_ok(kv->value, vn_strlen(kv->value)))
            return fail(err, err_size, VN_EINVAL, "write: metadata %s: key or value is not valid UTF-8", q.text);
        for (size_t j = 0; j < i; j++) {
            if (vn_strcmp(metadata[j].key, kv->key) == 0)
                return fail(err, err_size, VN_EINVAL, "write: duplicate metadata key %s", q.text);
        }
    }
    *data_bytes = total;
    return VN_OK;
}

static vn_status emit_header(vn_write_fn write, void *user, const vn_safetensors_item *items, size_t count,
                             const vn_safetensors_kv *metadata, size_t metadata_count) {
    vn_json_writer w;
    vn_json_writer_init(&w, write, user, 0);
    vn_json_begin_object(&w);
    if (metadata_count) {
        vn_json_key(&w, "__metadata__");
        vn_json_begin_object(&w);
        for (size_t i = 0; i < metadata_count; i++) {
            vn_json_key(&w, metadata[i].key);
            vn_json_string(&w, metadata[i].value);
        }
        vn_json_end_object(&w);
    }
    uint64_t offset = 0;
    for (size_t i = 0; i < count; i++) {
        const vn_safetensors_item *it = &items[i];
        uint64_t numel = 1;
        for (int d = 0; d < it->ndim; d++) numel *= it->shape[d]; /* checked before */
        uint64_t bytes = numel * element_size(it->dtype);
        vn_json_key(&w, it->name);
        vn_json_begin_object(&w);
        vn_json_key(&w, "dtype");
        vn_json_string(&w, dtype_table[it->dtype].name);
        vn_json_key(&w, "shape");
        vn_json_begin_array(&w);
        for (int d = 0; d < it->ndim; d++) vn_json_unsigned(&w, it->shape[d]);
        vn_json_end_array(&w);
        vn_json_key(&w, "data_offsets");
        vn_json_begin_array(&w);
        vn_json_unsigned(&w, offset);
        vn_json_unsigned(&w, offset + bytes);
        vn_json_end_array(&w);
        vn_json_end_object(&w);
        offset += bytes;
    }
    vn_json_end_object(&w);
    return vn_json_writer_finish(&w);
}

static int count_bytes(void *user, const char *bytes, size_t length) {
    (void)bytes;
    size_t *n = user;
    *n += length;
    return 0;
}

/* The header's JSON length and the padded length N. */
static vn_status header_size(const vn_safetensors_item *items, size_t count, const vn_safetensors_kv *metadata,
                             size_t metadata_count, size_t *padded, char *err, size_t err_size) {
    size_t json = 0;
    vn_status status = emit_header(count_bytes, &json, items, count, metadata, metadata_count);
    if (status != VN_OK) return fail(err, err_size, status, "write: cannot encode the header");
    size_t n = json + (8 - json % 8) % 8;
    if (n > VN_SAFETENSORS_MAX_HEADER)
        return fail(err, err_size, VN_EFORMAT, "write: the header would be %zu bytes, above the limit of %u", n,
                    VN_SAFETENSORS_MAX_HEADER);
    *padded = n;
    return VN_OK;
}

vn_status vn_safetensors_file_size(const vn_safetensors_item *items, size_t count,
                                   const vn_safetensors_kv *metadata, size_t metadata_count,
                                   size_t *size, char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (err_size) err[0] = '\0';
    if (!size) return fail(err, err_size, VN_EINVAL, "file_size: NULL size");
    size_t data = 0, n = 0, total;
    vn_status status = check_items(items, count, metadata, metadata_count, &data, err, err_size);
    if (status == VN_OK) status = header_size(items, count, metadata, metadata_count, &n, err, err_size);
    if (status != VN_OK) return status;
    if (!vn_size_add(8 + n, data, &total)) return fail(err, err_size, VN_EOVERFLOW, "write: file size overflows");
    *size = total;
    return VN_OK;
}

/* Buffered output of the data section. */
typedef struct out_chunk {
    vn_write_fn write;
    void *user;
    size_t used;
    bool failed;
    unsigned char buf[4096];
} out_chunk;

static void chunk_flush(out_chunk *o) {
    if (o->used && !o->failed && o->write(o->user, (const char *)o->buf, o->used) != 0) o->failed = true;
    o->used = 0;
}

static void chunk_put_le(out_chunk *o, uint64_t v, size_t bytes) {
    if (o->used + bytes > sizeof o->buf) chunk_flush(o);
    for (size_t i = 0; i < bytes; i++) {
        o->buf[o->used++] = (unsigned char)(v & 0xFF);
        v >>= 8;
    }
}

vn_status vn_safetensors_write(vn_write_fn write, void *user, const vn_safetensors_item *items,
                               size_t count, const vn_safetensors_kv *metadata,
                               size_t metadata_count, char *err, size_t err_size) {
    if (!err) err_size = 0;
    if (err_size) err[0] = '\0';
    if (!write) return fail(err, err_size, VN_EINVAL, "write: NULL writer");
    size_t data = 0, n = 0;
    vn_status status = check_items(items, count, metadata, metadata_count, &data, err, err_size);
    if (status == VN_OK) status = header_size(items, count, metadata, metadata_count, &n, err, err_size);
    if (status != VN_OK) return status;

    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(((uint64_t)n >> (8 * i)) & 0xFF);
    if (write(user, (const char *)len8, 8) != 0) return fail(err, err_size, VN_EIO, "write: the writer failed");
    size_t json = 0;
    status = emit_header(count_bytes, &json, items, count, metadata, metadata_count);
    if (status == VN_OK) status = emit_header(write, user, items, count, metadata, metadata_count);
    if (status != VN_OK) return fail(err, err_size, status, "write: the writer failed in the header");
    static const char spaces[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
    if (n > json && write(user, spaces, n - json) != 0) return fail(err, err_size, VN_EIO, "write: the writer failed");

    out_chunk o;
    o.write = write;
    o.user = user;
    o.used = 0;
    o.failed = false;
    for (size_t i = 0; i < count && !o.failed; i++) {
        const vn_safetensors_item *it = &items[i];
        size_t numel = 1;
        for (int d = 0; d < it->ndim; d++) numel *= it->shape[d];
        for (size_t j = 0; j < numel && !o.failed; j++) {
            if (it->dtype == VN_ST_I64) {
                chunk_put_le(&o, (uint64_t)it->int_data[j], 8);
            } else if (it->dtype == VN_ST_F32) {
                f32_bits b;
                b.f = (float)it->real_data[j];
                chunk_put_le(&o, b.u, 4);
            } else {
                f64_bits b;
                b.d = (double)it->real_data[j];
                chunk_put_le(&o, b.u, 8);
            }
        }
    }
    chunk_flush(&o);
    if (o.failed) return fail(err, err_size, VN_EIO, "write: the writer failed in the tensor data");
    return VN_OK;
}
