/* vn_kernels.h — the numeric loops every op is built from.
 *
 * Kernels work on raw row-major arrays; they never allocate and never fail
 * (shape checks belong to the ops that call them). Matrices are `rows × cols`
 * with the last axis contiguous.
 *
 * Broadcasting: a binary kernel takes `a` with `n` elements and `b` with
 * `b_n` elements, where b_n divides n; b is repeated along a (b[i % b_n]).
 * That covers a scalar (b_n = 1) and a trailing row (b_n = cols), the two
 * broadcasts the ops need. */
#ifndef VN_KERNELS_H
#define VN_KERNELS_H

#include "vn_base.h"

/* ---- matrix product (vn_matmul.c) -------------------------------------- */

/* C = op(A) · op(B), or C += op(A) · op(B) when `accumulate`.
 *   op(A) is m × k: A is stored m × k, or k × m when trans_a (A is read as Aᵀ).
 *   op(B) is k × n: B is stored k × n, or n × k when trans_b.
 *   C is m × n. C must not overlap A or B. k = 0 gives C = 0 (or unchanged). */
void vn_gemm(vn_real *c, const vn_real *a, const vn_real *b,
               size_t m, size_t n, size_t k, bool trans_a, bool trans_b, bool accumulate);

/* Optional parallel-for the host may install (the core stays freestanding).
 * `run(task, begin, end)` must be called for disjoint ranges covering
 * [0, count); the hook may run them on several threads and must return only
 * when all are done. NULL (the default) runs everything on the caller. */
typedef void (*vn_parallel_task)(void *task, size_t begin, size_t end);
typedef void (*vn_parallel_for_fn)(void *user, vn_parallel_task run, void *task, size_t count);
void vn_set_parallel_for(vn_parallel_for_fn fn, void *user);
/* Runs run(task, ...) over [0, count) through the installed hook (or inline). */
void vn_parallel_for(vn_parallel_task run, void *task, size_t count);

/* ---- elementwise (vn_kernels.c) ---------------------------------------- */

typedef enum vn_binary_kind {
    VN_BINARY_ADD,
    VN_BINARY_SUB,
    VN_BINARY_MUL,
    VN_BINARY_DIV,
    VN_BINARY_COUNT
} vn_binary_kind;

/* out[i] = a[i] (op) b[i % b_n], i < n. out may alias a. */
void vn_binary(vn_real *out, const vn_real *a, const vn_real *b, size_t n, size_t b_n,
               vn_binary_kind kind);

/* out[i] = alpha · x[i] + beta, i < n (out may alias x). */
void vn_affine(vn_real *out, const vn_real *x, size_t n, vn_real alpha, vn_real beta);

/* y[i] += alpha · x[i] (axpy). */
void vn_axpy(vn_real *y, const vn_real *x, size_t n, vn_real alpha);

void vn_fill(vn_real *out, size_t n, vn_real value);
void vn_copy(vn_real *out, const vn_real *x, size_t n);

/* Reduces a broadcast gradient: acc[j] += Σ_{i ≡ j mod b_n} g[i] for j < b_n
 * — the adjoint of repeating b along n elements. */
void vn_reduce_broadcast(vn_real *acc, const vn_real *g, size_t n, size_t b_n);

/* ---- row reductions --------------------------------------------------- */

void vn_row_sum(vn_real *out, const vn_real *x, size_t rows, size_t cols);
void vn_row_mean(vn_real *out, const vn_real *x, size_t rows, size_t cols);
void vn_row_max(vn_real *out, const vn_real *x, size_t rows, size_t cols);
/* Index of the largest element in each row (first one on ties). */
void vn_row_argmax(size_t *out, const vn_real *x, size_t rows, size_t cols);
/* Sum of all n elements (pairwise, for accuracy). */
vn_real vn_array_sum(const vn_real *x, size_t n);

/* ---- softmax on the last axis ------------------------------------------ */

/* out = softmax(x) per row, computed as exp(x − max) / Σ exp(x − max). */
void vn_softmax_rows(vn_real *out, const vn_real *x, size_t rows, size_t cols);
/* out = x − max − log Σ exp(x − max) per row. */
void vn_log_softmax_rows(vn_real *out, const vn_real *x, size_t rows, size_t cols);

/* ---- rows and columns --------------------------------------------------- */

/* out[r] = src[index[r]] for r < count (rows of `cols` elements). */
void vn_gather_rows(vn_real *out, const vn_real *src, const size_t *index, size_t count,
                    size_t cols);
/* dst[index[r]] += src[r] (the adjoint of gather). */
void vn_scatter_add_rows(vn_real *dst, const vn_real *src, const size_t *index, size_t count,
                         size_t cols);

/* Copies a column block: for each of `rows` rows,
 * dst[r, dst_offset .. dst_offset+width) = src[r, src_offset .. src_offset+width)
 * with row strides dst_cols and src_cols. Slice and concat of the last axis
 * are both this copy (and their backward too). When `accumulate`, adds. */
void vn_copy_cols(vn_real *dst, size_t dst_cols, size_t dst_offset,
                  const vn_real *src, size_t src_cols, size_t src_offset,
                  size_t rows, size_t width, bool accumulate);

/* Transposes a rows × cols matrix into cols × rows. */
void vn_transpose(vn_real *out, const vn_real *x, size_t rows, size_t cols);

#endif
