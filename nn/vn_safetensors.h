/* vn_safetensors.h — safetensors files: strict reader and writer.
 *
 * Format: 8 bytes little-endian header length N, N bytes of UTF-8 JSON (the
 * header), then the data section: raw little-endian row-major tensor bytes.
 *
 * Reader (vn_safetensors_open) enforces, as the reference implementation
 * (huggingface/safetensors) does:
 *   - the file has at least 8 bytes; N ≤ 100,000,000 (VN_SAFETENSORS_MAX_HEADER);
 *     8 + N ≤ file size;
 *   - the header is one strict JSON object (vn_json.h: valid UTF-8, no
 *     duplicate keys, ...), optionally surrounded by JSON whitespace (writers
 *     pad with spaces to a multiple of 8);
 *   - "__metadata__", if present, is an object whose values are all strings;
 *   - every other key names a tensor whose value is an object with exactly the
 *     keys "dtype" (a known dtype name), "shape" (an array of non-negative
 *     integers) and "data_offsets" ([begin, end], non-negative integers);
 *   - sorted by (begin, end), the tensors' byte ranges tile the data section
 *     from 0 with no gap and no overlap (each begin equals the previous end,
 *     end ≥ begin), and the last end equals the file size − 8 − N exactly;
 *   - end − begin = product(shape) × dtype bits / 8, computed with overflow
 *     checks (an overflow is VN_EOVERFLOW; sub-byte dtypes must fill whole
 *     bytes).
 * Every violation is an error with a message naming the tensor (or the JSON
 * location) concerned; nothing is read outside the given bytes.
 *
 * Conversion to numbers reads the bytes one by one and assembles little-endian
 * values, whatever the host's byte order or the data's alignment. Real tensors
 * accept F32 and F64 (converted to vn_real); integer tensors accept I64, I32,
 * I16, I8, U8, U16, U32, U64 (values above INT64_MAX are an error) and BOOL
 * (bytes 0/1; others are an error). Any other dtype is a clear error naming the
 * tensor and its dtype. vn_tensor holds at most VN_MAX_DIMS dimensions; a
 * tensor with more is an error (VN_ESHAPE) naming it.
 *
 * Memory: vn_safetensors_open allocates the entry table, the shapes and the
 * parsed header in the arena; names and metadata strings live there too. Entry
 * data pointers point into the caller's bytes, which must stay alive and
 * unchanged as long as the vn_safetensors is used. On failure the arena is
 * rewound to where it was.
 *
 * Writer (vn_safetensors_write): tensors in the given order with contiguous
 * offsets from 0, "__metadata__" first when there is metadata, compact JSON
 * header padded with spaces to a multiple of 8 bytes, data in little-endian.
 * Real data is written as F32 or F64 (the caller chooses; vn_real is converted,
 * F32 of a double build rounds to nearest), int64 data as I64. Names must be
 * unique, valid UTF-8 and not "__metadata__"; metadata keys unique, keys and
 * values valid UTF-8. The writer allocates nothing: it writes the header twice
 * in its head (once to count its length) and streams everything through the
 * callback. vn_safetensors_file_size gives the exact size beforehand. The data
 * of each tensor starts at an offset that is a multiple of its element size
 * when every earlier tensor has an element size at least as large (so list
 * 8-byte tensors first to keep everything aligned). */
#ifndef VN_SAFETENSORS_H
#define VN_SAFETENSORS_H

#include "vn_base.h"
#include "vn_arena.h"
#include "vn_tensor.h"
#include "vn_json.h"

#define VN_SAFETENSORS_MAX_HEADER 100000000u

/* The dtypes the format knows: the classic fifteen, then the sub-byte and
 * E8M0 types newer versions of the reference added (F4 is 4 bits, F6_* are
 * 6 bits per element; a tensor of them must fill whole bytes). */
typedef enum vn_safetensors_dtype {
    VN_ST_BOOL,
    VN_ST_U8,
    VN_ST_I8,
    VN_ST_F8_E5M2,
    VN_ST_F8_E4M3,
    VN_ST_I16,
    VN_ST_U16,
    VN_ST_F16,
    VN_ST_BF16,
    VN_ST_I32,
    VN_ST_U32,
    VN_ST_F32,
    VN_ST_F64,
    VN_ST_I64,
    VN_ST_U64,
    VN_ST_F4,
    VN_ST_F6_E2M3,
    VN_ST_F6_E3M2,
    VN_ST_F8_E8M0,
    VN_ST_DTYPE_COUNT
} vn_safetensors_dtype;

/* The dtype's name in files ("F32", ...); "?" for an invalid value. */
const char *vn_safetensors_dtype_name(vn_safetensors_dtype dtype);
/* Bits per element (4, 6, 8, 16, 32, 64); 0 for an invalid value. */
size_t vn_safetensors_dtype_bits(vn_safetensors_dtype dtype);
/* Bytes per element; 0 for the sub-byte types and invalid values. */
size_t vn_safetensors_dtype_size(vn_safetensors_dtype dtype);
/* The dtype named `name` (exact, case-sensitive); false when unknown. */
bool vn_safetensors_dtype_from_name(const char *name, vn_safetensors_dtype *out);

/* One tensor of an opened file. */
typedef struct vn_safetensors_entry {
    const char *name;          /* NUL-terminated, in the arena */
    size_t name_length;        /* bytes (a name may contain NUL from \u0000) */
    vn_safetensors_dtype dtype;
    int ndim;                  /* any number, 0 for a scalar */
    const size_t *shape;       /* ndim sizes, in the arena */
    size_t numel;              /* product of shape (1 for a scalar) */
    size_t begin, end;         /* data_offsets, relative to the data section */
    const unsigned char *data; /* end - begin bytes inside the caller's file */
    size_t size;               /* end - begin */
} vn_safetensors_entry;

