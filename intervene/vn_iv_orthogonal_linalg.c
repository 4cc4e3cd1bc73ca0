/* vn_iv_orthogonal_linalg.c — the dense linear algebra behind the
 * orthogonal parametrisations: strided products through vn_gemm, LU with
 * partial pivoting, blocked triangular solves, and the Householder QR that
 * completes a tall orthonormal matrix to a square orthogonal one.
 *
 * Everything works on row-major vn_real arrays and takes its temporary
 * memory from the caller (`work`), so forward passes can run it without
 * allocating. The O(n³) parts are blocked so that almost all their
 * arithmetic happens inside vn_gemm. */
#include "vn_iv_orthogonal_internal.h"
#include "vn_math.h"
#include "vn_nn.h"

/* ---- products --------------------------------------------------------------- */

void ivo_copy_block(vn_real *dst, size_t ldd, const vn_real *src, size_t lds, size_t rows,
                    size_t cols) {
    for (size_t i = 0; i < rows; i++) {
        const vn_real *s = src + i * lds;
        vn_real *d = dst + i * ldd;
        for (size_t j = 0; j < cols; j++) d[j] = s[j];
    }
}

static void scale_block(vn_real *dst, size_t ldd, const vn_real *src, size_t lds, size_t rows,
                        size_t cols, vn_real alpha) {
    for (size_t i = 0; i < rows; i++) {
        const vn_real *s = src + i * lds;
        vn_real *d = dst + i * ldd;
        for (size_t j = 0; j < cols; j++) d[j] = alpha * s[j];
    }
}

void ivo_gemm(vn_real *c, size_t ldc, const vn_real *a, size_t lda, bool ta,
              const vn_real *b, size_t ldb, bool tb, size_t m, size_t n, size_t k,
              vn_real alpha, bool accumulate, vn_real *work) {
    if (m == 0 || n == 0) return;
    /* op(A) is m × k: stored m × k, or k × m when ta. */
    size_t a_rows = ta ? k : m, a_cols = ta ? m : k;
    size_t b_rows = tb ? n : k, b_cols = tb ? k : n;
    vn_real *next = work;
    if (lda != a_cols || alpha != 1) {
        scale_block(next, a_cols, a, lda, a_rows, a_cols, alpha);
        a = next;
        next += a_rows * a_cols;
    }
    if (ldb != b_cols) {
        ivo_copy_block(next, b_cols, b, ldb, b_rows, b_cols);
        b = next;
        next += b_rows * b_cols;
    }
    if (ldc == n) {
        vn_gemm(c, a, b, m, n, k, ta, tb, accumulate);
        return;
    }
    vn_gemm(next, a, b, m, n, k, ta, tb, false);
    for (size_t i = 0; i < m; i++) {
        vn_real *ci = c + i * ldc;
        const vn_real *ti = next + i * n;
        if (accumulate)
            for (size_t j = 0; j < n; j++) ci[j] += ti[j];
        else
            for (size_t j = 0; j < n; j++) ci[j] = ti[j];
    }
}

/* Row blocks of C = L·B: block I needs only L[I, 0:min(i1, k)], since L is
 * zero above its diagonal. */
void ivo_lower_gemm(vn_real *c, const vn_real *l, size_t ldl, const vn_real *b, size_t n,
                    size_t k, size_t r, bool accumulate, vn_real *work) {
    for (size_t i0 = 0; i0 < n; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < n ? i0 + IVO_NB : n;
        size_t kk = i1 < k ? i1 : k;
        ivo_gemm(c + i0 * r, r, l + i0 * ldl, ldl, false, b, r, false, i1 - i0, r, kk, 1,
                 accumulate, work);
    }
}

/* Row blocks of C = Lᵀ·B: row block I of Lᵀ is column block I of L, zero
 * in rows above i0. */
