/* vn_ops_reduce.c — sum and mean (all elements or the last axis), softmax
 * and log-softmax on the last axis. */
#include "vn_ops.h"
#include "vn_op_util.h"
#include "vn_math.h"

/* ---- sum / mean family ----------------------------------------------------- */

typedef struct reduce_info {
    bool per_row; /* last axis only (else all elements) */
    bool mean;
} reduce_info;

static vn_status reduce_infer(vn_context *ctx, vn_node *out) {
    const reduce_info *info = out->op->data;
    const vn_tensor *x = &out->inputs[0]->value;
    if (!info->per_row) return vn_tensor_set_shape(&out->value, 0, NULL);
    if (x->ndim < 1) return vn_context_fail(ctx, VN_ESHAPE, "%s: needs at least 1 dimension", out->op->name);
    return vn_tensor_set_shape(&out->value, x->ndim - 1, x->shape);
}

/* The reduction as rows × cols: all elements are one row. */
static void reduce_dims(const vn_node *out, size_t *rows, size_t *cols) {
    const reduce_info *info = out->op->data;
    const vn_tensor *x = &out->inputs[0]->value;
    *rows = info->per_row ? vn_tensor_rows(x) : 1;
    *cols = info->per_row ? vn_tensor_cols(x) : x->numel;
}

static void reduce_forward(vn_node *out) {
    const reduce_info *info = out->op->data;
    size_t rows, cols;
    reduce_dims(out, &rows, &cols);
    if (info->mean) vn_row_mean(out->value.data, vn_input_value(out, 0), rows, cols);
    else vn_row_sum(out->value.data, vn_input_value(out, 0), rows, cols);
}

static vn_status reduce_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX[r, j] = G[r] (sum) or G[r] / cols (mean) */
    const reduce_info *info = out->op->data;
    size_t rows, cols;
    reduce_dims(out, &rows, &cols);
    vn_real *dx = vn_input_grad(out, 0);
    for (size_t r = 0; r < rows; r++) {
        vn_real g = out->grad.data[r];
        if (info->mean) g /= (vn_real)cols;
        for (size_t j = 0; j < cols; j++) dx[r * cols + j] += g;
    }
    return VN_OK;
}

static vn_node *reduce_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    size_t shape[VN_MAX_DIMS];
    int ndim = vn_example_shape(index, shape);
    if (ndim < 0) return NULL;
    vn_node *x = vn_example_param(ctx, rng, ndim, shape, -2, 2);
    return vn_apply(ctx, op, &x, 1, NULL);
}

#define REDUCE_OP(var, opname, per_row_, mean_, text)                                       \
    static const reduce_info var##_info = {per_row_, mean_};                               \
    const vn_op var = {.name = opname, .min_inputs = 1, .max_inputs = 1,                    \
                       .infer = reduce_infer, .forward = reduce_forward,                   \
                       .backward = reduce_backward, .example = reduce_example,             \
                       .data = &var##_info, .summary = text}

REDUCE_OP(vn_op_sum, "sum", false, false, "y = sum of all elements");
REDUCE_OP(vn_op_mean, "mean", false, true, "y = mean of all elements");
REDUCE_OP(vn_op_sum_rows, "sum_rows", true, false, "y = sum over the last axis");
REDUCE_OP(vn_op_mean_rows, "mean_rows", true, true, "y = mean over the last axis");

vn_node *vn_sum(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_sum, &x, 1, NULL); }
vn_node *vn_mean(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_mean, &x, 1, NULL); }
vn_node *vn_sum_rows(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_sum_rows, &x, 1, NULL); }
vn_node *vn_mean_rows(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_mean_rows, &x, 1, NULL); }

/* ---- softmax and log-softmax on the last axis --------------------------------- */

static vn_status softmax_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    if (x->ndim < 1) return vn_context_fail(ctx, VN_ESHAPE, "%s: needs at least 1 dimension", out->op->name);
    return vn_infer_like(ctx, out, x);
}

static void softmax_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    vn_softmax_rows(out->value.data, x->data, vn_tensor_rows(x), vn_tensor_cols(x));
}

static vn_status softmax_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = Y ⊙ (G − Σⱼ G ⊙ Y) per row */
    size_t rows = vn_tensor_rows(&out->value), cols = vn_tensor_cols(&out->value);
    const vn_real *y = out->value.data, *g = out->grad.data;
    vn_real *dx = vn_input_grad(out, 0);
    for (size_t r = 0; r < rows; r++) {
        const vn_real *yr = y + r * cols, *gr = g + r * cols;
        vn_real dot = 0;
        for (size_t j = 0; j < cols; j++) dot += gr[j] * yr[j];
        for (size_t j = 0; j < cols; j++) dx[r * cols + j] += yr[j] * (gr[j] - dot);
    }
    return VN_OK;
}

static void log_softmax_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    vn_log_softmax_rows(out->value.data, x->data, vn_tensor_rows(x), vn_tensor_cols(x));
}

static vn_status log_softmax_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = G − exp(Y) · Σⱼ G per row */
    size_t rows = vn_tensor_rows(&out->value), cols = vn_tensor_cols(&out->value);
    const vn_real *y = out->value.data, *g = out->grad.data;
    vn_real *dx = vn_input_grad(out, 0);
    for (size_t r = 0; r < rows; r++) {
        vn_real total = vn_array_sum(g + r * cols, cols);
        for (size_t j = 0; j < cols; j++) dx[r * cols + j] += g[r * cols + j] - vn_exp(y[r * cols + j]) * total;
    }
    return VN_OK;
}

const vn_op vn_op_softmax = {.name = "softmax", .min_inputs = 1, .max_inputs = 1,
                             .infer = softmax_infer, .forward = softmax_forward,
                             .backward = softmax_backward, .example = reduce_example,
                             .summary = "y = exp(x) / sum exp(x) over the last axis"};
const vn_op vn_op_log_softmax = {.name = "log_softmax", .min_inputs = 1, .max_inputs = 1,
                                 .infer = softmax_infer, .forward = log_softmax_forward,
                                 .backward = log_softmax_backward, .example = reduce_example,
                                 .summary = "y = x - log sum exp(x) over the last axis"};

vn_node *vn_softmax(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_softmax, &x, 1, NULL); }
vn_node *vn_log_softmax(vn_context *ctx, vn_node *x) { return vn_apply(ctx, &vn_op_log_softmax, &x, 1, NULL); }
