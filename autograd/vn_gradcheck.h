/* vn_gradcheck.h — compare an op's backward with central differences.
 *
 * For an op node y = op(x1, x2, ...) whose inputs are leaves, gradcheck
 * draws fixed random weights w, takes L = Σ w ⊙ y, and compares the analytic
 * gradient dL/dx (from vn_backward_with, i.e. the engine and the op's
 * backward) with the central difference (L(x + h) − L(x − h)) / (2h) for
 * every element of every input that requires a gradient. The difference h
 * is the one actually representable in vn_real. An element passes when
 * |analytic − numeric| ≤ atol + rtol·|numeric| (PyTorch's rule).
 *
 * Defaults: in the double build PyTorch's gradcheck settings (eps 1e-6,
 * atol 1e-5, rtol 1e-3); in the float build eps 1e-2, atol 1e-3, rtol 1e-3
 * (float's 24-bit mantissa leaves no room for a smaller step). */
#ifndef VN_GRADCHECK_H
#define VN_GRADCHECK_H

#include "vn_graph.h"

typedef struct vn_gradcheck_options {
    double eps, atol, rtol;
    uint64_t seed; /* for the weights w */
} vn_gradcheck_options;

typedef struct vn_gradcheck_result {
    double max_abs_error;  /* max |analytic − numeric| */
    double max_rel_error;  /* max |analytic − numeric| / max(|numeric|, tiny) */
    size_t checked;        /* elements compared */
    size_t failed;         /* elements outside the tolerance */
    int worst_input;       /* input holding the worst element (−1: none) */
    size_t worst_index;
    double worst_analytic, worst_numeric;
} vn_gradcheck_result;

vn_gradcheck_options vn_gradcheck_defaults(void);

/* Checks node `out` (an op node whose inputs are leaves). Allocates in ctx's
 * arena. Returns VN_OK when the check could run (see result->failed for the
 * verdict), or the context's error. */
vn_status vn_gradcheck_node(vn_context *ctx, vn_node *out, const vn_gradcheck_options *options,
                            vn_gradcheck_result *result);

/* Builds case `index` of `op` with its example function and checks it.
 * *built is set to false (and VN_OK returned) when the op has no such case. */
vn_status vn_gradcheck_case(vn_context *ctx, const vn_op *op, int index,
                            const vn_gradcheck_options *options, vn_gradcheck_result *result,
                            vn_node **node, bool *built);

#endif
