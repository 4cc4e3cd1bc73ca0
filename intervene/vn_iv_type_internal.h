/* vn_iv_type_internal.h — the pieces the intervention type files share
 * (vn_iv_type_*.c): shape rules, the two families of forward/backward
 * arithmetic, and gradcheck example inputs; and a message helper the config
 * and file readers share. Not installed.
 *
 * Two families cover every built-in type:
 *
 *   the mix family      y = (α₀ + α₁·m) ⊙ x + β₁·m ⊙ s
 *                       (Vanilla/Skip α = (1, −1), β₁ = 1; Addition (1, 0), 1;
 *                       Subtraction (1, 0), −1; Zero (1, −1), 0; Collect
 *                       (0, 1), 0; SigmoidMask is Vanilla's with a soft m);
 *   the rotated family  U = (1 − m) ⊙ xR + m ⊙ sR,  y = U·Rᵀ
 *                       (RotatedSpace with a 0/1 m per row; Boundless and
 *                       SigmoidMaskRotated with one soft m for every row).
 *
 * m is either one row per row of x (stride w) or one row for all (stride 0).
 * For a 0/1 m both families select exactly: (1 − 1)·a + 1·b = b and
 * (1 − 0)·a + 0·b = a in IEEE arithmetic for finite a, b. */
#ifndef VN_IV_TYPE_INTERNAL_H
#define VN_IV_TYPE_INTERNAL_H

#include "vn_iv_types.h"
#include "vn_math.h"
#include "vn_op_util.h"

/* ---- shape rules --------------------------------------------------------------- */

/* x viewed as rows × w: w ≥ 1 and numel divisible by w. */
vn_status ivt_infer_rows(vn_context *ctx, vn_node *out, const vn_tensor *x, size_t w, size_t *rows);
/* s has x's shape. */
vn_status ivt_infer_source(vn_context *ctx, vn_node *out, const vn_tensor *x, const vn_tensor *s);
/* mask is (1 or rows) × c, 2-D; *stride is 0 (one shared row) or c. */
vn_status ivt_infer_mask(vn_context *ctx, vn_node *out, const vn_tensor *mask, size_t rows, size_t c,
                         size_t *stride);
/* t has exactly `count` elements (any shape); `what` names it in messages. */
vn_status ivt_infer_count(vn_context *ctx, vn_node *out, const vn_tensor *t, size_t count,
                          const char *what);
/* r is a 2-D rows_r × cols_r matrix with rows_r == w (cols_r any ≥ 1 when
 * cols == 0, else == cols). */
vn_status ivt_infer_matrix(vn_context *ctx, vn_node *out, const vn_tensor *r, size_t w, size_t cols,
                           const char *what);

/* The type's apply helper reports missing inputs: VN_EINVAL naming the op
 * and the argument. Returns NULL. */
vn_node *ivt_missing(vn_context *ctx, const vn_iv_type *type, const char *what);

/* ---- the mix family ------------------------------------------------------------- */

typedef struct ivt_mix {
    vn_real a0, a1, b1;
} ivt_mix;

/* y[r][j] = (a0 + a1·m_rj) x_rj + b1·m_rj s_rj (s may be NULL when b1 = 0). */
void ivt_mix_forward(const ivt_mix *k, vn_real *y, const vn_real *x, const vn_real *s,
                     const vn_real *m, size_t m_stride, size_t rows, size_t w);
/* Adds dx += (a0 + a1 m) ⊙ G, ds += b1 m ⊙ G, dm[j] += Σ_rows G ⊙ (a1 x + b1 s)
 * (dm accumulates over rows at m's stride: m_stride 0 sums every row into
 * one row). Any of dx, ds, dm may be NULL. */
void ivt_mix_backward(const ivt_mix *k, const vn_real *g, const vn_real *x, const vn_real *s,
                      const vn_real *m, size_t m_stride, size_t rows, size_t w, vn_real *dx,
                      vn_real *ds, vn_real *dm);

/* Forward/backward of the mix ops whose inputs are (x, s, mask) or (x, mask)
 * and whose constants are an ivt_mix in op->data (Vanilla, Addition,
 * Subtraction, Zero, Collect, Skip). The mask is CONST, so it gets no
 * gradient. */
