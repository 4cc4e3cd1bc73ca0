/* vn_ops.h — the built-in ops, as functions that build graph nodes.
 *
 * Every function here computes its value at once and returns a new node in
 * ctx's arena, or NULL with the error recorded on ctx (sticky: a NULL input
 * gives NULL without a new message). Shapes follow two rules:
 *
 *   Broadcasting: binary ops (add, sub, mul, div, mask_mix's mask) accept a
 *   second operand whose shape is the same as the first's, a trailing part of
 *   it (e.g. a (C,) row against (B, C), or (S, C) against (B, S, C)), or a
 *   single element. The result has the first operand's shape; the gradient of
 *   the broadcast operand is summed over the repeats.
 *
 *   Rows: ops "on the last axis" view a tensor as rows × cols with cols the
 *   last dimension.
 *
 * Each op's definition (shape rule, forward, backward, gradcheck cases) is a
 * `const vn_op` in one of the vn_ops_*.c files; vn_builtin_op() returns it. */
#ifndef VN_OPS_H
#define VN_OPS_H

#include "vn_graph.h"

/* Built-in ops, in the order of the registry table. */
typedef enum vn_op_id {
    VN_OP_ADD,
    VN_OP_SUB,
    VN_OP_MUL,
    VN_OP_DIV,
    VN_OP_NEG,
    VN_OP_SCALE,
    VN_OP_MATMUL,
    VN_OP_SUM,
    VN_OP_SUM_ROWS,
    VN_OP_MEAN,
    VN_OP_MEAN_ROWS,
    VN_OP_RESHAPE,
    VN_OP_SLICE,
    VN_OP_CONCAT,
    VN_OP_RELU,
    VN_OP_GELU,
    VN_OP_GELU_TANH,
    VN_OP_QUICK_GELU,
    VN_OP_TANH,
    VN_OP_SIGMOID,
    VN_OP_SILU,
    VN_OP_LEAKY_RELU,
    VN_OP_RELU6,
    VN_OP_EXP,
    VN_OP_LOG,
    VN_OP_SOFTMAX,
    VN_OP_LOG_SOFTMAX,
    VN_OP_CROSS_ENTROPY,
    VN_OP_BCE_WITH_LOGITS,
    VN_OP_MSE,
    VN_OP_MASK_MIX,
    VN_OP_DROPOUT,
    VN_OP_COUNT
} vn_op_id;

const vn_op *vn_builtin_op(vn_op_id id);

/* The definitions themselves (for vn_apply and the registry). */
extern const vn_op vn_op_add, vn_op_sub, vn_op_mul, vn_op_div, vn_op_neg, vn_op_scale,
    vn_op_matmul, vn_op_sum, vn_op_sum_rows, vn_op_mean, vn_op_mean_rows, vn_op_reshape,
    vn_op_slice, vn_op_concat, vn_op_relu, vn_op_gelu, vn_op_gelu_tanh, vn_op_quick_gelu,
    vn_op_tanh, vn_op_sigmoid, vn_op_silu, vn_op_leaky_relu, vn_op_relu6, vn_op_exp,
    vn_op_log, vn_op_softmax, vn_op_log_softmax, vn_op_cross_entropy, vn_op_bce_with_logits,
    vn_op_mse, vn_op_mask_mix, vn_op_dropout;

/* ---- arithmetic (vn_ops_arith.c) ---------------------------------------- */

vn_node *vn_add(vn_context *ctx, vn_node *a, vn_node *b); /* a + b (b broadcasts) */
vn_node *vn_sub(vn_context *ctx, vn_node *a, vn_node *b); /* a − b */
vn_node *vn_mul(vn_context *ctx, vn_node *a, vn_node *b); /* a ⊙ b */
vn_node *vn_div(vn_context *ctx, vn_node *a, vn_node *b); /* a ⊘ b */
vn_node *vn_neg(vn_context *ctx, vn_node *a);             /* −a */
vn_node *vn_scale(vn_context *ctx, vn_node *a, double s); /* s·a */

