/* vn_iv_das.h — distributed alignment search (DAS) on the hierarchical-
 * equality task, as pyvene's DAS tutorial runs it, and the factual training
 * of the model it aligns. The math only: the caller supplies the batches
 * (vn_iv_task.h), the memory (a context) and does all I/O.
 *
 * Factual training (vn_iv_fit_*): one optimizer step of an MLP on a batch of
 * inputs and class labels, with pyvene's loss rule (vn_mlp_loss): one-hot
 * float targets give BCE-with-logits over the logits — what the tutorial's
 * MLP was trained with, since it was given float one-hot labels and pyvene
 * infers the multi-label problem type from them — and integer class ids give
 * cross-entropy. Gradient clipping and transformers' linear schedule as the
 * tutorial's Trainer applies them (clip, optimizer step, schedule step).
 *
 * Alignment (vn_iv_das_*): an intervenable model over the frozen MLP with
 * RotatedSpaceInterventions at one site, all linked to one n × n rotation
 * (n = h_dim; matrix_exp parametrisation; the rotation's `original` is the
 * only trained tensor), trained with the mean cross-entropy of the
 * counterfactual logits against the counterfactual labels. No
 * subspace_partition: the subspaces are raw rotated coordinates, as in the
 * tutorial. With k = subspace_size:
 *
 *   both      two representations, linked (intervention_link_key 0): WX on
 *             rotated coordinates [0, k), YZ on [k, 2k). A batch of kind WX
 *             has sources [s, None], YZ [None, s], both [s_wx, s_yz]; the
 *             second intervention acts on the first one's output.
 *   left      one representation, WX on [0, k); batches of kind WX.
 *   identity  one representation, W on [0, k); batches of kind W.
 *
 * Every example sits at position 0 of a (B, 1, h) input (pyvene's MLP
 * shape), so unit locations are not given.
 *
 * Memory: vn_iv_fit_init and vn_iv_das_init allocate their state (parameter
 * lists, optimizer moments, the intervenable model, the subspace lists for
 * max_batch examples) in ctx's arena: call them before the training loop's
 * mark. vn_iv_fit_step, vn_iv_classify and vn_iv_das_step take a mark on
 * entry, build the pass in ctx and rewind to the mark before returning, so a
 * loop of steps reaches a state in which it calls no allocator. The caller's
 * batches are wrapped, never copied or written. */
#ifndef VN_IV_DAS_H
#define VN_IV_DAS_H

#include "vn_iv_model.h"
#include "vn_iv_task.h"
#include "vn_optim.h"

/* Argmax accuracy: the number of rows of `logits` (rows × classes) whose
 * largest entry (the first one on ties, as torch.argmax) is at labels[row]. */
size_t vn_iv_correct(const vn_real *logits, size_t rows, size_t classes, const int64_t *labels);

/* What one step measured. */
typedef struct vn_iv_step_result {
    size_t count;     /* examples */
    double loss;      /* the batch's mean loss (before the update) */
    size_t correct;   /* examples whose argmax equals the label (before the update) */
    double grad_norm; /* factual training: the total gradient norm before clipping; else 0 */
    vn_nonfinite nonfinite; /* a training step that failed with VN_ENAN: what was not finite */
} vn_iv_step_result;

/* Training steps check for NaN and infinities (vn_iv_fit_step, and
 * vn_iv_das_step with `train`): the loss, then after backward every
 * trained parameter's gradient, and after the optimizer step every trained
 * parameter's value, each in one pass. The first non-finite one ends the step
 * with VN_ENAN, out->nonfinite saying where, and a message on ctx naming the
 * tensor by its PyTorch name:
 *
 *   the loss is not finite (NaN)
 *   gradient of mlp.h.1.ff1.weight is not finite (inf at element 37)
 *   score.bias is not finite after the optimizer step (NaN at element 0)
 *
 * (the rotation of an alignment is
 * <key>.rotate_layer.parametrizations.weight.original). A loss or gradient
 * found non-finite stops the step before the optimizer changes anything: the
 * parameters and the optimizer's state are those before the step. A value
 * found non-finite after the update has been written. */

/* ---- factual training ------------------------------------------------------------------- */

typedef enum vn_iv_fit_targets {
    VN_IV_FIT_ONE_HOT,  /* float one-hot targets: pyvene infers BCE-with-logits (the tutorial) */
    VN_IV_FIT_CLASS_IDS /* integer class ids: pyvene infers cross-entropy */
} vn_iv_fit_targets;

typedef struct vn_iv_fit_options {
    vn_optim_options optim; /* the tutorial's Trainer: AdamW, lr 1e-3, weight decay 0 */
    int64_t warmup_steps;   /* 0 */
    int64_t total_steps;    /* > 0: linear warm-up then decay to 0 at this step; 0: constant lr */
    double clip_norm;       /* 1.0; 0 disables clipping */
    vn_iv_fit_targets targets; /* one-hot */
} vn_iv_fit_options;

