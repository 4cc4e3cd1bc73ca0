/* task_cli.c — the MLP recipe, factual training and model directories shared
 * by `cvene train` and `cvene das` (see task_cli.h). */
#include "task_cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "host.h"
#include "progress.h"
#include "vn_json.h"
#include "vn_model_dir.h"

const char *mlp_init_name(mlp_init init) {
    return init == MLP_INIT_PYTORCH ? "pytorch" : init == MLP_INIT_NORMAL ? "normal" : "?";
}

bool mlp_init_lookup(const char *name, mlp_init *out) {
    for (int i = 0; i < MLP_INIT_COUNT; i++)
        if (!strcmp(name, mlp_init_name((mlp_init)i))) {
            *out = (mlp_init)i;
            return true;
        }
    return false;
}

mlp_recipe mlp_recipe_default(void) {
    mlp_recipe r;
    memset(&r, 0, sizeof r);
    r.config = vn_mlp_config_default();
    r.config.h_dim = VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM;
    r.config.n_layer = 3;
    r.config.num_classes = 2;
    r.config.pdrop = 0.0;
    snprintf(r.config.activation_function, sizeof r.config.activation_function, "relu");
    r.examples = 1048576;
    r.epochs = 3;
    r.batch_size = 1024;
    r.fit = vn_iv_fit_defaults();
    r.linear_schedule = true;
    r.init = MLP_INIT_PYTORCH;
    r.seed = 0;
    return r;
}

bool mlp_create(const char *cmd, const mlp_recipe *recipe, vn_context *ctx, vn_mlp *mlp) {
    vn_rng rng;
    vn_iv_task_rng(&rng, recipe->seed, VN_IV_STREAM_MLP_INIT, 0);
    if (vn_mlp_init(mlp, ctx, &recipe->config, &rng) != VN_OK) return cli_fail(cmd, "%s", vn_context_message(ctx));
    if (recipe->init == MLP_INIT_NORMAL) {
        size_t count;
        const vn_nn_param *params = vn_mlp_params(mlp, &count);
        vn_iv_task_rng(&rng, recipe->seed, VN_IV_STREAM_MLP_INIT, 1);
        for (size_t i = 0; i < count; i++) {
            vn_tensor *t = &params[i].node->value;
            if (t->ndim == 2) vn_rng_fill_normal(&rng, t->data, t->numel, 0.0, 0.02);
            else memset(t->data, 0, t->numel * sizeof *t->data);
        }
    }
    vn_mlp_set_dropout_seed(mlp, vn_iv_task_seed(recipe->seed, VN_IV_STREAM_DROPOUT, 0));
    return true;
}

bool training_step_failed(const char *cmd, const char *label, size_t step, size_t epoch, const char *message,
                          const char *checkpoint, size_t checkpoint_step) {
    if (checkpoint)
        return cli_fail(cmd, "%s %zu (epoch %zu): %s; last good checkpoint: %s (step %zu)", label, step, epoch, message,
                        checkpoint, checkpoint_step);
    return cli_fail(cmd, "%s %zu (epoch %zu): %s; no checkpoint was written", label, step, epoch, message);
}

/* ---- checkpoints of factual training --------------------------------------------------------- */

/* Where a run stands, besides its tensors: what a checkpoint's metadata holds. */
typedef struct fit_position {
    size_t step, total_steps, per_epoch;
    double epoch_loss_sum; /* the running sums of the epoch in progress (0 at its start) */
    size_t epoch_correct;
    double first_loss, last_epoch_loss, last_epoch_accuracy;
} fit_position;

/* The shortest decimal text that reads back as exactly `v` ("nan" for a non-finite one). */
static void exact_text(double v, char buf[VN_JSON_NUMBER_MAX + 1]) {
    size_t n = vn_json_format_double(v, buf);
    if (n == 0) snprintf(buf, VN_JSON_NUMBER_MAX + 1, "nan");
    else buf[n] = '\0';
}

/* The names PyTorch's optimizers give their per-parameter state buffers. */
static void state_names(vn_optim_kind kind, const char *names[3]) {
    names[0] = kind == VN_OPTIM_SGD ? "momentum_buffer" : "exp_avg";
    names[1] = "exp_avg_sq";
    names[2] = "max_exp_avg_sq";
}

