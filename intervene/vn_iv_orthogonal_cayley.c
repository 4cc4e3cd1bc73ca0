/* vn_iv_orthogonal_cayley.c — R = B · (I − A/2)⁻¹(I + A/2) · E, the
 * cayley map, as PyTorch computes it (torch.linalg.solve(I − A/2, I + A/2),
 * then the first m columns).
 *
 * With M = I − A/2 (never singular: its symmetric part is I), the identity
 * I + A/2 = 2I − M gives M⁻¹(I + A/2) = 2M⁻¹ − I, so
 *     R = 2·B M⁻¹ E − B E.
 * M is factored once, Π M = L U (LU with partial pivoting), and both passes
 * use that factorisation. Two ways to organise the rest, picked by shape:
 *
 * Narrow (5m < 3n): only m columns of M⁻¹ are formed.
 *   forward   Y = M⁻¹E (solves with m right-hand sides);  Q = 2Y − E;
 *             R = B·Q.
 *   backward  with Ḡq = Bᵀ dR:  δQ = 2δY = M⁻¹ δA Y, so
 *             Ḡa = M⁻ᵀ Ḡq Yᵀ  (transposed solves, then one product);
 *             dB += dR Qᵀ.
 * Wide (5m ≥ 3n, e.g. square): B is folded into the solve.
 *   forward   Fᵀ = M⁻ᵀ Bᵀ (transposed solves with n right-hand sides), so
 *             F = B M⁻¹ and R = 2F E − B E.
 *   backward  Ḡa = M⁻ᵀ Bᵀ [dR, 0] M⁻ᵀ = Fᵀ · (M⁻¹ [dR, 0]ᵀ)ᵀ  (solves
 *             with n right-hand sides, then one product);
 *             dB += dR Qᵀ = 2 (M⁻¹ [dR, 0]ᵀ)ᵀ − [dR, 0].
 * In both, dX[i][j] += Ḡa[i][j] − Ḡa[j][i] for i > j.
 * Cost in products of n × n matrices (2n³ flops each): LU ⅓; narrow:
 * 5·m/n (forward 2, backward 3 products or solves of n × m); wide: 3 (one
 * solve forward; one solve and one product backward). Square: 3⅓. */
#include "vn_iv_orthogonal_internal.h"

static bool cayley_wide(size_t n, size_t m) { return 5 * m >= 3 * n; }

typedef struct cayley_buffers {
    size_t *piv;
    vn_real *lu, *y, *q, *ft, *work;
} cayley_buffers;

static size_t cayley_layout(size_t n, size_t m, unsigned char *base, cayley_buffers *b) {
    ivo_layout l = {0, false};
    bool wide = cayley_wide(n, m);
    size_t o_piv = ivo_layout_add(&l, n, sizeof(size_t));
    size_t o_lu = ivo_layout_add(&l, n * n, sizeof(vn_real));
    size_t o_y = ivo_layout_add(&l, wide ? 0 : n * m, sizeof(vn_real));
    size_t o_q = ivo_layout_add(&l, wide ? 0 : n * m, sizeof(vn_real));
    size_t o_ft = ivo_layout_add(&l, wide ? n * n : 0, sizeof(vn_real));
    size_t o_work = ivo_layout_add(&l, IVO_LU_WORK(n), sizeof(vn_real));
    if (l.overflow) return SIZE_MAX;
    if (base) {
        b->piv = (size_t *)(void *)(base + o_piv);
        b->lu = (vn_real *)(void *)(base + o_lu);
        b->y = (vn_real *)(void *)(base + o_y);
        b->q = (vn_real *)(void *)(base + o_q);
        b->ft = (vn_real *)(void *)(base + o_ft);
        b->work = (vn_real *)(void *)(base + o_work);
    }
    return l.size;
}

static vn_status cayley_infer(vn_context *ctx, vn_node *out) {
    size_t n, m;
    vn_status status = ivo_infer_common(ctx, out, &n, &m);
    if (status != VN_OK) return status;
    size_t bytes = cayley_layout(n, m, NULL, NULL);
    if (bytes == SIZE_MAX)
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: saved memory for n = %zu overflows",
                               out->op->name, n);
    out->saved_bytes = bytes;
    return VN_OK;
}

