/* vn_iv_rotation.h — trainable orthogonal matrices, as PyTorch's
 * torch.nn.utils.parametrizations.orthogonal computes them.
 *
 * A rotation is an n × m matrix R with orthonormal columns (m ≤ n; m = n is
 * a square orthogonal matrix). It is not trained directly: R is a function
 * of a trainable matrix X (PyTorch's `original`, n × m) and a fixed buffer
 * B (PyTorch's `base`, n × n, orthogonal), through one of three maps. Let
 * L be the strictly lower triangle of X restricted to its m columns and
 * padded with zero columns to n × n, and A = L − Lᵀ (skew-symmetric); let
 * E = I[:, :m] be the first m columns of the identity.
 *
 *   matrix_exp   R = B · expm(A) · E          (pyvene's default for m = n)
 *   cayley       R = B · (I − A/2)⁻¹(I + A/2) · E
 *   householder  R = B · H_1 ⋯ H_m · E · D    (pyvene's default for m < n)
 *                with H_j = I − τ_j v_j v_jᵀ, v_j = e_j + L[:, j],
 *                τ_j = 2/‖v_j‖², and D = diag(trunc(X_jj)) — PyTorch's
 *                int() cast of X's diagonal, which gets no gradient and is
 *                −1 after initialisation.
 *
 * These are exactly PyTorch's formulas (torch/nn/utils/parametrizations.py,
 * `_Orthogonal.forward`): for matrix_exp and cayley torch builds
 * A = Y − Yᵀ from Y = [tril(X), 0] (the diagonal cancels) and keeps the
 * first m columns; for householder it calls householder_product on
 * tril(X, −1) with tau = 2/(1 + Σ_i X_ij², i > j) and multiplies column j by
 * int(X_jj). Entries of X on or above the diagonal never get a gradient
 * (and neither does anything in columns ≥ m). Cayley follows torch's
 * convention: torch solves (I − A/2)·Q = (I + A/2).
 *
 * Each map is an autograd op (inputs X and B, output R) with its own
 * backward; gradients flow to X, and to B as well when B requires one
 * (normally B is a CONST node and does not). See intervene/README.md for
 * the algorithms (Padé scaling and squaring for expm with its exact
 * adjoint, LU with partial pivoting for cayley, a blocked compact-WY form
 * for householder) and their costs.
 *
 * Memory: vn_iv_rotation_init allocates X and B in the context's arena (as
 * long-lived leaves: create the rotation before the training loop's mark).
 * Applying an op allocates its output and saved memory in the context
 * (about 12 + s matrices of n × n for matrix_exp with s squarings, 15 + s
 * in the double build; 3 for cayley; a few n × m plus m × m for
 * householder); its forward allocates nothing else. Its backward takes
 * temporary memory from the context (8 to 11 n × n matrices for matrix_exp,
 * 2 for cayley, a few n × m for householder) and returns it before it ends.
 * Nothing here calls an allocator other than the context's arena. */
#ifndef VN_IV_ROTATION_H
#define VN_IV_ROTATION_H

#include "vn_graph.h"

/* ---- maps ------------------------------------------------------------------- */

typedef enum vn_iv_orth_map {
    VN_IV_ORTH_MATRIX_EXP,
    VN_IV_ORTH_HOUSEHOLDER,
    VN_IV_ORTH_CAYLEY,
    VN_IV_ORTH_MAP_COUNT
} vn_iv_orth_map;

/* "matrix_exp", "householder", "cayley"; "?" when out of range. */
const char *vn_iv_orth_map_name(vn_iv_orth_map map);

/* Exact, case-sensitive lookup of the three names; VN_EINVAL otherwise. */
vn_status vn_iv_orth_map_lookup(const char *name, vn_iv_orth_map *out);

/* PyTorch's default (orthogonal_map=None): matrix_exp when m == n,
 * householder when m < n. */
vn_iv_orth_map vn_iv_orth_map_default(size_t n, size_t m);

/* ---- ops ---------------------------------------------------------------------- */

/* The op definitions, named "orthogonal_matrix_exp", "orthogonal_householder"
 * and "orthogonal_cayley". Inputs: X (n × m, 1 ≤ m ≤ n) and B (n × n), both
 * finite (a non-finite entry is VN_ENAN); output R (n × m). No attrs. */
extern const vn_op vn_iv_op_orthogonal_matrix_exp;
extern const vn_op vn_iv_op_orthogonal_householder;
extern const vn_op vn_iv_op_orthogonal_cayley;

/* The op for a map; NULL when out of range. */
const vn_op *vn_iv_orth_op(vn_iv_orth_map map);

/* Registers the three ops with vn_op_register (so gradcheck loops and the
 * command line see them). Idempotent. VN_OK or vn_op_register's error. */
vn_status vn_iv_rotation_register_ops(void);