/* Every tensor of a checkpoint, in file order: the parameters under their
 * state_dict names, then per parameter optimizer.<name>.<buffer> for each
 * state buffer the optimizer has and optimizer.<name>.step (I64, 0-d). The
 * names and wrapping tensors are malloc'ed into *names / *views. */
static size_t checkpoint_items(const vn_iv_fit *fit, const vn_mlp *mlp, vn_safetensors_item *items,
                               char (*names)[192], vn_tensor *views) {
    size_t n_params, n = 0;
    const vn_nn_param *params = vn_mlp_params(mlp, &n_params);
    const char *buffer_names[3];
    state_names(fit->optim.options.kind, buffer_names);
    for (size_t i = 0; i < n_params; i++) items[n++] = vn_safetensors_item_real(params[i].name, &params[i].node->value,
                                                                                 VN_ST_REAL);
    for (size_t i = 0; i < n_params; i++) {
        const vn_optim_state *st = &fit->optim.state[i];
        vn_real *buffers[3] = {st->buf1, st->buf2, st->buf3};
        for (int b = 0; b < 3; b++) {
            if (!buffers[b]) continue;
            snprintf(names[n], sizeof names[n], "optimizer.%s.%s", params[i].name, buffer_names[b]);
            views[n] = params[i].node->value;
            views[n].data = buffers[b];
            items[n] = vn_safetensors_item_real(names[n], &views[n], VN_ST_REAL);
            n++;
        }
        snprintf(names[n], sizeof names[n], "optimizer.%s.step", params[i].name);
        items[n] = vn_safetensors_item_int64(names[n], &st->steps, 0, NULL);
        n++;
    }
    return n;
}

/* Writes the run's state to control->checkpoint atomically. */
static bool save_fit_checkpoint(const char *cmd, const fit_control *control, const vn_iv_fit *fit,
                                const vn_mlp *mlp, const fit_position *pos) {
    size_t n_params;
    vn_mlp_params(mlp, &n_params);
    size_t max_items = 5 * n_params + 1;
    vn_safetensors_item *items = calloc(max_items, sizeof *items);
    char (*names)[192] = calloc(max_items, sizeof *names);
    vn_tensor *views = calloc(max_items, sizeof *views);
    vn_safetensors_kv *meta = calloc(16 + control->n_meta, sizeof *meta);
    if (!items || !names || !views || !meta) {
        free(items), free(names), free(views), free(meta);
        return cli_fail(cmd, "out of memory");
    }
    size_t n = checkpoint_items(fit, mlp, items, names, views);
    char text[9][VN_JSON_NUMBER_MAX + 1];
    snprintf(text[0], sizeof text[0], "%zu", pos->step);
    snprintf(text[1], sizeof text[1], "%zu", pos->total_steps);
    snprintf(text[2], sizeof text[2], "%zu", pos->per_epoch);
    snprintf(text[3], sizeof text[3], "%lld", (long long)fit->optim.step_count);
    snprintf(text[4], sizeof text[4], "%llu", (unsigned long long)mlp->dropout_pass);
    exact_text(pos->epoch_loss_sum, text[5]);
    snprintf(text[6], sizeof text[6], "%zu", pos->epoch_correct);
    exact_text(pos->first_loss, text[7]);
    char last_loss[VN_JSON_NUMBER_MAX + 1], last_accuracy[VN_JSON_NUMBER_MAX + 1];
    exact_text(pos->last_epoch_loss, last_loss);
    exact_text(pos->last_epoch_accuracy, last_accuracy);
    size_t m = 0;
    meta[m++] = (vn_safetensors_kv){"format", TRAIN_CHECKPOINT_FORMAT};
    meta[m++] = (vn_safetensors_kv){"version", "1"};
    meta[m++] = (vn_safetensors_kv){"step", text[0]};
    meta[m++] = (vn_safetensors_kv){"total_steps", text[1]};
    meta[m++] = (vn_safetensors_kv){"steps_per_epoch", text[2]};
    meta[m++] = (vn_safetensors_kv){"optimizer", vn_optim_kind_name(fit->optim.options.kind)};
    meta[m++] = (vn_safetensors_kv){"optimizer_steps", text[3]};
    meta[m++] = (vn_safetensors_kv){"dropout_pass", text[4]};
    meta[m++] = (vn_safetensors_kv){"epoch_loss_sum", text[5]};
    meta[m++] = (vn_safetensors_kv){"epoch_correct", text[6]};
    meta[m++] = (vn_safetensors_kv){"first_loss", text[7]};
    meta[m++] = (vn_safetensors_kv){"last_epoch_loss", last_loss};
    meta[m++] = (vn_safetensors_kv){"last_epoch_accuracy", last_accuracy};
    for (size_t i = 0; i < control->n_meta; i++) meta[m++] = control->meta[i];
    char err[VN_HOST_ERR];
    vn_host_buffer buffer = {0};
    bool ok = vn_safetensors_write(vn_host_buffer_write, &buffer, items, n, meta, m, err, sizeof err) == VN_OK;
    free(items), free(names), free(views), free(meta);
    if (!ok) {
        vn_host_buffer_free(&buffer);
        return cli_fail(cmd, "%s: %s", control->checkpoint, err);
    }
    return cli_write_buffer(cmd, control->checkpoint, &buffer);
}

