/* vn_dot.h — graph pictures: a recorded graph as Graphviz DOT text.
 *
 * vn_dot_write walks the nodes a root depends on (or takes a list of nodes)
 * and writes a `digraph` through a writer callback: one record per node,
 * one edge per input. Node IDs are the nodes' topological indexes ("n12"),
 * and everything is written in index order, so the same graph always gives
 * the same text (golden files compare it byte for byte).
 *
 * What a picture shows:
 *
 *   Records      name | op (or leaf kind) and #index | shape, and on request
 *                a value summary and the gradient's summary (vn_dot_summary:
 *                the values when there are at most 8, else min, max, mean).
 *                Every label is escaped ({ } | < > " backslash, newlines,
 *                runs of spaces); control bytes and invalid UTF-8 are drawn
 *                as '?'.
 *   Roles        trainable parameters, frozen parameters, inputs, constants,
 *                ordinary ops, loss ops, intervention ops and the loss each
 *                have their own colours, with a legend of those present.
 *   Clusters     one per run (each source run, the base run), inside it one
 *                per scope (the MLP's "mlp.h.{l}" and "score"), and one per
 *                intervention (the scope of an intervention-role op: the op,
 *                its rotation, its gathers and scatters). A node's run is
 *                found by data flow: a run's input leaf starts it, and an op
 *                belongs to the run of its first input that has one (an
 *                intervention's first input is the base, so it sits in the
 *                base run, fed by a thick orange edge from the source run).
 *                Op nodes outside every run (a rotation computed from its
 *                parameters) join the run of the nodes sharing their scope.
 *                Other leaves sit in the run their consumers share (else at
 *                the top), and inside an intervention's cluster when all
 *                their consumers are there; layer parameters stay beside
 *                their layer's cluster, so layers stack instead of
 *                staggering.
 *   Constants    a constant leaf (mask, scalar) with a single consumer is
 *                folded into its consumer's record as one extra row ("in 2:
 *                const (1, 32)"); one with several consumers is drawn small.
 *   Title        options->title and the legend form the graph's label.
 *
 * Modes, chosen by the options:
 *   forward      vn_dot_defaults(): structure, shapes, roles, clusters;
 *   gradients    | VN_DOT_GRADS after vn_backward: a gradient row on every
 *                node holding one, and the edges gradients flow along drawn
 *                in red (edges into frozen or constant leaves stay grey);
 *   zoom         focus = one node (say an intervention op): that node, its
 *                inputs and its consumers, one hop, nothing folded.
 *
 * Freestanding: text goes through the vn_write_fn callback only.
 *
 * Memory: temporary bookkeeping (a few words per node of the context) is
 * taken from ctx's arena and released before the call returns; nothing
 * stays allocated. The graph is only read. */
#ifndef VN_DOT_H
#define VN_DOT_H

#include "vn_graph.h"

/* Option flags. */
enum {
    VN_DOT_VALUES = 1u << 0,          /* a value row on every node */
    VN_DOT_GRADS = 1u << 1,           /* gradient rows and gradient-carrying edges */
    VN_DOT_LEGEND = 1u << 2,          /* a legend of the roles drawn */
    VN_DOT_CLUSTERS = 1u << 3,        /* clusters for runs, scopes, interventions */
    VN_DOT_FOLD_CONSTANTS = 1u << 4,  /* fold single-use constants into their consumer */
    VN_DOT_LEFT_RIGHT = 1u << 5       /* lay the graph out left to right (default top down) */
};

/* A run of a model: the input leaf it starts from and its cluster label
 * (not copied; keep it alive during the call). */
typedef struct vn_dot_run {
    const vn_node *input;
    const char *label;
} vn_dot_run;

typedef struct vn_dot_options {
    unsigned flags;          /* VN_DOT_* */
    int digits;              /* significant digits of numbers (1..17); 0 writes no
                                numbers: value rows are left out and gradient
                                rows only say that a gradient is there */
    const vn_node *focus;    /* zoom on this node (NULL: the whole graph) */
    const vn_dot_run *runs;  /* the runs; NULL: every INPUT leaf starts one when */
    size_t n_runs;           /* there are at least two (else no run clusters) */
    const char *title;       /* graph label (NULL: none) */
} vn_dot_options;

/* The forward picture: VN_DOT_LEGEND | VN_DOT_CLUSTERS | VN_DOT_FOLD_CONSTANTS,
 * digits 4, no focus, automatic runs, no title. */
vn_dot_options vn_dot_defaults(void);

/* Writes the graph of every node `root` depends on (root NULL: every node
 * of the context). options NULL means vn_dot_defaults(). With a focus, the
 * focus node, its inputs and its consumers among the context's nodes are
 * drawn instead (root is then ignored).
 * Returns VN_OK, VN_EIO when the writer fails, VN_ENOMEM when the arena
 * cannot hold the bookkeeping, VN_EINVAL for a node that is not in ctx or
 * bad options; errors are also recorded on ctx. */
vn_status vn_dot_write(vn_context *ctx, const vn_node *root, const vn_dot_options *options,
                       vn_write_fn write, void *user);

/* As vn_dot_write, drawing exactly the given nodes (in any order; repeats
 * are ignored) and the edges between them (constants with one consumer
 * among them folded as usual). options->focus is ignored. */
vn_status vn_dot_write_nodes(vn_context *ctx, const vn_node *const *nodes, size_t count,
                             const vn_dot_options *options, vn_write_fn write, void *user);

/* A short summary of n values into buf (NUL-terminated when size > 0):
 * "1.5" for one value, "[1.5, -2]" for n ≤ 8, else "min -0.52 max 0.83 mean 0.012", with
 * `digits` significant digits (1..17; out of range means 4); non-finite
 * values are counted ("3 non-finite") and left out of min, max and mean.
 * "empty" for n = 0. Returns the length the full text has. */
size_t vn_dot_summary(char *buf, size_t size, const vn_real *data, size_t n, int digits);

/* The kind of a node as pictures and traces name it: the op's name, or for
 * a leaf "param", "param (frozen)", "input", "const" or "leaf". */
const char *vn_dot_kind(const vn_node *node);

#endif
