/* vn_ops_loss.c — cross-entropy, BCE with logits, mean squared error.
 * Each reduces to a 0-d scalar (the mean), as PyTorch's defaults do. */
#include "vn_ops.h"
#include "vn_op_util.h"
#include "vn_math.h"

/* ---- cross_entropy(logits, labels) ---------------------------------------------
 * attrs.p[0] = int64 labels (one per row, copied into the arena by the
 * wrapper). saved: log-softmax of the logits, rows × C. */

static vn_status cross_entropy_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    const int64_t *labels = out->attrs.p[0];
    size_t rows = vn_tensor_rows(x), classes = vn_tensor_cols(x);
    if (x->ndim < 1 || rows == 0 || classes == 0)
        return vn_context_fail(ctx, VN_ESHAPE, "cross_entropy: logits need at least one row and one class");
    if ((size_t)out->attrs.i[0] != rows)
        return vn_context_fail(ctx, VN_ESHAPE, "cross_entropy: %lld labels for %zu rows of logits",
                               (long long)out->attrs.i[0], rows);
    for (size_t r = 0; r < rows; r++) {
        if (labels[r] < 0 || (uint64_t)labels[r] >= classes)
            return vn_context_fail(ctx, VN_ERANGE, "cross_entropy: label %lld of row %zu is outside [0, %zu)",
                                   (long long)labels[r], r, classes);
    }
    out->saved_bytes = x->numel * sizeof(vn_real);
    return vn_tensor_set_shape(&out->value, 0, NULL);
}

static void cross_entropy_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    const int64_t *labels = out->attrs.p[0];
    size_t rows = vn_tensor_rows(x), classes = vn_tensor_cols(x);
    vn_real *logp = out->saved;
    vn_log_softmax_rows(logp, x->data, rows, classes);
    vn_real total = 0;
    for (size_t r = 0; r < rows; r++) total -= logp[r * classes + (size_t)labels[r]];
    out->value.data[0] = total / (vn_real)rows;
}

static vn_status cross_entropy_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = G/N · (softmax(X) − onehot(label)) */
    const vn_tensor *x = &out->inputs[0]->value;
    const int64_t *labels = out->attrs.p[0];
    size_t rows = vn_tensor_rows(x), classes = vn_tensor_cols(x);
    const vn_real *logp = out->saved;
    vn_real *dx = vn_input_grad(out, 0), g = out->grad.data[0] / (vn_real)rows;
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < classes; j++) {
            vn_real p = vn_exp(logp[r * classes + j]);
            dx[r * classes + j] += g * (p - (j == (size_t)labels[r] ? 1 : 0));
        }
    }
    return VN_OK;
}

static vn_node *cross_entropy_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t shapes[2][3] = {{4, 3}, {2, 3, 5}};
    static const int ndims[2] = {2, 3};
    if (index < 0 || index >= 2) return NULL;
    vn_node *x = vn_example_param(ctx, rng, ndims[index], shapes[index], -2, 2);
    if (!x) return NULL;
    size_t rows = vn_tensor_rows(&x->value), classes = vn_tensor_cols(&x->value);
    int64_t labels[8];
    for (size_t r = 0; r < rows; r++) labels[r] = (int64_t)vn_rng_below(rng, (uint32_t)classes);
    return vn_cross_entropy(ctx, x, labels, rows);
}

const vn_op vn_op_cross_entropy = {.name = "cross_entropy", .min_inputs = 1, .max_inputs = 1,
                                   .infer = cross_entropy_infer, .forward = cross_entropy_forward,
                                   .backward = cross_entropy_backward,
                                   .example = cross_entropy_example, .role = VN_ROLE_LOSS_OP,
                                   .summary = "mean over rows of -log softmax(x)[label]"};

vn_node *vn_cross_entropy(vn_context *ctx, vn_node *logits, const int64_t *labels, size_t n) {
    if (ctx->status != VN_OK) return NULL;
    if (!labels && n > 0) {
        vn_context_fail(ctx, VN_EINVAL, "cross_entropy: NULL labels");
        return NULL;
    }
    size_t bytes;
    if (!vn_size_mul(n, sizeof(int64_t), &bytes) || n > (size_t)INT64_MAX) {
        vn_context_fail(ctx, VN_EOVERFLOW, "cross_entropy: too many labels");
        return NULL;
    }
    int64_t *copy = vn_context_scratch(ctx, bytes);
    if (!copy) return NULL;
    for (size_t i = 0; i < n; i++) copy[i] = labels[i];
    vn_attrs attrs = {0};
    attrs.p[0] = copy;
    attrs.i[0] = (int64_t)n;
    return vn_apply(ctx, &vn_op_cross_entropy, &logits, 1, &attrs);
}

