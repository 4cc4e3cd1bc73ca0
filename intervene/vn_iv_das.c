/* vn_iv_das.c — factual training, the DAS alignment step and IIA counting
 * (see vn_iv_das.h). */
#include "vn_iv_das.h"
#include "vn_iv_types.h"
#include "vn_kernels.h"
#include "vn_math.h"
#include "vn_ops.h"

size_t vn_iv_correct(const vn_real *logits, size_t rows, size_t classes, const int64_t *labels) {
    size_t correct = 0;
    for (size_t r = 0; r < rows; r++) {
        size_t best;
        vn_row_argmax(&best, logits + r * classes, 1, classes);
        correct += (int64_t)best == labels[r];
    }
    return correct;
}

/* (count, 1, h) INPUT leaf over caller rows (never written). */
static vn_node *wrap_rows(vn_context *ctx, const vn_real *rows, size_t count, size_t h) {
    size_t shape[3] = {count, 1, h};
    return vn_leaf_wrap(ctx, (vn_real *)(uintptr_t)rows, 3, shape, VN_NODE_INPUT);
}

/* Rewinds a step's pass (which clears the context's error) and restores the
 * gradient setting; an error of the step is recorded again, message and all. */
static vn_status finish(vn_context *ctx, vn_context_mark mark, bool grad, vn_status status) {
    char message[sizeof ctx->message];
    vn_strlcpy(message, ctx->message, sizeof message);
    vn_context_rewind(ctx, mark);
    vn_context_set_grad(ctx, grad);
    if (status != VN_OK) vn_context_fail(ctx, status, "%s", message[0] ? message : vn_status_string(status));
    return status;
}

static vn_status check_result(vn_context *ctx, vn_iv_step_result *out, size_t count) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!out || count == 0) return vn_context_fail(ctx, VN_EINVAL, "step: %s", !out ? "NULL result" : "empty batch");
    *out = (vn_iv_step_result){0};
    out->count = count;
    return VN_OK;
}

/* ---- finiteness checks (see vn_iv_das.h) ------------------------------------------------------ */

/* Records what `found` describes on ctx, the tensor named `prefix` + its
 * node's name, and returns VN_ENAN. */
static vn_status nonfinite_fail(vn_context *ctx, const vn_nonfinite *found, const char *prefix) {
    const char *what = vn_nonfinite_name(found->value);
    if (found->where == VN_NONFINITE_LOSS) return vn_context_fail(ctx, VN_ENAN, "the loss is not finite (%s)", what);
    const char *name = found->node && found->node->name ? found->node->name : "?";
    if (found->where == VN_NONFINITE_GRAD)
        return vn_context_fail(ctx, VN_ENAN, "gradient of %s%s is not finite (%s at element %zu)", prefix, name, what,
                               found->index);
    return vn_context_fail(ctx, VN_ENAN, "%s%s is not finite after the optimizer step (%s at element %zu)", prefix,
                           name, what, found->index);
}

/* Checks the loss and the trained parameters' gradients, before an update. */
static vn_status check_loss_and_grads(vn_context *ctx, double loss, vn_node *const *params, size_t n,
                                      const char *prefix, vn_nonfinite *found) {
    if (!vn_isfinite(loss)) {
        *found = (vn_nonfinite){0};
        found->where = VN_NONFINITE_LOSS;
        found->value = loss;
        return nonfinite_fail(ctx, found, prefix);
    }
    return vn_params_finite(params, n, true, found) ? VN_OK : nonfinite_fail(ctx, found, prefix);
}

/* ---- factual training ------------------------------------------------------------------------ */

vn_iv_fit_options vn_iv_fit_defaults(void) {
    vn_iv_fit_options o;
    o.optim = vn_optim_defaults(VN_OPTIM_ADAMW);
    o.optim.lr = 1e-3;
    o.optim.weight_decay = 0.0; /* transformers' TrainingArguments default */
    o.warmup_steps = 0;
    o.total_steps = 0;
    o.clip_norm = 1.0;
    o.targets = VN_IV_FIT_ONE_HOT;
    return o;
}

