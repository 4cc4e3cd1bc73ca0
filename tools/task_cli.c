/* task_cli.c — the MLP recipe, factual training and model directories shared
 * by `cvene train` and `cvene das` (see task_cli.h). */
#include "task_cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "host.h"
#include "progress.h"
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

bool mlp_fit(const char *cmd, const mlp_recipe *r, const fit_data *data, vn_context *ctx, vn_mlp *mlp,
             bool show_progress, FILE *log, fit_report *report) {
    memset(report, 0, sizeof *report);
    size_t h = (size_t)mlp->config.h_dim, n = data->rows ? data->count : r->examples, batch = r->batch_size;
    if (!data->rows && VN_IV_HEQ_ENTITIES * data->dim != h)
        return cli_fail(cmd, "the task's inputs are %zu wide; the model's h_dim is %zu",
                        (size_t)VN_IV_HEQ_ENTITIES * data->dim, h);
    if (n == 0 || batch == 0 || r->epochs == 0) return cli_fail(cmd, "nothing to train (no examples, batches or epochs)");
    if (n > UINT32_MAX) return cli_fail(cmd, "at most %lu training examples", (unsigned long)UINT32_MAX);
    if (batch > n) batch = n;
    size_t per_epoch = (n + batch - 1) / batch, steps = per_epoch * r->epochs;
    vn_iv_fit_options options = r->fit;
    options.total_steps = r->linear_schedule ? (int64_t)steps : 0;
    vn_iv_fit fit;
    if (vn_iv_fit_init(&fit, ctx, mlp, &options) != VN_OK) return cli_fail(cmd, "%s", vn_context_message(ctx));
    uint32_t *order = vn_context_scratch(ctx, n * sizeof *order);
    vn_real *x = vn_context_scratch(ctx, batch * h * sizeof *x);
    int64_t *labels = vn_context_scratch(ctx, batch * sizeof *labels);
    if (!order || !x || !labels) return cli_fail(cmd, "out of memory");
    progress bar;
    progress_start(&bar, show_progress, "training", "steps", steps);
    double t0 = vn_host_seconds();
    size_t step = 0;
    for (size_t epoch = 0; epoch < r->epochs; epoch++) {
        double g0 = vn_host_seconds();
        vn_rng rng;
        vn_iv_task_rng(&rng, r->seed, VN_IV_STREAM_SHUFFLE, epoch);
        for (size_t i = 0; i < n; i++) order[i] = (uint32_t)i;
        vn_rng_shuffle(&rng, order, n);
        report->data_seconds += vn_host_seconds() - g0;
        double loss_sum = 0;
        size_t correct = 0;
        for (size_t s = 0; s < per_epoch; s++, step++) {
            size_t start = s * batch, count = n - start < batch ? n - start : batch;
            g0 = vn_host_seconds();
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
                return cli_fail(cmd, "training step %zu: %s", step + 1, vn_context_message(ctx));
            }
            if (step == 0) report->first_loss = result.loss;
            loss_sum += result.loss * (double)count;
            correct += result.correct;
            char note[64];
            snprintf(note, sizeof note, "epoch %zu/%zu  loss %.4f", epoch + 1, r->epochs, result.loss);
            progress_update(&bar, step + 1, note);
        }
        report->last_epoch_loss = loss_sum / (double)n;
        report->last_epoch_accuracy = (double)correct / (double)n;
        if (log) {
            progress_clear(&bar);
            fprintf(log, "  epoch %zu/%zu  loss %.4f  accuracy %.4f  (training batches, before each update)\n",
                    epoch + 1, r->epochs, report->last_epoch_loss, report->last_epoch_accuracy);
            fflush(log);
        }
    }
    progress_clear(&bar);
    vn_mlp_set_training(mlp, false);
    report->steps = steps;
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

bool write_buffer_atomic(const char *cmd, const char *path, vn_host_buffer *buffer) {
    char err[VN_HOST_ERR];
    bool ok = !buffer->failed && vn_host_write_file_atomic(path, buffer->data, buffer->size, err);
    if (!ok) cli_fail(cmd, "%s", buffer->failed ? "out of memory" : err);
    vn_host_buffer_free(buffer);
    return ok;
}

bool save_model_dir(const char *cmd, const char *dir, const vn_mlp *mlp, vn_context *ctx) {
    char err[VN_HOST_ERR], path[4096];
    if (!vn_host_mkdirs(dir, err)) return cli_fail(cmd, "%s", err);
    vn_host_buffer buffer = {0};
    if (vn_model_config_write(&mlp->config, vn_host_buffer_write, &buffer) != VN_OK) {
        vn_host_buffer_free(&buffer);
        return cli_fail(cmd, "cannot format the model config");
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (!write_buffer_atomic(cmd, path, &buffer)) return false;
    if (vn_model_save_params(mlp, ctx->arena, vn_host_buffer_write, &buffer, err, sizeof err) != VN_OK) {
        vn_host_buffer_free(&buffer);
        return cli_fail(cmd, "%s/model.safetensors: %s", dir, err);
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    return write_buffer_atomic(cmd, path, &buffer);
}
