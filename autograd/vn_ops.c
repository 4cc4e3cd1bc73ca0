/* vn_ops.c — the op registry and helpers shared by op definitions. */
#include "vn_ops.h"
#include "vn_op_util.h"

/* Built-in ops, indexed by vn_op_id. */
static const vn_op *const builtin_ops[] = {
    [VN_OP_ADD] = &vn_op_add,
    [VN_OP_SUB] = &vn_op_sub,
    [VN_OP_MUL] = &vn_op_mul,
    [VN_OP_DIV] = &vn_op_div,
    [VN_OP_NEG] = &vn_op_neg,
    [VN_OP_SCALE] = &vn_op_scale,
    [VN_OP_MATMUL] = &vn_op_matmul,
    [VN_OP_SUM] = &vn_op_sum,
    [VN_OP_SUM_ROWS] = &vn_op_sum_rows,
    [VN_OP_MEAN] = &vn_op_mean,
    [VN_OP_MEAN_ROWS] = &vn_op_mean_rows,
    [VN_OP_RESHAPE] = &vn_op_reshape,
    [VN_OP_SLICE] = &vn_op_slice,
    [VN_OP_CONCAT] = &vn_op_concat,
    [VN_OP_RELU] = &vn_op_relu,
    [VN_OP_GELU] = &vn_op_gelu,
    [VN_OP_GELU_TANH] = &vn_op_gelu_tanh,
    [VN_OP_QUICK_GELU] = &vn_op_quick_gelu,
    [VN_OP_TANH] = &vn_op_tanh,
    [VN_OP_SIGMOID] = &vn_op_sigmoid,
    [VN_OP_SILU] = &vn_op_silu,
    [VN_OP_LEAKY_RELU] = &vn_op_leaky_relu,
    [VN_OP_RELU6] = &vn_op_relu6,
    [VN_OP_EXP] = &vn_op_exp,
    [VN_OP_LOG] = &vn_op_log,
    [VN_OP_SOFTMAX] = &vn_op_softmax,
    [VN_OP_LOG_SOFTMAX] = &vn_op_log_softmax,
    [VN_OP_CROSS_ENTROPY] = &vn_op_cross_entropy,
    [VN_OP_BCE_WITH_LOGITS] = &vn_op_bce_with_logits,
    [VN_OP_MSE] = &vn_op_mse,
    [VN_OP_MASK_MIX] = &vn_op_mask_mix,
    [VN_OP_DROPOUT] = &vn_op_dropout,
};
VN_STATIC_ASSERT(VN_ARRAY_COUNT(builtin_ops) == VN_OP_COUNT, builtin_ops_complete);

const vn_op *vn_builtin_op(vn_op_id id) {
    return (unsigned)id < VN_OP_COUNT ? builtin_ops[id] : NULL;
}

/* Plugin ops, in registration order. Registration happens at start-up, from
 * one thread. */
static const vn_op *plugin_ops[VN_MAX_PLUGIN_OPS];
static size_t n_plugin_ops;

vn_status vn_op_register(const vn_op *op) {
    if (!op || !op->name || !op->infer || !op->forward || !op->backward || !op->example)
        return VN_EINVAL;
    const vn_op *same = vn_op_find(op->name);
    if (same) return same == op ? VN_OK : VN_EINVAL;
    if (n_plugin_ops == VN_MAX_PLUGIN_OPS) return VN_EFULL;
    plugin_ops[n_plugin_ops++] = op;
    return VN_OK;
}

size_t vn_op_count(void) { return VN_OP_COUNT + n_plugin_ops; }

const vn_op *vn_op_at(size_t index) {
    if (index < VN_OP_COUNT) return builtin_ops[index];
    index -= VN_OP_COUNT;
    return index < n_plugin_ops ? plugin_ops[index] : NULL;
}

const vn_op *vn_op_find(const char *name) {
    if (!name) return NULL;
    for (size_t i = 0; i < vn_op_count(); i++)
        if (vn_strcmp(vn_op_at(i)->name, name) == 0) return vn_op_at(i);
    return NULL;
}

/* ---- shared helpers -------------------------------------------------------- */

bool vn_broadcasts(const vn_tensor *a, const vn_tensor *b) {
    if (b->numel == 1) return true;
    if (b->ndim > a->ndim) return false;
    for (int i = 1; i <= b->ndim; i++)
        if (b->shape[b->ndim - i] != a->shape[a->ndim - i]) return false;
    return true;
}

vn_status vn_fail_shapes(vn_context *ctx, const char *op, const char *rule,
                         const vn_tensor *a, const vn_tensor *b) {
    char sa[64], sb[64];
    return vn_context_fail(ctx, VN_ESHAPE, "%s: shape %s %s shape %s", op,
                           vn_shape_string(b, sb, sizeof sb), rule,
                           vn_shape_string(a, sa, sizeof sa));
}

vn_status vn_infer_like(vn_context *ctx, vn_node *out, const vn_tensor *t) {
    vn_status status = vn_tensor_set_shape(&out->value, t->ndim, t->shape);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s: shape overflow", out->op->name);
    return VN_OK;
}

static vn_node *example_leaf(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                             double low, double high, const double *kinks, int n_kinks,
                             double gap, unsigned flags) {
    vn_node *node = vn_leaf(ctx, ndim, shape, flags);
    if (!node) return NULL;
    for (size_t i = 0; i < node->value.numel; i++) {
        double v;
        bool near;
        do {
            v = low + (high - low) * vn_rng_uniform(rng);
            near = false;
            for (int k = 0; k < n_kinks; k++) {
                double d = v - kinks[k];
                if (d < gap && d > -gap) near = true;
            }
        } while (near);
        node->value.data[i] = (vn_real)v;
    }
    return node;
}

vn_node *vn_example_param(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                          double low, double high) {
    return example_leaf(ctx, rng, ndim, shape, low, high, NULL, 0, 0, VN_NODE_PARAM);
}

vn_node *vn_example_param_avoiding(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                                   double low, double high, const double *kinks, int n_kinks,
                                   double gap) {
    return example_leaf(ctx, rng, ndim, shape, low, high, kinks, n_kinks, gap, VN_NODE_PARAM);
}

vn_node *vn_example_const(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                          double low, double high) {
    return example_leaf(ctx, rng, ndim, shape, low, high, NULL, 0, 0, VN_NODE_CONST);
}

int vn_example_shape(int index, size_t shape[VN_MAX_DIMS]) {
    static const size_t shapes[][VN_MAX_DIMS] = {{3, 4}, {2, 3, 5}, {7}, {1, 1}};
    static const int ndims[] = {2, 3, 1, 2};
    if (index < 0 || index >= (int)VN_ARRAY_COUNT(ndims)) return -1;
    for (int i = 0; i < VN_MAX_DIMS; i++) shape[i] = shapes[index][i];
    return ndims[index];
}