vn_status vn_iv_fit_init(vn_iv_fit *fit, vn_context *ctx, vn_mlp *mlp, const vn_iv_fit_options *options) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!fit || !mlp || !options) return vn_context_fail(ctx, VN_EINVAL, "factual training: NULL argument");
    if (!(options->clip_norm >= 0) || options->warmup_steps < 0 || options->total_steps < 0 ||
        (options->targets != VN_IV_FIT_ONE_HOT && options->targets != VN_IV_FIT_CLASS_IDS))
        return vn_context_fail(ctx, VN_EINVAL, "factual training: bad clip norm, schedule or targets");
    *fit = (vn_iv_fit){0};
    fit->mlp = mlp;
    fit->options = *options;
    const vn_nn_param *params = vn_mlp_params(mlp, &fit->n_params);
    fit->params = vn_context_scratch(ctx, (fit->n_params + 1) * sizeof *fit->params);
    if (!fit->params) return ctx->status;
    for (size_t i = 0; i < fit->n_params; i++) fit->params[i] = params[i].node;
    vn_mlp_set_trainable(mlp, true);
    vn_status status = vn_optim_init(&fit->optim, ctx, ctx->arena, &options->optim, fit->params, fit->n_params);
    if (status == VN_OK && options->total_steps > 0)
        status = vn_optim_set_linear_schedule(&fit->optim, options->warmup_steps, options->total_steps);
    if (status != VN_OK && ctx->status == VN_OK) vn_context_fail(ctx, status, "factual training: bad schedule");
    return ctx->status;
}

/* The model's logits for x, or NULL (error on ctx). */
static vn_node *classify_pass(vn_mlp *mlp, vn_context *ctx, const vn_real *x, size_t count) {
    vn_node *logits = vn_mlp_forward(mlp, ctx, wrap_rows(ctx, x, count, (size_t)mlp->config.h_dim));
    if (logits && logits->value.ndim != 2) {
        vn_context_fail(ctx, VN_ESHAPE, "the model's logits have %d dimensions; (B, C) needs squeeze_output",
                        logits->value.ndim);
        return NULL;
    }
    return logits;
}

vn_status vn_iv_fit_step(vn_iv_fit *fit, vn_context *ctx, const vn_real *x, const int64_t *labels, size_t count,
                         vn_iv_step_result *out) {
    vn_status status = check_result(ctx, out, count);
    if (status != VN_OK) return status;
    vn_context_mark mark = vn_context_mark_get(ctx);
    bool grad = vn_context_set_grad(ctx, true);
    vn_mlp *mlp = fit->mlp;
    size_t classes = (size_t)mlp->config.num_classes;
    for (size_t e = 0; e < count; e++)
        if (labels[e] < 0 || (uint64_t)labels[e] >= classes)
            return finish(ctx, mark, grad, vn_context_fail(ctx, VN_ERANGE, "label %lld of example %zu is not in "
                                                           "[0, %zu)", (long long)labels[e], e, classes));
    vn_mlp_set_training(mlp, true);
    vn_node *logits = classify_pass(mlp, ctx, x, count);
    vn_nn_labels target = {0};
    if (fit->options.targets == VN_IV_FIT_ONE_HOT) {
        size_t shape[2] = {count, classes};
        target.targets = vn_constant(ctx, 2, shape);
        if (target.targets)
            for (size_t e = 0; e < count; e++) target.targets->value.data[e * classes + (size_t)labels[e]] = 1;
    } else {
        target.classes = labels;
        target.n = count;
    }
    vn_node *loss = logits ? vn_mlp_loss(mlp, ctx, logits, &target) : NULL;
    vn_zero_grad(ctx);
    if (!loss || vn_backward(ctx, loss) != VN_OK) return finish(ctx, mark, grad, ctx->status);
    out->loss = loss->value.data[0];
    out->correct = vn_iv_correct(logits->value.data, count, classes, labels);
    if (check_loss_and_grads(ctx, out->loss, fit->params, fit->n_params, "", &out->nonfinite) != VN_OK)
        return finish(ctx, mark, grad, VN_ENAN);
    if (fit->options.clip_norm > 0)
        vn_clip_grad_norm(fit->params, fit->n_params, fit->options.clip_norm, false, &out->grad_norm);
    vn_optim_step(&fit->optim);
    if (!vn_params_finite(fit->params, fit->n_params, false, &out->nonfinite))
        return finish(ctx, mark, grad, nonfinite_fail(ctx, &out->nonfinite, ""));
    return finish(ctx, mark, grad, VN_OK);
}

vn_status vn_iv_classify(vn_mlp *mlp, vn_context *ctx, const vn_real *x, const int64_t *labels, size_t count,
                         vn_iv_step_result *out) {
    vn_status status = check_result(ctx, out, count);
    if (status != VN_OK) return status;
    vn_context_mark mark = vn_context_mark_get(ctx);
    bool grad = vn_context_set_grad(ctx, false), training = mlp->training;
    vn_mlp_set_training(mlp, false);
    vn_node *logits = classify_pass(mlp, ctx, x, count);
    vn_mlp_set_training(mlp, training);
    if (!logits) return finish(ctx, mark, grad, ctx->status);
    out->correct = vn_iv_correct(logits->value.data, count, vn_tensor_cols(&logits->value), labels);
    return finish(ctx, mark, grad, VN_OK);
}