/* An unsigned integer or a number of the checkpoint's metadata, all of its text. */
static bool meta_u64(const char *cmd, const char *path, const vn_safetensors *st, const char *key, uint64_t *out) {
    const char *text = vn_safetensors_metadata_get(st, key);
    char *end;
    if (text && *text >= '0' && *text <= '9') {
        errno = 0;
        unsigned long long v = strtoull(text, &end, 10);
        if (!*end && errno == 0) {
            *out = v;
            return true;
        }
    }
    return cli_fail(cmd, "%s: metadata \"%s\" is %s, expected an unsigned integer", path, key, text ? text : "missing");
}

static bool meta_size(const char *cmd, const char *path, const vn_safetensors *st, const char *key, size_t *out) {
    uint64_t v = 0;
    if (!meta_u64(cmd, path, st, key, &v)) return false;
    if (v > SIZE_MAX) return cli_fail(cmd, "%s: metadata \"%s\" is too large", path, key);
    *out = (size_t)v;
    return true;
}

static bool meta_double(const char *cmd, const char *path, const vn_safetensors *st, const char *key, double *out) {
    const char *text = vn_safetensors_metadata_get(st, key);
    char *end;
    if (text && *text) {
        *out = strtod(text, &end);
        if (!*end) return true;
    }
    return cli_fail(cmd, "%s: metadata \"%s\" is %s, expected a number", path, key, text ? text : "missing");
}

/* Copies a tensor of the checkpoint into `out`, which is shaped like `like`. */
static bool read_like(const char *cmd, const char *path, const vn_safetensors *st, const char *name,
                      const vn_tensor *like, vn_real *out) {
    char err[256];
    const vn_safetensors_entry *e = vn_safetensors_find(st, name);
    if (!e) return cli_fail(cmd, "%s: no tensor %s (a checkpoint of other settings?)", path, name);
    bool same = e->ndim == like->ndim;
    for (int d = 0; same && d < like->ndim; d++) same = e->shape[d] == like->shape[d];
    if (!same) {
        char shape[64];
        return cli_fail(cmd, "%s: %s is not %s (a checkpoint of other settings?)", path, name,
                        vn_shape_string(like, shape, sizeof shape));
    }
    if (vn_safetensors_read_real(e, out, like->numel, err, sizeof err) != VN_OK)
        return cli_fail(cmd, "%s: %s", path, err);
    return true;
}

