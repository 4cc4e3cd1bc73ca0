/* vn_iv_rotation.c — the rotation object (PyTorch's orthogonal
 * parametrisation state: `original` X and `base` B), its initialisation and
 * re-basing, and the registry of the three orthogonal-map ops. The ops
 * themselves live in vn_iv_orthogonal_{expm,cayley,householder}.c. */
#include "vn_iv_orthogonal_internal.h"
#include "vn_math.h"
#include "vn_nn.h"

static const char *const map_names[VN_IV_ORTH_MAP_COUNT] = {
    [VN_IV_ORTH_MATRIX_EXP] = "matrix_exp",
    [VN_IV_ORTH_HOUSEHOLDER] = "householder",
    [VN_IV_ORTH_CAYLEY] = "cayley",
};

const char *vn_iv_orth_map_name(vn_iv_orth_map map) {
    return (unsigned)map < VN_IV_ORTH_MAP_COUNT ? map_names[map] : "?";
}

vn_status vn_iv_orth_map_lookup(const char *name, vn_iv_orth_map *out) {
    if (!name) return VN_EINVAL;
    for (int i = 0; i < VN_IV_ORTH_MAP_COUNT; i++) {
        if (vn_strcmp(name, map_names[i]) == 0) {
            if (out) *out = (vn_iv_orth_map)i;
            return VN_OK;
        }
    }
    return VN_EINVAL;
}

vn_iv_orth_map vn_iv_orth_map_default(size_t n, size_t m) {
    return n == m ? VN_IV_ORTH_MATRIX_EXP : VN_IV_ORTH_HOUSEHOLDER;
}

const vn_op *vn_iv_orth_op(vn_iv_orth_map map) {
    switch (map) {
    case VN_IV_ORTH_MATRIX_EXP: return &vn_iv_op_orthogonal_matrix_exp;
    case VN_IV_ORTH_HOUSEHOLDER: return &vn_iv_op_orthogonal_householder;
    case VN_IV_ORTH_CAYLEY: return &vn_iv_op_orthogonal_cayley;
    case VN_IV_ORTH_MAP_COUNT: break;
    }
    return NULL;
}

vn_status vn_iv_rotation_register_ops(void) {
    for (int i = 0; i < VN_IV_ORTH_MAP_COUNT; i++) {
        vn_status status = vn_op_register(vn_iv_orth_op((vn_iv_orth_map)i));
        if (status != VN_OK) return status;
    }
    return VN_OK;
}

vn_node *vn_iv_orthogonal(vn_context *ctx, vn_iv_orth_map map, vn_node *original, vn_node *base) {
    const vn_op *op = vn_iv_orth_op(map);
    if (!op) {
        if (ctx->status == VN_OK)
            vn_context_fail(ctx, VN_EINVAL, "orthogonal: unknown map %d", (int)map);
        return NULL;
    }
    vn_node *inputs[2] = {original, base};
    return vn_apply(ctx, op, inputs, 2, NULL);
}

/* ---- the rotation object ------------------------------------------------------------ */

double vn_iv_rotation_default_tol(size_t n) {
    double tol = 10.0 * (double)n * (double)FLT_EPSILON;
    return tol > 1e-5 ? tol : 1e-5;
}

double vn_iv_orthogonality_error(const vn_real *r, size_t n, size_t m) {
    /* Column a of RᵀR, entries b ≥ a, accumulated row by row (contiguous
     * reads) in chunks of CHUNK columns; each dot product still sums over
     * i in ascending order. */
    enum { CHUNK = 256 };
    double dot[CHUNK];
    double worst = 0;
    for (size_t a = 0; a < m; a++) {
        for (size_t b0 = a; b0 < m; b0 += CHUNK) {
            size_t width = m - b0 < CHUNK ? m - b0 : CHUNK;
            for (size_t j = 0; j < width; j++) dot[j] = 0;
            for (size_t i = 0; i < n; i++) {
                const vn_real *row = r + i * m;
                double ra = (double)row[a];
                for (size_t j = 0; j < width; j++) dot[j] += ra * (double)row[b0 + j];
            }
            for (size_t j = 0; j < width; j++) {
                double err = vn_fabs(dot[j] - (a == b0 + j ? 1.0 : 0.0));
                if (!(err <= worst)) worst = err; /* NaN wins */
            }
        }
    }
    return worst;
}

static vn_status rotation_fail(vn_context *ctx, vn_status status, const char *what) {
    return vn_context_fail(ctx, status, "rotation: %s", what);
}

