/* vn_iv_type_sigmoid_mask.c — pyvene's SigmoidMaskIntervention: a learned
 * soft mask in the representation's own basis.
 *
 *   m = σ(θ/T)                 (θ: masks, w values, pyvene's init 0 so m = ½;
 *                               T: temperature, init 0.01)
 *   y = (1 − m) ⊙ x + m ⊙ s    (the mix family with Vanilla's constants)
 *
 * Subspaces are ignored. Backward: dx = (1 − m) ⊙ G, ds = m ⊙ G,
 * dm_j = Σ_rows G ⊙ (s − x); with σ' = m(1 − m):
 *   dθ_j = dm_j σ'_j / T,   dT = −Σ_j dm_j σ'_j θ_j / T².
 * (pyvene reads the temperature through torch.tensor(), which detaches it;
 * cvene's model passes it as a constant, so it gets no gradient there
 * either.)
 *
 * This file also holds the masks-and-temperature helpers that
 * SigmoidMaskRotatedSpace shares.
 *
 * Inputs: (base x, source s, θ (w elements), T (1 element, non-zero)). */
#include "vn_iv_type_internal.h"

/* θ = inputs[theta] (n elements) and T = inputs[theta + 1] (1 element,
 * finite, non-zero). */
vn_status ivt_sigmoid_params_infer(vn_context *ctx, vn_node *out, int theta, size_t n) {
    vn_status status;
    if ((status = ivt_infer_count(ctx, out, &out->inputs[theta]->value, n, "masks")) != VN_OK ||
        (status = ivt_infer_count(ctx, out, &out->inputs[theta + 1]->value, 1, "temperature")) != VN_OK)
        return status;
    double t = out->inputs[theta + 1]->value.data[0];
    if (!ivt_temperature_ok(t))
        return vn_context_fail(ctx, VN_EINVAL, "%s: the temperature (%g) must be finite and non-zero",
                               out->op->name, t);
    return VN_OK;
}

/* m_j = σ(θ_j / T) */
void ivt_sigmoid_mask_values(const vn_node *out, int theta, vn_real *m, size_t n) {
    const vn_real *th = out->inputs[theta]->value.data;
    double t = out->inputs[theta + 1]->value.data[0];
    for (size_t j = 0; j < n; j++) m[j] = (vn_real)ivt_sigmoid((double)th[j] / t);
}

/* dθ_j += dm_j σ'_j / T,  dT += −Σ dm_j σ'_j θ_j / T² */
void ivt_sigmoid_mask_grads(vn_node *out, int theta, const vn_real *dm, size_t n) {
    const vn_real *th = out->inputs[theta]->value.data;
    vn_real *dth = vn_input_grad(out, theta), *dt = vn_input_grad(out, theta + 1);
    double t = out->inputs[theta + 1]->value.data[0], sum_t = 0;
    for (size_t j = 0; j < n; j++) {
        double m = ivt_sigmoid((double)th[j] / t), slope = m * (1 - m);
        if (dth) dth[j] += (vn_real)(dm[j] * slope / t);
        sum_t -= dm[j] * slope * (double)th[j] / (t * t);
    }
    if (dt) dt[0] += (vn_real)sum_t;
}

static const ivt_mix sigmoid_mix = {1, -1, 1};

static vn_status sigmoid_mask_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    size_t w = out->inputs[2]->value.numel, rows, bytes;
    vn_status status;
    if ((status = ivt_infer_rows(ctx, out, x, w, &rows)) != VN_OK ||
        (status = ivt_infer_source(ctx, out, x, &out->inputs[1]->value)) != VN_OK ||
        (status = ivt_sigmoid_params_infer(ctx, out, 2, w)) != VN_OK)
        return status;
    if (!vn_size_mul(w, sizeof(vn_real), &bytes))
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    out->saved_bytes = bytes; /* m */
    return vn_infer_like(ctx, out, x);
}

static void sigmoid_mask_forward(vn_node *out) {
    size_t w = out->inputs[2]->value.numel;
    vn_real *m = out->saved;
    ivt_sigmoid_mask_values(out, 2, m, w);
    ivt_mix_forward(&sigmoid_mix, out->value.data, vn_input_value(out, 0), vn_input_value(out, 1), m,
                    0, out->value.numel / w, w);
}

static vn_status sigmoid_mask_backward(vn_context *ctx, vn_node *out) {
    size_t w = out->inputs[2]->value.numel;
    vn_real *dm = NULL;
    if (vn_input_grad(out, 2) || vn_input_grad(out, 3)) {
        dm = vn_context_scratch(ctx, w * sizeof(vn_real));
        if (!dm) return ctx->status;
        vn_fill(dm, w, 0);
    }
    ivt_mix_backward(&sigmoid_mix, out->grad.data, vn_input_value(out, 0), vn_input_value(out, 1),
                     out->saved, 0, out->value.numel / w, w, vn_input_grad(out, 0),
                     vn_input_grad(out, 1), dm);
    if (dm) ivt_sigmoid_mask_grads(out, 2, dm, w);
    return VN_OK;
}

/* Cases: 3 rows of w = 4, (2, 3, 5) as 6 rows of 5, 2 rows of w = 3 with T
 * a 0-d scalar; θ in [−2, 2), T in {1, 1.5, 2}. */
static vn_node *sigmoid_mask_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t shapes[3][3] = {{3, 4}, {2, 3, 5}, {2, 3}};
    static const int ndims[3] = {2, 3, 2};
    static const double ts[3] = {1.0, 1.5, 2.0};
    if (index < 0 || index >= 3) return NULL;
    size_t w = shapes[index][ndims[index] - 1], one = 1;
    vn_node *inputs[4];
    inputs[0] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[1] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[2] = vn_example_param(ctx, rng, 1, &w, -2, 2);
    inputs[3] = index == 2 ? vn_param(ctx, 0, NULL) : vn_param(ctx, 1, &one);
    if (!inputs[3]) return NULL;
    inputs[3]->value.data[0] = (vn_real)ts[index];
    return vn_apply(ctx, op, inputs, 4, NULL);
}

const vn_op vn_iv_op_sigmoid_mask = {
    .name = "iv_sigmoid_mask",
    .min_inputs = 4,
    .max_inputs = 4,
    .infer = sigmoid_mask_infer,
    .forward = sigmoid_mask_forward,
    .backward = sigmoid_mask_backward,
    .example = sigmoid_mask_example,
    .role = VN_ROLE_INTERVENTION,
    .summary = "y = (1 - m) * x + m * s, m = sigmoid(theta / T)",
};

static vn_node *sigmoid_mask_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    const vn_iv_type *type = &vn_iv_type_sigmoid_mask;
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->source) return ivt_missing(ctx, type, "source");
    if (!args->masks) return ivt_missing(ctx, type, "masks");
    if (!args->temperature) return ivt_missing(ctx, type, "temperature");
    vn_node *inputs[4] = {args->base, args->source, args->masks, args->temperature};
    return vn_apply(ctx, type->op, inputs, 4, NULL);
}

const vn_iv_type vn_iv_type_sigmoid_mask = {
    .name = "SigmoidMaskIntervention",
    .op = &vn_iv_op_sigmoid_mask,
    .apply = sigmoid_mask_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = true,
    .uses_subspaces = false,
    .unitwise = false,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = VN_IV_TENSOR_MASKS | VN_IV_TENSOR_TEMPERATURE,
    .temperature_init = 0.01,
    .masks_init = 0.0,
    .summary = "y = (1 - m) * x + m * s, m = sigmoid(theta / T)",
};
