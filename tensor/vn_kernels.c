/* vn_kernels.c — elementwise, reduction, softmax and row/column kernels. */
#include "vn_kernels.h"
#include "vn_math.h"

void vn_binary(vn_real *out, const vn_real *a, const vn_real *b, size_t n, size_t b_n,
               vn_binary_kind kind) {
    VN_ASSERT(b_n > 0 && n % b_n == 0);
    /* Walk a in blocks of b_n so the inner loop has no modulo. */
    for (size_t base = 0; base < n; base += b_n) {
        vn_real *o = out + base;
        const vn_real *x = a + base;
        switch (kind) {
        case VN_BINARY_ADD: for (size_t j = 0; j < b_n; j++) o[j] = x[j] + b[j]; break;
        case VN_BINARY_SUB: for (size_t j = 0; j < b_n; j++) o[j] = x[j] - b[j]; break;
        case VN_BINARY_MUL: for (size_t j = 0; j < b_n; j++) o[j] = x[j] * b[j]; break;
        case VN_BINARY_DIV: for (size_t j = 0; j < b_n; j++) o[j] = x[j] / b[j]; break;
        case VN_BINARY_COUNT: VN_ASSERT(0); break;
        }
    }
}

void vn_affine(vn_real *out, const vn_real *x, size_t n, vn_real alpha, vn_real beta) {
    for (size_t i = 0; i < n; i++) out[i] = alpha * x[i] + beta;
}

void vn_axpy(vn_real *y, const vn_real *x, size_t n, vn_real alpha) {
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void vn_fill(vn_real *out, size_t n, vn_real value) {
    for (size_t i = 0; i < n; i++) out[i] = value;
}

void vn_copy(vn_real *out, const vn_real *x, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = x[i];
}

void vn_reduce_broadcast(vn_real *acc, const vn_real *g, size_t n, size_t b_n) {
    VN_ASSERT(b_n > 0 && n % b_n == 0);
    for (size_t base = 0; base < n; base += b_n)
        for (size_t j = 0; j < b_n; j++) acc[j] += g[base + j];
}

/* Pairwise summation: error grows as O(log n) instead of O(n). */
vn_real vn_array_sum(const vn_real *x, size_t n) {
    if (n <= 32) {
        vn_real s = 0;
        for (size_t i = 0; i < n; i++) s += x[i];
        return s;
    }
    size_t half = n / 2;
    return vn_array_sum(x, half) + vn_array_sum(x + half, n - half);
}

void vn_row_sum(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) out[r] = vn_array_sum(x + r * cols, cols);
}

void vn_row_mean(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) out[r] = cols ? vn_array_sum(x + r * cols, cols) / (vn_real)cols : 0;
}

void vn_row_max(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    size_t index[1];
    for (size_t r = 0; r < rows; r++) {
        vn_row_argmax(index, x + r * cols, 1, cols);
        out[r] = cols ? x[r * cols + index[0]] : -VN_REAL_MAX;
    }
}

void vn_row_argmax(size_t *out, const vn_real *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const vn_real *row = x + r * cols;
        size_t best = 0;
        for (size_t j = 1; j < cols; j++)
            if (row[j] > row[best] || (row[j] == row[j] && row[best] != row[best])) best = j;
        out[r] = best;
    }
}

/* Shared by softmax and log-softmax: the row's max and log Σ exp(x − max). */
static vn_real row_log_sum_exp(const vn_real *row, size_t cols, vn_real *max_out) {
    vn_real max = row[0];
    for (size_t j = 1; j < cols; j++)
        if (row[j] > max) max = row[j];
    vn_real sum = 0;
    for (size_t j = 0; j < cols; j++) sum += vn_exp(row[j] - max);
    *max_out = max;
    return vn_log(sum);
}

void vn_softmax_rows(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        const vn_real *row = x + r * cols;
        vn_real *o = out + r * cols;
        if (cols == 0) continue;
        vn_real max = row[0];
        for (size_t j = 1; j < cols; j++)
            if (row[j] > max) max = row[j];
        vn_real sum = 0;
        for (size_t j = 0; j < cols; j++) {
            o[j] = vn_exp(row[j] - max);
            sum += o[j];
        }
        vn_real inv = 1 / sum;
        for (size_t j = 0; j < cols; j++) o[j] *= inv;
    }
}

void vn_log_softmax_rows(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        if (cols == 0) continue;
        vn_real max;
        vn_real lse = row_log_sum_exp(x + r * cols, cols, &max);
        for (size_t j = 0; j < cols; j++) out[r * cols + j] = x[r * cols + j] - max - lse;
    }
}

void vn_gather_rows(vn_real *out, const vn_real *src, const size_t *index, size_t count,
                    size_t cols) {
    for (size_t r = 0; r < count; r++) vn_copy(out + r * cols, src + index[r] * cols, cols);
}

void vn_scatter_add_rows(vn_real *dst, const vn_real *src, const size_t *index, size_t count,
                         size_t cols) {
    for (size_t r = 0; r < count; r++) vn_axpy(dst + index[r] * cols, src + r * cols, cols, 1);
}

void vn_copy_cols(vn_real *dst, size_t dst_cols, size_t dst_offset,
                  const vn_real *src, size_t src_cols, size_t src_offset,
                  size_t rows, size_t width, bool accumulate) {
    for (size_t r = 0; r < rows; r++) {
        vn_real *d = dst + r * dst_cols + dst_offset;
        const vn_real *s = src + r * src_cols + src_offset;
        if (accumulate) vn_axpy(d, s, width, 1);
        else vn_copy(d, s, width);
    }
}

void vn_transpose(vn_real *out, const vn_real *x, size_t rows, size_t cols) {
    enum { TILE = 32 };
    for (size_t r0 = 0; r0 < rows; r0 += TILE)
        for (size_t c0 = 0; c0 < cols; c0 += TILE)
            for (size_t r = r0; r < rows && r < r0 + TILE; r++)
                for (size_t c = c0; c < cols && c < c0 + TILE; c++) out[c * rows + r] = x[r * cols + c];
}
