/* vn_iv_type_boundless_rotated_space.c — pyvene's
 * BoundlessRotatedSpaceIntervention (Boundless DAS).
 *
 * A rotated interchange whose selection is a learned soft boundary instead
 * of a subspace list. Over the rotated coordinates j = 0 … n−1:
 *
 *   β   = clamp(b, 1e-3, 1)                       (b: intervention_boundaries)
 *   m_j = σ((j − 0)/T) · σ((β·n − j)/T)           (pyvene's sigmoid_boundary)
 *   U   = (1 − m) ⊙ xR + m ⊙ sR,   y = U·Rᵀ
 *
 * so coordinates below β·n come (softly) from the source; m_0 ≤ ½ since
 * σ(0) = ½. Subspaces are ignored, as in pyvene. Backward: the rotated
 * family gives dx, ds, dR and dm_j = Σ_rows dU ⊙ (sR − xR); then with
 * p_j = σ(j/T), q_j = σ((βn − j)/T):
 *   ∂m_j/∂β = p_j q_j (1 − q_j) · n/T                (db = Σ dm ∂m/∂β where
 *                                                      1e-3 ≤ b ≤ 1, torch's
 *                                                      clamp gradient)
 *   ∂m_j/∂T = −p_j (1 − p_j) q_j · j/T² − p_j q_j (1 − q_j) · (βn − j)/T².
 * (The temperature is a parameter in pyvene and gets a gradient; cvene's
 * model passes it as a constant that the schedule sets.)
 *
 * Inputs: (base x, source s, R n × n, b (1 element), T (1 element, non-zero)). */
#include "vn_iv_type_internal.h"

#define BOUNDARY_MIN 1e-3
#define BOUNDARY_MAX 1.0

static vn_status boundless_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *r = &out->inputs[2]->value;
    size_t n = r->ndim == 2 ? r->shape[0] : 0, rows;
    vn_status status;
    if ((status = ivt_infer_matrix(ctx, out, r, n, n, "rotation")) != VN_OK ||
        (status = ivt_infer_rows(ctx, out, x, n, &rows)) != VN_OK ||
        (status = ivt_infer_source(ctx, out, x, &out->inputs[1]->value)) != VN_OK ||
        (status = ivt_infer_count(ctx, out, &out->inputs[3]->value, 1, "intervention_boundaries")) != VN_OK ||
        (status = ivt_infer_count(ctx, out, &out->inputs[4]->value, 1, "temperature")) != VN_OK)
        return status;
    double b = out->inputs[3]->value.data[0], t = out->inputs[4]->value.data[0];
    if (vn_isnan(b) || !ivt_temperature_ok(t))
        return vn_context_fail(ctx, VN_EINVAL, "%s: the boundary (%g) must be a number and the "
                               "temperature (%g) finite and non-zero", out->op->name, b, t);
    out->saved_bytes = ivt_rot_saved_bytes(rows, n, true);
    if (!out->saved_bytes) return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    return vn_infer_like(ctx, out, x);
}

static double clamp_boundary(double b) {
    return b < BOUNDARY_MIN ? BOUNDARY_MIN : (b > BOUNDARY_MAX ? BOUNDARY_MAX : b);
}

static void boundless_forward(vn_node *out) {
    size_t n = out->inputs[2]->value.shape[0], rows = out->value.numel / n;
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    double beta_n = clamp_boundary(out->inputs[3]->value.data[0]) * (double)n;
    double t = out->inputs[4]->value.data[0];
    for (size_t j = 0; j < n; j++)   /* m_j = σ(j/T) σ((βn − j)/T) */
        saved.m[j] = (vn_real)(ivt_sigmoid((double)j / t) * ivt_sigmoid((beta_n - (double)j) / t));
    ivt_rot_forward(out->value.data, vn_input_value(out, 0), vn_input_value(out, 1),
                    vn_input_value(out, 2), saved.m, 0, rows, n, &saved);
}

