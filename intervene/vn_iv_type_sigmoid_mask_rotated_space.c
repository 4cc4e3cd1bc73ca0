/* vn_iv_type_sigmoid_mask_rotated_space.c — pyvene's
 * SigmoidMaskRotatedSpaceIntervention.
 *
 * A rotated interchange with one learned soft mask per rotated coordinate:
 *
 *   m = σ(θ/T)                     (θ: masks, n values, pyvene's init 100;
 *                                   T: temperature, init 50, so m ≈ 0.881)
 *   U = (1 − m) ⊙ xR + m ⊙ sR,   y = U·Rᵀ
 *
 * Subspaces are ignored, as in pyvene. Backward: the rotated family gives
 * dx, ds, dR and dm_j = Σ_rows dU ⊙ (sR − xR); with σ' = m(1 − m):
 *   dθ_j = dm_j σ'_j / T,   dT = −Σ_j dm_j σ'_j θ_j / T².
 *
 * Inputs: (base x, source s, R n × n, θ (n elements), T (1 element, non-zero)). */
#include "vn_iv_type_internal.h"

static vn_status smr_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *r = &out->inputs[2]->value;
    size_t n = r->ndim == 2 ? r->shape[0] : 0, rows;
    vn_status status;
    if ((status = ivt_infer_matrix(ctx, out, r, n, n, "rotation")) != VN_OK ||
        (status = ivt_infer_rows(ctx, out, x, n, &rows)) != VN_OK ||
        (status = ivt_infer_source(ctx, out, x, &out->inputs[1]->value)) != VN_OK ||
        (status = ivt_sigmoid_params_infer(ctx, out, 3, n)) != VN_OK)
        return status;
    out->saved_bytes = ivt_rot_saved_bytes(rows, n, true);
    if (!out->saved_bytes) return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    return vn_infer_like(ctx, out, x);
}

static void smr_forward(vn_node *out) {
    size_t n = out->inputs[2]->value.shape[0], rows = out->value.numel / n;
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    ivt_sigmoid_mask_values(out, 3, saved.m, n);
    ivt_rot_forward(out->value.data, vn_input_value(out, 0), vn_input_value(out, 1),
                    vn_input_value(out, 2), saved.m, 0, rows, n, &saved);
}

static vn_status smr_backward(vn_context *ctx, vn_node *out) {
    size_t n = out->inputs[2]->value.shape[0], rows = out->value.numel / n;
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    vn_real *dm = NULL;
    if (vn_input_grad(out, 3) || vn_input_grad(out, 4)) {
        dm = vn_context_scratch(ctx, n * sizeof(vn_real));
        if (!dm) return ctx->status;
        vn_fill(dm, n, 0);
    }
    vn_status status = ivt_rot_backward(ctx, out->grad.data, vn_input_value(out, 0),
                                        vn_input_value(out, 1), vn_input_value(out, 2), saved.m, 0,
                                        rows, n, &saved, vn_input_grad(out, 0),
                                        vn_input_grad(out, 1), vn_input_grad(out, 2), dm);
    if (status == VN_OK && dm) ivt_sigmoid_mask_grads(out, 3, dm, n);
    return status;
}

/* Cases: 3 rows of n = 4, (2, 3, 5) as 6 rows of 5, 2 rows of n = 3 with T
 * a 0-d scalar; θ in [−2, 2), T in {1.5, 2, 2.5}. */
static vn_node *smr_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t shapes[3][3] = {{3, 4}, {2, 3, 5}, {2, 3}};
    static const int ndims[3] = {2, 3, 2};
    static const double ts[3] = {1.5, 2.0, 2.5};
    if (index < 0 || index >= 3) return NULL;
    size_t n = shapes[index][ndims[index] - 1], one = 1;
    vn_node *inputs[5];
    inputs[0] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[1] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[2] = ivt_example_matrix(ctx, rng, n, n, -1, 1);
    inputs[3] = vn_example_param(ctx, rng, 1, &n, -2, 2);
    inputs[4] = index == 2 ? vn_param(ctx, 0, NULL) : vn_param(ctx, 1, &one);
    if (!inputs[4]) return NULL;
    inputs[4]->value.data[0] = (vn_real)ts[index];
    return vn_apply(ctx, op, inputs, 5, NULL);
}

const vn_op vn_iv_op_sigmoid_mask_rotated_space = {
    .name = "iv_sigmoid_mask_rotated_space",
    .min_inputs = 5,
    .max_inputs = 5,
    .infer = smr_infer,
    .forward = smr_forward,
    .backward = smr_backward,
    .example = smr_example,
    .role = VN_ROLE_INTERVENTION,
    .summary = "y = ((1 - m) * xR + m * sR) R^T, m = sigmoid(theta / T)",
};

static vn_node *smr_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    const vn_iv_type *type = &vn_iv_type_sigmoid_mask_rotated_space;
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->source) return ivt_missing(ctx, type, "source");
    if (!args->rotation) return ivt_missing(ctx, type, "rotation");
    if (!args->masks) return ivt_missing(ctx, type, "masks");
    if (!args->temperature) return ivt_missing(ctx, type, "temperature");
    vn_node *inputs[5] = {args->base, args->source, args->rotation, args->masks, args->temperature};
    return vn_apply(ctx, type->op, inputs, 5, NULL);
}

const vn_iv_type vn_iv_type_sigmoid_mask_rotated_space = {
    .name = "SigmoidMaskRotatedSpaceIntervention",
    .op = &vn_iv_op_sigmoid_mask_rotated_space,
    .apply = smr_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = true,
    .uses_subspaces = false,
    .unitwise = false,
    .rotation = VN_IV_ROTATION_SQUARE,
    .tensors = VN_IV_TENSOR_ROTATION | VN_IV_TENSOR_MASKS | VN_IV_TENSOR_TEMPERATURE,
    .temperature_init = 50.0,
    .masks_init = 100.0,
    .summary = "y = ((1 - m) * xR + m * sR) R^T, m = sigmoid(theta / T)",
};
