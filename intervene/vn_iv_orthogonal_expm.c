/* vn_iv_orthogonal_expm.c — R = B · expm(A) · E, the matrix_exp map, with
 * the exact adjoint of the computed exponential as its backward.
 *
 * Forward (Higham 2005, "The scaling and squaring method for the matrix
 * exponential revisited"): with η = ‖A‖₁, pick the smallest Padé degree d
 * whose threshold θ_d ≥ η, or the largest degree and the fewest squarings
 * s with η/2^s ≤ θ_dmax; then with B = A/2^s
 *     r = q_d(B)⁻¹ p_d(B),   expm(A) ≈ r^(2^s)  (s squarings),
 * where p_d(B) = V + U, q_d(B) = V − U, V the even and U the odd part of
 * the degree-d Padé numerator: V = Σ c_2k B^2k, U = B · Σ c_2k+1 B^2k.
 * Degrees and thresholds θ_d are Higham's: 3, 5, 7, 9, 13 for double
 * (u = 2⁻⁵³) and 3, 5, 7 for float (u = 2⁻²⁴). Degree 13 evaluates
 *     W = B6·(c13 B6 + c11 B4 + c9 B2) + c7 B6 + c5 B4 + c3 B2 + c1 I,
 *     V = B6·(c12 B6 + c10 B4 + c8 B2) + c6 B6 + c4 B4 + c2 B2 + c0 I,
 * U = B·W; lower degrees sum the powers B2, B4 = B2², B6 = B4·B2,
 * B8 = B6·B2 directly. The Padé denominator is factored by LU with partial
 * pivoting and r obtained by two triangular solves with n right-hand sides.
 *
 * Backward: the exact reverse of the steps above, i.e. the adjoint of the
 * Fréchet derivative of the *computed* approximant, L(Aᵀ, ·) evaluated
 * through the same Padé and squaring recurrences (Al-Mohy & Higham 2009,
 * "Computing the Fréchet derivative of the matrix exponential"; run here in
 * reverse mode). With G the gradient of the n × n exponential:
 *   squarings  E_{i+1} = E_i²:        G_i = G_{i+1} E_iᵀ + E_iᵀ G_{i+1}
 *   quotient   r = q⁻¹ p:             Ḡp = q⁻ᵀ G_0 (LU of q, transposed
 *                                     solves), Ḡq = −Ḡp rᵀ,
 *                                     Ḡu = Ḡp − Ḡq, Ḡv = Ḡp + Ḡq
 *   U = B·W:                          Ḡb += Ḡu Wᵀ,  Ḡw = Bᵀ Ḡu
 *   X = Y·Z (Y, Z commuting powers):  Ḡy += Ḡx Zᵀ,  Ḡz += Yᵀ Ḡx
 *   B2 = B·B:                         Ḡb += Ḡ2 Bᵀ + Bᵀ Ḡ2
 * Skew symmetry is used to halve several of these products: B is skew,
 * every power B^2k, W and V are symmetric and U is skew, so only the
 * symmetric part of their gradients matters (and only the skew part of
 * Ḡu). For symmetric commuting Y, Z and a symmetric Ḡx, the symmetric
 * part of Ḡx Z is one product plus a transpose, and for B2 = B·B
 * Ḡb += Mᵀ − M with M = Ḡ2·B. Finally Ḡa = Ḡb / 2^s and
 * dX[i][j] += Ḡa[i][j] − Ḡa[j][i] for i > j.
 *
 * Forward products whose result is symmetric (the powers, B6·W1, B6·Z1) or
 * skew (U = B·W) compute only their lower block triangle and mirror it.
 *
 * Cost in products of n × n matrices (2n³ flops each), degree 13 (double):
 * forward 3 (six half products) + s + LU and solve (≈ 1⅓) + 1 for
 * B·expm(A); backward 10 + 2s + one transposed solve (≈ 1) + 1 (Ḡq) + 1 for
 * Bᵀ·dR. Float runs degree ≤ 7: forward 2 + s, backward 6 + 2s, plus the
 * same extras. The block-triangular alternative, expm of the 2n × 2n
 * matrix [[Aᵀ, G], [0, Aᵀ]], costs eight exponentials of size n. */
