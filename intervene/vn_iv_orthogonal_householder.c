/* vn_iv_orthogonal_householder.c — R = B · H_1 ⋯ H_m · E · D, the
 * householder map, as PyTorch computes it (householder_product of
 * tril(X, −1) with tau_j = 2/(1 + Σ_{i>j} X_ij²), columns multiplied by
 * int(X_jj)).
 *
 * The reflectors are kept in compact WY form through the UT transform
 * (Puglisi 1992; Joffrain, Low, Quintana-Ortí, van de Geijn and Van Zee
 * 2006, "Accumulating Householder transformations, revisited"): with
 * V = [v_1 … v_m] (n × m, unit lower trapezoidal) and
 *     S = striu(VᵀV) + ½·diag(VᵀV)   (upper triangular; S_jj = 1/τ_j),
 * the product is H_1 ⋯ H_m = I − V S⁻¹ Vᵀ. Hence, with V₁ the top m × m
 * block of V (so Vᵀ E = V₁ᵀ),
 *   forward   Gram = VᵀV;  Z = S⁻¹ V₁ᵀ (triangular solve, Z upper
 *             triangular);  Q = E − V Z, so with D = diag(trunc(X_jj))
 *             R = B Q D = (B E − (B V) Z) D, two products with triangular
 *             factors instead of V Z and then B·Q.
 *   backward  Ḡq = (Bᵀ dR)·D;  H = Vᵀ Ḡq;  with K = S⁻¹:
 *               through V Z:   Ḡv = −Ḡq Zᵀ,  ḠK = −H V₁,
 *               through V₁ᵀ:   Ḡv[:m] −= Hᵀ K = Tᵀ,  T = S⁻ᵀ H,
 *               through K:     Ḡs = −Kᵀ ḠK Kᵀ = S⁻ᵀ H Zᵀ = T Zᵀ,
 *               through S:     N = striu(Ḡs) + ½ diag(Ḡs),
 *                              Ḡv += V (N + Nᵀ)   (S is built from VᵀV);
 *             dX[i][j] += Ḡv[i][j] for i > j (only the strictly lower
 *             entries of X are free; D gets no gradient, as in PyTorch);
 *             dB += dR Q_Dᵀ when B requires a gradient.
 * Products with V skip its zero upper triangle and products with Z or Zᵀ
 * the zero lower triangle of Z. Only what is used is computed: the upper
 * triangle of VᵀV and of Ḡs, and in the top m rows the strictly lower part
 * of Ḡq Zᵀ and V(N + Nᵀ) (by blocks of 64).
 * Cost in 2n³-flop products for a square map: forward ⅓ (Gram) + ½ (solve)
 * + ½ (B V) + ½ ((B V) Z) ≈ 1.8; backward 1 (Bᵀ dR) + ½ (H) + ½ (solve)
 * + ⅓ (Ḡq Zᵀ) + ⅙ (T Zᵀ) + ⅓ (V(N + Nᵀ)) ≈ 2.8. For m < n the terms scale as
 * n²m (the products with B) and nm² (the rest). */
#include "vn_iv_orthogonal_internal.h"

typedef struct householder_buffers {
    vn_real *v, *s, *z, *bv, *sgn, *work;
} householder_buffers;

static size_t householder_layout(size_t n, size_t m, unsigned char *base, householder_buffers *b) {
    ivo_layout l = {0, false};
    size_t o_v = ivo_layout_add(&l, n * m, sizeof(vn_real));
    size_t o_s = ivo_layout_add(&l, m * m, sizeof(vn_real));
    size_t o_z = ivo_layout_add(&l, m * m, sizeof(vn_real));
    size_t o_bv = ivo_layout_add(&l, n * m, sizeof(vn_real));
    size_t o_sgn = ivo_layout_add(&l, m, sizeof(vn_real));
    size_t o_work = ivo_layout_add(&l, IVO_GEMM_WORK(n, (size_t)IVO_NB, n), sizeof(vn_real));
    if (l.overflow) return SIZE_MAX;
    if (base) {
        b->v = (vn_real *)(void *)(base + o_v);
        b->s = (vn_real *)(void *)(base + o_s);
        b->z = (vn_real *)(void *)(base + o_z);
        b->bv = (vn_real *)(void *)(base + o_bv);
        b->sgn = (vn_real *)(void *)(base + o_sgn);
        b->work = (vn_real *)(void *)(base + o_work);
    }
    return l.size;
}

static vn_status householder_infer(vn_context *ctx, vn_node *out) {
    size_t n, m;
    vn_status status = ivo_infer_common(ctx, out, &n, &m);
    if (status != VN_OK) return status;
    size_t bytes = householder_layout(n, m, NULL, NULL);
    if (bytes == SIZE_MAX)
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: saved memory for n = %zu overflows",
                               out->op->name, n);
    out->saved_bytes = bytes;
    return VN_OK;
}

