/* vn_iv_orthogonal_internal.h — shared pieces of the orthogonal
 * parametrisations (vn_iv_orthogonal_*.c, vn_iv_rotation.c). Not installed.
 *
 * Matrices are row-major vn_real arrays. "ld" is a row stride in elements.
 * Nothing here allocates: every routine that needs temporary memory takes a
 * `work` buffer whose size in elements is given by the matching *_WORK
 * macro or stated next to the function. */
#ifndef VN_IV_ORTHOGONAL_INTERNAL_H
#define VN_IV_ORTHOGONAL_INTERNAL_H

#include "vn_iv_rotation.h"
#include "vn_kernels.h"
#include "vn_op_util.h"

/* Block size of the blocked LU and triangular solves. */
#define IVO_NB 64

/* ---- products ------------------------------------------------------------- */

/* C (m × n, row stride ldc) = alpha · op(A) · op(B), or += when accumulate.
 * op(A) is m × k (A stored with row stride lda, transposed when ta), op(B)
 * is k × n (row stride ldb, transposed when tb). Operands that are not
 * contiguous, or A when alpha ≠ 1, are copied into `work` first, so the
 * product always runs through vn_gemm. work: IVO_GEMM_WORK(m, n, k)
 * elements. C must not overlap A or B. */
#define IVO_GEMM_WORK(m, n, k) ((m) * (k) + (k) * (n) + (m) * (n))
void ivo_gemm(vn_real *c, size_t ldc, const vn_real *a, size_t lda, bool ta,
              const vn_real *b, size_t ldb, bool tb, size_t m, size_t n, size_t k,
              vn_real alpha, bool accumulate, vn_real *work);

/* Products with a lower trapezoidal L (n × k, row stride ldl, zero above
 * its diagonal — the zeros must be stored), skipping its zero blocks:
 *   ivo_lower_gemm:   C (n × r) (+)= L · B,   B k × r;   work: IVO_NB·k
 *   ivo_lower_t_gemm: C (k × r) (+)= Lᵀ · B,  B n × r;   work: n·IVO_NB
 * B and C contiguous. */
void ivo_lower_gemm(vn_real *c, const vn_real *l, size_t ldl, const vn_real *b, size_t n,
                    size_t k, size_t r, bool accumulate, vn_real *work);
void ivo_lower_t_gemm(vn_real *c, const vn_real *l, size_t ldl, const vn_real *b, size_t n,
                      size_t k, size_t r, bool accumulate, vn_real *work);

/* C (rows × k) (+)= alpha · X · Zᵀ for Z k × k upper triangular (zeros
 * stored below the diagonal), skipping Z's zero blocks; all contiguous.
 * work: IVO_GEMM_WORK(rows, IVO_NB, k) elements. */
void ivo_gemm_upper_t(vn_real *c, const vn_real *x, const vn_real *z, size_t rows, size_t k,
                      vn_real alpha, bool accumulate, vn_real *work);

/* C = A·B (n × n, contiguous) for a product known to be symmetric
 * (csign = +1) or skew-symmetric (csign = −1), with B symmetric (bsign = +1)
 * or skew (bsign = −1): only the lower block triangle is multiplied (half
 * the flops), the upper triangle is its mirror image. work: 2·IVO_NB·n. */
void ivo_gemm_mirrored(vn_real *c, const vn_real *a, const vn_real *b, size_t n, int bsign,
                       int csign, vn_real *work);

/* The blocks of C = X·Zᵀ (all k × k, contiguous; Z upper triangular with
 * zeros stored below) on and below (lower) or on and above the block
 * diagonal of IVO_NB × IVO_NB blocks; other blocks of C are not written.
 * work: IVO_GEMM_WORK(IVO_NB, IVO_NB, k) elements. */
void ivo_gemm_upper_t_half(vn_real *c, const vn_real *x, const vn_real *z, size_t k, bool lower,
                           vn_real *work);

/* Products with a triangular right operand, by column blocks (all
 * contiguous):
 *   ivo_gemm_lower_right: C (r × k) (+)= alpha · X (r × n) · L, L n × k
 *                         lower trapezoidal (zeros stored above the diagonal);
 *                         work: IVO_GEMM_WORK(r, IVO_NB, n)
 *   ivo_gemm_upper_right: C (r × k) (+)= alpha · X (r × k) · Z, Z k × k upper
 *                         triangular (zeros stored below the diagonal);
 *                         work: IVO_GEMM_WORK(r, IVO_NB, k) */
void ivo_gemm_lower_right(vn_real *c, const vn_real *x, const vn_real *l, size_t r, size_t n,
                          size_t k, vn_real alpha, bool accumulate, vn_real *work);
void ivo_gemm_upper_right(vn_real *c, const vn_real *x, const vn_real *z, size_t r, size_t k,
                          vn_real alpha, bool accumulate, vn_real *work);

