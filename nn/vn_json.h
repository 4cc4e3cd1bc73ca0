/* vn_json.h — a strict JSON reader (bytes → tree in an arena) and a JSON
 * writer (through a vn_write_fn).
 *
 * Reader
 * ------
 * vn_json_parse accepts exactly RFC 8259 JSON and nothing else:
 *   - the input must be UTF-8: overlong forms, UTF-8-encoded surrogates,
 *     code points above U+10FFFF, stray continuation bytes and truncated
 *     sequences are errors (a byte order mark is an error too);
 *   - string escapes are the eight of the RFC plus \uXXXX; a UTF-16
 *     surrogate pair written as two \u escapes becomes one code point, a
 *     lone or reversed surrogate is an error; raw control characters
 *     (U+0000..U+001F) inside strings are errors;
 *   - no comments, no trailing commas, no single quotes, no unquoted keys,
 *     no leading zeros ("01"), no "+1", ".5", "1.", NaN or Infinity;
 *   - exactly one value, surrounded only by JSON whitespace (space, tab,
 *     line feed, carriage return);
 *   - arrays and objects nest at most VN_JSON_MAX_DEPTH deep (deeper input is
 *     an error, reached without deep recursion);
 *   - a key may appear only once in an object (compared after unescaping).
 *
 * Numbers keep their double value and, when the literal is written without
 * fraction and exponent and fits int64_t, that exact integer (is_integer).
 * Decimal-to-double conversion is correctly rounded (round to nearest, ties
 * to even) for every input, however many digits it has: short numbers take
 * an exact floating-point path, others an exact big-integer one. Literals
 * whose magnitude rounds beyond DBL_MAX are an error ("number too large");
 * tiny ones round to a subnormal or to zero as IEEE 754 prescribes.
 *
 * Every error message names the place: "line L, column C (byte B)" (lines and
 * columns count from 1; columns count bytes) and what was expected there.
 *
 * Memory: every node and every decoded string lives in the arena passed to
 * vn_json_parse; the tree does not point into the input bytes, which the
 * caller may free after parsing. On failure the arena is rewound to where it
 * was, so a failed parse leaves nothing behind.
 *
 * Writer
 * ------
 * vn_json_writer emits one JSON value through a writer callback, built with
 * begin/end calls: compact ({"a":1,"b":[1,2]}) or pretty, indented by a given
 * number of spaces per level. Output is deterministic. Strings are escaped
 * (", \, control characters; non-ASCII UTF-8 is written as is) and must be
 * valid UTF-8. Doubles are written with the fewest significant digits (at
 * most 17) that read back to the same double, so every finite double
 * round-trips exactly; the layout follows Python's repr: "0.3", "0.001",
 * "100.0", "1e-05", "1.5e+16", "-0.0". Integers (vn_json_integer) are written
 * without a fraction. Misuse (a value without a key in an object, a key in an
 * array, unbalanced ends, a second top-level value) is VN_EINVAL; NaN and
 * infinity are VN_ENAN; a failing callback is VN_EIO. The first error is
 * sticky: later calls do nothing and return it. The writer allocates nothing;
 * it keeps a small internal buffer, emptied by vn_json_writer_finish. It does
 * not check keys for duplicates: that is up to the caller (this reader rejects
 * duplicates). */
#ifndef VN_JSON_H
#define VN_JSON_H

#include "vn_base.h"
#include "vn_arena.h"

/* Deepest nesting of arrays and objects the reader and writer accept. */
#define VN_JSON_MAX_DEPTH 64

typedef enum vn_json_type {
    VN_JSON_NULL,
    VN_JSON_BOOL,
    VN_JSON_NUMBER,
    VN_JSON_STRING,
    VN_JSON_ARRAY,
    VN_JSON_OBJECT
} vn_json_type;

typedef struct vn_json_value vn_json_value;
typedef struct vn_json_member vn_json_member;

struct vn_json_value {
    vn_json_type type;
    /* Where the value starts in the input: byte offset from 0, line and
     * column from 1. */
    size_t offset, line, column;
    /* VN_JSON_BOOL */
    bool boolean;
    /* VN_JSON_NUMBER: the correctly rounded double; integer_syntax when the
     * literal has no fraction and no exponent; is_integer when in addition it
     * fits int64_t, whose value is then `integer` (so "-0" is an integer 0,
     * "1.0" and "1e2" are not integers, "9223372036854775808" has integer
     * syntax but is not an int64); is_uint64 when it has integer syntax, no
     * minus sign and fits uint64_t, whose value is then `uint64`. */
    double number;
    bool integer_syntax;
    bool is_integer;
    int64_t integer;
    bool is_uint64;
    uint64_t uint64;
    /* VN_JSON_STRING: `length` decoded bytes at `string` (valid UTF-8,
     * NUL-terminated; may contain NUL bytes from \u0000).
     * VN_JSON_ARRAY: `length` elements at items[0..length).
     * VN_JSON_OBJECT: `length` members at members[0..length), in document
     * order. */
    const char *string;
    size_t length;
    vn_json_value *const *items;
    const vn_json_member *members;
    const size_t *sorted_; /* OBJECT: member indices sorted by key (internal) */
};

struct vn_json_member {
    const char *key;   /* decoded, NUL-terminated */
    size_t key_length;
    size_t offset, line, column; /* where the key starts in the input */
    const vn_json_value *value;
};