/* op(A) · op(B). A is (..., m, k) viewed as rows × k (any leading dims), or,
 * with trans_a, a 2-D (k, m) read as its transpose. B is 2-D (k, n), or
 * (n, k) with trans_b. The result is (..., n) (or (m, n) with trans_a).
 * A Linear layer is matmul(x, W, false, true) + b with W stored (out, in). */
vn_node *vn_matmul(vn_context *ctx, vn_node *a, vn_node *b, bool trans_a, bool trans_b);

/* New shape with the same number of elements (data copied). */
vn_node *vn_reshape(vn_context *ctx, vn_node *a, int ndim, const size_t *shape);

/* Columns [start, start+length) of the last axis. */
vn_node *vn_slice(vn_context *ctx, vn_node *a, size_t start, size_t length);

/* Joins 1..VN_MAX_INPUTS tensors along the last axis; all other dims equal. */
vn_node *vn_concat(vn_context *ctx, vn_node *const *parts, int n);

/* (1 − m) ⊙ a + m ⊙ b: a and b of one shape, m broadcasting. Interventions
 * use it to splice the source into the base where the mask is 1. */
vn_node *vn_mask_mix(vn_context *ctx, vn_node *a, vn_node *b, vn_node *m);

/* ---- elementwise functions (vn_ops_unary.c) -------------------------------- */

vn_node *vn_relu(vn_context *ctx, vn_node *x);
vn_node *vn_gelu(vn_context *ctx, vn_node *x);       /* x·Φ(x), exact (erf) */
vn_node *vn_gelu_tanh(vn_context *ctx, vn_node *x);  /* tanh approximation */
vn_node *vn_quick_gelu(vn_context *ctx, vn_node *x); /* x·σ(1.702x) */
vn_node *vn_tanh_op(vn_context *ctx, vn_node *x);
vn_node *vn_sigmoid(vn_context *ctx, vn_node *x);
vn_node *vn_silu(vn_context *ctx, vn_node *x);       /* x·σ(x) */
vn_node *vn_leaky_relu(vn_context *ctx, vn_node *x, double negative_slope);
vn_node *vn_relu6(vn_context *ctx, vn_node *x);      /* min(max(x, 0), 6) */
vn_node *vn_exp_op(vn_context *ctx, vn_node *x);
vn_node *vn_log_op(vn_context *ctx, vn_node *x);

/* Inverted dropout: in training, each element is kept with probability
 * 1 − p and scaled by 1/(1 − p); the mask comes from PCG32 seeded by
 * (seed, stream), so the same arguments give the same mask. Outside
 * training (or p = 0) it is the identity. p must be in [0, 1]. */
vn_node *vn_dropout(vn_context *ctx, vn_node *x, double p, bool training, uint64_t seed,
                    uint64_t stream);

/* ---- reductions and softmax (vn_ops_reduce.c) ------------------------------ */

/* Sum or mean of all elements: a 0-d scalar. */
vn_node *vn_sum(vn_context *ctx, vn_node *x);
vn_node *vn_mean(vn_context *ctx, vn_node *x);
/* Sum or mean over the last axis: the shape loses its last dimension. */
vn_node *vn_sum_rows(vn_context *ctx, vn_node *x);
vn_node *vn_mean_rows(vn_context *ctx, vn_node *x);
/* Softmax and log-softmax over the last axis. */
vn_node *vn_softmax(vn_context *ctx, vn_node *x);
vn_node *vn_log_softmax(vn_context *ctx, vn_node *x);

/* ---- losses (vn_ops_loss.c) ------------------------------------------------- */

/* Mean cross-entropy of logits (N, C) (or any rows × C) against integer class
 * labels[0..N) (copied). A label outside [0, C) is VN_ERANGE. Scalar. */
vn_node *vn_cross_entropy(vn_context *ctx, vn_node *logits, const int64_t *labels, size_t n);

/* Mean of max(x, 0) − x·t + log(1 + e^(−|x|)) over all elements; targets of
 * the same shape as the logits (differentiable too). Scalar. */
vn_node *vn_bce_with_logits(vn_context *ctx, vn_node *logits, vn_node *targets);

/* Mean of (a − b)² over all elements; same shapes. Scalar. */
vn_node *vn_mse(vn_context *ctx, vn_node *a, vn_node *b);

#endif
