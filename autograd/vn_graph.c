/* vn_graph.c — contexts, leaves, applying ops, and the backward walk. */
#include "vn_graph.h"
#include "vn_kernels.h"

void vn_context_init(vn_context *ctx, vn_arena *arena) {
    *ctx = (vn_context){0};
    ctx->arena = arena;
    ctx->grad_enabled = true;
}

vn_context_mark vn_context_mark_get(const vn_context *ctx) {
    vn_context_mark mark = {vn_arena_get_mark(ctx->arena), ctx->last, ctx->n_nodes, ctx->scope};
    return mark;
}

void vn_context_rewind(vn_context *ctx, vn_context_mark mark) {
    vn_arena_rewind(ctx->arena, mark.arena);
    ctx->last = mark.last;
    ctx->n_nodes = mark.n_nodes;
    ctx->scope = mark.scope;
    vn_context_clear_error(ctx);
}

vn_status vn_context_status(const vn_context *ctx) { return ctx->status; }

const char *vn_context_message(const vn_context *ctx) { return ctx->message; }

void vn_context_clear_error(vn_context *ctx) {
    ctx->status = VN_OK;
    ctx->message[0] = '\0';
}

vn_status vn_context_fail(vn_context *ctx, vn_status status, const char *fmt, ...) {
    if (ctx->status == VN_OK && status != VN_OK) {
        ctx->status = status;
        va_list args;
        va_start(args, fmt);
        vn_vformat(ctx->message, sizeof ctx->message, fmt, args);
        va_end(args);
    }
    return status;
}

bool vn_context_set_grad(vn_context *ctx, bool enabled) {
    bool previous = ctx->grad_enabled;
    ctx->grad_enabled = enabled;
    return previous;
}

void vn_context_set_scope(vn_context *ctx, const char *scope) { ctx->scope = scope; }

void *vn_context_scratch(vn_context *ctx, size_t bytes) {
    void *p = vn_arena_alloc(ctx->arena, bytes, 0);
    if (!p) vn_context_fail(ctx, VN_ENOMEM, "out of arena memory (%zu bytes requested)", bytes);
    return p;
}

const char *vn_context_strdup(vn_context *ctx, const char *s) {
    size_t n = vn_strlen(s);
    char *copy = vn_context_scratch(ctx, n + 1);
    if (copy) vn_strlcpy(copy, s, n + 1);
    return copy;
}

/* Makes an empty node (no value yet) and links it as the newest. */
static vn_node *new_node(vn_context *ctx) {
    vn_node *node = vn_arena_calloc(ctx->arena, sizeof *node, 0);
    if (!node) {
        vn_context_fail(ctx, VN_ENOMEM, "out of arena memory for a node");
        return NULL;
    }
    node->index = ctx->n_nodes;
    node->scope = ctx->scope;
    return node;
}

static void link_node(vn_context *ctx, vn_node *node) {
    node->prev = ctx->last;
    ctx->last = node;
    ctx->n_nodes++;
}

vn_status vn_node_ensure_grad(vn_context *ctx, vn_node *node) {
    if (node->grad.data) return VN_OK;
    node->grad = node->value;
    node->grad.data = vn_arena_calloc(ctx->arena, node->value.numel * sizeof(vn_real), 0);
    if (!node->grad.data) return vn_context_fail(ctx, VN_ENOMEM, "out of arena memory for a gradient");
    return VN_OK;
}

static vn_node *make_leaf(vn_context *ctx, vn_real *data, int ndim, const size_t *shape,
                          unsigned flags) {
    if (ctx->status != VN_OK) return NULL;
    vn_tensor value;
    vn_status status = data ? vn_tensor_wrap(&value, data, ndim, shape)
                            : vn_tensor_set_shape(&value, ndim, shape);
    if (status != VN_OK) {
        vn_context_fail(ctx, status, "leaf: invalid shape (ndim %d)", ndim);
        return NULL;
    }
    vn_node *node = new_node(ctx);
    if (!node) return NULL;
    node->value = value;
    if (!data) {
        node->value.data = vn_arena_calloc(ctx->arena, value.numel * sizeof(vn_real), 0);
        if (!node->value.data) {
            vn_context_fail(ctx, VN_ENOMEM, "out of arena memory for a leaf");
            return NULL;
        }
    }
    node->flags = flags;
    if (flags & VN_NODE_PARAM) {
        node->flags |= VN_NODE_REQUIRES_GRAD;
        if (vn_node_ensure_grad(ctx, node) != VN_OK) return NULL;
    }
    link_node(ctx, node);
    return node;
}

