/* vn_optim.h — SGD, Adam and AdamW with PyTorch's update rules and defaults,
 * gradient-norm clipping, and transformers' linear warm-up schedule.
 *
 * The updates follow torch.optim's single-tensor code paths (PyTorch 1.13
 * and later): scalar coefficients (bias corrections, step sizes) are computed
 * in double, as Python computes them, and the elementwise work in vn_real, in
 * PyTorch's order, so a float build matches PyTorch's float32 results to
 * about 1e-7.
 *
 *   SGD:   g ← grad + wd·θ;  with momentum μ > 0: b ← g on the param's first
 *          step, else b ← μ·b + (1 − dampening)·g; then g ← g + μ·b
 *          (nesterov) or g ← b;  θ ← θ − lr·g.
 *   Adam:  t ← t + 1;  g ← grad + wd·θ (L2);  m ← β₁m + (1 − β₁)g;
 *          v ← β₂v + (1 − β₂)g²;  with amsgrad v̂ ← max(v̂, v), else v̂ = v;
 *          denom = √v̂ / √(1 − β₂ᵗ) + eps;  θ ← θ − lr/(1 − β₁ᵗ) · m/denom.
 *   AdamW: θ ← θ·(1 − lr·wd) (decoupled), then Adam's step with no L2 term.
 *
 * Parameters are skipped in a step (their state untouched, their step count
 * t not advanced) when they have no gradient: frozen (not trainable) or
 * without a gradient buffer, PyTorch's `p.grad is None`. A parameter whose
 * gradient is zero is updated (weight decay, momentum), as in PyTorch.
 *
 * Memory: vn_optim_init allocates every state buffer at once, from the arena
 * it is given; vn_optim_step, vn_clip_grad_norm and the schedule allocate
 * nothing. The optimizer does not own its parameters. */
#ifndef VN_OPTIM_H
#define VN_OPTIM_H

#include "vn_graph.h"

typedef enum vn_optim_kind {
    VN_OPTIM_SGD,
    VN_OPTIM_ADAM,
    VN_OPTIM_ADAMW,
    VN_OPTIM_KIND_COUNT
} vn_optim_kind;

/* "sgd", "adam", "adamw"; "?" when out of range. */
const char *vn_optim_kind_name(vn_optim_kind kind);

typedef struct vn_optim_options {
    vn_optim_kind kind;
    double lr;            /* 1e-3 for all three (SGD has no default in 1.13; 1e-3 from 2.x) */
    double weight_decay;  /* SGD, Adam: 0 (L2 added to the gradient); AdamW: 0.01 (decoupled) */
    double momentum;      /* SGD: 0 */
    double dampening;     /* SGD: 0 */
    bool nesterov;        /* SGD: false; needs momentum > 0 and dampening 0 */
    double beta1, beta2;  /* Adam, AdamW: 0.9, 0.999 */
    double eps;           /* Adam, AdamW: 1e-8 */
    bool amsgrad;         /* Adam, AdamW: false */
} vn_optim_options;

/* PyTorch's defaults for the kind (listed above). */
vn_optim_options vn_optim_defaults(vn_optim_kind kind);

/* Checks options as PyTorch's constructors do (lr, eps, weight_decay,
 * momentum ≥ 0 and finite; betas in [0, 1); nesterov rule; a known kind).
 * VN_OK or VN_EINVAL with a message naming the option. */
vn_status vn_optim_options_check(const vn_optim_options *options, char *message, size_t size);

/* Linear warm-up then linear decay (transformers'
 * get_linear_schedule_with_warmup): the factor for optimizer step k
 * (k = 0, 1, ...) is k / max(1, warmup) while k < warmup, then
 * max(0, (total − k) / max(1, total − warmup)). With warmup > 0 the first
 * step therefore has learning rate 0, exactly as PyTorch's LambdaLR, which
 * sets lr·factor(0) at construction and is stepped after each
 * optimizer.step(). */
double vn_optim_linear_warmup_factor(int64_t step, int64_t warmup, int64_t total);