static void householder_forward(vn_node *out) {
    size_t n = out->value.shape[0], m = out->value.shape[1];
    householder_buffers b;
    householder_layout(n, m, out->saved, &b);
    const vn_real *x = vn_input_value(out, 0);
    /* V: unit diagonal, X's strictly lower entries below it. */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) b.v[i * m + j] = i > j ? x[i * m + j] : (i == j ? 1 : 0);
    /* S = striu(VᵀV) + ½ diag(VᵀV); only the upper triangle is computed
     * (and read): row block I of VᵀV needs V[i0:n, I] and V[i0:n, i0:m]. */
    for (size_t i0 = 0; i0 < m; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < m ? i0 + IVO_NB : m;
        const vn_real *vb = b.v + i0 * m + i0;
        ivo_gemm(b.s + i0 * m + i0, m, vb, m, true, vb, m, false, i1 - i0, m - i0, n - i0, 1,
                 false, b.work);
    }
    for (size_t j = 0; j < m; j++) b.s[j * m + j] /= 2;
    /* Z = S⁻¹ V₁ᵀ. */
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < m; j++) b.z[i * m + j] = b.v[j * m + i];
    ivo_trsm(b.s, m, m, b.z, m, true, false, false, b.work);
    /* R = B Q D = (B E − (B V) Z) D: two products with triangular factors
     * instead of forming Q = E − V Z and then B·Q. */
    const vn_real *base = vn_input_value(out, 1);
    vn_real *r = out->value.data;
    ivo_gemm_lower_right(b.bv, base, b.v, n, n, m, 1, false, b.work);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) r[i * m + j] = base[i * n + j];
    ivo_gemm_upper_right(r, b.bv, b.z, n, m, -1, true, b.work);
    for (size_t j = 0; j < m; j++) b.sgn[j] = ivo_trunc(x[j * m + j]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) r[i * m + j] *= b.sgn[j];
}

static vn_status householder_backward(vn_context *ctx, vn_node *out) {
    vn_real *dx = vn_input_grad(out, 0), *dbase = vn_input_grad(out, 1);
    size_t n = out->value.shape[0], m = out->value.shape[1], nm = n * m, mm = m * m;
    householder_buffers b;
    householder_layout(n, m, out->saved, &b);
    const vn_real *g = out->grad.data;
    vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
    if (dbase) { /* dB += dR Q_Dᵀ, Q_D = (E − V Z) D */
        vn_real *q = vn_context_scratch(ctx, nm * sizeof(vn_real));
        if (!q) return ctx->status;
        ivo_lower_gemm(q, b.v, m, b.z, n, m, m, false, b.work);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < m; j++) q[i * m + j] = ((i == j ? 1 : 0) - q[i * m + j]) * b.sgn[j];
        vn_gemm(dbase, g, q, n, n, m, false, true, true);
        vn_arena_rewind(ctx->arena, mark);
    }
    if (!dx) return VN_OK;
    /* With T = S⁻ᵀ H (= (Hᵀ K)ᵀ), Ḡs = S⁻ᵀ H Zᵀ = T Zᵀ. */
    size_t nw = IVO_GEMM_WORK(n + m, (size_t)IVO_NB, m), total;
    if (!vn_size_add(2 * (nm + mm), nw, &total) || !vn_size_mul(total, sizeof(vn_real), &total))
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: backward scratch overflows", out->op->name);
    vn_real *scr = vn_context_scratch(ctx, total);
    if (!scr) return ctx->status;
    vn_real *gq = scr, *t = gq + nm;      /* H, then T */
    vn_real *gqz = t + mm, *gs = gqz + nm; /* Ḡq Zᵀ; Ḡs */
    vn_real *work = gs + mm, *gv = gq;     /* gv reuses Ḡq's storage */

    vn_gemm(gq, vn_input_value(out, 1), g, n, m, n, true, false, false); /* Bᵀ dR */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < m; j++) gq[i * m + j] *= b.sgn[j];
    ivo_lower_t_gemm(t, b.v, m, gq, n, m, m, false, work); /* H = Vᵀ Ḡq */
    ivo_trsm(b.s, m, m, t, m, true, true, false, b.work);  /* T = S⁻ᵀ H */
    /* Of Ḡq Zᵀ only the strictly lower entries are used, of Ḡs only the
     * upper triangle: in the top m rows, half of the blocks of each. */
    ivo_gemm_upper_t_half(gqz, gq, b.z, m, true, work);
    if (n > m) ivo_gemm_upper_t(gqz + mm, gq + mm, b.z, n - m, m, 1, false, work);
    ivo_gemm_upper_t_half(gs, t, b.z, m, false, work);
    /* N + Nᵀ in place of Ḡs (symmetric, with Ḡs's upper triangle). */
    for (size_t i = 0; i < m; i++)
        for (size_t j = i + 1; j < m; j++) gs[j * m + i] = gs[i * m + j];
    /* Ḡv = V (N + Nᵀ) − Ḡq Zᵀ − E (Hᵀ K), of which only the strictly lower
     * entries are used: in the top m rows, row block I of V (N + Nᵀ) needs
     * only columns 0..i1 (V[I, 0:i1] times the leading block of N + Nᵀ);
     * below, whole rows. */
    for (size_t i0 = 0; i0 < m; i0 += IVO_NB) {
        size_t i1 = i0 + IVO_NB < m ? i0 + IVO_NB : m;
        ivo_gemm(gv + i0 * m, m, b.v + i0 * m, m, false, gs, m, false, i1 - i0, i1, i1, 1, false,
                 work);
    }
    if (n > m) vn_gemm(gv + mm, b.v + mm, gs, n - m, m, m, false, false, false);
    for (size_t i = 1; i < n; i++) {
        size_t top = i < m ? i : m;
        for (size_t j = 0; j < top; j++)
            dx[i * m + j] += gv[i * m + j] - gqz[i * m + j] - (i < m ? t[j * m + i] : 0);
    }
    vn_arena_rewind(ctx->arena, mark);
    return VN_OK;
}

static vn_node *householder_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    return ivo_example(ctx, op, index, rng, 1.0);
}

const vn_op vn_iv_op_orthogonal_householder = {
    .name = "orthogonal_householder",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = householder_infer,
    .forward = householder_forward,
    .backward = householder_backward,
    .example = householder_example,
    .role = VN_ROLE_COMPUTE,
    .summary = "R = base · (H_1⋯H_m)[:, :m] · diag(int(X_jj)), v_j = e_j + tril(X, −1)[:, j] (torch's householder map)",
};
