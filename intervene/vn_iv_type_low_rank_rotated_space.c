/* vn_iv_type_low_rank_rotated_space.c — pyvene's
 * LowRankRotatedSpaceIntervention.
 *
 * W is n × m with orthonormal columns (rotated = x·W) and the 0/1 mask m_S
 * selects among the m rotated coordinates, per example. In pyvene's order:
 *
 *   d = (sW − xW) ⊙ m_S          (difference of the rotated coordinates)
 *   y = x + d·Wᵀ                  (added back in the representation space)
 *
 * With every coordinate selected, y = x + (s − x)·W·Wᵀ: the difference
 * projected on span W. A coordinate selected twice counts once (the mask is
 * 0/1). Backward, with D = (G·W) ⊙ m_S:
 *   dx = G − D·Wᵀ,  ds = D·Wᵀ,  dW = Gᵀ·d + (s − x)ᵀ·D.
 *
 * Inputs: (base x, source s, mask (1 or rows) × m CONST, W n × m). */
#include "vn_iv_type_internal.h"
#include "vn_kernels.h"

static vn_status low_rank_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *w = &out->inputs[3]->value;
    size_t n = w->ndim == 2 ? w->shape[0] : 0, m = w->ndim == 2 ? w->shape[1] : 0, rows, stride;
    vn_status status;
    if ((status = ivt_infer_matrix(ctx, out, w, n, 0, "rotation")) != VN_OK ||
        (status = ivt_infer_rows(ctx, out, x, n, &rows)) != VN_OK ||
        (status = ivt_infer_source(ctx, out, x, &out->inputs[1]->value)) != VN_OK ||
        (status = ivt_infer_mask(ctx, out, &out->inputs[2]->value, rows, m, &stride)) != VN_OK)
        return status;
    if (m > n)
        return vn_context_fail(ctx, VN_ESHAPE, "%s: W of %zu x %zu has more columns than rows",
                               out->op->name, n, m);
    size_t count;
    if (!vn_size_mul(rows, m, &count) || !vn_size_mul(count, sizeof(vn_real), &out->saved_bytes))
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    return vn_infer_like(ctx, out, x);
}

typedef struct low_rank_dims {
    size_t rows, n, m, stride;
} low_rank_dims;

static low_rank_dims low_rank_read(const vn_node *out) {
    const vn_tensor *w = &out->inputs[3]->value;
    low_rank_dims d = {out->value.numel / w->shape[0], w->shape[0], w->shape[1],
                       out->inputs[2]->value.shape[0] == 1 ? 0 : w->shape[1]};
    return d;
}

static void low_rank_forward(vn_node *out) {
    low_rank_dims d = low_rank_read(out);
    const vn_real *x = vn_input_value(out, 0), *s = vn_input_value(out, 1),
                  *mask = vn_input_value(out, 2), *w = vn_input_value(out, 3);
    vn_real *diff = out->saved, *y = out->value.data;
    /* y holds sW (rows × m) for a moment: it has rows·n ≥ rows·m elements */
    vn_gemm(diff, x, w, d.rows, d.m, d.n, false, false, false);   /* xW */
    vn_gemm(y, s, w, d.rows, d.m, d.n, false, false, false);      /* sW */
    for (size_t r = 0; r < d.rows; r++) {                          /* d = (sW − xW) ⊙ m_S */
        const vn_real *mr = mask + r * d.stride;
        for (size_t j = 0; j < d.m; j++) diff[r * d.m + j] = (y[r * d.m + j] - diff[r * d.m + j]) * mr[j];
    }
    vn_copy(y, x, d.rows * d.n);
    vn_gemm(y, diff, w, d.rows, d.n, d.m, false, true, true);     /* y = x + d Wᵀ */
}