#include "vn_iv_orthogonal_internal.h"
#include "vn_math.h"

/* ---- degree and scaling ----------------------------------------------------------- */

#ifdef VN_REAL_DOUBLE
static const int expm_degrees[] = {3, 5, 7, 9, 13};
static const double expm_theta[] = {1.495585217958292e-2, 2.539398330063230e-1,
                                    9.504178996162932e-1, 2.097847961257068e0,
                                    5.371920351148152e0};
#else
static const int expm_degrees[] = {3, 5, 7};
static const double expm_theta[] = {4.258730016922831e-1, 1.880152677804762e0,
                                    3.925724783138660e0};
#endif
#define EXPM_NDEG ((int)VN_ARRAY_COUNT(expm_degrees))

static void expm_plan(double eta, int *degree, int *squarings) {
    for (int i = 0; i + 1 < EXPM_NDEG; i++) {
        if (eta <= expm_theta[i]) {
            *degree = expm_degrees[i];
            *squarings = 0;
            return;
        }
    }
    int s = 0;
    double t = eta / expm_theta[EXPM_NDEG - 1];
    while (t > 1 && s < 2000) {
        t /= 2;
        s++;
    }
    *degree = expm_degrees[EXPM_NDEG - 1];
    *squarings = s;
}

/* Padé coefficients of degree d: c_j = (2d − j)! d! / ((2d)! j! (d − j)!). */
static void pade_coefficients(int d, double *c) {
    c[0] = 1;
    for (int j = 0; j < d; j++) c[j + 1] = c[j] * (double)(d - j) / ((double)(2 * d - j) * (j + 1));
}

/* ‖A‖₁: the largest column sum of |A|. */
static double one_norm(const vn_real *a, size_t n, double *colsum) {
    for (size_t j = 0; j < n; j++) colsum[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) colsum[j] += vn_fabs((double)a[i * n + j]);
    double best = 0;
    for (size_t j = 0; j < n; j++)
        if (colsum[j] > best) best = colsum[j];
    return best;
}

/* ---- saved memory --------------------------------------------------------------------- */

typedef struct expm_header {
    int degree, s, final_slot;
    double coef[14];
} expm_header;

/* The n × n matrices of the saved memory: what backward needs (B, the
 * powers, W1, Z1, W, the LU factors) and two forward temporaries (T1, T2).
 * B8 is used by degree 9 only, W1 and Z1 by degree 13 only: the float build
 * (degrees ≤ 7) does not reserve them. */
enum { M_B, M_P1, M_P2, M_P3, M_P4, M_W1, M_Z1, M_W, M_LU, M_T1, M_T2, M_COUNT };
#ifdef VN_REAL_DOUBLE
#define EXPM_HAS_HIGH_DEGREES 1
#else
#define EXPM_HAS_HIGH_DEGREES 0
#endif
static bool expm_matrix_used(int which) {
    return EXPM_HAS_HIGH_DEGREES || (which != M_P4 && which != M_W1 && which != M_Z1);
}

typedef struct expm_buffers {
    expm_header *hdr;
    size_t *piv;
    double *colsum;
    vn_real *mat[M_COUNT];
    vn_real *e;     /* cap + 1 slots of n × n: E_0, E_1, ... */
    vn_real *work;  /* IVO_LU_WORK(n) */
    size_t cap;
} expm_buffers;