void ivo_lower_t_gemm(vn_real *c, const vn_real *l, size_t ldl, const vn_real *b, size_t n,
                      size_t k, size_t r, bool accumulate, vn_real *work) {
    for (size_t i0 = 0; i0 < k; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < k ? i0 + IVO_NB : k;
        ivo_gemm(c + i0 * r, r, l + i0 * ldl + i0, ldl, true, b + i0 * r, r, false, i1 - i0, r,
                 n - i0, 1, accumulate, work);
    }
}

/* Column blocks of C = X·Zᵀ: column block J needs only Z[J, j0:k] (Z is
 * zero below its diagonal) and X[:, j0:k]. */
void ivo_gemm_upper_t(vn_real *c, const vn_real *x, const vn_real *z, size_t rows, size_t k,
                      vn_real alpha, bool accumulate, vn_real *work) {
    for (size_t j0 = 0; j0 < k; j0 += IVO_NB) {
        size_t j1 = j0 + IVO_NB < k ? j0 + IVO_NB : k;
        ivo_gemm(c + j0, k, x + j0, k, false, z + j0 * k + j0, k, true, rows, j1 - j0, k - j0,
                 alpha, accumulate, work);
    }
}

/* Row block I of C gets columns 0..i1 only: C[I, 0:i1] = A[I, :]·B[:, 0:i1]
 * with B[:, 0:i1] = bsign·B[0:i1, :]ᵀ (rows of B are contiguous). The
 * rest is the mirror image. */
void ivo_gemm_mirrored(vn_real *c, const vn_real *a, const vn_real *b, size_t n, int bsign,
                       int csign, vn_real *work) {
    for (size_t i0 = 0; i0 < n; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < n ? i0 + IVO_NB : n;
        ivo_gemm(c + i0 * n, n, a + i0 * n, n, false, b, n, true, i1 - i0, i1, n,
                 (vn_real)bsign, false, work);
    }
    for (size_t i = 0; i < n; i++) {
        if (csign < 0) c[i * n + i] = 0;
        for (size_t j = i + 1; j < n; j++)
            c[i * n + j] = csign < 0 ? -c[j * n + i] : c[j * n + i];
    }
}

/* Column blocks of C = X·L: column block J needs only L[j0:n, J] (L is zero
 * above its diagonal) and X[:, j0:n]. */
void ivo_gemm_lower_right(vn_real *c, const vn_real *x, const vn_real *l, size_t r, size_t n,
                          size_t k, vn_real alpha, bool accumulate, vn_real *work) {
    for (size_t j0 = 0; j0 < k; j0 += IVO_NB) {
        size_t j1 = j0 + IVO_NB < k ? j0 + IVO_NB : k;
        ivo_gemm(c + j0, k, x + j0, n, false, l + j0 * k + j0, k, false, r, j1 - j0, n - j0,
                 alpha, accumulate, work);
    }
}

/* Column blocks of C = X·Z: column block J needs only Z[0:j1, J] (Z is
 * zero below its diagonal) and X[:, 0:j1]. */
void ivo_gemm_upper_right(vn_real *c, const vn_real *x, const vn_real *z, size_t r, size_t k,
                          vn_real alpha, bool accumulate, vn_real *work) {
    for (size_t j0 = 0; j0 < k; j0 += IVO_NB) {
        size_t j1 = j0 + IVO_NB < k ? j0 + IVO_NB : k;
        ivo_gemm(c + j0, k, x, k, false, z + j0, k, false, r, j1 - j0, j1, alpha, accumulate,
                 work);
    }
}

/* Blocks (I, J) of C = X·Zᵀ with J ≤ I (lower) or J ≥ I: each needs
 * X[I, j0:k] and Z[J, j0:k]. */
void ivo_gemm_upper_t_half(vn_real *c, const vn_real *x, const vn_real *z, size_t k, bool lower,
                           vn_real *work) {
    for (size_t i0 = 0; i0 < k; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < k ? i0 + IVO_NB : k;
        for (size_t j0 = lower ? 0 : i0; j0 < (lower ? i1 : k); j0 += IVO_NB) {
            size_t j1 = j0 + IVO_NB < k ? j0 + IVO_NB : k;
            ivo_gemm(c + i0 * k + j0, k, x + i0 * k + j0, k, false, z + j0 * k + j0, k, true,
                     i1 - i0, j1 - j0, k - j0, 1, false, work);
        }
    }
}

