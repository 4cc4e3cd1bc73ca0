/* vn_op_util.h — helpers shared by op definitions (built-in and plugin).
 *
 * Public: plugin modules (intervene/) define their ops with the same helpers
 * the built-in ones use. */
#ifndef VN_OP_UTIL_H
#define VN_OP_UTIL_H

#include "vn_graph.h"
#include "vn_kernels.h"

/* True when b can broadcast against a: same shape, a trailing part of a's
 * shape, or a single element. */
bool vn_broadcasts(const vn_tensor *a, const vn_tensor *b);

/* Fails with a message "<op>: <what> shape (..) does not <rule> (..)". */
vn_status vn_fail_shapes(vn_context *ctx, const char *op, const char *rule,
                         const vn_tensor *a, const vn_tensor *b);

/* Sets out's shape to a copy of t's shape; reports overflow (never expected). */
vn_status vn_infer_like(vn_context *ctx, vn_node *out, const vn_tensor *t);

/* Gradient buffer of input i, or NULL when it needs none. */
static inline vn_real *vn_input_grad(vn_node *out, int i) {
    return out->inputs[i]->grad.data;
}
static inline const vn_real *vn_input_value(const vn_node *out, int i) {
    return out->inputs[i]->value.data;
}

/* ---- gradcheck examples ---------------------------------------------------- */

/* A PARAM leaf of the given shape filled uniformly from [low, high). When
 * `gap` > 0, values within gap of any point in `kinks` are moved away, so
 * finite differences never straddle a kink. */
vn_node *vn_example_param(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                          double low, double high);
vn_node *vn_example_param_avoiding(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                                   double low, double high, const double *kinks, int n_kinks,
                                   double gap);
/* As vn_example_param but a CONST leaf (no gradient checked). */
vn_node *vn_example_const(vn_context *ctx, vn_rng *rng, int ndim, const size_t *shape,
                          double low, double high);

/* Standard shapes for examples: index 0 → (3, 4), 1 → (2, 3, 5), 2 → (7,),
 * 3 → (1, 1), else NULL. Returns ndim and fills shape. */
int vn_example_shape(int index, size_t shape[VN_MAX_DIMS]);

#endif