vn_node *vn_leaf(vn_context *ctx, int ndim, const size_t *shape, unsigned flags) {
    return make_leaf(ctx, NULL, ndim, shape, flags);
}

vn_node *vn_leaf_wrap(vn_context *ctx, vn_real *data, int ndim, const size_t *shape,
                      unsigned flags) {
    if (!data) {
        if (ctx->status == VN_OK) vn_context_fail(ctx, VN_EINVAL, "leaf: NULL data");
        return NULL;
    }
    return make_leaf(ctx, data, ndim, shape, flags);
}

vn_node *vn_param(vn_context *ctx, int ndim, const size_t *shape) {
    return vn_leaf(ctx, ndim, shape, VN_NODE_PARAM);
}

vn_node *vn_input(vn_context *ctx, int ndim, const size_t *shape) {
    return vn_leaf(ctx, ndim, shape, VN_NODE_INPUT);
}

vn_node *vn_constant(vn_context *ctx, int ndim, const size_t *shape) {
    return vn_leaf(ctx, ndim, shape, VN_NODE_CONST);
}

vn_node *vn_scalar(vn_context *ctx, vn_real value) {
    vn_node *node = vn_leaf(ctx, 0, NULL, VN_NODE_CONST);
    if (node) node->value.data[0] = value;
    return node;
}

vn_node *vn_node_set_name(vn_context *ctx, vn_node *node, const char *name) {
    if (node && name) node->name = vn_context_strdup(ctx, name);
    return node;
}

void vn_node_set_trainable(vn_node *node, bool trainable) {
    if (!node || !(node->flags & VN_NODE_PARAM)) return;
    if (trainable) {
        node->flags &= ~(unsigned)VN_NODE_FROZEN;
        node->flags |= VN_NODE_REQUIRES_GRAD;
    } else {
        node->flags |= VN_NODE_FROZEN;
        node->flags &= ~(unsigned)VN_NODE_REQUIRES_GRAD;
    }
}

vn_node *vn_apply(vn_context *ctx, const vn_op *op, vn_node *const *inputs, int n,
                  const vn_attrs *attrs) {
    if (ctx->status != VN_OK) return NULL;
    if (!op) {
        vn_context_fail(ctx, VN_EINVAL, "apply: NULL op");
        return NULL;
    }
    if (n < op->min_inputs || n > op->max_inputs || n > VN_MAX_INPUTS) {
        vn_context_fail(ctx, VN_EINVAL, "%s: takes %d to %d inputs, got %d", op->name,
                        op->min_inputs, op->max_inputs, n);
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        if (!inputs[i]) {
            vn_context_fail(ctx, VN_EINVAL, "%s: input %d is NULL", op->name, i);
            return NULL;
        }
    }
    vn_node *node = new_node(ctx);
    if (!node) return NULL;
    node->op = op;
    node->n_inputs = n;
    bool requires_grad = false;
    for (int i = 0; i < n; i++) {
        node->inputs[i] = inputs[i];
        requires_grad |= vn_node_requires_grad(inputs[i]);
    }
    if (attrs) node->attrs = *attrs;
    if (op->infer(ctx, node) != VN_OK) {
        if (ctx->status == VN_OK) vn_context_fail(ctx, VN_ESHAPE, "%s: invalid inputs", op->name);
        return NULL;
    }
    size_t value_bytes = node->value.numel * sizeof(vn_real);
    node->value.data = op->overwrites ? vn_arena_alloc(ctx->arena, value_bytes, 0)
                                      : vn_arena_calloc(ctx->arena, value_bytes, 0);
    if (!node->value.data) {
        vn_context_fail(ctx, VN_ENOMEM, "%s: out of arena memory for the output", op->name);
        return NULL;
    }
    if (node->saved_bytes) {
        node->saved = vn_arena_calloc(ctx->arena, node->saved_bytes, 0);
        if (!node->saved) {
            vn_context_fail(ctx, VN_ENOMEM, "%s: out of arena memory for saved values", op->name);
            return NULL;
        }
    }
    if (requires_grad && ctx->grad_enabled) node->flags |= VN_NODE_REQUIRES_GRAD;
    op->forward(node);
    link_node(ctx, node);
    return node;
}