vn_status ivt_mask_mix_infer(vn_context *ctx, vn_node *out);
void ivt_mask_mix_forward(vn_node *out);
vn_status ivt_mask_mix_backward(vn_context *ctx, vn_node *out);
/* Gradcheck cases shared by those ops: (rows, w) = (3, 4) with a mask per
 * row, (2, 3, 5) with one shared row, (6, 1). */
vn_node *ivt_mask_mix_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng);
/* apply() of those ops: (base, source?, mask). */
vn_node *ivt_mask_mix_apply(vn_context *ctx, const vn_iv_type *type, const vn_iv_apply_args *args);

/* ---- the rotated family ---------------------------------------------------------- */

/* Saved memory of a rotated-family op: xR, sR and U (rows × n each) and, for
 * soft masks, the mask m (n). ivt_rot_saved_bytes gives its size (0 on
 * overflow, which infer reports). */
size_t ivt_rot_saved_bytes(size_t rows, size_t n, bool soft_mask);
typedef struct ivt_rot_saved {
    vn_real *xr, *sr, *u, *m;
} ivt_rot_saved;
ivt_rot_saved ivt_rot_saved_at(void *saved, size_t rows, size_t n);

/* U = (1 − m) ⊙ xR + m ⊙ sR, y = U·Rᵀ; keeps xR, sR, U in saved. */
void ivt_rot_forward(vn_real *y, const vn_real *x, const vn_real *s, const vn_real *r,
                     const vn_real *m, size_t m_stride, size_t rows, size_t n,
                     const ivt_rot_saved *saved);
/* With dU = G·R:  dR += Gᵀ·U + xᵀ·((1 − m) ⊙ dU) + sᵀ·(m ⊙ dU),
 * dx += ((1 − m) ⊙ dU)·Rᵀ, ds += (m ⊙ dU)·Rᵀ, dm[j] += Σ_rows dU ⊙ (sR − xR)
 * (at m's stride). Any of dx, ds, dr, dm may be NULL. Takes 3·rows·n
 * scratch elements from ctx. */
vn_status ivt_rot_backward(vn_context *ctx, const vn_real *g, const vn_real *x, const vn_real *s,
                           const vn_real *r, const vn_real *m, size_t m_stride, size_t rows,
                           size_t n, const ivt_rot_saved *saved, vn_real *dx, vn_real *ds,
                           vn_real *dr, vn_real *dm);

/* ---- sigmoid masks (vn_iv_type_sigmoid_mask.c) -------------------------------- */

/* The soft mask m = σ(θ/T) with θ = out->inputs[theta] (n elements) and
 * T = out->inputs[theta + 1] (1 element). The shape rule checks both (T
 * finite and non-zero); values writes m (n); grads adds, from dm,
 * dθ_j += dm_j σ'_j / T and dT += −Σ_j dm_j σ'_j θ_j / T² (σ' = m(1 − m)). */
vn_status ivt_sigmoid_params_infer(vn_context *ctx, vn_node *out, int theta, size_t n);
void ivt_sigmoid_mask_values(const vn_node *out, int theta, vn_real *m, size_t n);
void ivt_sigmoid_mask_grads(vn_node *out, int theta, const vn_real *dm, size_t n);

/* ---- small math ------------------------------------------------------------------ */

/* A temperature an op can divide by: finite and non-zero. */
static inline bool ivt_temperature_ok(double t) { return vn_isfinite(t) && t != 0; }

/* σ(z) = 1/(1 + e^(−z)), without overflow for large |z|. */
double ivt_sigmoid(double z);

/* ---- gradcheck inputs ------------------------------------------------------------- */

/* A CONST 0/1 mask of rows × c with random entries, each row holding at
 * least one 1 and (for c > 1) one 0. */
vn_node *ivt_example_mask(vn_context *ctx, vn_rng *rng, size_t rows, size_t c);
/* A PARAM leaf of the given 2-D shape with entries in [low, high). */
vn_node *ivt_example_matrix(vn_context *ctx, vn_rng *rng, size_t rows, size_t cols, double low,
                            double high);

#endif