static void cayley_forward(vn_node *out) {
    size_t n = out->value.shape[0], m = out->value.shape[1];
    cayley_buffers b;
    cayley_layout(n, m, out->saved, &b);
    const vn_real *base = vn_input_value(out, 1);
    vn_real *r = out->value.data;
    /* M = I − A/2. */
    ivo_skew_from(b.lu, vn_input_value(out, 0), n, m, (vn_real)-0.5);
    for (size_t i = 0; i < n; i++) b.lu[i * n + i] = 1;
    ivo_lu_factor(b.lu, n, b.piv, b.work);
    if (cayley_wide(n, m)) {
        /* Fᵀ = M⁻ᵀ Bᵀ; R = 2F E − B E. */
        vn_transpose(b.ft, base, n, n);
        ivo_lu_solve(b.lu, b.piv, n, b.ft, n, true, b.work);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) r[i * m + j] = 2 * b.ft[j * n + i] - base[i * n + j];
        return;
    }
    /* Y = M⁻¹E; Q = 2Y − E; R = B Q. */
    vn_fill(b.y, n * m, 0);
    for (size_t j = 0; j < m; j++) b.y[j * m + j] = 1;
    ivo_lu_solve(b.lu, b.piv, n, b.y, m, false, b.work);
    for (size_t i = 0; i < n * m; i++) b.q[i] = 2 * b.y[i];
    for (size_t j = 0; j < m; j++) b.q[j * m + j] -= 1;
    vn_gemm(r, base, b.q, n, m, n, false, false, false);
}

static vn_status cayley_backward(vn_context *ctx, vn_node *out) {
    vn_real *dx = vn_input_grad(out, 0), *dbase = vn_input_grad(out, 1);
    if (!dx && !dbase) return VN_OK;
    size_t n = out->value.shape[0], m = out->value.shape[1];
    cayley_buffers b;
    cayley_layout(n, m, out->saved, &b);
    const vn_real *g = out->grad.data, *base = vn_input_value(out, 1);
    vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
    vn_real *scr = vn_context_scratch(ctx, 2 * n * n * sizeof(vn_real));
    if (!scr) return ctx->status;
    vn_real *ga = scr + n * n;
    if (cayley_wide(n, m)) {
        /* Z = M⁻¹ [dR, 0]ᵀ. */
        vn_real *z = scr;
        vn_fill(z, n * n, 0);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) z[j * n + i] = g[i * m + j];
        ivo_lu_solve(b.lu, b.piv, n, z, n, false, b.work);
        if (dbase) /* dB += 2Zᵀ − [dR, 0] */
            for (size_t i = 0; i < n; i++)
                for (size_t j = 0; j < n; j++)
                    dbase[i * n + j] += 2 * z[j * n + i] - (j < m ? g[i * m + j] : 0);
        if (dx) {
            vn_gemm(ga, b.ft, z, n, n, n, false, true, false); /* Ḡa = Fᵀ Zᵀ */
            ivo_skew_adjoint(dx, ga, n, m, 1);
        }
    } else {
        if (dbase) vn_gemm(dbase, g, b.q, n, n, m, false, true, true); /* dB += dR Qᵀ */
        if (dx) {
            vn_real *gq = scr;
            vn_gemm(gq, base, g, n, m, n, true, false, false); /* Ḡq = Bᵀ dR */
            ivo_lu_solve(b.lu, b.piv, n, gq, m, true, b.work);  /* M⁻ᵀ Ḡq */
            vn_gemm(ga, gq, b.y, n, n, m, false, true, false);  /* · Yᵀ */
            ivo_skew_adjoint(dx, ga, n, m, 1);
        }
    }
    vn_arena_rewind(ctx->arena, mark);
    return VN_OK;
}

static vn_node *cayley_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    return ivo_example(ctx, op, index, rng, 1.0);
}

const vn_op vn_iv_op_orthogonal_cayley = {
    .name = "orthogonal_cayley",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = cayley_infer,
    .forward = cayley_forward,
    .backward = cayley_backward,
    .example = cayley_example,
    .role = VN_ROLE_COMPUTE,
    .summary = "R = base · (I − A/2)⁻¹(I + A/2)[:, :m], A = L − Lᵀ (torch's cayley map)",
};