/* ---- alignment --------------------------------------------------------------------------------- */

vn_iv_das_options vn_iv_das_defaults(void) {
    vn_iv_das_options o;
    o.hypothesis = VN_IV_HYP_BOTH;
    o.layer = 0;
    o.component = VN_NN_BLOCK_OUTPUT;
    o.subspace_size = 0;
    o.max_batch = 6400;
    o.chunk = 1600;
    o.optim = vn_optim_defaults(VN_OPTIM_ADAM);
    o.optim.lr = 1e-3;
    o.rng = NULL;
    return o;
}

static size_t subspace_of(const vn_iv_das_options *o, size_t h) { return o->subspace_size ? o->subspace_size : h / 2; }

vn_status vn_iv_das_config(const vn_iv_das_options *o, size_t h, vn_iv_representation reps[2], vn_iv_config *config,
                           char *err, size_t err_size) {
    if ((unsigned)o->hypothesis >= VN_IV_HYP_COUNT)
        return vn_message(err, err_size, VN_EINVAL, "unknown hypothesis %d", (int)o->hypothesis);
    size_t k = subspace_of(o, h), variables = vn_iv_hypothesis_variables(o->hypothesis);
    if (k == 0 || k > h / variables)
        return vn_message(err, err_size, VN_EINVAL, "subspace size %zu does not fit: hypothesis %s needs %zu "
                             "subspace%s of 1 to %zu coordinates in the %zu-wide representation", k,
                             vn_iv_hypothesis_name(o->hypothesis), variables, variables == 1 ? "" : "s",
                             h / variables, h);
    vn_iv_representation r = vn_iv_representation_default(&vn_iv_type_rotated_space);
    r.layer = o->layer;
    r.component = o->component;
    if (variables == 2) {
        r.has_link_key = true;
        r.link_key = 0;
    }
    reps[0] = reps[1] = r;
    *config = (vn_iv_config){0};
    config->count = variables;
    config->representations = reps;
    config->has_orthogonal_map = true;
    config->orthogonal_map = VN_IV_ORTH_MATRIX_EXP;
    return VN_OK;
}

vn_status vn_iv_das_init(vn_iv_das *das, vn_context *ctx, vn_mlp *mlp, const vn_iv_das_options *options) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!das || !mlp || !options) return vn_context_fail(ctx, VN_EINVAL, "alignment: NULL argument");
    if (options->max_batch == 0) return vn_context_fail(ctx, VN_EINVAL, "alignment: max_batch must be positive");
    *das = (vn_iv_das){0};
    das->options = *options;
    das->h = (size_t)mlp->config.h_dim;
    das->subspace_size = subspace_of(options, das->h);
    das->variables = vn_iv_hypothesis_variables(options->hypothesis);
    char err[sizeof ctx->message];
    vn_iv_representation reps[2];
    vn_iv_config config;
    vn_status status = vn_iv_das_config(options, das->h, reps, &config, err, sizeof err);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s", err);
    vn_iv_model_options mo = {options->rng, false, false};
    if ((status = vn_iv_model_init(&das->model, ctx, mlp, &config, &mo)) != VN_OK) return status;
    das->n_params = vn_iv_model_trainable(&das->model, das->params, VN_ARRAY_COUNT(das->params));
    if (das->n_params != 1) return vn_context_fail(ctx, VN_EINVAL, "alignment: expected one trainable rotation");
    status = vn_optim_init(&das->optim, ctx, ctx->arena, &options->optim, das->params, das->n_params);
    if (status != VN_OK) return status;
    size_t k = das->subspace_size, b_max = options->max_batch;
    for (size_t v = 0; v < das->variables; v++) {
        int64_t *offsets = vn_context_scratch(ctx, (b_max + 1) * sizeof *offsets);
        int64_t *values = vn_context_scratch(ctx, b_max * k * sizeof *values);
        if (!offsets || !values) return ctx->status;
        for (size_t b = 0; b <= b_max; b++) offsets[b] = (int64_t)(b * k);
        for (size_t b = 0; b < b_max; b++)
            for (size_t j = 0; j < k; j++) values[b * k + j] = (int64_t)(v * k + j);
        das->subspaces[v].offsets = offsets;
        das->subspaces[v].values = values;
    }
    return VN_OK;
}

static bool kind_allowed(vn_iv_hypothesis hypothesis, vn_iv_cf_kind kind) {
    vn_iv_cf_kind kinds[3];
    size_t n = vn_iv_hypothesis_kinds(hypothesis, kinds);
    for (size_t i = 0; i < n; i++)
        if (kinds[i] == kind) return true;
    return false;
}