/* ---- LU with partial pivoting --------------------------------------------- */

/* Factors the n × n matrix a in place: Π·A = L·U with L unit lower
 * triangular (below the diagonal of a), U upper (on and above it) and Π the
 * row interchanges piv[0..n) (row j was swapped with row piv[j] ≥ j at step
 * j, whole rows, in order). A zero pivot is left in place (the solves then
 * divide by zero, giving inf/NaN, which the callers' inputs rule out).
 * work: IVO_LU_WORK(n) elements. */
#define IVO_LU_WORK(n) ((n) * (n) + 2 * (n) * (size_t)IVO_NB)
void ivo_lu_factor(vn_real *a, size_t n, size_t *piv, vn_real *work);

/* Solves A·X = B (transpose false) or Aᵀ·X = B (true) in place, with A
 * given by ivo_lu_factor; B is n × r, contiguous. work: IVO_SOLVE_WORK(n)
 * elements. */
#define IVO_SOLVE_WORK(n) ((n) * (size_t)IVO_NB)
void ivo_lu_solve(const vn_real *lu, const size_t *piv, size_t n, vn_real *b, size_t r,
                  bool transpose, vn_real *work);

/* Solves op(T)·X = B in place, B n × r contiguous: T is the upper (upper)
 * or lower triangle of t (n × n, row stride ldt), op(T) = Tᵀ when trans,
 * unit diagonal when unit. work: IVO_SOLVE_WORK(n) elements. */
void ivo_trsm(const vn_real *t, size_t ldt, size_t n, vn_real *b, size_t r, bool upper,
              bool trans, bool unit, vn_real *work);

/* ---- small helpers ---------------------------------------------------------- */

/* The skew matrix A (n × n) of the parametrisation from X (n × m):
 * A[i][j] = X[i][j] and A[j][i] = −X[i][j] for i > j, j < m; 0 elsewhere
 * (torch: tril(X) padded with zero columns to n × n, minus its transpose). */
void ivo_skew_from(vn_real *a, const vn_real *x, size_t n, size_t m, vn_real scale);

/* dX[i][j] += scale · (G[i][j] − G[j][i]) for i > j, j < m: the adjoint of
 * ivo_skew_from applied to a gradient G (n × n). */
void ivo_skew_adjoint(vn_real *dx, const vn_real *g, size_t n, size_t m, vn_real scale);

/* In place: a ← (a + aᵀ)/2 (sym) or (a − aᵀ)/2 (skew), n × n. */
void ivo_symmetrize(vn_real *a, size_t n);
void ivo_skewize(vn_real *a, size_t n);

/* Copies a rows × cols block (row stride lds) to dst (row stride ldd). */
void ivo_copy_block(vn_real *dst, size_t ldd, const vn_real *src, size_t lds, size_t rows,
                    size_t cols);

/* Writes the n × n identity. */
void ivo_identity(vn_real *a, size_t n);


/* Rounds toward zero, as a value (PyTorch's int() cast of X's diagonal). */
vn_real ivo_trunc(vn_real x);

/* Byte layout of an op's saved memory: consecutive regions, each 64-byte
 * aligned. ivo_layout_add reserves `bytes` and returns the region's offset;
 * the total (or SIZE_MAX after an overflow) is in layout->size. */
typedef struct ivo_layout {
    size_t size;
    bool overflow;
} ivo_layout;
size_t ivo_layout_add(ivo_layout *layout, size_t count, size_t elem_size);

/* Shared shape rule of the three ops: inputs (X n × m, base n × n) with
 * 1 ≤ m ≤ n, finite values. Sets out's shape to n × m. */
vn_status ivo_infer_common(vn_context *ctx, vn_node *out, size_t *n, size_t *m);

/* Shared gradcheck cases: index 0..9 build (X, base) leaves of the shapes
 * (4, 4), (5, 2), (3, 3), (6, 6) and (6, 3) with larger X, (1, 1), (6, 1),
 * (4, 4) with X large enough for two squarings in matrix_exp, (5, 4),
 * (6, 2); base is orthogonal, and a PARAM (its gradient checked too) in
 * cases 2, 8 and 9, else CONST. Returns op's node, NULL past the end. X has
 * entries in [−scale·k, scale·k) (k per case), its diagonal set to ∓1.5
 * (away from the integers where householder's column signs change). */
vn_node *ivo_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng, double scale);

/* Column completion of an orthonormal n × m matrix (in double): writes the
 * n × (n − m) block `out` (row stride ldo) so that [R, out] is orthogonal.
 * See vn_iv_rotation.h for the construction. work: n·n + 3n doubles. */
void ivo_complete_columns(const vn_real *r, size_t n, size_t m, vn_real *out, size_t ldo,
                          double *work);

#endif
