/* vn_tensor.c — shapes with overflow checks. */
#include "vn_tensor.h"

vn_status vn_tensor_set_shape(vn_tensor *t, int ndim, const size_t *shape) {
    if (ndim < 0 || ndim > VN_MAX_DIMS || (ndim > 0 && !shape)) return VN_EINVAL;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        if (!vn_size_mul(numel, shape[i], &numel)) return VN_EOVERFLOW;
    }
    size_t bytes;
    if (!vn_size_mul(numel, sizeof(vn_real), &bytes)) return VN_EOVERFLOW;
    t->ndim = ndim;
    for (int i = 0; i < VN_MAX_DIMS; i++) t->shape[i] = i < ndim ? shape[i] : 1;
    t->numel = numel;
    return VN_OK;
}

vn_status vn_tensor_alloc(vn_tensor *t, vn_arena *arena, int ndim, const size_t *shape) {
    vn_status status = vn_tensor_set_shape(t, ndim, shape);
    if (status != VN_OK) return status;
    t->data = vn_arena_calloc(arena, t->numel * sizeof(vn_real), 0);
    return t->data ? VN_OK : VN_ENOMEM;
}

vn_status vn_tensor_wrap(vn_tensor *t, vn_real *data, int ndim, const size_t *shape) {
    vn_status status = vn_tensor_set_shape(t, ndim, shape);
    if (status != VN_OK) return status;
    if (!data && t->numel > 0) return VN_EINVAL;
    t->data = data;
    return VN_OK;
}

size_t vn_tensor_cols(const vn_tensor *t) {
    return t->ndim == 0 ? 1 : t->shape[t->ndim - 1];
}

size_t vn_tensor_rows(const vn_tensor *t) {
    size_t cols = vn_tensor_cols(t);
    return cols ? t->numel / cols : 0;
}

bool vn_tensor_same_shape(const vn_tensor *a, const vn_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int i = 0; i < a->ndim; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

const char *vn_shape_string(const vn_tensor *t, char *buf, size_t size) {
    size_t n = 0;
    n += vn_format(buf + n, n < size ? size - n : 0, "(");
    for (int i = 0; i < t->ndim; i++) {
        n += vn_format(buf + (n < size ? n : size), n < size ? size - n : 0, i ? ", %zu" : "%zu", t->shape[i]);
    }
    vn_format(buf + (n < size ? n : size), n < size ? size - n : 0, ")");
    return buf;
}

/* The bit pattern of an element. With the sign bit cleared, a value is NaN
 * or infinite when it is at least the exponent mask; adding the lowest
 * exponent bit then carries into the (cleared) sign bit. */
#ifdef VN_REAL_DOUBLE
typedef uint64_t vn_real_bits;
#define VN_BITS_ABS 0x7fffffffffffffffull
#define VN_BITS_LOW_EXP 0x0010000000000000ull
#define VN_BITS_SIGN 0x8000000000000000ull
#else
typedef uint32_t vn_real_bits;
#define VN_BITS_ABS 0x7fffffffu
#define VN_BITS_LOW_EXP 0x00800000u
#define VN_BITS_SIGN 0x80000000u
#endif

static inline vn_real_bits real_bits(vn_real x) {
    union {
        vn_real x;
        vn_real_bits u;
    } v;
    v.x = x;
    return v.u;
}

size_t vn_first_nonfinite(const vn_real *data, size_t n) {
    enum { BLOCK = 256 };
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = n - start < BLOCK ? n : start + BLOCK;
        vn_real_bits any = 0;
        for (size_t i = start; i < end; i++) any |= (real_bits(data[i]) & VN_BITS_ABS) + VN_BITS_LOW_EXP;
        if (!(any & VN_BITS_SIGN)) continue;
        for (size_t i = start; i < end; i++)
            if (((real_bits(data[i]) & VN_BITS_ABS) + VN_BITS_LOW_EXP) & VN_BITS_SIGN) return i;
    }
    return n;
}