/* Restores the state control->resume holds (its path: control->checkpoint). */
static bool load_fit_checkpoint(const char *cmd, const fit_control *control, vn_iv_fit *fit, vn_mlp *mlp,
                                fit_position *pos) {
    const vn_safetensors *st = control->resume;
    const char *path = control->checkpoint ? control->checkpoint : "checkpoint";
    const char *format = vn_safetensors_metadata_get(st, "format"), *version = vn_safetensors_metadata_get(st, "version");
    if (!format || strcmp(format, TRAIN_CHECKPOINT_FORMAT) != 0 || !version || strcmp(version, "1") != 0)
        return cli_fail(cmd, "%s: not a %s checkpoint of version 1", path, TRAIN_CHECKPOINT_FORMAT);
    size_t step = 0, total = 0, per_epoch = 0, correct = 0;
    uint64_t optim_steps = 0, dropout_pass = 0;
    double loss_sum = 0, first = 0, last_loss = 0, last_accuracy = 0;
    if (!meta_size(cmd, path, st, "step", &step) || !meta_size(cmd, path, st, "total_steps", &total) ||
        !meta_size(cmd, path, st, "steps_per_epoch", &per_epoch) ||
        !meta_u64(cmd, path, st, "optimizer_steps", &optim_steps) ||
        !meta_u64(cmd, path, st, "dropout_pass", &dropout_pass) ||
        !meta_double(cmd, path, st, "epoch_loss_sum", &loss_sum) ||
        !meta_size(cmd, path, st, "epoch_correct", &correct) || !meta_double(cmd, path, st, "first_loss", &first) ||
        !meta_double(cmd, path, st, "last_epoch_loss", &last_loss) ||
        !meta_double(cmd, path, st, "last_epoch_accuracy", &last_accuracy))
        return false;
    if (total != pos->total_steps || per_epoch != pos->per_epoch || step > total || optim_steps > INT64_MAX)
        return cli_fail(cmd, "%s: a run of %zu steps (%zu per epoch) at step %zu; these settings make %zu steps (%zu per "
                        "epoch)", path, total, per_epoch, step, pos->total_steps, pos->per_epoch);
    size_t n_params;
    const vn_nn_param *params = vn_mlp_params(mlp, &n_params);
    const char *buffer_names[3];
    state_names(fit->optim.options.kind, buffer_names);
    size_t expected = n_params;
    for (size_t i = 0; i < n_params; i++) {
        vn_optim_state *state = &fit->optim.state[i];
        vn_real *buffers[3] = {state->buf1, state->buf2, state->buf3};
        const vn_tensor *like = &params[i].node->value;
        char name[192], err[256];
        if (!read_like(cmd, path, st, params[i].name, like, params[i].node->value.data)) return false;
        for (int b = 0; b < 3; b++) {
            if (!buffers[b]) continue;
            snprintf(name, sizeof name, "optimizer.%s.%s", params[i].name, buffer_names[b]);
            if (!read_like(cmd, path, st, name, like, buffers[b])) return false;
            expected++;
        }
        snprintf(name, sizeof name, "optimizer.%s.step", params[i].name);
        const vn_safetensors_entry *e = vn_safetensors_find(st, name);
        if (!e || e->numel != 1) return cli_fail(cmd, "%s: no scalar tensor %s", path, name);
        if (vn_safetensors_read_int64(e, &state->steps, 1, err, sizeof err) != VN_OK)
            return cli_fail(cmd, "%s: %s", path, err);
        expected++;
    }
    if (st->count != expected)
        return cli_fail(cmd, "%s: %zu tensors, expected %zu (a checkpoint of other settings?)", path, st->count, expected);
    fit->optim.step_count = (int64_t)optim_steps;
    mlp->dropout_pass = dropout_pass;
    pos->step = step;
    pos->epoch_loss_sum = loss_sum;
    pos->epoch_correct = correct;
    pos->first_loss = first;
    pos->last_epoch_loss = last_loss;
    pos->last_epoch_accuracy = last_accuracy;
    return true;
}

