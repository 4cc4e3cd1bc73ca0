/* vn_base.h — the few things every cvene module shares: the element type,
 * status codes, the text writer callback and a freestanding formatter.
 *
 * The core (tensor/, autograd/, nn/, intervene/) is freestanding C99: it
 * includes only the headers below and calls no libc function. */
#ifndef VN_BASE_H
#define VN_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <stdarg.h>
#include <float.h>
#include <limits.h>

/* The element type of every tensor: float by default, double with
 * -Dreal=double (which defines VN_REAL_DOUBLE). */
#ifdef VN_REAL_DOUBLE
typedef double vn_real;
#define VN_REAL_EPSILON DBL_EPSILON
#define VN_REAL_MAX DBL_MAX
#define VN_REAL_NAME "double"
#else
typedef float vn_real;
#define VN_REAL_EPSILON FLT_EPSILON
#define VN_REAL_MAX FLT_MAX
#define VN_REAL_NAME "float"
#endif

/* Compile-time assertion (C99 has no _Static_assert). */
#define VN_STATIC_ASSERT(cond, tag) typedef char vn_static_assert_##tag[(cond) ? 1 : -1]

#define VN_ARRAY_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Status codes: what a caller can cause. Internal invariants use VN_ASSERT. */
typedef enum vn_status {
    VN_OK = 0,
    VN_ENOMEM,    /* arena or allocator exhausted */
    VN_ESHAPE,    /* shapes do not fit the operation */
    VN_EINVAL,    /* an argument is invalid (NULL, out of range, unknown name) */
    VN_ERANGE,    /* an index (layer, location, subspace, label) is out of range */
    VN_EOVERFLOW, /* a size computation would overflow */
    VN_EFORMAT,   /* malformed input bytes (safetensors, JSON, config) */
    VN_ENAN,      /* NaN or infinity where a finite number is required */
    VN_EIO,       /* the host's writer or reader reported a failure */
    VN_EFULL,     /* a fixed-capacity table is full */
    VN_STATUS_COUNT
} vn_status;

/* A short lower-case name for a status ("out of memory", ...). Never NULL. */
const char *vn_status_string(vn_status status);

/* Internal invariants: on failure, traps (no libc). Never used for user
 * input; with NDEBUG the check is compiled out. */
#ifdef NDEBUG
#define VN_ASSERT(cond) ((void)0)
#else
#define VN_ASSERT(cond) ((cond) ? (void)0 : __builtin_trap())
#endif

/* Writer callback: the core writes all text (DOT, JSON, messages) through
 * one of these. Returns 0 on success, non-zero on failure (mapped to VN_EIO). */
typedef int (*vn_write_fn)(void *user, const char *bytes, size_t length);

/* Formats like a small printf into buf (always NUL-terminated when size > 0).
 * Supports %s %c %d %i %u %ld %lu %lld %llu %zu %zd %x %p %% and %g %e %f
 * (with optional precision, e.g. %.9g), plus width and '-' / '0' flags for
 * integers and strings. Returns the length the full output would have. */
size_t vn_format(char *buf, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
size_t vn_vformat(char *buf, size_t size, const char *fmt, va_list args);

/* Formats a message into buf (when buf is non-NULL and size > 0) and returns
 * `status`: the one way functions that report through a caller's message
 * buffer fill it, e.g. `return vn_message(err, err_size, VN_EFORMAT, ...)`. */
vn_status vn_message(char *buf, size_t size, vn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Writes formatted text through a writer; returns VN_OK or VN_EIO.
 * Output longer than 1024 bytes per call is written in full (chunked). */
vn_status vn_writef(vn_write_fn write, void *user, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Writes `length` bytes through the writer; VN_OK or VN_EIO. */
vn_status vn_write(vn_write_fn write, void *user, const char *bytes, size_t length);

/* Byte helpers the core uses instead of <string.h>. */
size_t vn_strlen(const char *s);
int vn_strcmp(const char *a, const char *b);
int vn_strncmp(const char *a, const char *b, size_t n);
/* Copies at most size-1 bytes and NUL-terminates; returns strlen(src). */
size_t vn_strlcpy(char *dst, const char *src, size_t size);
/* True when the `length` bytes at `bytes` are exactly the NUL-terminated
 * string `s`. For names that come with a length (JSON keys and strings,
 * safetensors tensor names and metadata), which may hold NUL bytes decoded
 * from "\u0000": "weight\0junk" (length 11) is not "weight". */
bool vn_str_equal_n(const char *bytes, size_t length, const char *s);

/* Overflow-checked size arithmetic: return false (and leave *out unchanged)
 * when the exact result does not fit in size_t. */
static inline bool vn_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return false;
    *out = a * b;
    return true;
}
static inline bool vn_size_add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return false;
    *out = a + b;
    return true;
}

#endif