/* The tutorial's recipe (transformers' Trainer defaults with lr 1e-3); set
 * total_steps to the run's number of steps. */
vn_iv_fit_options vn_iv_fit_defaults(void);

typedef struct vn_iv_fit {
    vn_mlp *mlp;
    vn_iv_fit_options options;
    vn_node **params; /* the MLP's parameters (state_dict order) */
    size_t n_params;
    vn_optim optim;
} vn_iv_fit;

/* Sets up training of every parameter of `mlp` (unfrozen). Allocates in
 * ctx's arena. VN_OK or the error recorded on ctx (bad options). */
vn_status vn_iv_fit_init(vn_iv_fit *fit, vn_context *ctx, vn_mlp *mlp, const vn_iv_fit_options *options);

/* One step on x (count rows of h_dim) with class labels (in [0, num_classes)):
 * training mode, forward, loss, backward, clipping, optimizer step. */
vn_status vn_iv_fit_step(vn_iv_fit *fit, vn_context *ctx, const vn_real *x, const int64_t *labels, size_t count,
                         vn_iv_step_result *out);

/* The model on x in eval mode without gradients: out->correct counts the
 * argmax hits against labels (loss is left 0). The model's training flag is
 * restored afterwards. */
vn_status vn_iv_classify(vn_mlp *mlp, vn_context *ctx, const vn_real *x, const int64_t *labels, size_t count,
                         vn_iv_step_result *out);

/* ---- alignment ---------------------------------------------------------------------------- */

typedef struct vn_iv_das_options {
    vn_iv_hypothesis hypothesis; /* both */
    int64_t layer;               /* 0 */
    vn_nn_component component;   /* block_output */
    size_t subspace_size;        /* k; 0 means h_dim / 2 (8 for the tutorial) */
    size_t max_batch;            /* the largest batch a step will get (6400) */
    size_t chunk;                /* examples per pass (1600; 0: the whole batch), see vn_iv_das_step */
    vn_optim_options optim;      /* Adam, lr 1e-3 (the tutorial's) */
    vn_rng *rng;                 /* draws the rotation as torch's orthogonal_; NULL: identity */
} vn_iv_das_options;

vn_iv_das_options vn_iv_das_defaults(void);

/* The intervention config of a hypothesis (see the top of this file) for a
 * model of width h: representations written to reps[0..2), *config pointing
 * at them. VN_EINVAL with a message for a bad hypothesis or a subspace that
 * does not fit (k = 0, or k·variables > h). */
vn_status vn_iv_das_config(const vn_iv_das_options *options, size_t h, vn_iv_representation reps[2],
                           vn_iv_config *config, char *err, size_t err_size);

typedef struct vn_iv_das {
    vn_iv_das_options options;
    size_t h;                /* the model's width */
    size_t subspace_size;    /* k */
    size_t variables;        /* 2 for both, else 1 */
    vn_iv_model model;
    vn_node *params[1];      /* the rotation's `original` */
    size_t n_params;
    vn_optim optim;
    vn_iv_lists subspaces[2]; /* raw rotated coordinates, for max_batch examples */
} vn_iv_das;

/* Builds the intervenable model over `mlp` (frozen, eval mode) with the
 * hypothesis's config, its rotation (from options->rng) and an optimizer
 * over the rotation's `original`. Allocates in ctx's arena. VN_OK or the
 * error recorded on ctx. */
vn_status vn_iv_das_init(vn_iv_das *das, vn_context *ctx, vn_mlp *mlp, const vn_iv_das_options *options);

/* One batch through the intervenable model: the counterfactual logits, their
 * mean cross-entropy against batch->labels and the argmax hits (IIA's
 * numerator). With `train`, also backward and one optimizer step; without,
 * no gradients are recorded. The batch must be of a kind the hypothesis uses,
 * rows 4·dim = h_dim wide, at most max_batch examples.
 *
 * The batch goes through in chunks of options.chunk examples, each pass
 * built and rewound in turn; in training each chunk's backward is seeded
 * with (its size / the batch's size), so the rotation's gradient adds up to
 * that of the batch's mean loss, and one optimizer step follows: the update
 * of one pass over the whole batch up to the order of float summation. A
 * pass keeps every intermediate tensor of its chunk (about 4 KB per example
 * for the tutorial's model), so chunks bound the memory a step needs
 * whatever the batch size; the time per example is about the same. */
vn_status vn_iv_das_step(vn_iv_das *das, vn_context *ctx, const vn_iv_cf_batch *batch, bool train,
                         vn_iv_step_result *out);

#endif