/* Lays out (or measures, when base is NULL) the saved memory. */
static size_t expm_layout(size_t n, size_t cap, unsigned char *base, expm_buffers *b) {
    ivo_layout l = {0, false};
    size_t nn = n * n;
    size_t o_hdr = ivo_layout_add(&l, 1, sizeof(expm_header));
    size_t o_piv = ivo_layout_add(&l, n, sizeof(size_t));
    size_t o_col = ivo_layout_add(&l, n, sizeof(double));
    size_t o_mat[M_COUNT];
    for (int i = 0; i < M_COUNT; i++) o_mat[i] = ivo_layout_add(&l, expm_matrix_used(i) ? nn : 0, sizeof(vn_real));
    size_t o_e = ivo_layout_add(&l, nn, sizeof(vn_real) * (cap + 1));
    size_t o_work = ivo_layout_add(&l, IVO_LU_WORK(n), sizeof(vn_real));
    if (l.overflow) return SIZE_MAX;
    if (base) {
        b->hdr = (expm_header *)(void *)(base + o_hdr);
        b->piv = (size_t *)(void *)(base + o_piv);
        b->colsum = (double *)(void *)(base + o_col);
        for (int i = 0; i < M_COUNT; i++)
            b->mat[i] = expm_matrix_used(i) ? (vn_real *)(void *)(base + o_mat[i]) : NULL;
        b->e = (vn_real *)(void *)(base + o_e);
        b->work = (vn_real *)(void *)(base + o_work);
        b->cap = cap;
    }
    return l.size;
}

static void expm_buffers_of(const vn_node *out, expm_buffers *b) {
    expm_layout(out->value.shape[0], (size_t)out->attrs.i[0], out->saved, b);
}

/* The slot holding E_i when there are s squarings. */
static size_t e_slot(size_t i, size_t s, size_t cap) {
    if (s <= cap || i == 0) return i;
    return 1 + ((i - 1) & 1);
}

static vn_status expm_infer(vn_context *ctx, vn_node *out) {
    size_t n, m;
    vn_status status = ivo_infer_common(ctx, out, &n, &m);
    if (status != VN_OK) return status;
    /* Size the squaring slots for this input's plan plus one, so that small
     * changes of X (as in gradcheck) still fit; more squarings than that
     * are recomputed in backward. */
    const vn_real *x = out->inputs[0]->value.data;
    double eta = 0;
    for (size_t j = 0; j < m; j++) {
        double col = 0;
        for (size_t i = j + 1; i < n; i++) col += vn_fabs((double)x[i * m + j]);
        for (size_t i = 0; i < j; i++) col += vn_fabs((double)x[j * m + i]);
        if (col > eta) eta = col;
    }
    for (size_t j = m; j < n; j++) {
        double col = 0;
        for (size_t i = 0; i < m; i++) col += vn_fabs((double)x[j * m + i]);
        if (col > eta) eta = col;
    }
    int degree, s;
    expm_plan(eta, &degree, &s);
    size_t cap = (size_t)s + 1 < 2 ? 2 : (size_t)s + 1;
    size_t bytes = expm_layout(n, cap, NULL, NULL);
    if (bytes == SIZE_MAX)
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: saved memory for n = %zu overflows",
                               out->op->name, n);
    out->attrs.i[0] = (int64_t)cap;
    out->saved_bytes = bytes;
    return VN_OK;
}

/* out = c_id·I + Σ coef[k]·mats[k] (n × n), or += when add. */
static void lincomb(vn_real *out, size_t n, double c_id, const double *coef,
                    vn_real *const *mats, int count, bool add) {
    size_t nn = n * n;
    if (!add) vn_fill(out, nn, 0);
    for (int k = 0; k < count; k++) vn_axpy(out, mats[k], nn, (vn_real)coef[k]);
    for (size_t i = 0; i < n; i++) out[i * n + i] += (vn_real)c_id;
}