/* Per-parameter state. */
typedef struct vn_optim_state {
    vn_real *buf1;     /* SGD: momentum buffer; Adam(W): exp_avg m */
    vn_real *buf2;     /* Adam(W): exp_avg_sq v */
    vn_real *buf3;     /* Adam(W) with amsgrad: max_exp_avg_sq */
    int64_t steps;     /* steps this parameter took (Adam's t; SGD: momentum started when > 0) */
} vn_optim_state;

typedef struct vn_optim {
    vn_optim_options options;
    vn_node **params;       /* n_params nodes, a copy of the list given to init */
    vn_optim_state *state;  /* one per parameter */
    size_t n_params;
    int64_t step_count;     /* calls of vn_optim_step so far */
    bool scheduled;         /* a linear warm-up schedule is set */
    int64_t warmup_steps, total_steps;
} vn_optim;

/* Sets up an optimizer over params[0..n) (PARAM nodes; repeats are an error),
 * allocating its state, zero-filled, in `arena`. Errors (VN_EINVAL for bad
 * options or parameters, VN_ENOMEM) are recorded on ctx with a message and
 * returned; ctx's arena is not used. */
vn_status vn_optim_init(vn_optim *opt, vn_context *ctx, vn_arena *arena,
                        const vn_optim_options *options, vn_node *const *params, size_t n);

/* Attaches the linear warm-up schedule: step k uses options.lr ·
 * vn_optim_linear_warmup_factor(k, warmup, total), where k = step_count.
 * VN_EINVAL for negative counts. */
vn_status vn_optim_set_linear_schedule(vn_optim *opt, int64_t warmup, int64_t total);

/* The learning rate the next vn_optim_step will use. */
double vn_optim_current_lr(const vn_optim *opt);

/* One update of every parameter that has a gradient; step_count advances.
 * Allocates nothing. VN_EINVAL for a NULL optimizer. */
vn_status vn_optim_step(vn_optim *opt);

/* torch.nn.utils.clip_grad_norm_ (2-norm): over the parameters among
 * params[0..n) that have a gradient (as vn_optim_step defines it), the total
 * norm is the 2-norm of the per-parameter gradient norms (each accumulated in
 * double, then rounded to vn_real as PyTorch's per-tensor norms are);
 * clip_coef = max_norm / (total + 1e-6), and when clip_coef < 1 every such
 * gradient is multiplied by it. *total_norm (may be NULL) receives the total
 * norm (0 when no parameter has a gradient). A non-finite total norm is
 * VN_ENAN, without clipping, when error_if_nonfinite; otherwise the gradients
 * are scaled by the non-finite coefficient as PyTorch does. VN_EINVAL for a
 * negative or NaN max_norm. Allocates nothing. */
vn_status vn_clip_grad_norm(vn_node *const *params, size_t n, double max_norm,
                            bool error_if_nonfinite, double *total_norm);

/* ---- finiteness ----------------------------------------------------------------------- */

/* Where a training step found a value that is not finite. */
typedef enum vn_nonfinite_where {
    VN_NONFINITE_NONE,  /* everything was finite */
    VN_NONFINITE_LOSS,  /* the loss */
    VN_NONFINITE_GRAD,  /* a parameter's gradient, after backward (before clipping) */
    VN_NONFINITE_VALUE  /* a parameter's value, after the optimizer step */
} vn_nonfinite_where;

typedef struct vn_nonfinite {
    vn_nonfinite_where where;
    const vn_node *node; /* the parameter (NULL for the loss) */
    size_t param;        /* its index in the list scanned */
    size_t index;        /* the first non-finite element (row-major) */
    double value;        /* that element: NaN, +inf or -inf */
} vn_nonfinite;

/* Scans params[0..n): with `grads`, the gradient of every parameter that
 * has one (as vn_optim_step defines it), else every parameter's value, in
 * list order, one pass each (vn_first_nonfinite). True when all are finite
 * (found->where = VN_NONFINITE_NONE); else false with the first non-finite
 * element described in *found (where = GRAD or VALUE). Allocates nothing. */
bool vn_params_finite(vn_node *const *params, size_t n, bool grads, vn_nonfinite *found);

/* "NaN", "inf" or "-inf" for a non-finite value; "finite" otherwise. */
const char *vn_nonfinite_name(double value);

#endif