/* ---- LU with partial pivoting ------------------------------------------------- */

static void swap_rows(vn_real *a, size_t ld, size_t i, size_t j, size_t cols) {
    vn_real *ri = a + i * ld, *rj = a + j * ld;
    for (size_t c = 0; c < cols; c++) {
        vn_real t = ri[c];
        ri[c] = rj[c];
        rj[c] = t;
    }
}

/* Right-looking blocked LU (LAPACK's getrf organisation): factor a panel of
 * IVO_NB columns with unblocked partial pivoting (whole rows swapped), solve
 * the panel's block row of U with its unit lower triangle, and update the
 * trailing matrix with one product, A22 −= L21·U12. */
void ivo_lu_factor(vn_real *a, size_t n, size_t *piv, vn_real *work) {
    for (size_t k0 = 0; k0 < n; k0 += IVO_NB) {
        size_t k1 = k0 + IVO_NB < n ? k0 + IVO_NB : n;
        /* Panel: columns k0..k1, rows k0..n. */
        for (size_t j = k0; j < k1; j++) {
            size_t p = j;
            vn_real best = vn_abs(a[j * n + j]);
            for (size_t i = j + 1; i < n; i++) {
                vn_real v = vn_abs(a[i * n + j]);
                if (v > best) {
                    best = v;
                    p = i;
                }
            }
            piv[j] = p;
            if (p != j) swap_rows(a, n, j, p, n);
            vn_real d = a[j * n + j];
            if (d == 0) continue;
            const vn_real *rj = a + j * n;
            for (size_t i = j + 1; i < n; i++) {
                vn_real *ri = a + i * n;
                vn_real l = ri[j] / d;
                ri[j] = l;
                for (size_t c = j + 1; c < k1; c++) ri[c] -= l * rj[c];
            }
        }
        if (k1 == n) break;
        /* U12 = L11⁻¹ A12 (rows k0..k1, columns k1..n). */
        for (size_t i = k0 + 1; i < k1; i++) {
            vn_real *ri = a + i * n + k1;
            for (size_t t = k0; t < i; t++) {
                vn_real l = a[i * n + t];
                const vn_real *rt = a + t * n + k1;
                for (size_t c = 0; c < n - k1; c++) ri[c] -= l * rt[c];
            }
        }
        /* A22 −= L21 · U12. */
        ivo_gemm(a + k1 * n + k1, n, a + k1 * n + k0, n, false, a + k0 * n + k1, n, false,
                 n - k1, n - k1, k1 - k0, -1, true, work);
    }
}

/* op(T)[i][j] for the triangle stored in t. */
#define TRI(i, j) (trans ? t[(j) * ldt + (i)] : t[(i) * ldt + (j)])

/* Solves op(T)·X = B in place, B n × r contiguous, where T is the upper
 * (upper) or lower triangle of t (row stride ldt), op(T) = Tᵀ when trans,
 * with a unit diagonal when unit. Blocks of IVO_NB rows: first the product
 * with the rows already solved (one vn_gemm), then substitution inside the
 * block. work: n·IVO_NB elements. */