/* R = map(X, B) as a graph node (see the top of this file). NULL with the
 * error on ctx for a bad map, NULL inputs or bad shapes. */
vn_node *vn_iv_orthogonal(vn_context *ctx, vn_iv_orth_map map, vn_node *original, vn_node *base);

/* ---- the rotation object ------------------------------------------------------- */

typedef struct vn_iv_rotation {
    size_t n, m;            /* R is n × m, 1 ≤ m ≤ n */
    vn_iv_orth_map map;
    vn_node *original;      /* X: a PARAM leaf, n × m (PyTorch's `original`) */
    vn_node *base;          /* B: a CONST leaf, n × n (PyTorch's `base` buffer) */
} vn_iv_rotation;

/* Creates X and B in ctx (named "rotate_layer.parametrizations.weight.original"
 * and "rotate_layer.parametrizations.weight.0.base") and initialises them as
 * PyTorch does for `orthogonal(layer)` after `nn.init.orthogonal_`:
 *   Q0 = vn_nn_init_orthogonal of an n × m matrix drawn from `rng`;
 *   then vn_iv_rotation_set_weight(Q0): B = Q0 (square) or the completion of
 *   Q0 described there (tall), and X = −I.
 * So R = Q0 at initialisation. With rng NULL, Q0 = E (the first m columns of
 * the identity) and B = I. VN_EINVAL for a bad map or m == 0 or m > n,
 * VN_EOVERFLOW / VN_ENOMEM for sizes; the error is also recorded on ctx.
 * Allocates the two leaves (and temporary memory, returned) in ctx. */
vn_status vn_iv_rotation_init(vn_iv_rotation *rot, vn_context *ctx, size_t n, size_t m,
                              vn_iv_orth_map map, vn_rng *rng);

/* The tolerance vn_iv_rotation_set_weight uses when given tol ≤ 0:
 * max(1e-5, 10·n·FLT_EPSILON) — PyTorch's orthogonality test for float32
 * matrices (`_is_orthogonal`), with a floor for small n. */
double vn_iv_rotation_default_tol(size_t n);

/* Largest entry of |RᵀR − I| for an n × m matrix R (computed in double).
 * This is the measure torch's `_is_orthogonal` compares with its atol. */
double vn_iv_orthogonality_error(const vn_real *r, size_t n, size_t m);

/* Re-bases the rotation on a given weight R (n × m, row-major, e.g. loaded
 * from a file), as PyTorch does on `layer.weight = R`: X = −I and
 *   square (m = n): B = R;
 *   tall (m < n):   B = [R, C], R copied exactly into the first m columns,
 *                   C (n × (n − m)) the last n − m columns of the orthogonal
 *                   factor of R's Householder QR, computed in double:
 *                   R = H_1 ⋯ H_m [S; 0] with H_j = I − β_j w_j w_jᵀ,
 *                   w_j = (0, …, 0, 1, u_j) chosen as LAPACK's dlarfg chooses
 *                   it, and C = H_1 ⋯ H_m [0; I_{n−m}]. This completion is
 *                   deterministic (PyTorch's draws random columns instead, so
 *                   its training from there is not step-for-step the same).
 * Afterwards the op gives R back exactly: B·E = R, and X = −I maps to E in
 * all three maps. R must have orthonormal columns: when
 * vn_iv_orthogonality_error(R) > tol (tol ≤ 0 means
 * vn_iv_rotation_default_tol(n)) or R has a non-finite entry, nothing
 * changes and the call fails with VN_EINVAL (VN_ENAN for non-finite) and a
 * message on ctx stating the error and the tolerance. Optimizer state kept
 * elsewhere for X is not reset. Uses temporary memory from ctx (returned). */
vn_status vn_iv_rotation_set_weight(vn_iv_rotation *rot, vn_context *ctx, const vn_real *r,
                                    double tol);

/* Loads PyTorch's parametrisation state: copies X (n × m) and B (n × n)
 * (either may be NULL to keep the current value). R is then exactly what the
 * op computes from them. VN_ENAN (message on ctx) for a non-finite entry,
 * in which case nothing changes. */
vn_status vn_iv_rotation_set_state(vn_iv_rotation *rot, vn_context *ctx, const vn_real *original,
                                   const vn_real *base);

/* R as a graph node: vn_iv_orthogonal(ctx, rot->map, rot->original,
 * rot->base). Build it once per step and use the node wherever R is needed. */
vn_node *vn_iv_rotation_weight(const vn_iv_rotation *rot, vn_context *ctx);

/* Computes the values of R into out (n × m, row-major) without recording a
 * node: the op's forward, run in ctx's arena and released afterwards.
 * VN_OK or the context's error. */
vn_status vn_iv_rotation_compute(const vn_iv_rotation *rot, vn_context *ctx, vn_real *out);

#endif