vn_status vn_iv_rotation_init(vn_iv_rotation *rot, vn_context *ctx, size_t n, size_t m,
                              vn_iv_orth_map map, vn_rng *rng) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!rot) return rotation_fail(ctx, VN_EINVAL, "NULL rotation");
    if ((unsigned)map >= VN_IV_ORTH_MAP_COUNT)
        return vn_context_fail(ctx, VN_EINVAL, "rotation: unknown orthogonal map %d", (int)map);
    if (m == 0 || m > n)
        return vn_context_fail(ctx, VN_EINVAL,
                               "rotation: shape (%zu, %zu) needs 1 ≤ m ≤ n (columns at most rows)",
                               n, m);
    size_t nn;
    if (!vn_size_mul(n, n, &nn) || !vn_size_mul(nn, sizeof(double), &nn))
        return vn_context_fail(ctx, VN_EOVERFLOW, "rotation: n = %zu is too large", n);
    size_t xshape[2] = {n, m}, bshape[2] = {n, n};
    vn_node *x = vn_param(ctx, 2, xshape);
    vn_node *base = vn_constant(ctx, 2, bshape);
    if (!x || !base) return ctx->status;
    vn_node_set_name(ctx, x, "rotate_layer.parametrizations.weight.original");
    vn_node_set_name(ctx, base, "rotate_layer.parametrizations.weight.0.base");
    if (ctx->status != VN_OK) return ctx->status;
    rot->n = n;
    rot->m = m;
    rot->map = map;
    rot->original = x;
    rot->base = base;

    /* Q0: orthogonal_ of an n × m matrix, drawn into X's storage for the
     * moment (X is overwritten with −I by set_weight). */
    vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
    vn_tensor q0;
    vn_status status = vn_tensor_alloc(&q0, ctx->arena, 2, xshape);
    if (status != VN_OK) return vn_context_fail(ctx, status, "rotation: out of arena memory");
    if (rng) {
        status = vn_nn_init_orthogonal(&q0, 1.0, rng, ctx->arena);
        if (status != VN_OK) {
            vn_arena_rewind(ctx->arena, mark);
            return vn_context_fail(ctx, status, "rotation: orthogonal_ initialisation failed");
        }
    } else {
        for (size_t j = 0; j < m; j++) q0.data[j * m + j] = 1;
    }
    status = vn_iv_rotation_set_weight(rot, ctx, q0.data, 0);
    vn_arena_rewind(ctx->arena, mark);
    return status;
}

vn_status vn_iv_rotation_set_weight(vn_iv_rotation *rot, vn_context *ctx, const vn_real *r,
                                    double tol) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!rot || !rot->original || !rot->base || !r)
        return rotation_fail(ctx, VN_EINVAL, "set_weight: NULL argument");
    size_t n = rot->n, m = rot->m;
    if (vn_first_nonfinite(r, n * m) != n * m)
        return rotation_fail(ctx, VN_ENAN, "set_weight: the weight has a non-finite entry");
    if (!(tol > 0)) tol = vn_iv_rotation_default_tol(n);
    double err = vn_iv_orthogonality_error(r, n, m);
    if (!(err <= tol))
        return vn_context_fail(ctx, VN_EINVAL,
                               "rotation: the (%zu, %zu) weight does not have orthonormal columns: "
                               "max |RᵀR − I| = %.3g exceeds the tolerance %.3g",
                               n, m, err, tol);
    vn_real *base = rot->base->value.data, *x = rot->original->value.data;
    if (m < n) {
        vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
        double *work = vn_arena_alloc(ctx->arena, (n * n + 3 * n) * sizeof(double), 0);
        if (!work) return rotation_fail(ctx, VN_ENOMEM, "set_weight: out of arena memory");
        ivo_complete_columns(r, n, m, base + m, n, work);
        vn_arena_rewind(ctx->arena, mark);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) base[i * n + j] = r[i * m + j];
    vn_fill(x, n * m, 0);
    for (size_t j = 0; j < m; j++) x[j * m + j] = -1;
    return VN_OK;
}

vn_status vn_iv_rotation_set_state(vn_iv_rotation *rot, vn_context *ctx, const vn_real *original,
                                   const vn_real *base) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!rot || !rot->original || !rot->base)
        return rotation_fail(ctx, VN_EINVAL, "set_state: NULL rotation");
    size_t n = rot->n, m = rot->m;
    if (original && vn_first_nonfinite(original, n * m) != n * m)
        return rotation_fail(ctx, VN_ENAN, "set_state: original has a non-finite entry");
    if (base && vn_first_nonfinite(base, n * n) != n * n)
        return rotation_fail(ctx, VN_ENAN, "set_state: base has a non-finite entry");
    if (original) vn_copy(rot->original->value.data, original, n * m);
    if (base) vn_copy(rot->base->value.data, base, n * n);
    return VN_OK;
}

vn_node *vn_iv_rotation_weight(const vn_iv_rotation *rot, vn_context *ctx) {
    if (!rot) {
        if (ctx->status == VN_OK) rotation_fail(ctx, VN_EINVAL, "weight: NULL rotation");
        return NULL;
    }
    return vn_iv_orthogonal(ctx, rot->map, rot->original, rot->base);
}

vn_status vn_iv_rotation_compute(const vn_iv_rotation *rot, vn_context *ctx, vn_real *out) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!rot || !out) return rotation_fail(ctx, VN_EINVAL, "compute: NULL argument");
    vn_context_mark mark = vn_context_mark_get(ctx);
    bool grad = vn_context_set_grad(ctx, false);
    vn_node *r = vn_iv_rotation_weight(rot, ctx);
    vn_context_set_grad(ctx, grad);
    if (!r) return ctx->status; /* the error stays recorded */
    vn_copy(out, r->value.data, rot->n * rot->m);
    vn_context_rewind(ctx, mark);
    return VN_OK;
}