static void trsm(const vn_real *t, size_t ldt, size_t n, vn_real *b, size_t r, bool upper,
                 bool trans, bool unit, vn_real *work) {
    bool lower_eff = upper == trans; /* op(T) is lower triangular */
    size_t nblocks = (n + IVO_NB - 1) / IVO_NB;
    for (size_t q = 0; q < nblocks; q++) {
        size_t blk = lower_eff ? q : nblocks - 1 - q;
        size_t i0 = blk * IVO_NB, i1 = i0 + IVO_NB < n ? i0 + IVO_NB : n;
        vn_real *bi = b + i0 * r;
        if (lower_eff && i0 > 0) {
            /* B[I] −= op(T)[I, 0:i0] · X[0:i0]. */
            if (trans)
                ivo_gemm(bi, r, t + i0, ldt, true, b, r, false, i1 - i0, r, i0, -1, true, work);
            else
                ivo_gemm(bi, r, t + i0 * ldt, ldt, false, b, r, false, i1 - i0, r, i0, -1, true,
                         work);
        } else if (!lower_eff && i1 < n) {
            /* B[I] −= op(T)[I, i1:n] · X[i1:n]. */
            if (trans)
                ivo_gemm(bi, r, t + i1 * ldt + i0, ldt, true, b + i1 * r, r, false, i1 - i0, r,
                         n - i1, -1, true, work);
            else
                ivo_gemm(bi, r, t + i0 * ldt + i1, ldt, false, b + i1 * r, r, false, i1 - i0, r,
                         n - i1, -1, true, work);
        }
        if (lower_eff) {
            for (size_t i = i0; i < i1; i++) {
                vn_real *ri = b + i * r;
                for (size_t s = i0; s < i; s++) {
                    vn_real l = TRI(i, s);
                    const vn_real *rs = b + s * r;
                    for (size_t c = 0; c < r; c++) ri[c] -= l * rs[c];
                }
                if (!unit) {
                    vn_real d = TRI(i, i);
                    for (size_t c = 0; c < r; c++) ri[c] /= d;
                }
            }
        } else {
            for (size_t i = i1; i-- > i0;) {
                vn_real *ri = b + i * r;
                for (size_t s = i + 1; s < i1; s++) {
                    vn_real u = TRI(i, s);
                    const vn_real *rs = b + s * r;
                    for (size_t c = 0; c < r; c++) ri[c] -= u * rs[c];
                }
                if (!unit) {
                    vn_real d = TRI(i, i);
                    for (size_t c = 0; c < r; c++) ri[c] /= d;
                }
            }
        }
    }
}
#undef TRI

void ivo_trsm(const vn_real *t, size_t ldt, size_t n, vn_real *b, size_t r, bool upper,
              bool trans, bool unit, vn_real *work) {
    if (n == 0 || r == 0) return;
    trsm(t, ldt, n, b, r, upper, trans, unit, work);
}

/* A = Πᵀ L U. Solve A X = B: L U X = Π B. Solve Aᵀ X = B: Uᵀ Lᵀ Π X = B. */
void ivo_lu_solve(const vn_real *lu, const size_t *piv, size_t n, vn_real *b, size_t r,
                  bool transpose, vn_real *work) {
    if (n == 0 || r == 0) return;
    if (!transpose) {
        for (size_t j = 0; j < n; j++)
            if (piv[j] != j) swap_rows(b, r, j, piv[j], r);
        trsm(lu, n, n, b, r, false, false, true, work);
        trsm(lu, n, n, b, r, true, false, false, work);
    } else {
        trsm(lu, n, n, b, r, true, true, false, work);
        trsm(lu, n, n, b, r, false, true, true, work);
        for (size_t j = n; j-- > 0;)
            if (piv[j] != j) swap_rows(b, r, j, piv[j], r);
    }
}

/* ---- small helpers -------------------------------------------------------------- */

void ivo_skew_from(vn_real *a, const vn_real *x, size_t n, size_t m, vn_real scale) {
    for (size_t i = 0; i < n; i++) {
        vn_real *ai = a + i * n;
        ai[i] = 0;
        for (size_t j = 0; j < i; j++) {
            vn_real v = j < m ? scale * x[i * m + j] : 0;
            ai[j] = v;
            a[j * n + i] = -v;
        }
    }
}

void ivo_skew_adjoint(vn_real *dx, const vn_real *g, size_t n, size_t m, vn_real scale) {
    for (size_t i = 1; i < n; i++) {
        size_t top = i < m ? i : m;
        for (size_t j = 0; j < top; j++) dx[i * m + j] += scale * (g[i * n + j] - g[j * n + i]);
    }
}

