/* cmd_align.c — `cvene align`: trains an intervention's parameters
 * (rotations, Boundless boundaries, sigmoid masks) with cross-entropy of the
 * counterfactual logits on the data file's labels; the model stays frozen
 * (FORMATS.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "vn_iv_types.h"
#include "vn_ops.h"
#include "vn_optim.h"

static const char *const CMD = "align";

static void usage(void) {
    puts("usage: cvene align --model DIR --intervention DIR --data FILE --out DIR\n"
         "                   [--optimizer sgd|adam|adamw] [--lr X] [--batch-size B]\n"
         "                   [--steps N | --epochs N] [--shuffle] [--seed S] [--log FILE.csv]\n"
         "                   [--temperature START:END]\n"
         "\n"
         "Trains the intervention's parameters — each rotation's parametrisation\n"
         "(`original`), Boundless boundaries and sigmoid masks — with the mean\n"
         "cross-entropy of the counterfactual logits against the data file's labels.\n"
         "The model is frozen and in eval mode. Writes the trained intervention\n"
         "directory (config.json + interventions.safetensors with the materialised\n"
         "rotate_layer.weight and the parametrisation, so training resumes exactly),\n"
         "replacing files atomically.\n"
         "\n"
         "  --optimizer K        sgd, adam (default) or adamw, with PyTorch's defaults\n"
         "  --lr X               learning rate (default 1e-3)\n"
         "  --batch-size B       examples per step (default 64); the last batch may be smaller\n"
         "  --steps N            N batches, wrapping around the file\n"
         "  --epochs N           N passes over the file (default 1)\n"
         "  --shuffle            a new example order every epoch (else file order)\n"
         "  --seed S             shuffling, and rotations when the intervention directory\n"
         "                       has no interventions.safetensors (default 0)\n"
         "  --log FILE.csv       step,loss,accuracy per step (the batch's, before its update)\n"
         "  --temperature A:B    Boundless / sigmoid-mask temperature, linear from A to B\n"
         "                       over the run (pyvene's Boundless tutorial uses 50:0.1)\n"
         "\n"
         "example:\n"
         "  cvene align --model model --intervention intervention --data data.safetensors \\\n"
         "              --optimizer sgd --lr 0.5 --batch-size 4 --steps 5 --out trained --log log.csv");
}

typedef struct align_args {
    const char *model, *intervention, *data, *out, *log;
    vn_optim_kind optimizer;
    double lr;
    size_t batch_size, steps, epochs, seed;
    bool steps_given, epochs_given, shuffle, temperature;
    double t_start, t_end;
} align_args;

static int parse_args(int argc, char **argv, align_args *a) {
    *a = (align_args){0};
    a->optimizer = VN_OPTIM_ADAM;
    a->lr = 1e-3;
    a->batch_size = 64;
    a->epochs = 1;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "--model") ? &a->model : !strcmp(arg, "--intervention") ? &a->intervention
                          : !strcmp(arg, "--data") ? &a->data : !strcmp(arg, "--out") ? &a->out
                          : !strcmp(arg, "--log") ? &a->log : NULL;
        if (!strcmp(arg, "--shuffle")) {
            a->shuffle = true;
            continue;
        }
        if (i + 1 >= argc) return cli_fail(CMD, "unknown argument or missing value: '%s' (see --help)", arg), 2;
        const char *value = argv[++i];
        bool ok = true;
        if (slot) {
            *slot = value;
        } else if (!strcmp(arg, "--optimizer")) {
            if (!strcmp(value, "sgd")) a->optimizer = VN_OPTIM_SGD;
            else if (!strcmp(value, "adam")) a->optimizer = VN_OPTIM_ADAM;
            else if (!strcmp(value, "adamw")) a->optimizer = VN_OPTIM_ADAMW;
            else ok = cli_fail(CMD, "--optimizer must be sgd, adam or adamw, got '%s'", value);
        } else if (!strcmp(arg, "--lr")) {
            ok = cli_parse_double(CMD, arg, value, &a->lr);
        } else if (!strcmp(arg, "--batch-size")) {
            ok = cli_parse_size(CMD, arg, value, 1, &a->batch_size);
        } else if (!strcmp(arg, "--steps")) {
            ok = cli_parse_size(CMD, arg, value, 1, &a->steps);
            a->steps_given = true;
        } else if (!strcmp(arg, "--epochs")) {
            ok = cli_parse_size(CMD, arg, value, 1, &a->epochs);
            a->epochs_given = true;
        } else if (!strcmp(arg, "--seed")) {
            ok = cli_parse_size(CMD, arg, value, 0, &a->seed);
        } else if (!strcmp(arg, "--temperature")) {
            ok = cli_parse_range(CMD, arg, value, &a->t_start, &a->t_end);
            a->temperature = true;
        } else {
            return cli_fail(CMD, "unknown argument '%s' (see --help)", arg), 2;
        }
        if (!ok) return 2;
    }
    if (!a->model || !a->intervention || !a->data || !a->out)
        return cli_fail(CMD, "--model, --intervention, --data and --out are required (see --help)"), 2;
    if (a->steps_given && a->epochs_given) return cli_fail(CMD, "give --steps or --epochs, not both"), 2;
    return 0;
}

/* The examples of step `step` (0-based) into *out: file order as a view, or
 * a shuffled selection copied into the arena. */