static vn_status low_rank_backward(vn_context *ctx, vn_node *out) {
    low_rank_dims d = low_rank_read(out);
    const vn_real *g = out->grad.data, *x = vn_input_value(out, 0), *s = vn_input_value(out, 1),
                  *mask = vn_input_value(out, 2), *w = vn_input_value(out, 3);
    const vn_real *diff = out->saved;
    vn_real *dx = vn_input_grad(out, 0), *ds = vn_input_grad(out, 1), *dw = vn_input_grad(out, 3);
    size_t rm = d.rows * d.m, rn = d.rows * d.n;
    vn_real *gd = vn_context_scratch(ctx, (rm + rn) * sizeof(vn_real));
    if (!gd) return ctx->status;
    vn_real *t = gd + rm;
    vn_gemm(gd, g, w, d.rows, d.m, d.n, false, false, false);      /* G W */
    for (size_t r = 0; r < d.rows; r++) {                           /* D = (G W) ⊙ m_S */
        const vn_real *mr = mask + r * d.stride;
        for (size_t j = 0; j < d.m; j++) gd[r * d.m + j] *= mr[j];
    }
    if (dw) {
        vn_gemm(dw, g, diff, d.n, d.m, d.rows, true, false, true);  /* dW += Gᵀ d */
        for (size_t i = 0; i < rn; i++) t[i] = s[i] - x[i];
        vn_gemm(dw, t, gd, d.n, d.m, d.rows, true, false, true);    /* dW += (s − x)ᵀ D */
    }
    if (dx || ds) {
        vn_gemm(t, gd, w, d.rows, d.n, d.m, false, true, false);    /* D Wᵀ */
        for (size_t i = 0; i < rn; i++) {
            if (dx) dx[i] += g[i] - t[i];                            /* dx = G − D Wᵀ */
            if (ds) ds[i] += t[i];                                   /* ds = D Wᵀ */
        }
    }
    return VN_OK;
}

/* Cases: 3 rows, n = 5, m = 2, a mask per row; 4 rows, n = m = 3, one
 * shared mask row; 2 rows, n = 4, m = 1. */
static vn_node *low_rank_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t rows[3] = {3, 4, 2}, ns[3] = {5, 3, 4}, ms[3] = {2, 3, 1},
                        mask_rows[3] = {3, 1, 2};
    if (index < 0 || index >= 3) return NULL;
    vn_node *inputs[4];
    inputs[0] = ivt_example_matrix(ctx, rng, rows[index], ns[index], -1, 1);
    inputs[1] = ivt_example_matrix(ctx, rng, rows[index], ns[index], -1, 1);
    inputs[2] = ivt_example_mask(ctx, rng, mask_rows[index], ms[index]);
    inputs[3] = ivt_example_matrix(ctx, rng, ns[index], ms[index], -1, 1);
    return vn_apply(ctx, op, inputs, 4, NULL);
}

const vn_op vn_iv_op_low_rank_rotated_space = {
    .name = "iv_low_rank_rotated_space",
    .min_inputs = 4,
    .max_inputs = 4,
    .infer = low_rank_infer,
    .forward = low_rank_forward,
    .backward = low_rank_backward,
    .example = low_rank_example,
    .role = VN_ROLE_INTERVENTION,
    .summary = "y = x + ((sW - xW) * m) W^T, W n x m",
};

static vn_node *low_rank_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    const vn_iv_type *type = &vn_iv_type_low_rank_rotated_space;
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->source) return ivt_missing(ctx, type, "source");
    if (!args->mask) return ivt_missing(ctx, type, "subspace mask");
    if (!args->rotation) return ivt_missing(ctx, type, "rotation");
    vn_node *inputs[4] = {args->base, args->source, args->mask, args->rotation};
    return vn_apply(ctx, type->op, inputs, 4, NULL);
}

const vn_iv_type vn_iv_type_low_rank_rotated_space = {
    .name = "LowRankRotatedSpaceIntervention",
    .op = &vn_iv_op_low_rank_rotated_space,
    .apply = low_rank_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = true,
    .uses_subspaces = true,
    .unitwise = false,
    .rotation = VN_IV_ROTATION_LOW_RANK,
    .tensors = VN_IV_TENSOR_ROTATION,
    .summary = "y = x + ((sW - xW) * 1_S) W^T",
};
