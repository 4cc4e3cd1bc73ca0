/* vn_iv_type_common.c — shape rules, the mix and rotated families and
 * gradcheck inputs shared by the intervention type files. */
#include "vn_iv_type_internal.h"
#include "vn_kernels.h"
#include "vn_math.h"

/* ---- shape rules ---------------------------------------------------------------- */

vn_status ivt_infer_rows(vn_context *ctx, vn_node *out, const vn_tensor *x, size_t w, size_t *rows) {
    char sx[64];
    if (w == 0 || x->numel % w != 0)
        return vn_context_fail(ctx, VN_ESHAPE, "%s: base of shape %s cannot be viewed as rows of %zu",
                               out->op->name, vn_shape_string(x, sx, sizeof sx), w);
    *rows = x->numel / w;
    return VN_OK;
}

vn_status ivt_infer_source(vn_context *ctx, vn_node *out, const vn_tensor *x, const vn_tensor *s) {
    if (vn_tensor_same_shape(x, s)) return VN_OK;
    return vn_fail_shapes(ctx, out->op->name, "(source) differs from the base's", x, s);
}

vn_status ivt_infer_mask(vn_context *ctx, vn_node *out, const vn_tensor *mask, size_t rows, size_t c,
                         size_t *stride) {
    char sm[64];
    if (mask->ndim != 2 || mask->shape[1] != c || (mask->shape[0] != 1 && mask->shape[0] != rows))
        return vn_context_fail(ctx, VN_ESHAPE, "%s: mask of shape %s must be (1, %zu) or (%zu, %zu)",
                               out->op->name, vn_shape_string(mask, sm, sizeof sm), c, rows, c);
    *stride = mask->shape[0] == 1 ? 0 : c;
    return VN_OK;
}

vn_status ivt_infer_count(vn_context *ctx, vn_node *out, const vn_tensor *t, size_t count,
                          const char *what) {
    char st[64];
    if (t->numel == count) return VN_OK;
    return vn_context_fail(ctx, VN_ESHAPE, "%s: %s of shape %s must have %zu element%s", out->op->name,
                           what, vn_shape_string(t, st, sizeof st), count, count == 1 ? "" : "s");
}

vn_status ivt_infer_matrix(vn_context *ctx, vn_node *out, const vn_tensor *r, size_t w, size_t cols,
                           const char *what) {
    char sr[64];
    if (r->ndim == 2 && r->shape[0] == w && r->shape[1] >= 1 && (cols == 0 || r->shape[1] == cols))
        return VN_OK;
    if (cols)
        return vn_context_fail(ctx, VN_ESHAPE, "%s: %s of shape %s must be (%zu, %zu)", out->op->name,
                               what, vn_shape_string(r, sr, sizeof sr), w, cols);
    return vn_context_fail(ctx, VN_ESHAPE, "%s: %s of shape %s must be (%zu, m)", out->op->name, what,
                           vn_shape_string(r, sr, sizeof sr), w);
}

vn_node *ivt_missing(vn_context *ctx, const vn_iv_type *type, const char *what) {
    if (ctx->status == VN_OK)
        vn_context_fail(ctx, VN_EINVAL, "%s: no %s given", type->name, what);
    return NULL;
}

/* ---- the mix family ---------------------------------------------------------------- */

void ivt_mix_forward(const ivt_mix *k, vn_real *y, const vn_real *x, const vn_real *s,
                     const vn_real *m, size_t m_stride, size_t rows, size_t w) {
    for (size_t r = 0; r < rows; r++) {
        const vn_real *mr = m + r * m_stride, *xr = x + r * w;
        vn_real *yr = y + r * w;
        if (s) {
            const vn_real *sr = s + r * w;
            for (size_t j = 0; j < w; j++) yr[j] = (k->a0 + k->a1 * mr[j]) * xr[j] + k->b1 * mr[j] * sr[j];
        } else {
            for (size_t j = 0; j < w; j++) yr[j] = (k->a0 + k->a1 * mr[j]) * xr[j];
        }
    }
}

void ivt_mix_backward(const ivt_mix *k, const vn_real *g, const vn_real *x, const vn_real *s,
                      const vn_real *m, size_t m_stride, size_t rows, size_t w, vn_real *dx,
                      vn_real *ds, vn_real *dm) {
    for (size_t r = 0; r < rows; r++) {
        const vn_real *mr = m + r * m_stride, *gr = g + r * w, *xr = x + r * w;
        const vn_real *sr = s ? s + r * w : NULL;
        vn_real *dmr = dm ? dm + r * m_stride : NULL;
        for (size_t j = 0; j < w; j++) {
            if (dx) dx[r * w + j] += (k->a0 + k->a1 * mr[j]) * gr[j];    /* dx = (a0 + a1 m) G */
            if (ds) ds[r * w + j] += k->b1 * mr[j] * gr[j];              /* ds = b1 m G */
            if (dmr) dmr[j] += gr[j] * (k->a1 * xr[j] + (sr ? k->b1 * sr[j] : 0)); /* dm = Σ G (a1 x + b1 s) */
        }
    }
}

