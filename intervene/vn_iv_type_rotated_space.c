/* vn_iv_type_rotated_space.c — pyvene's RotatedSpaceIntervention
 * (distributed interchange intervention, the heart of DAS).
 *
 * With R the materialised n × n rotation (rotated = x·R, as pyvene's
 * RotateLayer) and m the per-example 0/1 subspace mask over rotated
 * coordinates, in pyvene's order of operations:
 *
 *   U = (1 − m) ⊙ xR + m ⊙ sR      (rotate both, take the selected rotated
 *                                    coordinates from the source)
 *   y = U·Rᵀ                        (rotate back)
 *
 * so y = x + (s − x)·R·diag(m)·Rᵀ up to rounding; with every coordinate
 * selected y = sRRᵀ ≈ s. Backward (the rotated family, with dU = G·R):
 *   dx = ((1 − m) ⊙ dU)·Rᵀ,  ds = (m ⊙ dU)·Rᵀ,
 *   dR = Gᵀ·U + xᵀ·((1 − m) ⊙ dU) + sᵀ·(m ⊙ dU).
 *
 * Inputs: (base x, source s, mask (1 or rows) × n CONST, R n × n). */
#include "vn_iv_type_internal.h"

static vn_status rotated_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *r = &out->inputs[3]->value;
    size_t n = r->ndim == 2 ? r->shape[0] : 0, rows, stride;
    vn_status status;
    if ((status = ivt_infer_matrix(ctx, out, r, n, n, "rotation")) != VN_OK ||
        (status = ivt_infer_rows(ctx, out, x, n, &rows)) != VN_OK ||
        (status = ivt_infer_source(ctx, out, x, &out->inputs[1]->value)) != VN_OK ||
        (status = ivt_infer_mask(ctx, out, &out->inputs[2]->value, rows, n, &stride)) != VN_OK)
        return status;
    out->saved_bytes = ivt_rot_saved_bytes(rows, n, false);
    if (!out->saved_bytes) return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    return vn_infer_like(ctx, out, x);
}

static void rotated_dims(const vn_node *out, size_t *rows, size_t *n, size_t *stride) {
    const vn_tensor *mask = &out->inputs[2]->value;
    *n = out->inputs[3]->value.shape[0];
    *rows = out->value.numel / *n;
    *stride = mask->shape[0] == 1 ? 0 : *n;
}

static void rotated_forward(vn_node *out) {
    size_t rows, n, stride;
    rotated_dims(out, &rows, &n, &stride);
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    ivt_rot_forward(out->value.data, vn_input_value(out, 0), vn_input_value(out, 1),
                    vn_input_value(out, 3), vn_input_value(out, 2), stride, rows, n, &saved);
}

static vn_status rotated_backward(vn_context *ctx, vn_node *out) {
    size_t rows, n, stride;
    rotated_dims(out, &rows, &n, &stride);
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    return ivt_rot_backward(ctx, out->grad.data, vn_input_value(out, 0), vn_input_value(out, 1),
                            vn_input_value(out, 3), vn_input_value(out, 2), stride, rows, n, &saved,
                            vn_input_grad(out, 0), vn_input_grad(out, 1), vn_input_grad(out, 3), NULL);
}

/* Cases: 3 rows of n = 4 with a mask per row; (2, 3, 5) as 6 rows of 5 with
 * one shared mask row; a single row of n = 1. */
static vn_node *rotated_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t shapes[3][3] = {{3, 4}, {2, 3, 5}, {1, 1}};
    static const int ndims[3] = {2, 3, 2};
    static const size_t mask_rows[3] = {3, 1, 1};
    if (index < 0 || index >= 3) return NULL;
    size_t n = shapes[index][ndims[index] - 1];
    vn_node *inputs[4];
    inputs[0] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[1] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[2] = ivt_example_mask(ctx, rng, mask_rows[index], n);
    inputs[3] = ivt_example_matrix(ctx, rng, n, n, -1, 1);
    return vn_apply(ctx, op, inputs, 4, NULL);
}

const vn_op vn_iv_op_rotated_space = {
    .name = "iv_rotated_space",
    .min_inputs = 4,
    .max_inputs = 4,
    .infer = rotated_infer,
    .forward = rotated_forward,
    .backward = rotated_backward,
    .example = rotated_example,
    .role = VN_ROLE_INTERVENTION,
    .overwrites = true,
    .summary = "y = ((1 - m) * xR + m * sR) R^T, m the 0/1 subspace mask",
};

static vn_node *rotated_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    const vn_iv_type *type = &vn_iv_type_rotated_space;
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->source) return ivt_missing(ctx, type, "source");
    if (!args->mask) return ivt_missing(ctx, type, "subspace mask");
    if (!args->rotation) return ivt_missing(ctx, type, "rotation");
    vn_node *inputs[4] = {args->base, args->source, args->mask, args->rotation};
    return vn_apply(ctx, type->op, inputs, 4, NULL);
}

const vn_iv_type vn_iv_type_rotated_space = {
    .name = "RotatedSpaceIntervention",
    .op = &vn_iv_op_rotated_space,
    .apply = rotated_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = true,
    .uses_subspaces = true,
    .unitwise = false,
    .rotation = VN_IV_ROTATION_SQUARE,
    .tensors = VN_IV_TENSOR_ROTATION,
    .summary = "u = xR, u_S = (sR)_S, y = u R^T",
};