/* ---- bce_with_logits(x, t) -------------------------------------------------------- */

static vn_status same_shape_loss_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *a = &out->inputs[0]->value, *b = &out->inputs[1]->value;
    if (!vn_tensor_same_shape(a, b)) return vn_fail_shapes(ctx, out->op->name, "differs from", a, b);
    if (a->numel == 0) return vn_context_fail(ctx, VN_ESHAPE, "%s: empty input", out->op->name);
    return vn_tensor_set_shape(&out->value, 0, NULL);
}

static void bce_forward(vn_node *out) {
    const vn_real *x = vn_input_value(out, 0), *t = vn_input_value(out, 1);
    size_t n = out->inputs[0]->value.numel;
    vn_real total = 0;
    for (size_t i = 0; i < n; i++) {
        vn_real relu = x[i] > 0 ? x[i] : 0;
        total += relu - x[i] * t[i] + vn_log1p(vn_exp(-vn_abs(x[i])));
    }
    out->value.data[0] = total / (vn_real)n;
}

static vn_real sigmoid_stable(vn_real x) {
    if (x >= 0) return 1 / (1 + vn_exp(-x));
    vn_real e = vn_exp(x);
    return e / (1 + e);
}

static vn_status bce_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = G/n · (σ(X) − T),  dT = −G/n · X */
    const vn_real *x = vn_input_value(out, 0), *t = vn_input_value(out, 1);
    vn_real *dx = vn_input_grad(out, 0), *dt = vn_input_grad(out, 1);
    size_t n = out->inputs[0]->value.numel;
    vn_real g = out->grad.data[0] / (vn_real)n;
    for (size_t i = 0; i < n; i++) {
        if (dx) dx[i] += g * (sigmoid_stable(x[i]) - t[i]);
        if (dt) dt[i] -= g * x[i];
    }
    return VN_OK;
}

static vn_node *pair_loss_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    size_t shape[VN_MAX_DIMS];
    int ndim = vn_example_shape(index, shape);
    if (ndim < 0) return NULL;
    vn_node *inputs[2];
    inputs[0] = vn_example_param(ctx, rng, ndim, shape, -2, 2);
    inputs[1] = vn_example_param(ctx, rng, ndim, shape, op == &vn_op_mse ? -2 : 0, op == &vn_op_mse ? 2 : 1);
    return vn_apply(ctx, op, inputs, 2, NULL);
}

const vn_op vn_op_bce_with_logits = {.name = "bce_with_logits", .min_inputs = 2, .max_inputs = 2,
                                     .infer = same_shape_loss_infer, .forward = bce_forward,
                                     .backward = bce_backward, .example = pair_loss_example,
                                     .role = VN_ROLE_LOSS_OP,
                                     .summary = "mean of max(x,0) - x*t + log(1 + exp(-|x|))"};

vn_node *vn_bce_with_logits(vn_context *ctx, vn_node *logits, vn_node *targets) {
    vn_node *inputs[2] = {logits, targets};
    return vn_apply(ctx, &vn_op_bce_with_logits, inputs, 2, NULL);
}

/* ---- mse(a, b) ------------------------------------------------------------------- */

static void mse_forward(vn_node *out) {
    const vn_real *a = vn_input_value(out, 0), *b = vn_input_value(out, 1);
    size_t n = out->inputs[0]->value.numel;
    vn_real total = 0;
    for (size_t i = 0; i < n; i++) total += (a[i] - b[i]) * (a[i] - b[i]);
    out->value.data[0] = total / (vn_real)n;
}

static vn_status mse_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dA = 2G/n · (A − B),  dB = −dA */
    const vn_real *a = vn_input_value(out, 0), *b = vn_input_value(out, 1);
    vn_real *da = vn_input_grad(out, 0), *db = vn_input_grad(out, 1);
    size_t n = out->inputs[0]->value.numel;
    vn_real g = 2 * out->grad.data[0] / (vn_real)n;
    for (size_t i = 0; i < n; i++) {
        vn_real d = g * (a[i] - b[i]);
        if (da) da[i] += d;
        if (db) db[i] -= d;
    }
    return VN_OK;
}

const vn_op vn_op_mse = {.name = "mse", .min_inputs = 2, .max_inputs = 2,
                         .infer = same_shape_loss_infer, .forward = mse_forward,
                         .backward = mse_backward, .example = pair_loss_example,
                         .role = VN_ROLE_LOSS_OP, .summary = "mean of (a - b)^2"};

vn_node *vn_mse(vn_context *ctx, vn_node *a, vn_node *b) {
    vn_node *inputs[2] = {a, b};
    return vn_apply(ctx, &vn_op_mse, inputs, 2, NULL);
}