static void expm_forward(vn_node *out) {
    size_t n = out->value.shape[0], m = out->value.shape[1], nn = n * n;
    expm_buffers b;
    expm_buffers_of(out, &b);
    expm_header *h = b.hdr;
    vn_real *bm = b.mat[M_B], **p = &b.mat[M_P1];
    vn_real *w = b.mat[M_W], *lu = b.mat[M_LU], *t1 = b.mat[M_T1], *t2 = b.mat[M_T2];

    ivo_skew_from(bm, vn_input_value(out, 0), n, m, 1);
    double eta = one_norm(bm, n, b.colsum);
    expm_plan(eta, &h->degree, &h->s);
    pade_coefficients(h->degree, h->coef);
    const double *c = h->coef;
    vn_real scale = 1;
    for (int i = 0; i < h->s; i++) scale *= (vn_real)0.5;
    if (h->s > 0)
        for (size_t i = 0; i < nn; i++) bm[i] *= scale;

    /* Powers B2, B4, ... */
    int powers = h->degree == 13 ? 3 : (h->degree - 1) / 2;
    ivo_gemm_mirrored(p[0], bm, bm, n, -1, 1, b.work);
    for (int k = 1; k < powers; k++) ivo_gemm_mirrored(p[k], p[k - 1], p[0], n, 1, 1, b.work);

    /* W (odd part without the factor B) and V (even part, into t1). */
    if (h->degree == 13) {
        vn_real *w1 = b.mat[M_W1], *z1 = b.mat[M_Z1];
        double cw1[3] = {c[9], c[11], c[13]}, cz1[3] = {c[8], c[10], c[12]};
        double cw[3] = {c[3], c[5], c[7]}, cv[3] = {c[2], c[4], c[6]};
        lincomb(w1, n, 0, cw1, p, 3, false);
        lincomb(z1, n, 0, cz1, p, 3, false);
        ivo_gemm_mirrored(w, p[2], w1, n, 1, 1, b.work);
        lincomb(w, n, c[1], cw, p, 3, true);
        ivo_gemm_mirrored(t1, p[2], z1, n, 1, 1, b.work);
        lincomb(t1, n, c[0], cv, p, 3, true);
    } else {
        double cw[4], cv[4];
        for (int k = 0; k < powers; k++) {
            cw[k] = c[2 * k + 3];
            cv[k] = c[2 * k + 2];
        }
        lincomb(w, n, c[1], cw, p, powers, false);
        lincomb(t1, n, c[0], cv, p, powers, false);
    }
    ivo_gemm_mirrored(t2, bm, w, n, 1, -1, b.work); /* U = B·W (skew) */

    /* r = (V − U)⁻¹ (V + U) into slot 0. */
    vn_real *e0 = b.e;
    for (size_t i = 0; i < nn; i++) {
        lu[i] = t1[i] - t2[i];
        e0[i] = t1[i] + t2[i];
    }
    ivo_lu_factor(lu, n, b.piv, b.work);
    ivo_lu_solve(lu, b.piv, n, e0, n, false, b.work);

    /* Squarings. */
    size_t s = (size_t)h->s;
    for (size_t i = 1; i <= s; i++) {
        vn_real *src = b.e + e_slot(i - 1, s, b.cap) * nn;
        vn_real *dst = b.e + e_slot(i, s, b.cap) * nn;
        vn_gemm(dst, src, src, n, n, n, false, false, false);
    }
    h->final_slot = (int)e_slot(s, s, b.cap);
    const vn_real *es = b.e + (size_t)h->final_slot * nn;

    /* R = base · expm(A)[:, :m]. */
    ivo_gemm(out->value.data, m, vn_input_value(out, 1), n, false, es, n, false, n, m, n, 1,
             false, b.work);
}

/* Accumulates sym(x) into acc: acc += (x + xᵀ)·f. */
static void add_sym(vn_real *acc, const vn_real *x, size_t n, vn_real f) {
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) acc[i * n + j] += f * (x[i * n + j] + x[j * n + i]);
}

