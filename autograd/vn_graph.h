/* vn_graph.h — the define-by-run graph: contexts, nodes, ops, backward.
 *
 * A context records every node made in it, in creation order. Because a node
 * can only take inputs that already exist, creation order is a topological
 * order, and a node's `index` in it is its topological index. Calling an op
 * computes its value at once and appends the node (define-by-run).
 *
 * vn_backward(ctx, loss) walks the nodes backwards from the loss, seeds the
 * loss gradient with 1 and calls each reached op's backward, which
 * *accumulates* into the gradients of the inputs that require one.
 *
 * Memory: every node, value and gradient lives in the context's arena; users
 * never free nodes. A training loop creates its parameters, takes a mark
 * (vn_context_mark), and rewinds to it after each optimizer step, so the
 * steady state allocates nothing. Parameters get their gradient buffers when
 * they are created, before the mark, so gradients survive the rewind.
 *
 * Errors are sticky: an op given bad shapes (or an arena that is full)
 * returns NULL and records the first error on the context; any op given a
 * NULL input returns NULL without a new message. Check once at the end with
 * vn_context_status / vn_context_message. */
#ifndef VN_GRAPH_H
#define VN_GRAPH_H

#include "vn_base.h"
#include "vn_arena.h"
#include "vn_tensor.h"
#include "vn_rng.h"

typedef struct vn_context vn_context;
typedef struct vn_node vn_node;
typedef struct vn_op vn_op;

#define VN_MAX_INPUTS 6

/* Node flags. PARAM, INPUT, CONST and LOSS are roles (also drawn in graph
 * pictures); REQUIRES_GRAD says backward must compute this node's gradient. */
enum {
    VN_NODE_PARAM = 1u << 0,         /* trainable leaf (gets a gradient buffer) */
    VN_NODE_INPUT = 1u << 1,         /* data fed from outside */
    VN_NODE_CONST = 1u << 2,         /* a constant (masks, targets, buffers) */
    VN_NODE_LOSS = 1u << 3,          /* the scalar backward started from */
    VN_NODE_REQUIRES_GRAD = 1u << 4, /* backward computes its gradient */
    VN_NODE_FROZEN = 1u << 5         /* a parameter excluded from training */
};

/* Per-node arguments of an op (scales, flags, shapes, pointers), stored by
 * value in the node. Each op documents which slots it uses. */
typedef struct vn_attrs {
    double f[4];
    int64_t i[6];
    const void *p[2];
} vn_attrs;

struct vn_node {
    vn_tensor value;
    vn_tensor grad;        /* same shape as value; data is NULL until needed */
    const vn_op *op;       /* NULL for leaves */
    vn_node *inputs[VN_MAX_INPUTS];
    int n_inputs;
    unsigned flags;
    int index;             /* creation (= topological) order in the context */
    const char *name;      /* optional; owned by the arena (vn_node_set_name) */
    const char *scope;     /* the context's scope when the node was made */
    vn_attrs attrs;
    void *saved;           /* op-owned memory of saved_bytes, made at creation */
    size_t saved_bytes;
    vn_node *prev;         /* the node made just before this one */
    unsigned visit;        /* backward bookkeeping */
};

/* How graph pictures draw an op's nodes. */
typedef enum vn_op_role {
    VN_ROLE_COMPUTE = 0,
    VN_ROLE_LOSS_OP,
    VN_ROLE_INTERVENTION,
    VN_ROLE_COUNT
} vn_op_role;

/* One op definition: the single interface through which built-in ops and
 * plugin ops (intervene/) are defined, applied, differentiated, checked
 * and drawn.
 *
 * infer:    validates inputs and attrs; sets out->value's shape with
 *           vn_tensor_set_shape and out->saved_bytes (memory forward keeps for
 *           backward). Reports problems with vn_context_fail and returns its
 *           status. Must not allocate.
 * forward:  computes out->value.data (allocated, zeroed) from the inputs,
 *           using out->saved. Must not allocate and must not write its inputs;
 *           calling it again recomputes the same value (gradcheck relies on it).
 * backward: adds the contribution of out->grad to every input whose
 *           grad.data is non-NULL (inputs that need no gradient have NULL).
 *           May take scratch memory from ctx (vn_context_scratch); returns
 *           VN_OK or the context's status.
 * example:  builds gradcheck case number `index` (0, 1, ...) of `op` in ctx:
 *           creates leaf inputs (PARAM where a gradient is to be checked) and
 *           returns the op's output node; NULL when index is past the last
 *           case. (`op` lets one function serve a family of ops.)
 *           Keep inputs away from kinks (relu at 0, ...). */
struct vn_op {
    const char *name;
    int min_inputs, max_inputs;
    vn_status (*infer)(vn_context *ctx, vn_node *out);
    void (*forward)(vn_node *out);
    vn_status (*backward)(vn_context *ctx, vn_node *out);
    vn_node *(*example)(vn_context *ctx, const vn_op *op, int index, vn_rng *rng);
    vn_op_role role;
    bool overwrites;       /* forward writes every element of the output, so
                              vn_apply need not zero it first */
    const void *data;      /* family-specific constants (unary math, ...) */
    const char *summary;   /* one line for --help and tables: "y = a + b" */
};

/* ---- context ----------------------------------------------------------- */