bool mlp_fit(const char *cmd, const mlp_recipe *r, const fit_data *data, vn_context *ctx, vn_mlp *mlp,
             bool show_progress, FILE *log, const fit_control *control, fit_report *report) {
    static const fit_control no_control = {0};
    if (!control) control = &no_control;
    const char *label = control->label ? control->label : "step";
    memset(report, 0, sizeof *report);
    size_t h = (size_t)mlp->config.h_dim, n = data->rows ? data->count : r->examples, batch = r->batch_size;
    if (!data->rows && VN_IV_HEQ_ENTITIES * data->dim != h)
        return cli_fail(cmd, "the task's inputs are %zu wide; the model's h_dim is %zu",
                        (size_t)VN_IV_HEQ_ENTITIES * data->dim, h);
    if (n == 0 || batch == 0 || r->epochs == 0) return cli_fail(cmd, "nothing to train (no examples, batches or epochs)");
    if (n > UINT32_MAX) return cli_fail(cmd, "at most %lu training examples", (unsigned long)UINT32_MAX);
    if (batch > n) batch = n;
    size_t per_epoch = (n + batch - 1) / batch;
    if (r->epochs > SIZE_MAX / per_epoch) return cli_fail(cmd, "too many training steps");
    size_t steps = per_epoch * r->epochs;
    vn_iv_fit_options options = r->fit;
    options.total_steps = r->linear_schedule ? (int64_t)steps : 0;
    vn_iv_fit fit;
    if (vn_iv_fit_init(&fit, ctx, mlp, &options) != VN_OK) return cli_fail(cmd, "%s", vn_context_message(ctx));
    uint32_t *order = vn_context_scratch(ctx, n * sizeof *order);
    vn_real *x = vn_context_scratch(ctx, batch * h * sizeof *x);
    int64_t *labels = vn_context_scratch(ctx, batch * sizeof *labels);
    if (!order || !x || !labels) return cli_fail(cmd, "out of memory");
    fit_position pos = {0};
    pos.total_steps = steps;
    pos.per_epoch = per_epoch;
    if (control->resume) {
        if (!load_fit_checkpoint(cmd, control, &fit, mlp, &pos)) return false;
        report->checkpointed = true;
        report->checkpoint_step = pos.step;
    }
    size_t stop = steps;
    if (control->max_steps && control->max_steps < stop - pos.step) stop = pos.step + control->max_steps;
    progress bar;
    progress_start(&bar, show_progress, "training", "steps", steps);
    double t0 = vn_host_seconds();
    size_t order_epoch = SIZE_MAX;
    while (pos.step < stop) {
        size_t epoch = pos.step / per_epoch, start = pos.step % per_epoch * batch;
        size_t count = n - start < batch ? n - start : batch;
        double g0 = vn_host_seconds();
        if (order_epoch != epoch) { /* each epoch's permutation is a function of (seed, epoch) */
            vn_rng rng;
            vn_iv_task_rng(&rng, r->seed, VN_IV_STREAM_SHUFFLE, epoch);
            for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
            vn_rng_shuffle(&rng, order, n);
            order_epoch = epoch;
        }
        for (size_t j = 0; j < count; j++) {
            size_t i = order[start + j];
            if (data->rows) {
                memcpy(x + j * h, data->rows + i * h, h * sizeof *x);
                labels[j] = data->labels[i];
            } else {
                labels[j] = vn_iv_heq_factual_example(r->seed, VN_IV_STREAM_FACTUAL_TRAIN, i, data->dim, x + j * h);
            }
        }
        report->data_seconds += vn_host_seconds() - g0;
        vn_iv_step_result result;
        if (vn_iv_fit_step(&fit, ctx, x, labels, count, &result) != VN_OK) {
            progress_clear(&bar);
            return training_step_failed(cmd, label, pos.step + 1, epoch + 1, vn_context_message(ctx),
                                        report->checkpointed ? control->checkpoint : NULL, report->checkpoint_step);
        }
        if (pos.step == 0) pos.first_loss = result.loss;
        pos.epoch_loss_sum += result.loss * (double)count;
        pos.epoch_correct += result.correct;
        pos.step++;
        report->steps++;
        char note[64];
        snprintf(note, sizeof note, "epoch %zu/%zu  loss %.4f", epoch + 1, r->epochs, result.loss);
        progress_update(&bar, pos.step, note);
        if (pos.step % per_epoch == 0) { /* an epoch ends */
            pos.last_epoch_loss = pos.epoch_loss_sum / (double)n;
            pos.last_epoch_accuracy = (double)pos.epoch_correct / (double)n;
            pos.epoch_loss_sum = 0;
            pos.epoch_correct = 0;
            if (log) {
                progress_clear(&bar);
                fprintf(log, "  epoch %zu/%zu  loss %.4f  accuracy %.4f  (training batches, before each update)\n",
                        epoch + 1, r->epochs, pos.last_epoch_loss, pos.last_epoch_accuracy);
                fflush(log);
            }
        }
        if (control->checkpoint && control->every && pos.step % control->every == 0 && pos.step < stop) {
            if (!save_fit_checkpoint(cmd, control, &fit, mlp, &pos)) return progress_clear(&bar), false;
            report->checkpointed = true;
            report->checkpoint_step = pos.step;
        }
    }
    progress_clear(&bar);
    /* the state where this call stops: to be resumed, or the run's end */
    if (control->checkpoint && !(report->checkpointed && report->checkpoint_step == pos.step)) {
        if (!save_fit_checkpoint(cmd, control, &fit, mlp, &pos)) return false;
        report->checkpointed = true;
        report->checkpoint_step = pos.step;
    }
    vn_mlp_set_training(mlp, false);
    report->step = pos.step;
    report->total_steps = steps;
    report->finished = pos.step == steps;
    report->first_loss = pos.first_loss;
    report->last_epoch_loss = pos.last_epoch_loss;
    report->last_epoch_accuracy = pos.last_epoch_accuracy;
    report->seconds = vn_host_seconds() - t0;
    return true;
}