typedef struct vn_safetensors_metadata {
    const char *key, *value;   /* NUL-terminated, in the arena */
    size_t key_length, value_length;
} vn_safetensors_metadata;

typedef struct vn_safetensors {
    const unsigned char *bytes; /* the whole file (caller's memory) */
    size_t size;
    size_t header_length;       /* N */
    const vn_json_value *header;
    size_t count;                        /* tensors */
    const vn_safetensors_entry *entries; /* sorted by data offset */
    size_t metadata_count;
    const vn_safetensors_metadata *metadata; /* in header order */
    const size_t *by_name_;     /* entry indices sorted by name (internal) */
} vn_safetensors;

/* Validates the `size` bytes at `bytes` as described above and fills *st.
 * Errors: VN_EFORMAT (malformed), VN_EOVERFLOW (sizes overflow), VN_ENOMEM
 * (arena), VN_EINVAL (NULL arguments); the message goes to err. */
vn_status vn_safetensors_open(vn_safetensors *st, const void *bytes, size_t size, vn_arena *arena,
                              char *err, size_t err_size);

/* The entry named `name`, or NULL (O(log n)). */
const vn_safetensors_entry *vn_safetensors_find(const vn_safetensors *st, const char *name);

/* The metadata entry whose key is exactly `key`, or NULL. Its value_length
 * counts every byte of the value (a value may contain NUL from \u0000). */
const vn_safetensors_metadata *vn_safetensors_metadata_find(const vn_safetensors *st, const char *key);

/* The metadata value for `key` as a C string, or NULL when the key is
 * missing or its value contains a NUL byte (from \u0000), which no C string
 * can stand for: "12\u0000junk" is not read as "12". Readers of such values
 * use vn_safetensors_metadata_find and its value_length. */
const char *vn_safetensors_metadata_get(const vn_safetensors *st, const char *key);

/* Converts an F32/F64 entry into out[0..count); count must equal numel
 * (VN_ESHAPE otherwise). Other dtypes: VN_EFORMAT naming tensor and dtype. */
vn_status vn_safetensors_read_real(const vn_safetensors_entry *entry, vn_real *out, size_t count,
                                   char *err, size_t err_size);

/* Converts an integer or BOOL entry into out[0..count) (count = numel). */
vn_status vn_safetensors_read_int64(const vn_safetensors_entry *entry, int64_t *out, size_t count,
                                    char *err, size_t err_size);

/* A vn_tensor of the entry's shape (at most VN_MAX_DIMS dims, else VN_ESHAPE)
 * with data allocated in `arena` and converted from F32/F64. */
vn_status vn_safetensors_entry_tensor(const vn_safetensors_entry *entry, vn_arena *arena,
                                      vn_tensor *out, char *err, size_t err_size);

/* As vn_safetensors_entry_tensor for the tensor named `name`; a missing name
 * is VN_EINVAL ("no tensor named ..."). */
vn_status vn_safetensors_tensor(const vn_safetensors *st, const char *name, vn_arena *arena,
                                vn_tensor *out, char *err, size_t err_size);

/* The integer tensor named `name` converted to int64 in `arena`: *out gets
 * numel values (*count = numel); *entry_out (may be NULL) gets its entry, for
 * the shape. */
vn_status vn_safetensors_int64(const vn_safetensors *st, const char *name, vn_arena *arena,
                               int64_t **out, size_t *count, const vn_safetensors_entry **entry_out,
                               char *err, size_t err_size);

/* ---- writer -------------------------------------------------------------- */

/* One tensor to write. For dtype F32 or F64, `real_data` holds numel vn_real
 * values; for I64, `int_data` holds numel int64 values. The shape array is
 * read during the call only. */
typedef struct vn_safetensors_item {
    const char *name;
    vn_safetensors_dtype dtype;
    int ndim;
    const size_t *shape;
    const vn_real *real_data;
    const int64_t *int_data;
} vn_safetensors_item;

/* An item for a vn_tensor's data written as `dtype` (VN_ST_F32 or VN_ST_F64).
 * The item refers to t->shape: t must stay alive until the write. */
vn_safetensors_item vn_safetensors_item_real(const char *name, const vn_tensor *t,
                                             vn_safetensors_dtype dtype);
/* An item for int64 data of the given shape, written as I64. */
vn_safetensors_item vn_safetensors_item_int64(const char *name, const int64_t *data, int ndim,
                                              const size_t *shape);

typedef struct vn_safetensors_kv {
    const char *key, *value;
} vn_safetensors_kv;

/* Writes a safetensors file through `write`. Errors: VN_EINVAL (bad item:
 * dtype other than F32/F64/I64, NULL data with elements, negative ndim,
 * duplicate or invalid name, duplicate metadata key), VN_EOVERFLOW (sizes),
 * VN_EFORMAT (header above the size limit), VN_EIO (the callback failed). */
vn_status vn_safetensors_write(vn_write_fn write, void *user, const vn_safetensors_item *items,
                               size_t count, const vn_safetensors_kv *metadata,
                               size_t metadata_count, char *err, size_t err_size);

/* The exact number of bytes vn_safetensors_write would write; same checks. */
vn_status vn_safetensors_file_size(const vn_safetensors_item *items, size_t count,
                                   const vn_safetensors_kv *metadata, size_t metadata_count,
                                   size_t *size, char *err, size_t err_size);

#endif
