/* vn_tensor.h — a dense tensor: shape plus a pointer to row-major data.
 *
 * A vn_tensor is a small value (pass it by pointer or copy it); it does not
 * own its data. Data lives in an arena (vn_tensor_alloc) or in memory the
 * caller owns (vn_tensor_wrap). Up to VN_MAX_DIMS dimensions, row-major and
 * contiguous: the last axis varies fastest.
 *
 * Many kernels view a tensor as a matrix of `rows × cols` where cols is the
 * last dimension and rows the product of the others (vn_tensor_rows/cols). */
#ifndef VN_TENSOR_H
#define VN_TENSOR_H

#include "vn_base.h"
#include "vn_arena.h"

#define VN_MAX_DIMS 4

typedef struct vn_tensor {
    int ndim;                   /* 0 (a scalar) .. VN_MAX_DIMS */
    size_t shape[VN_MAX_DIMS];  /* unused entries are 1 */
    size_t numel;               /* product of shape[0..ndim) (1 for a scalar) */
    vn_real *data;              /* numel elements, not owned */
} vn_tensor;

/* Fills `t`'s shape from `ndim` sizes (data untouched). Fails with VN_EINVAL
 * for ndim outside 0..VN_MAX_DIMS and VN_EOVERFLOW when the element count or
 * its byte size does not fit in size_t. A zero size is allowed. */
vn_status vn_tensor_set_shape(vn_tensor *t, int ndim, const size_t *shape);

/* Shape plus zero-filled data allocated in `arena`. VN_ENOMEM when the arena
 * is exhausted. */
vn_status vn_tensor_alloc(vn_tensor *t, vn_arena *arena, int ndim, const size_t *shape);

/* Shape over caller-owned data (which must hold numel elements). */
vn_status vn_tensor_wrap(vn_tensor *t, vn_real *data, int ndim, const size_t *shape);

/* Number of columns (last dimension; 1 for a scalar) and rows (numel / cols). */
size_t vn_tensor_cols(const vn_tensor *t);
size_t vn_tensor_rows(const vn_tensor *t);

/* True when both tensors have the same ndim and sizes. */
bool vn_tensor_same_shape(const vn_tensor *a, const vn_tensor *b);

/* Writes a shape as "(2, 3, 4)" into buf; returns buf. */
const char *vn_shape_string(const vn_tensor *t, char *buf, size_t size);

/* The index of the first element of data[0..n) that is NaN or an infinity,
 * or n when every element is finite. One read of the data: blocks are
 * tested with integer operations on the bit patterns (an exponent field of
 * all ones), which compilers vectorise; only a block that holds a
 * non-finite element is scanned again to find it. */
size_t vn_first_nonfinite(const vn_real *data, size_t n);

#endif