static vn_status boundless_backward(vn_context *ctx, vn_node *out) {
    size_t n = out->inputs[2]->value.shape[0], rows = out->value.numel / n;
    ivt_rot_saved saved = ivt_rot_saved_at(out->saved, rows, n);
    vn_real *db = vn_input_grad(out, 3), *dt = vn_input_grad(out, 4), *dm = NULL;
    if (db || dt) {
        dm = vn_context_scratch(ctx, n * sizeof(vn_real));
        if (!dm) return ctx->status;
        vn_fill(dm, n, 0);
    }
    vn_status status = ivt_rot_backward(ctx, out->grad.data, vn_input_value(out, 0),
                                        vn_input_value(out, 1), vn_input_value(out, 2), saved.m, 0,
                                        rows, n, &saved, vn_input_grad(out, 0),
                                        vn_input_grad(out, 1), vn_input_grad(out, 2), dm);
    if (status != VN_OK || !dm) return status;
    double b = out->inputs[3]->value.data[0], t = out->inputs[4]->value.data[0];
    double beta_n = clamp_boundary(b) * (double)n, sum_b = 0, sum_t = 0;
    for (size_t j = 0; j < n; j++) {
        double jj = (double)j, p = ivt_sigmoid(jj / t), q = ivt_sigmoid((beta_n - jj) / t);
        sum_b += dm[j] * p * q * (1 - q) * (double)n / t;                 /* ∂m/∂β */
        sum_t += dm[j] * (-p * (1 - p) * q * jj - p * q * (1 - q) * (beta_n - jj)) / (t * t); /* ∂m/∂T */
    }
    if (db && b >= BOUNDARY_MIN && b <= BOUNDARY_MAX) db[0] += (vn_real)sum_b;
    if (dt) dt[0] += (vn_real)sum_t;
    return VN_OK;
}

/* Cases: 3 rows of n = 4 (b = 0.55, T = 2), (2, 3, 5) as 6 rows of 5
 * (b = 0.3, T = 2.5), 2 rows of n = 6 with T a 0-d scalar. b stays away
 * from the clamp's ends. */
static vn_node *boundless_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t shapes[3][3] = {{3, 4}, {2, 3, 5}, {2, 6}};
    static const int ndims[3] = {2, 3, 2};
    static const double bs[3] = {0.55, 0.3, 0.8}, ts[3] = {2.0, 2.5, 3.0};
    if (index < 0 || index >= 3) return NULL;
    size_t n = shapes[index][ndims[index] - 1], one = 1;
    vn_node *inputs[5];
    inputs[0] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[1] = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    inputs[2] = ivt_example_matrix(ctx, rng, n, n, -1, 1);
    inputs[3] = vn_param(ctx, 1, &one);
    inputs[4] = index == 2 ? vn_param(ctx, 0, NULL) : vn_param(ctx, 1, &one);
    if (!inputs[3] || !inputs[4]) return NULL;
    inputs[3]->value.data[0] = (vn_real)bs[index];
    inputs[4]->value.data[0] = (vn_real)ts[index];
    return vn_apply(ctx, op, inputs, 5, NULL);
}

const vn_op vn_iv_op_boundless_rotated_space = {
    .name = "iv_boundless_rotated_space",
    .min_inputs = 5,
    .max_inputs = 5,
    .infer = boundless_infer,
    .forward = boundless_forward,
    .backward = boundless_backward,
    .example = boundless_example,
    .role = VN_ROLE_INTERVENTION,
    .summary = "y = ((1 - m) * xR + m * sR) R^T, m_j = s(j/T) s((clamp(b)n - j)/T)",
};

static vn_node *boundless_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    const vn_iv_type *type = &vn_iv_type_boundless_rotated_space;
    if (!args->base) return ivt_missing(ctx, type, "base");
    if (!args->source) return ivt_missing(ctx, type, "source");
    if (!args->rotation) return ivt_missing(ctx, type, "rotation");
    if (!args->boundaries) return ivt_missing(ctx, type, "intervention_boundaries");
    if (!args->temperature) return ivt_missing(ctx, type, "temperature");
    vn_node *inputs[5] = {args->base, args->source, args->rotation, args->boundaries, args->temperature};
    return vn_apply(ctx, type->op, inputs, 5, NULL);
}

const vn_iv_type vn_iv_type_boundless_rotated_space = {
    .name = "BoundlessRotatedSpaceIntervention",
    .op = &vn_iv_op_boundless_rotated_space,
    .apply = boundless_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = true,
    .uses_subspaces = false,
    .unitwise = false,
    .rotation = VN_IV_ROTATION_SQUARE,
    .tensors = VN_IV_TENSOR_ROTATION | VN_IV_TENSOR_BOUNDARIES | VN_IV_TENSOR_TEMPERATURE,
    .boundaries_init = 0.5,
    .temperature_init = 50.0,
    .summary = "y = ((1 - m) * xR + m * sR) R^T with a learned boundary mask",
};