/* Inputs: (x, s, mask) or, for source-less ops, (x, mask). */
static vn_node *mix_mask_input(const vn_node *out) { return out->inputs[out->n_inputs - 1]; }
static vn_node *mix_source_input(const vn_node *out) { return out->n_inputs == 3 ? out->inputs[1] : NULL; }

vn_status ivt_mask_mix_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *mask = &mix_mask_input(out)->value;
    const ivt_mix *k = out->op->data;
    if ((k->b1 != 0) != (out->n_inputs == 3))
        return vn_context_fail(ctx, VN_EINVAL, "%s: takes %s", out->op->name,
                               k->b1 != 0 ? "(base, source, mask)" : "(base, mask)");
    size_t w = mask->ndim == 2 ? mask->shape[1] : 0, rows, stride;
    vn_status status;
    if ((status = ivt_infer_rows(ctx, out, x, w, &rows)) != VN_OK) return status;
    if (mix_source_input(out) && (status = ivt_infer_source(ctx, out, x, &mix_source_input(out)->value)) != VN_OK)
        return status;
    if ((status = ivt_infer_mask(ctx, out, mask, rows, w, &stride)) != VN_OK) return status;
    return vn_infer_like(ctx, out, x);
}

void ivt_mask_mix_forward(vn_node *out) {
    const vn_tensor *mask = &mix_mask_input(out)->value;
    size_t w = mask->shape[1], rows = out->value.numel / w, stride = mask->shape[0] == 1 ? 0 : w;
    const vn_node *s = mix_source_input(out);
    ivt_mix_forward(out->op->data, out->value.data, vn_input_value(out, 0), s ? s->value.data : NULL,
                    mask->data, stride, rows, w);
}

vn_status ivt_mask_mix_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dx = (a0 + a1 m) ⊙ G, ds = b1 m ⊙ G; the mask is CONST */
    const vn_tensor *mask = &mix_mask_input(out)->value;
    size_t w = mask->shape[1], rows = out->value.numel / w, stride = mask->shape[0] == 1 ? 0 : w;
    vn_node *s = mix_source_input(out);
    ivt_mix_backward(out->op->data, out->grad.data, vn_input_value(out, 0), s ? s->value.data : NULL,
                     mask->data, stride, rows, w, vn_input_grad(out, 0), s ? s->grad.data : NULL,
                     mix_mask_input(out)->grad.data);
    return VN_OK;
}

vn_node *ivt_mask_mix_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t shapes[3][3] = {{3, 4}, {2, 3, 5}, {6, 1}};
    static const int ndims[3] = {2, 3, 2};
    static const size_t mask_rows[3] = {3, 1, 6};
    if (index < 0 || index >= 3) return NULL;
    const ivt_mix *k = op->data;
    size_t w = shapes[index][ndims[index] - 1];
    vn_node *inputs[3];
    int n = 0;
    inputs[n++] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    if (k->b1 != 0) inputs[n++] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[n++] = ivt_example_mask(ctx, rng, mask_rows[index], w);
    return vn_apply(ctx, op, inputs, n, NULL);
}

vn_node *ivt_mask_mix_apply(vn_context *ctx, const vn_iv_type *type, const vn_iv_apply_args *args) {
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->mask) return ivt_missing(ctx, type, "subspace mask");
    const ivt_mix *k = type->op->data;
    if (k->b1 != 0) {
        if (!args->source) return ivt_missing(ctx, type, "source");
        vn_node *inputs[3] = {args->base, args->source, args->mask};
        return vn_apply(ctx, type->op, inputs, 3, NULL);
    }
    vn_node *inputs[2] = {args->base, args->mask};
    return vn_apply(ctx, type->op, inputs, 2, NULL);
}

/* ---- the rotated family ------------------------------------------------------------ */

/* Regions of 64-byte-aligned vn_real arrays: xR, sR, U (rows × n), m (n). */
static size_t aligned_reals(size_t count, bool *overflow) {
    size_t bytes;
    if (!vn_size_mul(count, sizeof(vn_real), &bytes) || !vn_size_add(bytes, 63, &bytes)) {
        *overflow = true;
        return 0;
    }
    return bytes & ~(size_t)63;
}

size_t ivt_rot_saved_bytes(size_t rows, size_t n, bool soft_mask) {
    bool overflow = false;
    size_t block, total = 0;
    if (!vn_size_mul(rows, n, &block)) return 0;
    size_t one = aligned_reals(block, &overflow);
    size_t mask = soft_mask ? aligned_reals(n, &overflow) : 0;
    if (overflow || !vn_size_mul(one, 3, &total) || !vn_size_add(total, mask, &total)) return 0;
    return total;
}