void ivo_symmetrize(vn_real *a, size_t n) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < i; j++) {
            vn_real v = (a[i * n + j] + a[j * n + i]) / 2;
            a[i * n + j] = v;
            a[j * n + i] = v;
        }
}

void ivo_skewize(vn_real *a, size_t n) {
    for (size_t i = 0; i < n; i++) {
        a[i * n + i] = 0;
        for (size_t j = 0; j < i; j++) {
            vn_real v = (a[i * n + j] - a[j * n + i]) / 2;
            a[i * n + j] = v;
            a[j * n + i] = -v;
        }
    }
}

void ivo_identity(vn_real *a, size_t n) {
    vn_fill(a, n * n, 0);
    for (size_t i = 0; i < n; i++) a[i * n + i] = 1;
}

vn_real ivo_trunc(vn_real x) {
    double v = (double)x;
    if (!(vn_fabs(v) < 4503599627370496.0)) return x; /* 2^52: already an integer (or NaN) */
    double t = (double)(int64_t)v;                      /* C casts truncate toward zero */
    return (vn_real)t;
}

size_t ivo_layout_add(ivo_layout *layout, size_t count, size_t elem_size) {
    size_t bytes, start = layout->size;
    if (!vn_size_mul(count, elem_size, &bytes) || !vn_size_add(bytes, 63, &bytes)) {
        layout->overflow = true;
        return 0;
    }
    bytes &= ~(size_t)63;
    if (!vn_size_add(start, bytes, &layout->size)) {
        layout->overflow = true;
        return 0;
    }
    return start;
}

/* ---- the shared shape rule -------------------------------------------------------- */

vn_status ivo_infer_common(vn_context *ctx, vn_node *out, size_t *n_out, size_t *m_out) {
    const char *name = out->op->name;
    const vn_tensor *x = &out->inputs[0]->value, *b = &out->inputs[1]->value;
    char sx[64], sb[64];
    if (x->ndim != 2 || x->shape[1] == 0 || x->shape[1] > x->shape[0])
        return vn_context_fail(ctx, VN_ESHAPE,
                               "%s: original must be an n × m matrix with 1 ≤ m ≤ n, got %s",
                               name, vn_shape_string(x, sx, sizeof sx));
    size_t n = x->shape[0], m = x->shape[1];
    if (b->ndim != 2 || b->shape[0] != n || b->shape[1] != n)
        return vn_context_fail(ctx, VN_ESHAPE, "%s: base must be (%zu, %zu) for original %s, got %s",
                               name, n, n, vn_shape_string(x, sx, sizeof sx),
                               vn_shape_string(b, sb, sizeof sb));
    if (vn_first_nonfinite(x->data, x->numel) != x->numel)
        return vn_context_fail(ctx, VN_ENAN, "%s: original has a non-finite entry", name);
    if (vn_first_nonfinite(b->data, b->numel) != b->numel)
        return vn_context_fail(ctx, VN_ENAN, "%s: base has a non-finite entry", name);
    size_t shape[2] = {n, m};
    vn_status status = vn_tensor_set_shape(&out->value, 2, shape);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s: output size overflows", name);
    /* n·n must be addressable in bytes too (base exists, so it is). */
    *n_out = n;
    *m_out = m;
    return VN_OK;
}

/* ---- gradcheck cases ----------------------------------------------------------------- */

vn_node *ivo_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng, double scale) {
    static const size_t shapes[][2] = {{4, 4}, {5, 2}, {3, 3}, {6, 6}, {6, 3},
                                       {1, 1}, {6, 1}, {4, 4}, {5, 4}, {6, 2}};
    static const double scales[] = {1, 1, 1, 2.5, 1.5, 1, 1, 6, 1, 1};
    static const bool base_param[] = {false, false, true, false, false,
                                      false, false, false, true, true};
    if (index < 0 || (size_t)index >= VN_ARRAY_COUNT(shapes)) return NULL;
    size_t n = shapes[index][0], m = shapes[index][1];
    size_t bshape[2] = {n, n};
    vn_node *base = base_param[index] ? vn_param(ctx, 2, bshape) : vn_constant(ctx, 2, bshape);
    if (!base) return NULL;
    vn_status status = vn_nn_init_orthogonal(&base->value, 1.0, rng, ctx->arena);
    if (status != VN_OK) {
        vn_context_fail(ctx, status, "%s: example base", op->name);
        return NULL;
    }
    vn_node *x = vn_example_param(ctx, rng, 2, shapes[index], -scale * scales[index],
                                  scale * scales[index]);
    if (!x) return NULL;
    for (size_t j = 0; j < m; j++) x->value.data[j * m + j] = (j % 2) ? (vn_real)1.5 : (vn_real)-1.5;
    vn_node *inputs[2] = {x, base};
    return vn_apply(ctx, op, inputs, 2, NULL);
}