/* One chunk of a batch, examples [start, start + n): the forward pass, the
 * chunk's mean cross-entropy and hits; with `train`, its backward seeded with
 * `weight` (n / batch size), so the chunks' gradients add up to the gradient
 * of the whole batch's mean loss. Rewinds what it built. */
static vn_status das_chunk(vn_iv_das *das, vn_context *ctx, const vn_iv_cf_batch *batch, size_t start, size_t n,
                           bool train, vn_real weight, double *loss_out, size_t *correct) {
    vn_context_mark mark = vn_context_mark_get(ctx);
    vn_iv_cf_kind kind = batch->intervention.kind;
    size_t h = das->h;
    vn_node *sources[2] = {NULL, NULL};
    bool wx = kind != VN_IV_CF_YZ, yz = kind == VN_IV_CF_YZ || kind == VN_IV_CF_BOTH;
    if (das->variables == 2) {
        if (wx) sources[0] = wrap_rows(ctx, batch->source[0] + start * h, n, h);
        if (yz) sources[1] = wrap_rows(ctx, batch->source[1] + start * h, n, h);
    } else {
        sources[0] = wrap_rows(ctx, batch->source[0] + start * h, n, h);
    }
    vn_iv_inputs in = {0};
    in.base = wrap_rows(ctx, batch->base + start * h, n, h);
    in.n_sources = das->variables;
    in.sources = sources;
    in.subspaces = das->subspaces; /* every example's list is the same: the first n serve */
    vn_iv_outputs result;
    if (!in.base || vn_iv_forward(&das->model, ctx, &in, &result) != VN_OK)
        return finish(ctx, mark, train, ctx->status);
    vn_node *logits = result.counterfactual_logits;
    if (logits->value.ndim != 2) {
        vn_context_fail(ctx, VN_ESHAPE, "alignment: counterfactual logits need (B, C) (squeeze_output)");
        return finish(ctx, mark, train, ctx->status);
    }
    const int64_t *labels = batch->labels + start;
    vn_node *loss = vn_cross_entropy(ctx, logits, labels, n);
    if (!loss || (train && vn_backward_with(ctx, loss, &weight) != VN_OK))
        return finish(ctx, mark, train, ctx->status);
    *loss_out += (double)loss->value.data[0] * (double)n;
    *correct += vn_iv_correct(logits->value.data, n, vn_tensor_cols(&logits->value), labels);
    return finish(ctx, mark, train, VN_OK);
}

vn_status vn_iv_das_step(vn_iv_das *das, vn_context *ctx, const vn_iv_cf_batch *batch, bool train,
                         vn_iv_step_result *out) {
    vn_status status = check_result(ctx, out, batch ? batch->count : 0);
    if (status != VN_OK) return status;
    vn_iv_cf_kind kind = batch->intervention.kind;
    if (!kind_allowed(das->options.hypothesis, kind))
        return vn_context_fail(ctx, VN_EINVAL, "alignment: a batch of kind %s under hypothesis %s",
                               vn_iv_cf_kind_name(kind), vn_iv_hypothesis_name(das->options.hypothesis));
    if (batch->dim * VN_IV_HEQ_ENTITIES != das->h || batch->count > das->options.max_batch)
        return vn_context_fail(ctx, VN_ESHAPE, "alignment: batch of %zu rows of %zu for a model of width %zu and "
                               "at most %zu examples", batch->count, batch->dim * VN_IV_HEQ_ENTITIES, das->h,
                               das->options.max_batch);
    size_t count = batch->count, chunk = das->options.chunk ? das->options.chunk : count;
    bool grad = vn_context_set_grad(ctx, train);
    if (train) vn_zero_grad(ctx);
    double loss = 0;
    for (size_t start = 0; start < count && status == VN_OK; start += chunk) {
        size_t n = count - start < chunk ? count - start : chunk;
        status = das_chunk(das, ctx, batch, start, n, train, (vn_real)((double)n / (double)count), &loss,
                           &out->correct);
    }
    vn_context_set_grad(ctx, grad);
    if (status != VN_OK) return status;
    out->loss = loss / (double)count;
    if (!train) return VN_OK;
    /* the rotation is named by the intervention's key, as in its save file */
    char prefix[VN_IV_KEY_MAX + 1];
    vn_format(prefix, sizeof prefix, "%s.", das->model.units[0].key);
    if (check_loss_and_grads(ctx, out->loss, das->params, das->n_params, prefix, &out->nonfinite) != VN_OK)
        return VN_ENAN;
    vn_optim_step(&das->optim);
    if (!vn_params_finite(das->params, das->n_params, false, &out->nonfinite))
        return nonfinite_fail(ctx, &out->nonfinite, prefix);
    return VN_OK;
}