struct vn_context {
    vn_arena *arena;
    vn_node *last;          /* newest node */
    int n_nodes;
    vn_status status;       /* first error, sticky */
    char message[256];
    bool grad_enabled;      /* false: no node requires a gradient (inference) */
    const char *scope;      /* label recorded in new nodes (runs, layers) */
    unsigned visit;         /* backward pass counter */
};

/* A context over `arena` (not owned). Gradients are enabled. */
void vn_context_init(vn_context *ctx, vn_arena *arena);

typedef struct vn_context_mark {
    vn_arena_mark arena;
    vn_node *last;
    int n_nodes;
    const char *scope;
} vn_context_mark;

vn_context_mark vn_context_mark_get(const vn_context *ctx);
/* Forgets every node made after the mark and releases its memory. Also
 * clears a sticky error recorded after the mark. */
void vn_context_rewind(vn_context *ctx, vn_context_mark mark);

vn_status vn_context_status(const vn_context *ctx);
const char *vn_context_message(const vn_context *ctx); /* "" when OK */
void vn_context_clear_error(vn_context *ctx);

/* Records the first error (later ones are ignored) with a formatted message
 * and returns `status`. */
vn_status vn_context_fail(vn_context *ctx, vn_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Enables or disables gradient tracking; returns the previous setting. */
bool vn_context_set_grad(vn_context *ctx, bool enabled);

/* Sets the scope label recorded in nodes made from now on (NULL: none). The
 * string is not copied: keep it alive as long as the nodes. */
void vn_context_set_scope(vn_context *ctx, const char *scope);

/* `bytes` of arena memory (64-byte aligned, not zeroed) for an op's backward;
 * NULL (and VN_ENOMEM recorded) when the arena is full. */
void *vn_context_scratch(vn_context *ctx, size_t bytes);

/* Copies a string into the arena; NULL (and VN_ENOMEM recorded) on failure. */
const char *vn_context_strdup(vn_context *ctx, const char *s);

/* ---- leaves -------------------------------------------------------------- */

/* A leaf of the given shape, zero-filled, with `flags` (a role and, for a
 * PARAM, a zeroed gradient buffer allocated now). NULL on error. */
vn_node *vn_leaf(vn_context *ctx, int ndim, const size_t *shape, unsigned flags);

/* A leaf over caller-owned data (not copied; cvene never writes it). */
vn_node *vn_leaf_wrap(vn_context *ctx, vn_real *data, int ndim, const size_t *shape,
                      unsigned flags);

/* Shorthands: PARAM (requires grad), INPUT, CONST. */
vn_node *vn_param(vn_context *ctx, int ndim, const size_t *shape);
vn_node *vn_input(vn_context *ctx, int ndim, const size_t *shape);
vn_node *vn_constant(vn_context *ctx, int ndim, const size_t *shape);
/* A 0-d constant holding `value`. */
vn_node *vn_scalar(vn_context *ctx, vn_real value);

/* Names a node (copied into the arena). Returns the node. */
vn_node *vn_node_set_name(vn_context *ctx, vn_node *node, const char *name);

/* Freezes or unfreezes a parameter: a frozen one needs no gradient. */
void vn_node_set_trainable(vn_node *node, bool trainable);

static inline bool vn_node_requires_grad(const vn_node *node) {
    return node && (node->flags & VN_NODE_REQUIRES_GRAD);
}

/* ---- applying ops ---------------------------------------------------------- */

/* Applies `op` to inputs[0..n): checks them (infer), allocates the value and
 * saved memory, runs forward and records the node. NULL on any error (a NULL
 * input, a bad shape, a full arena), with the error recorded on ctx. The
 * result requires a gradient when gradients are enabled and any input does. */
vn_node *vn_apply(vn_context *ctx, const vn_op *op, vn_node *const *inputs, int n,
                  const vn_attrs *attrs);

/* ---- backward -------------------------------------------------------------- */

/* Backpropagates from a scalar `loss` (numel 1): seeds its gradient with 1
 * and accumulates into every parameter reached. Gradients of intermediate
 * nodes are recomputed on each call; parameter gradients add up across calls
 * until vn_zero_grad. Marks the node LOSS. Returns the context status. */
vn_status vn_backward(vn_context *ctx, vn_node *loss);

/* As vn_backward, but seeds `root` (any shape) with `seed` (root's numel
 * elements): the vector-Jacobian product. */
vn_status vn_backward_with(vn_context *ctx, vn_node *root, const vn_real *seed);

/* Zeroes the gradient of every parameter in the context. */
void vn_zero_grad(vn_context *ctx);

/* Ensures node->grad has a buffer (zeroed when new); VN_ENOMEM on failure. */
vn_status vn_node_ensure_grad(vn_context *ctx, vn_node *node);

/* ---- op registry ------------------------------------------------------------ */

/* Registers a plugin op so that enumeration (gradcheck over every op, the
 * CLI's tables) sees it. Built-in ops are always registered. Registering the
 * same op twice is a no-op; VN_EFULL past VN_MAX_PLUGIN_OPS; VN_EINVAL when
 * the op lacks a name, forward, infer, backward or example, or its name is
 * taken by a different op. */
#define VN_MAX_PLUGIN_OPS 64
vn_status vn_op_register(const vn_op *op);

/* Every registered op: built-ins first, then plugins in registration order. */
size_t vn_op_count(void);
const vn_op *vn_op_at(size_t index);
const vn_op *vn_op_find(const char *name);

#endif