/* The backward walk. Creation order is topological, so visiting nodes from
 * the newest to the oldest visits every node after all of its consumers:
 * when a node's turn comes, its gradient is complete. */
static vn_status backward_from(vn_context *ctx, vn_node *root, const vn_real *seed) {
    unsigned visit = ++ctx->visit;
    if (vn_node_ensure_grad(ctx, root) != VN_OK) return ctx->status;
    if (root->op) {
        /* An intermediate root: its gradient is exactly the seed. */
        if (seed) vn_copy(root->grad.data, seed, root->value.numel);
        else vn_fill(root->grad.data, root->value.numel, 1);
    } else {
        /* A leaf root accumulates like any leaf. */
        if (seed) vn_axpy(root->grad.data, seed, root->value.numel, 1);
        else for (size_t i = 0; i < root->value.numel; i++) root->grad.data[i] += 1;
    }
    root->visit = visit;
    for (vn_node *node = root; node; node = node->prev) {
        if (node->visit != visit || !node->op) continue;
        /* Give every input that needs a gradient a buffer; an intermediate
         * input reached for the first time in this pass starts from zero. */
        for (int i = 0; i < node->n_inputs; i++) {
            vn_node *in = node->inputs[i];
            if (!vn_node_requires_grad(in)) continue;
            bool fresh = in->visit != visit;
            if (in->grad.data == NULL) {
                if (vn_node_ensure_grad(ctx, in) != VN_OK) return ctx->status;
            } else if (fresh && in->op) {
                vn_fill(in->grad.data, in->value.numel, 0);
            }
            in->visit = visit;
        }
        /* Inputs that need no gradient must show a NULL buffer to the op. */
        vn_real *hidden[VN_MAX_INPUTS] = {0};
        for (int i = 0; i < node->n_inputs; i++) {
            vn_node *in = node->inputs[i];
            if (!vn_node_requires_grad(in) && in->grad.data) {
                hidden[i] = in->grad.data;
                in->grad.data = NULL;
            }
        }
        vn_status status = node->op->backward(ctx, node);
        for (int i = 0; i < node->n_inputs; i++)
            if (hidden[i]) node->inputs[i]->grad.data = hidden[i];
        if (status != VN_OK) return vn_context_fail(ctx, status, "%s: backward failed", node->op->name);
    }
    return VN_OK;
}

vn_status vn_backward(vn_context *ctx, vn_node *loss) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!loss) return vn_context_fail(ctx, VN_EINVAL, "backward: NULL loss");
    if (loss->value.numel != 1) {
        char shape[64];
        return vn_context_fail(ctx, VN_ESHAPE, "backward: the loss must be a scalar, got shape %s",
                               vn_shape_string(&loss->value, shape, sizeof shape));
    }
    loss->flags |= VN_NODE_LOSS;
    if (!vn_node_requires_grad(loss)) return VN_OK; /* nothing to differentiate */
    return backward_from(ctx, loss, NULL);
}

vn_status vn_backward_with(vn_context *ctx, vn_node *root, const vn_real *seed) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!root || !seed) return vn_context_fail(ctx, VN_EINVAL, "backward: NULL root or seed");
    if (!vn_node_requires_grad(root)) return VN_OK;
    return backward_from(ctx, root, seed);
}

void vn_zero_grad(vn_context *ctx) {
    for (vn_node *node = ctx->last; node; node = node->prev)
        if ((node->flags & VN_NODE_PARAM) && node->grad.data)
            vn_fill(node->grad.data, node->grad.numel, 0);
}