ivt_rot_saved ivt_rot_saved_at(void *saved, size_t rows, size_t n) {
    bool overflow = false;
    size_t one = aligned_reals(rows * n, &overflow);
    unsigned char *p = saved;
    ivt_rot_saved s = {(vn_real *)p, (vn_real *)(p + one), (vn_real *)(p + 2 * one),
                       (vn_real *)(p + 3 * one)};
    return s;
}

void ivt_rot_forward(vn_real *y, const vn_real *x, const vn_real *s, const vn_real *r,
                     const vn_real *m, size_t m_stride, size_t rows, size_t n,
                     const ivt_rot_saved *saved) {
    vn_gemm(saved->xr, x, r, rows, n, n, false, false, false); /* xR */
    vn_gemm(saved->sr, s, r, rows, n, n, false, false, false); /* sR */
    for (size_t i = 0; i < rows; i++) {                         /* U = (1 − m) xR + m sR */
        const vn_real *mi = m + i * m_stride, *xi = saved->xr + i * n, *si = saved->sr + i * n;
        vn_real *ui = saved->u + i * n;
        for (size_t j = 0; j < n; j++) ui[j] = (1 - mi[j]) * xi[j] + mi[j] * si[j];
    }
    vn_gemm(y, saved->u, r, rows, n, n, false, true, false);   /* y = U Rᵀ */
}

vn_status ivt_rot_backward(vn_context *ctx, const vn_real *g, const vn_real *x, const vn_real *s,
                           const vn_real *r, const vn_real *m, size_t m_stride, size_t rows,
                           size_t n, const ivt_rot_saved *saved, vn_real *dx, vn_real *ds,
                           vn_real *dr, vn_real *dm) {
    size_t block = rows * n;
    vn_real *du = vn_context_scratch(ctx, 3 * block * sizeof(vn_real));
    if (!du) return ctx->status;
    vn_real *dux = du + block, *dus = du + 2 * block;
    vn_gemm(du, g, r, rows, n, n, false, false, false);             /* dU = G R */
    for (size_t i = 0; i < rows; i++) {
        const vn_real *mi = m + i * m_stride;
        vn_real *dmi = dm ? dm + i * m_stride : NULL;
        for (size_t j = 0; j < n; j++) {
            size_t e = i * n + j;
            dux[e] = (1 - mi[j]) * du[e];                            /* d(xR) = (1 − m) dU */
            dus[e] = mi[j] * du[e];                                  /* d(sR) = m dU */
            if (dmi) dmi[j] += du[e] * (saved->sr[e] - saved->xr[e]); /* dm = Σ dU (sR − xR) */
        }
    }
    if (dx) vn_gemm(dx, dux, r, rows, n, n, false, true, true);     /* dx = d(xR) Rᵀ */
    if (ds) vn_gemm(ds, dus, r, rows, n, n, false, true, true);     /* ds = d(sR) Rᵀ */
    if (dr) {
        vn_gemm(dr, g, saved->u, n, n, rows, true, false, true);    /* dR += Gᵀ U      (y = U Rᵀ) */
        vn_gemm(dr, x, dux, n, n, rows, true, false, true);         /* dR += xᵀ d(xR) */
        vn_gemm(dr, s, dus, n, n, rows, true, false, true);         /* dR += sᵀ d(sR) */
    }
    return VN_OK;
}

/* ---- small math ------------------------------------------------------------------- */

double ivt_sigmoid(double z) {
    if (z >= 0) return 1 / (1 + vn_exp_d(-z));
    double e = vn_exp_d(z);
    return e / (1 + e);
}

/* ---- gradcheck inputs --------------------------------------------------------------- */

vn_node *ivt_example_mask(vn_context *ctx, vn_rng *rng, size_t rows, size_t c) {
    size_t shape[2] = {rows, c};
    vn_node *mask = vn_constant(ctx, 2, shape);
    if (!mask) return NULL;
    for (size_t r = 0; r < rows; r++) {
        vn_real *row = mask->value.data + r * c;
        for (size_t j = 0; j < c; j++) row[j] = (vn_real)vn_rng_below(rng, 2);
        size_t one = vn_rng_below(rng, (uint32_t)c);
        row[one] = 1;
        if (c > 1) row[(one + 1 + vn_rng_below(rng, (uint32_t)(c - 1))) % c] = 0;
    }
    return mask;
}

vn_node *ivt_example_matrix(vn_context *ctx, vn_rng *rng, size_t rows, size_t cols, double low,
                            double high) {
    size_t shape[2] = {rows, cols};
    return vn_example_param(ctx, rng, 2, shape, low, high);
}