/* Parses `length` bytes into a tree allocated in `arena` and stores its root
 * in *out. Errors: VN_EFORMAT (not strict JSON; message with location),
 * VN_ENOMEM (arena exhausted), VN_EINVAL (NULL arguments). `err` receives a
 * NUL-terminated message of at most err_size bytes (err may be NULL when
 * err_size is 0). */
vn_status vn_json_parse(const void *bytes, size_t length, vn_arena *arena,
                        const vn_json_value **out, char *err, size_t err_size);

/* "null", "boolean", "number", "string", "array", "object". */
const char *vn_json_type_name(vn_json_type type);

/* Lookups. All accept NULL and return NULL / 0 for a wrong type. */
/* The member of `object` whose key equals the NUL-terminated `key`
 * (O(log n)). */
const vn_json_value *vn_json_get(const vn_json_value *object, const char *key);
/* As vn_json_get for a key of `key_length` bytes (which may contain NUL). */
const vn_json_value *vn_json_get_n(const vn_json_value *object, const char *key, size_t key_length);
/* Number of elements of an array or members of an object; 0 otherwise. */
size_t vn_json_length(const vn_json_value *value);
/* Element `index` of an array, NULL when out of range. */
const vn_json_value *vn_json_at(const vn_json_value *array, size_t index);
/* Member `index` (document order) of an object, NULL when out of range. */
const vn_json_member *vn_json_member_at(const vn_json_value *object, size_t index);

/* Typed getters. `what` names the value in messages (e.g. "\"h_dim\"";
 * NULL gives "value"). A NULL `value` means missing: VN_EFORMAT "missing
 * <what>". A value of the wrong type: VN_EFORMAT with a message such as
 * "line 3, column 12: expected an integer for \"h_dim\", found string". */
vn_status vn_json_expect(const vn_json_value *value, vn_json_type type, const char *what,
                         char *err, size_t err_size);
vn_status vn_json_get_bool(const vn_json_value *value, const char *what, bool *out,
                           char *err, size_t err_size);
vn_status vn_json_get_number(const vn_json_value *value, const char *what, double *out,
                             char *err, size_t err_size);
/* Requires is_integer (an integer literal that fits int64_t). */
vn_status vn_json_get_int64(const vn_json_value *value, const char *what, int64_t *out,
                            char *err, size_t err_size);
/* *out points to the decoded string in the arena (NUL-terminated) and
 * *length gets its byte count. With length NULL the caller reads *out as a
 * C string, so a string containing NUL (from \u0000) is VN_EFORMAT: "pos\u0000x"
 * is never read as "pos". */
vn_status vn_json_get_string(const vn_json_value *value, const char *what, const char **out,
                             size_t *length, char *err, size_t err_size);

/* ---- decimal conversion, shared with the writer -------------------------- */

/* Parses one complete JSON number literal (the whole of `length` bytes) into
 * a correctly rounded double. Returns false for text that is not a JSON
 * number or whose value is too large for a double. */
bool vn_json_parse_double(const char *text, size_t length, double *out);

/* Writes the shortest JSON text (no NUL) that reads back to the finite double
 * `value` into buf, which must hold VN_JSON_NUMBER_MAX bytes; returns its
 * length, or 0 when value is NaN or infinite. */
#define VN_JSON_NUMBER_MAX 32
size_t vn_json_format_double(double value, char *buf);

/* ---- writer ---------------------------------------------------------------- */

typedef struct vn_json_writer {
    vn_write_fn write;
    void *user;
    int indent;            /* spaces per level; 0 = compact */
    int depth;             /* open containers */
    unsigned char kind[VN_JSON_MAX_DEPTH + 1];  /* 'a' or 'o' per level */
    size_t count[VN_JSON_MAX_DEPTH + 1];        /* values written per level */
    bool have_key;         /* in an object: a key waits for its value */
    bool done;             /* the top-level value is complete */
    vn_status status;      /* first error, sticky */
    size_t pending;
    size_t total;          /* bytes emitted so far (including pending) */
    char buf[512];
} vn_json_writer;

/* Starts a writer; `indent` is the number of spaces per level (0..16;
 * 0 writes compact JSON). */
void vn_json_writer_init(vn_json_writer *w, vn_write_fn write, void *user, int indent);
vn_status vn_json_begin_object(vn_json_writer *w);
vn_status vn_json_end_object(vn_json_writer *w);
vn_status vn_json_begin_array(vn_json_writer *w);
vn_status vn_json_end_array(vn_json_writer *w);
/* The key of the next member (NUL-terminated / `length` bytes). */
vn_status vn_json_key(vn_json_writer *w, const char *key);
vn_status vn_json_key_n(vn_json_writer *w, const char *key, size_t length);
vn_status vn_json_string(vn_json_writer *w, const char *s);
vn_status vn_json_string_n(vn_json_writer *w, const char *s, size_t length);
/* A double (shortest round-trip digits); VN_ENAN for NaN or infinity. */
vn_status vn_json_number(vn_json_writer *w, double value);
vn_status vn_json_integer(vn_json_writer *w, int64_t value);
vn_status vn_json_unsigned(vn_json_writer *w, uint64_t value);
vn_status vn_json_bool(vn_json_writer *w, bool value);
vn_status vn_json_null(vn_json_writer *w);
/* Checks that exactly one complete value was written and flushes the
 * buffer. Returns the writer's status. */
vn_status vn_json_writer_finish(vn_json_writer *w);

#endif