static bool step_batch(const align_args *a, const vn_iv_batch *all, size_t step, uint32_t *order, vn_rng *rng,
                       size_t *order_epoch, vn_arena *arena, size_t *index, vn_iv_batch *out) {
    size_t n = all->batch, per_epoch = (n + a->batch_size - 1) / a->batch_size;
    size_t epoch = step / per_epoch, start = (step % per_epoch) * a->batch_size;
    size_t count = n - start < a->batch_size ? n - start : a->batch_size;
    if (!a->shuffle) {
        vn_iv_batch_slice(all, start, count, out);
        return true;
    }
    if (*order_epoch != epoch) { /* a new permutation for each epoch */
        for (size_t k = 0; k < n; k++) order[k] = (uint32_t)k;
        vn_rng_shuffle(rng, order, n);
        *order_epoch = epoch;
    }
    for (size_t k = 0; k < count; k++) index[k] = order[start + k];
    return vn_iv_batch_gather(all, index, count, arena, out) == VN_OK;
}

static int train(const align_args *a, vn_context *ctx, vn_host_alloc_stats *stats) {
    vn_rng rng;
    vn_rng_seed(&rng, a->seed, 0);
    vn_mlp mlp;
    if (!cli_load_model(CMD, a->model, ctx, &mlp)) return 1;
    vn_iv_config config;
    if (!cli_load_intervention_config(CMD, a->intervention, ctx, &config)) return 1;
    vn_iv_model model;
    vn_iv_model_options options = {&rng, false, false};
    if (vn_iv_model_init(&model, ctx, &mlp, &config, &options) != VN_OK)
        return cli_fail(CMD, "%s/config.json: %s", a->intervention, vn_context_message(ctx)), 1;
    bool found;
    if (!cli_load_intervention_tensors(CMD, a->intervention, &model, ctx, &found)) return 1;
    if (!found && vn_iv_model_has_tensors(&model))
        fprintf(stderr, "cvene align: %s has no interventions.safetensors: starting from pyvene's "
                "initialisation (rotations drawn with seed %zu)\n", a->intervention, a->seed);
    vn_node *params[3 * VN_IV_MAX_REPRESENTATIONS];
    size_t n_params = vn_iv_model_trainable(&model, params, VN_ARRAY_COUNT(params));
    if (n_params == 0)
        return cli_fail(CMD, "the intervention has nothing to train (its types have no trainable tensors)"), 1;
    if (a->temperature && !vn_iv_model_has_temperature(&model))
        return cli_fail(CMD, "--temperature: no representation has a temperature (Boundless or sigmoid-mask "
                        "types)"), 1;
    vn_iv_batch all;
    if (!cli_load_data(CMD, a->data, &model, &mlp, ctx->arena, &all)) return 1;
    if (!all.labels) return cli_fail(CMD, "%s has no labels (the counterfactual class of each example)", a->data), 1;
    if (all.batch == 0) return cli_fail(CMD, "%s has no examples", a->data), 1;
    vn_optim_options oo = vn_optim_defaults(a->optimizer);
    oo.lr = a->lr;
    vn_optim opt;
    if (vn_optim_init(&opt, ctx, ctx->arena, &oo, params, n_params) != VN_OK)
        return cli_fail(CMD, "%s", vn_context_message(ctx)), 1;
    size_t per_epoch = (all.batch + a->batch_size - 1) / a->batch_size;
    size_t steps = a->steps_given ? a->steps : a->epochs * per_epoch;
    uint32_t *order = a->shuffle ? vn_context_scratch(ctx, all.batch * sizeof *order) : NULL;
    size_t *index = a->shuffle ? vn_context_scratch(ctx, a->batch_size * sizeof *index) : NULL;
    if (a->shuffle && (!order || !index)) return cli_fail(CMD, "out of memory"), 1;
    FILE *log = NULL;
    if (a->log) {
        log = fopen(a->log, "w");
        if (!log) return cli_fail(CMD, "cannot create %s", a->log), 1;
        fprintf(log, "step,loss,accuracy\n");
    }
    bool progress = cli_show_progress();
    double t0 = vn_host_seconds(), first_loss = 0, last_loss = 0, last_accuracy = 0;
    size_t order_epoch = (size_t)-1, calls_after_first = 0;
    vn_context_mark mark = vn_context_mark_get(ctx);
    int status = 0;
    for (size_t step = 0; step < steps && status == 0; step++) {
        if (a->temperature) {
            double f = steps > 1 ? (double)step / (double)(steps - 1) : 0;
            vn_iv_model_set_temperature(&model, a->t_start + (a->t_end - a->t_start) * f);
        }
        vn_iv_batch batch;
        if (!step_batch(a, &all, step, order, &rng, &order_epoch, ctx->arena, index, &batch)) {
            status = (cli_fail(CMD, "out of memory"), 1);
            break;
        }
        vn_iv_batch_nodes nodes;
        vn_iv_inputs in;
        vn_iv_outputs out;
        vn_iv_batch_inputs(&batch, ctx, &nodes, &in);
        vn_iv_forward(&model, ctx, &in, &out);
        vn_node *logits = out.counterfactual_logits;
        if (logits && logits->value.ndim != 2) {
            status = (cli_fail(CMD, "the counterfactual logits have %d dimensions; align needs (B, C) logits "
                               "(S = 1, squeeze_output)", logits->value.ndim), 1);
            break;
        }
        vn_node *loss = vn_cross_entropy(ctx, logits, batch.labels, batch.batch);
        vn_zero_grad(ctx);
        if (vn_backward(ctx, loss) != VN_OK) {
            status = (cli_fail(CMD, "step %zu: %s", step + 1, vn_context_message(ctx)), 1);
            break;
        }
        double value = loss->value.data[0];
        double accuracy = (double)cli_correct(logits, batch.labels, batch.batch) / (double)batch.batch;
        if (!isfinite(value)) {
            status = (cli_fail(CMD, "step %zu: the loss is not finite (%g)", step + 1, value), 1);
            break;
        }
        vn_optim_step(&opt);
        if (step == 0) first_loss = value;
        last_loss = value;
        last_accuracy = accuracy;
        if (log) fprintf(log, "%zu,%.9g,%.9g\n", step + 1, value, accuracy);
        if (progress && (step % 10 == 0 || step + 1 == steps))
            fprintf(stderr, "\rcvene align: step %zu/%zu  loss %.4f  accuracy %.3f ", step + 1, steps, value, accuracy);
        vn_context_rewind(ctx, mark);
        if (step == 0) calls_after_first = stats->calls;
    }
    if (progress) fputc('\n', stderr);
    if (log && fclose(log) != 0 && status == 0) status = (cli_fail(CMD, "cannot write %s", a->log), 1);
    if (status) return status;
    double seconds = vn_host_seconds() - t0;
    if (!cli_save_intervention(CMD, a->out, &model, ctx)) return 1;
    printf("cvene align\n");
    printf("  model         %s: h_dim %lld, %lld layer%s, frozen\n", a->model, (long long)mlp.config.h_dim,
           (long long)mlp.config.n_layer, mlp.config.n_layer == 1 ? "" : "s");
    printf("  intervention  %s: %zu representation%s, %zu trainable tensor%s\n", a->intervention, model.config.count,
           model.config.count == 1 ? "" : "s", n_params, n_params == 1 ? "" : "s");
    printf("  data          %s: %zu examples, batches of %zu%s\n", a->data, all.batch, a->batch_size,
           a->shuffle ? ", shuffled" : "");
    printf("  training      %s, lr %g, %zu step%s in %.2f s (%.1f steps/s); allocator calls after step 1: %zu\n",
           vn_optim_kind_name(a->optimizer), a->lr, steps, steps == 1 ? "" : "s", seconds,
           seconds > 0 ? (double)steps / seconds : 0.0, stats->calls - calls_after_first);
    printf("  loss          %.6f -> %.6f (last batch accuracy %.4f)\n", first_loss, last_loss, last_accuracy);
    printf("  wrote         %s/config.json%s%s\n", a->out, vn_iv_model_has_tensors(&model) ? ", " : "",
           vn_iv_model_has_tensors(&model) ? "interventions.safetensors" : "");
    if (a->log) printf("  log           %s\n", a->log);
    return 0;
}

int cmd_align(int argc, char **argv);

int cmd_align(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    align_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    if (vn_iv_register_ops() != VN_OK) return cli_fail(CMD, "cannot register the intervention ops"), 1;
    vn_host_alloc_stats stats = {0};
    vn_arena arena;
    vn_host_arena(&arena, &stats);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    status = train(&a, &ctx, &stats);
    vn_arena_release(&arena);
    return status;
}