bool task_factual_accuracy(const char *cmd, vn_context *ctx, vn_mlp *mlp, uint64_t seed, size_t dim, size_t count,
                           double *accuracy) {
    enum { CHUNK = 2048 };
    size_t h = (size_t)mlp->config.h_dim;
    if (VN_IV_HEQ_ENTITIES * dim != h) return cli_fail(cmd, "the model's h_dim %zu is not 4 x %zu", h, dim);
    vn_context_mark mark = vn_context_mark_get(ctx);
    vn_real *x = vn_context_scratch(ctx, CHUNK * h * sizeof *x);
    int64_t *labels = vn_context_scratch(ctx, CHUNK * sizeof *labels);
    if (!x || !labels) return cli_fail(cmd, "out of memory");
    vn_rng rng;
    vn_iv_task_rng(&rng, seed, VN_IV_STREAM_FACTUAL_TEST, 0);
    size_t correct = 0;
    for (size_t done = 0; done < count;) {
        size_t n = count - done < CHUNK ? count - done : CHUNK;
        for (size_t j = 0; j < n; j++) {
            vn_iv_heq_sample(&rng, dim, x + j * h);
            labels[j] = vn_iv_heq_label(x + j * h, dim);
        }
        vn_iv_step_result result;
        if (vn_iv_classify(mlp, ctx, x, labels, n, &result) != VN_OK) {
            cli_fail(cmd, "%s", vn_context_message(ctx));
            vn_context_rewind(ctx, mark);
            return false;
        }
        correct += result.correct;
        done += n;
    }
    vn_context_rewind(ctx, mark);
    *accuracy = count ? (double)correct / (double)count : 0;
    return true;
}

bool run_option_parse(const char *cmd, const char *arg, const char *v, run_options *o, bool *ok) {
    if (!strcmp(arg, "--out")) {
        o->out = v;
    } else if (!strcmp(arg, "--resume")) {
        o->resume = v;
    } else if (!strcmp(arg, "--max-steps")) {
        *ok = cli_parse_size(cmd, arg, v, 1, &o->max_steps);
        o->max_steps_given = true;
    } else if (!strcmp(arg, "--checkpoint-every")) {
        *ok = cli_parse_size(cmd, arg, v, 1, &o->checkpoint_every);
        o->every_given = true;
    } else {
        return false;
    }
    return true;
}

bool save_model_dir(const char *cmd, const char *dir, const vn_mlp *mlp, vn_context *ctx) {
    char err[VN_HOST_ERR];
    vn_host_buffer config = {0}, weights = {0};
    if (vn_model_config_write(&mlp->config, vn_host_buffer_write, &config) != VN_OK) {
        vn_host_buffer_free(&config);
        return cli_fail(cmd, "cannot format the model config");
    }
    if (vn_model_save_params(mlp, ctx->arena, vn_host_buffer_write, &weights, err, sizeof err) != VN_OK) {
        vn_host_buffer_free(&config);
        vn_host_buffer_free(&weights);
        return cli_fail(cmd, "%s/model.safetensors: %s", dir, err);
    }
    return cli_save_directory(cmd, dir, &config, "model.safetensors", &weights);
}