static vn_status expm_backward(vn_context *ctx, vn_node *out) {
    vn_real *dx = vn_input_grad(out, 0), *dbase = vn_input_grad(out, 1);
    if (!dx && !dbase) return VN_OK;
    size_t n = out->value.shape[0], m = out->value.shape[1], nn = n * n;
    expm_buffers b;
    expm_buffers_of(out, &b);
    const expm_header *h = b.hdr;
    const double *c = h->coef;
    size_t s = (size_t)h->s;
    const vn_real *g = out->grad.data, *base = vn_input_value(out, 1);
    const vn_real *es = b.e + (size_t)h->final_slot * nn;

    if (dbase) /* dB += dR · (expm(A)[:, :m])ᵀ */
        ivo_gemm(dbase, n, g, m, false, es, n, true, n, n, m, 1, true, b.work);
    if (!dx) return VN_OK;

    vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
    /* The last three are used by degrees 9 and 13 only. */
    enum { D1, D2, DB, DW, DP1, DP2, DP3, TMP, DP4, DW1, DZ1, NSCR };
    size_t nscr = EXPM_HAS_HIGH_DEGREES ? NSCR : DP4;
    size_t count = nscr + (s > b.cap ? s : 0), bytes;
    if (!vn_size_mul(count, nn * sizeof(vn_real), &bytes)) return vn_context_fail(ctx, VN_EOVERFLOW, "%s: backward scratch overflows", out->op->name);
    vn_real *scr = vn_context_scratch(ctx, bytes);
    if (!scr) return ctx->status;
    vn_real *d[NSCR] = {0};
    for (size_t i = 0; i < nscr; i++) d[i] = scr + i * nn;
    vn_real *work = b.work;

    /* E_i for the squaring steps: stored, or recomputed from E_0. */
    vn_real *recomputed = scr + nscr * nn;
    if (s > b.cap) {
        for (size_t i = 1; i < s; i++) {
            const vn_real *src = i == 1 ? b.e : recomputed + (i - 2) * nn;
            vn_gemm(recomputed + (i - 1) * nn, src, src, n, n, n, false, false, false);
        }
    }
#define E_AT(i) ((i) == 0 ? b.e : (s > b.cap ? recomputed + ((i) - 1) * nn : b.e + (i) * nn))

    /* G_s = Bᵀ·[dR, 0]. */
    vn_real *g1 = d[D1], *g2 = d[D2];
    ivo_gemm(g1, n, base, n, true, g, m, false, n, m, n, 1, false, work);
    if (m < n)
        for (size_t i = 0; i < n; i++) vn_fill(g1 + i * n + m, n - m, 0);

    /* Squarings, in reverse: G_i = G_{i+1} E_iᵀ + E_iᵀ G_{i+1}. */
    for (size_t i = s; i-- > 0;) {
        const vn_real *e = E_AT(i);
        vn_gemm(g2, g1, e, n, n, n, false, true, false);
        vn_gemm(g2, e, g1, n, n, n, true, false, true);
        vn_real *t = g1;
        g1 = g2;
        g2 = t;
    }

    /* Quotient: Ḡp = q⁻ᵀ G_0 (in g1), M = Ḡp·rᵀ = −Ḡq (in g2). */
    ivo_lu_solve(b.mat[M_LU], b.piv, n, g1, n, true, work);
    vn_gemm(g2, g1, b.e, n, n, n, false, true, false);
    vn_real *du = g1, *dv = g2;
    for (size_t i = 0; i < nn; i++) {
        vn_real gp = g1[i], mq = g2[i];
        du[i] = gp + mq; /* Ḡp − Ḡq */
        dv[i] = gp - mq; /* Ḡp + Ḡq */
    }
    ivo_skewize(du, n);
    ivo_symmetrize(dv, n);

    /* U = B·W: Ḡb = Ḡu·W, Ḡw = sym(−B·Ḡu). */
    const vn_real *bm = b.mat[M_B], *const *p = (const vn_real *const *)&b.mat[M_P1];
    vn_real *db = d[DB], *dw = d[DW], *tmp = d[TMP];
    vn_gemm(db, du, b.mat[M_W], n, n, n, false, false, false);
    vn_gemm(tmp, bm, du, n, n, n, false, false, false);
    vn_fill(dw, nn, 0);
    add_sym(dw, tmp, n, (vn_real)-0.5);

    int powers = h->degree == 13 ? 3 : (h->degree - 1) / 2;
    vn_real *dp[4] = {d[DP1], d[DP2], d[DP3], d[DP4]};
    if (h->degree == 13) {
        vn_real *dw1 = d[DW1], *dz1 = d[DZ1];
        /* W = B6·W1 + ..., V = B6·Z1 + ... */
        vn_gemm(tmp, dw, b.mat[M_W1], n, n, n, false, false, false);
        vn_gemm(tmp, dv, b.mat[M_Z1], n, n, n, false, false, true);
        vn_fill(dp[2], nn, 0);
        add_sym(dp[2], tmp, n, (vn_real)0.5);
        vn_gemm(tmp, p[2], dw, n, n, n, false, false, false);
        vn_fill(dw1, nn, 0);
        add_sym(dw1, tmp, n, (vn_real)0.5);
        vn_gemm(tmp, p[2], dv, n, n, n, false, false, false);
        vn_fill(dz1, nn, 0);
        add_sym(dz1, tmp, n, (vn_real)0.5);
        /* W1, Z1 and the direct terms of W, V. */
        vn_real *grads[4] = {dw1, dz1, dw, dv};
        double c3[4] = {c[13], c[12], c[7], c[6]};
        double c2[4] = {c[11], c[10], c[5], c[4]};
        double c1[4] = {c[9], c[8], c[3], c[2]};
        for (int k = 0; k < 4; k++) vn_axpy(dp[2], grads[k], nn, (vn_real)c3[k]);
        vn_fill(dp[1], nn, 0);
        vn_fill(dp[0], nn, 0);
        for (int k = 0; k < 4; k++) {
            vn_axpy(dp[1], grads[k], nn, (vn_real)c2[k]);
            vn_axpy(dp[0], grads[k], nn, (vn_real)c1[k]);
        }
    } else {
        for (int k = 0; k < powers; k++) {
            vn_fill(dp[k], nn, 0);
            vn_axpy(dp[k], dw, nn, (vn_real)c[2 * k + 3]);
            vn_axpy(dp[k], dv, nn, (vn_real)c[2 * k + 2]);
        }
    }
    /* Powers, in reverse: B_{2k} = B_{2k−2}·B2. */
    for (int k = powers - 1; k >= 2; k--) {
        vn_gemm(tmp, dp[k], p[0], n, n, n, false, false, false);
        add_sym(dp[k - 1], tmp, n, (vn_real)0.5);
        vn_gemm(tmp, dp[k], p[k - 1], n, n, n, false, false, false);
        add_sym(dp[0], tmp, n, (vn_real)0.5);
    }
    if (powers >= 2) { /* B4 = B2·B2 */
        vn_gemm(tmp, dp[1], p[0], n, n, n, false, false, false);
        add_sym(dp[0], tmp, n, 1);
    }
    /* B2 = B·B: Ḡb += Mᵀ − M with M = Ḡ2·B. */
    vn_gemm(tmp, dp[0], bm, n, n, n, false, false, false);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) db[i * n + j] += tmp[j * n + i] - tmp[i * n + j];
#undef E_AT

    vn_real scale = 1;
    for (size_t i = 0; i < s; i++) scale *= (vn_real)0.5;
    ivo_skew_adjoint(dx, db, n, m, scale);
    vn_arena_rewind(ctx->arena, mark);
    return VN_OK;
}

static vn_node *expm_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    return ivo_example(ctx, op, index, rng, 1.0);
}

const vn_op vn_iv_op_orthogonal_matrix_exp = {
    .name = "orthogonal_matrix_exp",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = expm_infer,
    .forward = expm_forward,
    .backward = expm_backward,
    .example = expm_example,
    .role = VN_ROLE_COMPUTE,
    .summary = "R = base · expm(L − Lᵀ)[:, :m], L = tril(X, −1) (torch's matrix_exp map)",
};