/* ---- completion of a tall orthonormal matrix ---------------------------------------- */

/* x[j0..] −= tau·(u·x)·u over rows j.. of the row-major rows × cols matrix x,
 * u having an implicit 1 at row j (u[j] is not read); rows are walked so
 * reads are contiguous, and each dot product sums over rows in order.
 * dot is scratch of cols doubles. */
static void apply_reflector(double *x, size_t cols, size_t rows, size_t j, size_t j0, const double *u,
                            double tau, double *dot) {
    for (size_t col = j0; col < cols; col++) dot[col] = x[j * cols + col];
    for (size_t i = j + 1; i < rows; i++) {
        const double *row = x + i * cols;
        for (size_t col = j0; col < cols; col++) dot[col] += u[i] * row[col];
    }
    for (size_t col = j0; col < cols; col++) {
        dot[col] *= tau;
        x[j * cols + col] -= dot[col];
    }
    for (size_t i = j + 1; i < rows; i++) {
        double *row = x + i * cols;
        for (size_t col = j0; col < cols; col++) row[col] -= dot[col] * u[i];
    }
}

void ivo_complete_columns(const vn_real *r, size_t n, size_t m, vn_real *out, size_t ldo,
                          double *work) {
    size_t k = n - m;
    double *w = work;             /* n × m: R, then its reflectors */
    double *c = w + n * m;        /* n × k */
    double *tau = c + n * k;      /* m */
    double *u = tau + m;          /* n: the current reflector, contiguous */
    double *dot = u + n;          /* n */
    for (size_t i = 0; i < n * m; i++) w[i] = (double)r[i];
    /* Householder QR, dlarfg's choice of reflector: for x = W[j:, j] with
     * head α and tail norm σ, β = −sign(α)·‖x‖, τ = (β − α)/β and
     * w = (1, x_tail/(α − β)); τ = 0 (no reflection) when σ = 0. */
    for (size_t j = 0; j < m; j++) {
        double alpha = w[j * m + j], sigma = 0;
        for (size_t i = j + 1; i < n; i++) sigma += w[i * m + j] * w[i * m + j];
        if (sigma == 0) {
            tau[j] = 0;
            continue;
        }
        double norm = vn_sqrt_d(alpha * alpha + sigma);
        double beta = alpha >= 0 ? -norm : norm;
        tau[j] = (beta - alpha) / beta;
        double s = 1 / (alpha - beta);
        for (size_t i = j + 1; i < n; i++) w[i * m + j] = u[i] = w[i * m + j] * s;
        w[j * m + j] = beta;
        apply_reflector(w, m, n, j, j + 1, u, tau[j], dot);
    }
    /* C = H_1 ⋯ H_m [0; I], applied from the last reflector to the first. */
    for (size_t i = 0; i < n * k; i++) c[i] = 0;
    for (size_t i = 0; i < k; i++) c[(m + i) * k + i] = 1;
    for (size_t j = m; j-- > 0;) {
        if (tau[j] == 0) continue;
        for (size_t i = j + 1; i < n; i++) u[i] = w[i * m + j];
        apply_reflector(c, k, n, j, 0, u, tau[j], dot);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t col = 0; col < k; col++) out[i * ldo + col] = (vn_real)c[i * k + col];
}
