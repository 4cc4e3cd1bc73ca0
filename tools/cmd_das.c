/* cmd_das.c — `cvene das`: pyvene's DAS tutorial end to end on the
 * hierarchical-equality task: generate the data from a seed, train the
 * factual MLP, train a distributed alignment (rotations) at one layer,
 * evaluate interchange-intervention accuracy (IIA) on held-out
 * counterfactuals; or a sweep over layers and hypotheses (the DAS paper's
 * Table 1). The core (vn_iv_task.h, vn_iv_das.h) does the math; this file
 * does options, files, printing and timing. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "progress.h"
#include "svg_plot.h"
#include "task_cli.h"
#include "vn_json.h"
#include "vn_model_dir.h"

static const char *const CMD = "das";

#define CHECKPOINT_FORMAT "cvene-das-checkpoint"
#define RUN_FORMAT "cvene-das-run"

static void usage(void) {
    fputs("usage: cvene das [--task hierarchical-equality] [--hypothesis both|left|identity]\n"
         "                 [--layer L] [--seed S] [--epochs N] [--subspace-size K]\n"
         "                 [--sweep] [--out DIR] [--resume DIR] [--json] [options]\n"
         "\n"
         "pyvene's DAS tutorial end to end, on data generated from the seed:\n"
         "  1. train pyvene's MLP (3 ReLU layers of 16) on 1,048,576 factual examples of\n"
         "     hierarchical equality, (W==X)==(Y==Z) over four 4-d entities, with the\n"
         "     tutorial's recipe (AdamW 1e-3 decaying linearly, clip 1.0, batches of\n"
         "     1024, 3 epochs, BCE-with-logits on one-hot labels), and test it on 10,000\n"
         "     fresh examples;\n"
         "  2. freeze it and train RotatedSpaceInterventions at one layer's block_output,\n"
         "     linked to one 16x16 rotation (matrix_exp): 200 single-kind batches of 6400\n"
         "     counterfactual examples (1,280,000), 10 epochs in a new batch order each\n"
         "     epoch, Adam lr 1e-3 on the rotation only, cross-entropy on the\n"
         "     counterfactual labels;\n"
         "  3. report IIA on 12,800 held-out counterfactual examples, in equal thirds of\n"
         "     the intervention kinds, ending with the line 'test IIA: 0.xxxx'.\n"
         "\n"
         "hypotheses (k = --subspace-size, default 8):\n"
         "  both       WX and YZ: two interventions linked to one rotation, WX on rotated\n"
         "             coordinates 0..k-1, YZ on k..2k-1; batches intervene on WX only\n"
         "             (sources [s, None]), YZ only ([None, s]) or both ([s_wx, s_yz]),\n"
         "             each kind with probability 1/3, each source realising a sampled value\n"
         "  left       WX alone: one intervention on rotated coordinates 0..k-1, WX-only\n"
         "             batches\n"
         "  identity   W itself: one intervention on rotated coordinates 0..k-1; the source's\n"
         "             W is the base's X or a different entity (a fair coin per batch), the\n"
         "             label O with W replaced. The network computes W==X, not W: expect IIA\n"
         "             near chance\n"
         "\n",
          stdout);
    puts("options:\n"
         "  --layer L            layer of the intervened block_output (default 0)\n"
         "  --seed S             every random choice of the run (default 0)\n"
         "  --epochs N           alignment epochs (default 10)\n"
         "  --subspace-size K    rotated coordinates per variable (default h_dim/2 = 8)\n"
         "  --lr X               alignment learning rate (default 1e-3)\n"
         "  --examples N         counterfactual training examples, rounded up to whole\n"
         "                       batches (default 1280000)\n"
         "  --batch-size B       alignment batch size (default 6400)\n"
         "  --test-examples N    held-out counterfactual examples (default 12800)\n"
         "  --mlp-examples N     factual training examples (default 1048576)\n"
         "  --mlp-epochs N       factual epochs (default 3)\n"
         "  --mlp-batch-size B   factual batch size (default 1024)\n"
         "  --init KIND          the MLP's initialisation: pytorch (default; nn.Linear's) or\n"
         "                       normal (transformers >= 4.48: N(0, 0.02), zero biases)\n"
         "  --model DIR          align on this model directory instead of training one\n"
         "  --untrained          align on the untrained network (the control)\n"
         "  --sweep              the table of test IIA over layers x hypotheses for the\n"
         "                       trained network and the untrained control\n"
         "  --out DIR            write DIR/model, DIR/intervention (pyvene's save layout),\n"
         "                       DIR/run.json, DIR/checkpoint.safetensors, DIR/log.csv and\n"
         "                       DIR/plot.svg (loss and IIA over training); the checkpoint is\n"
         "                       rewritten after every epoch\n"
         "  --resume DIR         continue the run saved in DIR (its run.json gives every\n"
         "                       setting) to its last step, bit for bit as if never stopped\n"
         "  --max-steps N        stop after N alignment steps of this invocation (with --out\n"
         "                       or --resume: saved, to be resumed)\n"
         "  --checkpoint-every N with --out or --resume: also save (checkpoint, log, run record,\n"
         "                       intervention, plot) after every N alignment steps\n"
         "  --json               print one JSON summary instead of text\n"
         "  --no-progress        no progress bar even on a terminal\n"
         "\n"
         "A training step (MLP or alignment) whose loss, gradients or updated\n"
         "parameters are not finite (NaN or infinite) stops the run with exit status 1\n"
         "and a message naming the step and the tensor; the files of the last save\n"
         "stay as they were.\n"
         "\n"
         "examples:\n"
         "  cvene das\n"
         "  cvene das --hypothesis left --layer 1 --seed 3 --out run3\n"
         "  cvene das --sweep --epochs 5");
}

/* ---- options ------------------------------------------------------------------------------ */

typedef struct das_args {
    vn_iv_hypothesis hypothesis;
    int64_t layer;
    uint64_t seed;
    size_t epochs, subspace_size, examples, batch_size, test_examples;
    double lr;
    mlp_recipe recipe;
    run_options run; /* checkpoint_every: alignment steps (0: at the end of each epoch only) */
    const char *model;
    bool untrained, sweep, json, progress;
} das_args;

static void args_default(das_args *a) {
    memset(a, 0, sizeof *a);
    a->hypothesis = VN_IV_HYP_BOTH;
    a->epochs = 10;
    a->examples = 1280000;
    a->batch_size = 6400;
    a->test_examples = 12800;
    a->lr = 1e-3;
    a->recipe = mlp_recipe_default();
    a->progress = true;
}

static int parse_args(int argc, char **argv, das_args *a) {
    args_default(a);
    bool setting_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--json")) {
            a->json = true;
            continue;
        }
        if (!strcmp(arg, "--no-progress")) {
            a->progress = false;
            continue;
        }
        if (!strcmp(arg, "--sweep") || !strcmp(arg, "--untrained")) {
            *(!strcmp(arg, "--sweep") ? &a->sweep : &a->untrained) = true;
            setting_given = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) return cli_fail(CMD, "unexpected argument '%s' (see --help)", arg), 2;
        if (i + 1 >= argc) return cli_fail(CMD, "unknown option or missing value: '%s' (see --help)", arg), 2;
        const char *v = argv[++i];
        size_t n = 0;
        bool ok = true;
        if (strcmp(arg, "--resume") && strcmp(arg, "--max-steps") && strcmp(arg, "--out") &&
            strcmp(arg, "--checkpoint-every"))
            setting_given = true;
        if (!strcmp(arg, "--task")) {
            if (strcmp(v, "hierarchical-equality") != 0)
                ok = cli_fail(CMD, "--task: unknown task '%s' (known: hierarchical-equality)", v);
        } else if (!strcmp(arg, "--hypothesis")) {
            if (vn_iv_hypothesis_lookup(v, &a->hypothesis) != VN_OK)
                ok = cli_fail(CMD, "--hypothesis must be both, left or identity, got '%s'", v);
        } else if (!strcmp(arg, "--layer")) {
            ok = cli_parse_size(CMD, arg, v, 0, &n);
            a->layer = (int64_t)n;
        } else if (!strcmp(arg, "--seed")) {
            ok = cli_parse_size(CMD, arg, v, 0, &n);
            a->seed = n;
        } else if (!strcmp(arg, "--epochs")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->epochs);
        } else if (!strcmp(arg, "--subspace-size")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->subspace_size);
        } else if (!strcmp(arg, "--lr")) {
            ok = cli_parse_double(CMD, arg, v, &a->lr);
            if (ok && !(a->lr > 0)) ok = cli_fail(CMD, "--lr must be positive");
        } else if (!strcmp(arg, "--examples")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->examples);
        } else if (!strcmp(arg, "--batch-size")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->batch_size);
        } else if (!strcmp(arg, "--test-examples")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->test_examples);
        } else if (!strcmp(arg, "--mlp-examples")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->recipe.examples);
        } else if (!strcmp(arg, "--mlp-epochs")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->recipe.epochs);
        } else if (!strcmp(arg, "--mlp-batch-size")) {
            ok = cli_parse_size(CMD, arg, v, 1, &a->recipe.batch_size);
        } else if (!strcmp(arg, "--init")) {
            if (!mlp_init_lookup(v, &a->recipe.init)) ok = cli_fail(CMD, "--init must be pytorch or normal, got '%s'", v);
        } else if (!strcmp(arg, "--model")) {
            a->model = v;
        } else if (!run_option_parse(CMD, arg, v, &a->run, &ok)) {
            return cli_fail(CMD, "unknown option '%s' (see --help)", arg), 2;
        }
        if (!ok) return 2;
    }
    if (a->run.resume && (setting_given || a->run.out))
        return cli_fail(CMD, "--resume DIR takes every setting from DIR/run.json and writes back to DIR; only "
                        "--max-steps, --checkpoint-every, --json and --no-progress may accompany it"), 2;
    if (a->sweep && (a->run.out || a->run.max_steps_given || a->untrained || a->run.every_given))
        return cli_fail(CMD, "--sweep cannot be combined with --out, --max-steps, --checkpoint-every or --untrained"), 2;
    if (a->run.every_given && !a->run.out && !a->run.resume)
        return cli_fail(CMD, "--checkpoint-every N needs --out DIR (or --resume DIR) to write the checkpoints to"), 2;
    if (a->model && a->untrained) return cli_fail(CMD, "--model and --untrained exclude each other"), 2;
    a->recipe.seed = a->seed;
    return 0;
}

/* ---- the run's record ------------------------------------------------------------------------ */

typedef struct step_row {
    uint32_t epoch; /* 1-based */
    uint8_t kind;
    double loss, iia; /* the batch's, before its update */
} step_row;

typedef struct timings {
    double total, mlp, mlp_data, factual_test, align, align_data, eval;
} timings;

typedef struct run_state {
    das_args a;
    size_t n_batches, total_steps, step; /* steps done */
    double factual_accuracy;              /* < 0: not measured */
    step_row *rows;                       /* total_steps entries, the first `step` filled */
    double epoch_loss[1024], epoch_iia[1024]; /* per finished epoch (at most 1024 are kept) */
    size_t kind_total[VN_IV_CF_KIND_COUNT], kind_correct[VN_IV_CF_KIND_COUNT];
    double test_iia;                      /* < 0: not evaluated */
    size_t calls_first_epoch, calls_steady, steady_steps;
    timings t;
    bool saved;                           /* a checkpoint was written (or resumed from) ... */
    size_t saved_step;                    /* ... at this step */
    char checkpoint_path[4096];           /* DIR/checkpoint.safetensors */
} run_state;

/* Records the mean batch loss and IIA of finished epoch e (0-based). */
static void record_epoch(run_state *rs, size_t e) {
    double loss = 0, iia = 0;
    for (size_t s = e * rs->n_batches; s < (e + 1) * rs->n_batches; s++) {
        loss += rs->rows[s].loss;
        iia += rs->rows[s].iia;
    }
    if (e < VN_ARRAY_COUNT(rs->epoch_loss)) {
        rs->epoch_loss[e] = loss / (double)rs->n_batches;
        rs->epoch_iia[e] = iia / (double)rs->n_batches;
    }
}

/* ---- files: run.json, checkpoint.safetensors, log.csv, plot.svg --------------------------------- */

static bool path_in(char *buf, size_t size, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, size, "%s/%s", dir, name) >= size) return cli_fail(CMD, "path too long: %s/%s", dir, name);
    return true;
}

static void json_kv_int(vn_json_writer *w, const char *key, uint64_t v) {
    vn_json_key(w, key);
    vn_json_unsigned(w, v);
}

static void json_kv_num(vn_json_writer *w, const char *key, double v) {
    vn_json_key(w, key);
    if (isfinite(v)) vn_json_number(w, v);
    else vn_json_null(w);
}

static void json_kv_str(vn_json_writer *w, const char *key, const char *v) {
    vn_json_key(w, key);
    if (v) vn_json_string(w, v);
    else vn_json_null(w);
}

/* The settings of a run, as run.json's "config" and the JSON summary have them. */
static void write_config(vn_json_writer *w, const das_args *a) {
    vn_json_begin_object(w);
    json_kv_str(w, "task", "hierarchical-equality");
    json_kv_str(w, "hypothesis", vn_iv_hypothesis_name(a->hypothesis));
    json_kv_int(w, "layer", (uint64_t)a->layer);
    json_kv_int(w, "seed", a->seed);
    json_kv_int(w, "epochs", a->epochs);
    json_kv_int(w, "subspace_size", a->subspace_size);
    json_kv_num(w, "lr", a->lr);
    json_kv_int(w, "examples", a->examples);
    json_kv_int(w, "batch_size", a->batch_size);
    json_kv_int(w, "test_examples", a->test_examples);
    json_kv_int(w, "mlp_examples", a->recipe.examples);
    json_kv_int(w, "mlp_epochs", a->recipe.epochs);
    json_kv_int(w, "mlp_batch_size", a->recipe.batch_size);
    json_kv_str(w, "init", mlp_init_name(a->recipe.init));
    json_kv_str(w, "model", a->model);
    vn_json_key(w, "untrained");
    vn_json_bool(w, a->untrained);
    json_kv_int(w, "checkpoint_every", a->run.checkpoint_every);
    vn_json_end_object(w);
}

static void write_results(vn_json_writer *w, const run_state *rs) {
    vn_json_begin_object(w);
    json_kv_num(w, "factual_accuracy", rs->factual_accuracy >= 0 ? rs->factual_accuracy : NAN);
    json_kv_num(w, "test_iia", rs->test_iia >= 0 ? rs->test_iia : NAN);
    vn_json_key(w, "iia_by_kind");
    vn_json_begin_object(w);
    for (int k = 0; k < VN_IV_CF_KIND_COUNT; k++)
        if (rs->kind_total[k])
            json_kv_num(w, vn_iv_cf_kind_name((vn_iv_cf_kind)k), (double)rs->kind_correct[k] / (double)rs->kind_total[k]);
    vn_json_end_object(w);
    vn_json_key(w, "epochs");
    vn_json_begin_array(w);
    for (size_t e = 0; e < rs->step / rs->n_batches && e < VN_ARRAY_COUNT(rs->epoch_loss); e++) {
        vn_json_begin_object(w);
        json_kv_int(w, "epoch", e + 1);
        json_kv_num(w, "loss", rs->epoch_loss[e]);
        json_kv_num(w, "iia", rs->epoch_iia[e]);
        vn_json_end_object(w);
    }
    vn_json_end_array(w);
    vn_json_end_object(w);
}

static bool save_run_json(const char *dir, const run_state *rs) {
    char path[4096];
    if (!path_in(path, sizeof path, dir, "run.json")) return false;
    vn_host_buffer buffer = {0};
    vn_json_writer w;
    vn_json_writer_init(&w, vn_host_buffer_write, &buffer, 2);
    vn_json_begin_object(&w);
    json_kv_str(&w, "format", RUN_FORMAT);
    json_kv_int(&w, "version", 1);
    vn_json_key(&w, "config");
    write_config(&w, &rs->a);
    vn_json_key(&w, "state");
    vn_json_begin_object(&w);
    json_kv_int(&w, "step", rs->step);
    json_kv_int(&w, "total_steps", rs->total_steps);
    vn_json_key(&w, "finished");
    vn_json_bool(&w, rs->step == rs->total_steps);
    vn_json_end_object(&w);
    vn_json_key(&w, "results");
    write_results(&w, rs);
    vn_json_end_object(&w);
    if (vn_json_writer_finish(&w) != VN_OK || vn_host_buffer_write(&buffer, "\n", 1) != 0) {
        vn_host_buffer_free(&buffer);
        return cli_fail(CMD, "cannot format %s", path);
    }
    return cli_write_buffer(CMD, path, &buffer);
}

/* Reads an unsigned integer / number / string member of a run.json object. */
static bool json_uint(const vn_json_value *obj, const char *key, uint64_t *out, char *err, size_t size) {
    int64_t v;
    if (vn_json_get_int64(vn_json_get(obj, key), key, &v, err, size) != VN_OK) return false;
    if (v < 0) return vn_message(err, size, VN_EFORMAT, "\"%s\" is negative", key), false;
    *out = (uint64_t)v;
    return true;
}

static bool json_size(const vn_json_value *obj, const char *key, size_t *out, char *err, size_t size) {
    uint64_t v;
    if (!json_uint(obj, key, &v, err, size)) return false;
    *out = (size_t)v;
    return true;
}

/* Reads DIR/run.json into the run's settings and step. */
static bool load_run_json(const char *dir, vn_arena *arena, run_state *rs) {
    char path[4096], err[512];
    unsigned char *bytes;
    size_t size;
    if (!path_in(path, sizeof path, dir, "run.json")) return false;
    if (!vn_host_read_file(path, &bytes, &size, err)) return cli_fail(CMD, "%s", err);
    vn_arena_mark mark = vn_arena_get_mark(arena);
    const vn_json_value *root;
    bool ok = vn_json_parse(bytes, size, arena, &root, err, sizeof err) == VN_OK;
    free(bytes);
    das_args *a = &rs->a;
    const vn_json_value *config = ok ? vn_json_get(root, "config") : NULL, *state = ok ? vn_json_get(root, "state") : NULL;
    const char *format = NULL, *text = NULL;
    if (ok && (vn_json_get_string(vn_json_get(root, "format"), "format", &format, NULL, err, sizeof err) != VN_OK ||
               strcmp(format, RUN_FORMAT) != 0)) {
        if (format) snprintf(err, sizeof err, "format is \"%s\", expected \"%s\"", format, RUN_FORMAT);
        ok = false;
    }
    uint64_t layer = 0, seed = 0, step = 0;
    ok = ok && json_uint(config, "layer", &layer, err, sizeof err) && json_uint(config, "seed", &seed, err, sizeof err) &&
         json_size(config, "epochs", &a->epochs, err, sizeof err) &&
         json_size(config, "subspace_size", &a->subspace_size, err, sizeof err) &&
         json_size(config, "examples", &a->examples, err, sizeof err) &&
         json_size(config, "batch_size", &a->batch_size, err, sizeof err) &&
         json_size(config, "test_examples", &a->test_examples, err, sizeof err) &&
         json_size(config, "mlp_examples", &a->recipe.examples, err, sizeof err) &&
         json_size(config, "mlp_epochs", &a->recipe.epochs, err, sizeof err) &&
         json_size(config, "mlp_batch_size", &a->recipe.batch_size, err, sizeof err) &&
         vn_json_get_number(vn_json_get(config, "lr"), "lr", &a->lr, err, sizeof err) == VN_OK &&
         vn_json_get_bool(vn_json_get(config, "untrained"), "untrained", &a->untrained, err, sizeof err) == VN_OK &&
         json_uint(state, "step", &step, err, sizeof err);
    if (ok && (vn_json_get_string(vn_json_get(config, "hypothesis"), "hypothesis", &text, NULL, err, sizeof err) != VN_OK ||
               vn_iv_hypothesis_lookup(text, &a->hypothesis) != VN_OK)) {
        if (text) snprintf(err, sizeof err, "unknown hypothesis \"%s\"", text);
        ok = false;
    }
    if (ok && (vn_json_get_string(vn_json_get(config, "init"), "init", &text, NULL, err, sizeof err) != VN_OK ||
               !mlp_init_lookup(text, &a->recipe.init))) {
        if (text) snprintf(err, sizeof err, "unknown init \"%s\"", text);
        ok = false;
    }
    /* checkpoint_every is absent from the records written before it existed */
    const vn_json_value *every = ok ? vn_json_get(config, "checkpoint_every") : NULL;
    if (every && every->type == VN_JSON_NUMBER && every->is_uint64) a->run.checkpoint_every = (size_t)every->uint64;
    const vn_json_value *results = ok ? vn_json_get(root, "results") : NULL;
    double accuracy = -1;
    if (results && vn_json_get(results, "factual_accuracy") &&
        vn_json_get(results, "factual_accuracy")->type == VN_JSON_NUMBER)
        accuracy = vn_json_get(results, "factual_accuracy")->number;
    vn_arena_rewind(arena, mark);
    if (!ok) return cli_fail(CMD, "%s: %s", path, err);
    a->layer = (int64_t)layer;
    a->seed = seed;
    a->recipe.seed = seed;
    rs->step = (size_t)step;
    rs->factual_accuracy = accuracy;
    return true;
}

/* checkpoint.safetensors: the rotation's parametrisation and Adam's moments
 * in vn_real precision (VN_ST_REAL), the step counts as metadata. */
static bool save_checkpoint(const char *dir, const vn_iv_das *das, size_t step) {
    const vn_iv_rotation *rot = &das->model.units[0].params->rotation;
    const vn_optim_state *st = &das->optim.state[0];
    vn_tensor moments[2];
    vn_tensor_wrap(&moments[0], st->buf1, 2, rot->original->value.shape);
    vn_tensor_wrap(&moments[1], st->buf2, 2, rot->original->value.shape);
    vn_safetensors_item items[4] = {vn_safetensors_item_real("rotation.original", &rot->original->value, VN_ST_REAL),
                                    vn_safetensors_item_real("rotation.base", &rot->base->value, VN_ST_REAL),
                                    vn_safetensors_item_real("optimizer.exp_avg", &moments[0], VN_ST_REAL),
                                    vn_safetensors_item_real("optimizer.exp_avg_sq", &moments[1], VN_ST_REAL)};
    size_t n = 4;
    char step_text[32], optim_steps[32], path[4096], err[VN_HOST_ERR];
    snprintf(step_text, sizeof step_text, "%zu", step);
    snprintf(optim_steps, sizeof optim_steps, "%lld", (long long)st->steps);
    vn_safetensors_kv meta[3] = {{"format", CHECKPOINT_FORMAT}, {"step", step_text}, {"optimizer_steps", optim_steps}};
    if (!path_in(path, sizeof path, dir, "checkpoint.safetensors")) return false;
    vn_host_buffer buffer = {0};
    if (vn_safetensors_write(vn_host_buffer_write, &buffer, items, n, meta, 3, err, sizeof err) != VN_OK) {
        vn_host_buffer_free(&buffer);
        return cli_fail(CMD, "%s: %s", path, err);
    }
    return cli_write_buffer(CMD, path, &buffer);
}

/* Reads one tensor of exactly `count` values. */
static bool read_exact(const vn_safetensors *st, const char *path, const char *name, vn_real *out, size_t count) {
    char err[256];
    const vn_safetensors_entry *e = vn_safetensors_find(st, name);
    if (!e) return cli_fail(CMD, "%s: no tensor %s", path, name);
    if (e->numel != count) return cli_fail(CMD, "%s: %s has %zu values, expected %zu", path, name, e->numel, count);
    if (vn_safetensors_read_real(e, out, count, err, sizeof err) != VN_OK) return cli_fail(CMD, "%s: %s", path, err);
    return true;
}

static bool load_checkpoint(const char *dir, vn_iv_das *das, vn_context *ctx, size_t step) {
    char path[4096], err[VN_HOST_ERR];
    unsigned char *bytes;
    size_t size;
    if (!path_in(path, sizeof path, dir, "checkpoint.safetensors")) return false;
    if (!vn_host_read_file(path, &bytes, &size, err)) return cli_fail(CMD, "%s", err);
    vn_arena tmp;
    vn_host_arena(&tmp, NULL);
    vn_safetensors st;
    bool ok = vn_safetensors_open(&st, bytes, size, &tmp, err, sizeof err) == VN_OK;
    if (!ok) cli_fail(CMD, "%s: %s", path, err);
    const char *format = ok ? vn_safetensors_metadata_get(&st, "format") : NULL;
    const char *step_text = ok ? vn_safetensors_metadata_get(&st, "step") : NULL;
    const char *optim_text = ok ? vn_safetensors_metadata_get(&st, "optimizer_steps") : NULL;
    if (ok && (!format || strcmp(format, CHECKPOINT_FORMAT) || !step_text || !optim_text ||
               strtoull(step_text, NULL, 10) != step))
        ok = cli_fail(CMD, "%s: not a checkpoint of step %zu (the step in run.json)", path, step);
    vn_iv_rotation *rot = &das->model.units[0].params->rotation;
    vn_optim_state *state = &das->optim.state[0];
    size_t nn = rot->n * rot->n;
    vn_real *original = vn_context_scratch(ctx, nn * sizeof *original);
    vn_real *base = vn_context_scratch(ctx, nn * sizeof *base);
    ok = ok && original && base && read_exact(&st, path, "rotation.original", original, nn) &&
         read_exact(&st, path, "rotation.base", base, nn) &&
         read_exact(&st, path, "optimizer.exp_avg", state->buf1, nn) &&
         read_exact(&st, path, "optimizer.exp_avg_sq", state->buf2, nn);
    if (ok && vn_iv_rotation_set_state(rot, ctx, original, base) != VN_OK)
        ok = cli_fail(CMD, "%s: %s", path, vn_context_message(ctx));
    if (ok) {
        state->steps = (int64_t)strtoll(optim_text, NULL, 10);
        das->optim.step_count = state->steps;
    }
    vn_arena_release(&tmp);
    free(bytes);
    return ok;
}

static bool save_log_csv(const char *dir, const run_state *rs) {
    char path[4096];
    if (!path_in(path, sizeof path, dir, "log.csv")) return false;
    vn_host_buffer buffer = {0};
    char line[160];
    int n = snprintf(line, sizeof line, "step,epoch,kind,loss,iia\n");
    vn_host_buffer_write(&buffer, line, (size_t)n);
    for (size_t s = 0; s < rs->step; s++) {
        const step_row *r = &rs->rows[s];
        char loss[VN_JSON_NUMBER_MAX + 1] = "nan", iia[VN_JSON_NUMBER_MAX + 1] = "nan";
        size_t nl = vn_json_format_double(r->loss, loss), ni = vn_json_format_double(r->iia, iia);
        loss[nl ? nl : 3] = iia[ni ? ni : 3] = '\0'; /* shortest digits that read back exactly */
        n = snprintf(line, sizeof line, "%zu,%u,%s,%s,%s\n", s + 1, (unsigned)r->epoch,
                     vn_iv_cf_kind_name((vn_iv_cf_kind)r->kind), loss, iia);
        vn_host_buffer_write(&buffer, line, (size_t)n);
    }
    return cli_write_buffer(CMD, path, &buffer);
}

/* Restores the first `rs->step` rows from DIR/log.csv. */
static bool load_log_csv(const char *dir, run_state *rs) {
    char path[4096], err[VN_HOST_ERR];
    unsigned char *bytes;
    size_t size;
    if (!path_in(path, sizeof path, dir, "log.csv")) return false;
    if (!vn_host_read_file(path, &bytes, &size, err)) return cli_fail(CMD, "%s", err);
    char *text = realloc(bytes, size + 1);
    if (!text) {
        free(bytes);
        return cli_fail(CMD, "out of memory");
    }
    text[size] = '\0';
    char *line = strchr(text, '\n');
    size_t got = 0;
    while (line && got < rs->step) {
        line++;
        size_t step;
        unsigned epoch;
        char kind[16];
        double loss, iia;
        if (sscanf(line, "%zu,%u,%15[^,],%lf,%lf", &step, &epoch, kind, &loss, &iia) != 5 || step != got + 1) break;
        step_row *r = &rs->rows[got++];
        r->epoch = epoch;
        r->kind = 0;
        for (int k = 0; k < VN_IV_CF_KIND_COUNT; k++)
            if (!strcmp(kind, vn_iv_cf_kind_name((vn_iv_cf_kind)k))) r->kind = (uint8_t)k;
        r->loss = loss;
        r->iia = iia;
        line = strchr(line, '\n');
    }
    free(text);
    if (got != rs->step) return cli_fail(CMD, "%s: expected %zu steps, read %zu", path, rs->step, got);
    return true;
}

static bool save_plot(const char *dir, const run_state *rs) {
    char path[4096], title[256];
    if (!path_in(path, sizeof path, dir, "plot.svg")) return false;
    size_t n = rs->step, epochs = n / rs->n_batches;
    double *x = malloc((n + 1) * sizeof *x), *loss = malloc((n + 1) * sizeof *loss), *iia = malloc((n + 1) * sizeof *iia);
    double *ex = malloc((epochs + 1) * sizeof *ex);
    if (!x || !loss || !iia || !ex) {
        free(x), free(loss), free(iia), free(ex);
        return cli_fail(CMD, "out of memory");
    }
    for (size_t s = 0; s < n; s++) {
        x[s] = (double)(s + 1);
        loss[s] = rs->rows[s].loss;
        iia[s] = rs->rows[s].iia;
    }
    size_t shown = epochs < VN_ARRAY_COUNT(rs->epoch_loss) ? epochs : VN_ARRAY_COUNT(rs->epoch_loss);
    for (size_t e = 0; e < shown; e++) ex[e] = (double)((e + 1) * rs->n_batches);
    svg_series loss_series[2] = {{"batch loss", "#9ecae1", x, loss, n, false},
                                 {"epoch mean", "#08519c", ex, rs->epoch_loss, shown, true}};
    svg_series iia_series[2] = {{"batch IIA", "#a1d99b", x, iia, n, false},
                                {"epoch mean", "#006d2c", ex, rs->epoch_iia, shown, true}};
    svg_panel panels[2] = {{"cross-entropy loss (counterfactual labels)", 0, 0, loss_series, 2},
                           {"interchange-intervention accuracy", 0, 1, iia_series, 2}};
    snprintf(title, sizeof title, "cvene das: hypothesis %s, layer %lld, seed %llu",
             vn_iv_hypothesis_name(rs->a.hypothesis), (long long)rs->a.layer, (unsigned long long)rs->a.seed);
    vn_host_buffer buffer = {0};
    vn_status status = svg_plot_write(vn_host_buffer_write, &buffer, title, "alignment step", panels, 2);
    free(x), free(loss), free(iia), free(ex);
    if (status != VN_OK) {
        vn_host_buffer_free(&buffer);
        return cli_fail(CMD, "cannot format %s", path);
    }
    return cli_write_buffer(CMD, path, &buffer);
}

/* Everything --out keeps (the model and intervention directories only when
 * `full`: they do not change during alignment after the first save). */
static bool save_all(const char *dir, run_state *rs, const vn_iv_das *das, vn_mlp *mlp, vn_context *ctx,
                     bool full) {
    char err[VN_HOST_ERR], sub[4096];
    if (!vn_host_mkdirs(dir, err)) return cli_fail(CMD, "%s", err);
    if (full && (!path_in(sub, sizeof sub, dir, "model") || !save_model_dir(CMD, sub, mlp, ctx))) return false;
    if (!path_in(sub, sizeof sub, dir, "intervention") || !cli_save_intervention(CMD, sub, &das->model, ctx))
        return false;
    if (!save_checkpoint(dir, das, rs->step) || !save_log_csv(dir, rs) || !save_plot(dir, rs) || !save_run_json(dir, rs))
        return false;
    rs->saved = path_in(rs->checkpoint_path, sizeof rs->checkpoint_path, dir, "checkpoint.safetensors");
    rs->saved_step = rs->step;
    return true;
}

/* ---- the pipeline ---------------------------------------------------------------------------- */

/* Buffers of one counterfactual batch. */
typedef struct cf_buffers {
    vn_iv_cf_batch batch;
    size_t capacity;
} cf_buffers;

static bool cf_alloc(cf_buffers *b, vn_context *ctx, size_t capacity, size_t dim) {
    size_t width = VN_IV_HEQ_ENTITIES * dim;
    memset(b, 0, sizeof *b);
    b->capacity = capacity;
    b->batch.dim = dim;
    b->batch.base = vn_context_scratch(ctx, capacity * width * sizeof(vn_real));
    b->batch.source[0] = vn_context_scratch(ctx, capacity * width * sizeof(vn_real));
    b->batch.source[1] = vn_context_scratch(ctx, capacity * width * sizeof(vn_real));
    b->batch.labels = vn_context_scratch(ctx, capacity * sizeof(int64_t));
    if (!b->batch.base || !b->batch.source[0] || !b->batch.source[1] || !b->batch.labels)
        return cli_fail(CMD, "out of memory");
    return true;
}

/* Training batch `index`: pyvene's one intervention per batch, from its own seed. */
static void cf_training_batch(cf_buffers *b, const das_args *a, size_t index, size_t count) {
    vn_rng rng;
    vn_iv_task_rng(&rng, a->seed, VN_IV_STREAM_CF_TRAIN, index);
    b->batch.count = count;
    b->batch.values_per_example = false;
    b->batch.intervention = vn_iv_heq_sample_intervention(&rng, a->hypothesis);
    vn_iv_heq_cf_fill(&b->batch, &rng);
}

/* The factual model: loaded, trained, or (--untrained) fresh. */
static bool prepare_model(run_state *rs, vn_context *ctx, vn_mlp *mlp, FILE *log) {
    const das_args *a = &rs->a;
    double t0 = vn_host_seconds();
    rs->factual_accuracy = -1;
    if (a->model) {
        if (!cli_load_model(CMD, a->model, ctx, mlp)) return false;
    } else {
        if (!mlp_create(CMD, &a->recipe, ctx, mlp)) return false;
        if (!a->untrained) {
            fit_data data = {0};
            data.dim = VN_IV_HEQ_DIM;
            fit_report report;
            if (log)
                fprintf(log, "factual model: pyvene's MLP, %lld x %lld %s, %zu examples x %zu epochs, batches of %zu, "
                        "AdamW lr %g (linear decay), clip %g, BCE on one-hot labels, init %s\n",
                        (long long)a->recipe.config.n_layer, (long long)a->recipe.config.h_dim,
                        a->recipe.config.activation_function, a->recipe.examples, a->recipe.epochs,
                        a->recipe.batch_size, a->recipe.fit.optim.lr, a->recipe.fit.clip_norm,
                        mlp_init_name(a->recipe.init));
            fit_control control = {0};
            control.label = "MLP training step";
            if (!mlp_fit(CMD, &a->recipe, &data, ctx, mlp, a->progress && !a->json, log, &control, &report))
                return false;
            rs->t.mlp_data += report.data_seconds;
        }
    }
    if (mlp->config.h_dim != VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM)
        return cli_fail(CMD, "the model's h_dim is %lld; the task's inputs are %d wide", (long long)mlp->config.h_dim,
                        VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM);
    if (a->layer >= mlp->config.n_layer)
        return cli_fail(CMD, "--layer %lld: the model has %lld layer%s", (long long)a->layer,
                        (long long)mlp->config.n_layer, mlp->config.n_layer == 1 ? "" : "s");
    rs->t.mlp += vn_host_seconds() - t0;
    double accuracy;
    t0 = vn_host_seconds();
    if (!task_factual_accuracy(CMD, ctx, mlp, a->seed, VN_IV_HEQ_DIM, 10000, &accuracy)) return false;
    rs->t.factual_test += vn_host_seconds() - t0;
    rs->factual_accuracy = accuracy;
    if (log)
        fprintf(log, "  factual test accuracy %.4f on 10,000 fresh examples%s\n", accuracy,
                a->untrained ? " (untrained network)" : "");
    return true;
}

static vn_iv_das_options das_options(const das_args *a, vn_rng *rng) {
    vn_iv_das_options o = vn_iv_das_defaults();
    o.hypothesis = a->hypothesis;
    o.layer = a->layer;
    o.subspace_size = a->subspace_size;
    o.max_batch = a->batch_size;
    o.optim.lr = a->lr;
    o.rng = rng;
    return o;
}

/* Alignment steps rs->step .. until total or max_steps; per-epoch summaries
 * and checkpoints. */
static bool align(run_state *rs, vn_iv_das *das, vn_mlp *mlp, cf_buffers *buf, vn_context *ctx,
                  vn_host_alloc_stats *stats, const char *out_dir, FILE *log) {
    const das_args *a = &rs->a;
    size_t stop = rs->total_steps;
    if (a->run.max_steps_given && rs->step + a->run.max_steps < stop) stop = rs->step + a->run.max_steps;
    uint32_t *order = malloc(rs->n_batches * sizeof *order);
    if (!order) return cli_fail(CMD, "out of memory");
    size_t order_epoch = (size_t)-1, calls_epoch_start = stats->calls, boundaries = 0;
    progress bar;
    progress_start(&bar, a->progress && !a->json, "alignment", "steps", rs->total_steps);
    double t0 = vn_host_seconds();
    bool ok = true;
    while (ok && rs->step < stop) {
        size_t epoch = rs->step / rs->n_batches, pos = rs->step % rs->n_batches;
        if (order_epoch != epoch) {
            vn_rng rng;
            vn_iv_task_rng(&rng, a->seed, VN_IV_STREAM_CF_SHUFFLE, epoch);
            for (size_t i = 0; i < rs->n_batches; i++) order[i] = (uint32_t)i;
            vn_rng_shuffle(&rng, order, rs->n_batches);
            order_epoch = epoch;
        }
        double g0 = vn_host_seconds();
        cf_training_batch(buf, a, order[pos], a->batch_size); /* whole batches: pyvene rounds the count up */
        rs->t.align_data += vn_host_seconds() - g0;
        vn_iv_step_result result;
        if (vn_iv_das_step(das, ctx, &buf->batch, true, &result) != VN_OK) { /* NaN or infinity included */
            ok = training_step_failed(CMD, "alignment step", rs->step + 1, epoch + 1, vn_context_message(ctx),
                                      rs->saved ? rs->checkpoint_path : NULL, rs->saved_step);
            break;
        }
        step_row *row = &rs->rows[rs->step];
        row->epoch = (uint32_t)(epoch + 1);
        row->kind = (uint8_t)buf->batch.intervention.kind;
        row->loss = result.loss;
        row->iia = (double)result.correct / (double)result.count;
        rs->step++;
        char note[64];
        snprintf(note, sizeof note, "epoch %zu/%zu  loss %.4f  IIA %.3f", epoch + 1, a->epochs, result.loss, row->iia);
        progress_update(&bar, rs->step, note);
        if (rs->step % rs->n_batches == 0) { /* an epoch ends */
            record_epoch(rs, epoch);
            /* the first epoch this invocation finishes fills the arena's
             * blocks; the steps after it should not call the allocator */
            if (boundaries++ == 0) {
                rs->calls_first_epoch = stats->calls - calls_epoch_start;
            } else {
                rs->calls_steady += stats->calls - calls_epoch_start;
                rs->steady_steps += rs->n_batches;
            }
            calls_epoch_start = stats->calls;
            if (log) {
                progress_clear(&bar);
                size_t shown = epoch < VN_ARRAY_COUNT(rs->epoch_loss) ? epoch : VN_ARRAY_COUNT(rs->epoch_loss) - 1;
                fprintf(log, "  epoch %2zu/%zu  loss %.4f  IIA %.4f  (training batches, before each update)\n",
                        epoch + 1, a->epochs, rs->epoch_loss[shown], rs->epoch_iia[shown]);
                fflush(log);
            }
            rs->t.align += vn_host_seconds() - t0;
            if (out_dir && !save_all(out_dir, rs, das, mlp, ctx, false)) ok = false;
            t0 = vn_host_seconds();
        } else if (out_dir && a->run.checkpoint_every && rs->step % a->run.checkpoint_every == 0 && rs->step < stop) {
            rs->t.align += vn_host_seconds() - t0; /* --checkpoint-every; a stop is saved by the caller */
            if (!save_all(out_dir, rs, das, mlp, ctx, false)) ok = false;
            t0 = vn_host_seconds();
        }
    }
    rs->t.align += vn_host_seconds() - t0;
    progress_clear(&bar);
    free(order);
    return ok;
}

/* IIA on the held-out counterfactuals: the hypothesis's kinds in equal
 * shares, values drawn per example, each kind from its own stream. */
static bool evaluate(run_state *rs, vn_iv_das *das, cf_buffers *buf, vn_context *ctx) {
    const das_args *a = &rs->a;
    vn_iv_cf_kind kinds[3];
    size_t n_kinds = vn_iv_hypothesis_kinds(a->hypothesis, kinds), correct = 0;
    double t0 = vn_host_seconds();
    memset(rs->kind_total, 0, sizeof rs->kind_total);
    memset(rs->kind_correct, 0, sizeof rs->kind_correct);
    for (size_t k = 0; k < n_kinds; k++) {
        size_t total = a->test_examples / n_kinds + (k < a->test_examples % n_kinds);
        vn_rng rng;
        vn_iv_task_rng(&rng, a->seed, VN_IV_STREAM_CF_TEST, kinds[k]);
        for (size_t done = 0; done < total;) {
            size_t count = total - done < buf->capacity ? total - done : buf->capacity;
            buf->batch.count = count;
            buf->batch.values_per_example = true;
            buf->batch.intervention.kind = kinds[k];
            vn_iv_heq_cf_fill(&buf->batch, &rng);
            vn_iv_step_result result;
            if (vn_iv_das_step(das, ctx, &buf->batch, false, &result) != VN_OK)
                return cli_fail(CMD, "evaluation: %s", vn_context_message(ctx));
            rs->kind_correct[kinds[k]] += result.correct;
            rs->kind_total[kinds[k]] += count;
            correct += result.correct;
            done += count;
        }
    }
    rs->test_iia = a->test_examples ? (double)correct / (double)a->test_examples : 0;
    rs->t.eval += vn_host_seconds() - t0;
    return true;
}

static void print_header(const run_state *rs, FILE *log) {
    const das_args *a = &rs->a;
    size_t k = a->subspace_size ? a->subspace_size : (size_t)(VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM / 2);
    fprintf(log, "cvene das: hierarchical equality, hypothesis %s, layer %lld block_output, seed %llu\n",
            vn_iv_hypothesis_name(a->hypothesis), (long long)a->layer, (unsigned long long)a->seed);
    if (a->hypothesis == VN_IV_HYP_BOTH)
        fprintf(log, "  WX on rotated coordinates 0-%zu, YZ on %zu-%zu (two RotatedSpaceInterventions linked to one "
                "16x16 matrix_exp rotation)\n", k - 1, k, 2 * k - 1);
    else
        fprintf(log, "  %s on rotated coordinates 0-%zu (one RotatedSpaceIntervention, 16x16 matrix_exp rotation)\n",
                a->hypothesis == VN_IV_HYP_LEFT ? "WX" : "W", k - 1);
}

static void print_summary(const run_state *rs, const vn_host_alloc_stats *stats, FILE *log) {
    const das_args *a = &rs->a;
    fprintf(log, "held-out IIA on %zu counterfactual examples:\n", a->test_examples);
    for (int k = 0; k < VN_IV_CF_KIND_COUNT; k++)
        if (rs->kind_total[k])
            fprintf(log, "  %-6s %.4f  (%zu examples)\n", vn_iv_cf_kind_name((vn_iv_cf_kind)k),
                    (double)rs->kind_correct[k] / (double)rs->kind_total[k], rs->kind_total[k]);
    const timings *t = &rs->t;
    fprintf(log, "time: %.2f s = MLP training %.2f s (%.2f s generating data) + factual test %.2f s + alignment "
            "%.2f s (%.2f s generating data) + evaluation %.2f s + files and setup %.2f s\n", t->total, t->mlp,
            t->mlp_data, t->factual_test, t->align, t->align_data, t->eval,
            t->total - t->mlp - t->factual_test - t->align - t->eval);
    if (rs->steady_steps)
        fprintf(log, "allocator calls: %zu in the first epoch, %.3g per step after it; peak %.1f MB from the allocator\n",
                rs->calls_first_epoch, (double)rs->calls_steady / (double)rs->steady_steps,
                (double)stats->peak_bytes / 1048576.0);
}

static void print_json(const run_state *rs, const vn_host_alloc_stats *stats) {
    vn_json_writer w;
    vn_json_writer_init(&w, vn_host_write_file, stdout, 2);
    vn_json_begin_object(&w);
    json_kv_str(&w, "command", "das");
    vn_json_key(&w, "config");
    write_config(&w, &rs->a);
    json_kv_int(&w, "steps", rs->step);
    json_kv_int(&w, "total_steps", rs->total_steps);
    vn_json_key(&w, "finished");
    vn_json_bool(&w, rs->step == rs->total_steps);
    vn_json_key(&w, "results");
    write_results(&w, rs);
    vn_json_key(&w, "seconds");
    vn_json_begin_object(&w);
    json_kv_num(&w, "total", rs->t.total);
    json_kv_num(&w, "mlp_training", rs->t.mlp);
    json_kv_num(&w, "mlp_data", rs->t.mlp_data);
    json_kv_num(&w, "factual_test", rs->t.factual_test);
    json_kv_num(&w, "alignment", rs->t.align);
    json_kv_num(&w, "alignment_data", rs->t.align_data);
    json_kv_num(&w, "evaluation", rs->t.eval);
    vn_json_end_object(&w);
    vn_json_key(&w, "allocator_calls");
    vn_json_begin_object(&w);
    json_kv_int(&w, "first_epoch", rs->calls_first_epoch);
    json_kv_num(&w, "per_step_after_first_epoch",
                rs->steady_steps ? (double)rs->calls_steady / (double)rs->steady_steps : NAN);
    json_kv_int(&w, "steps_counted", rs->steady_steps);
    json_kv_int(&w, "total", stats->calls);
    json_kv_int(&w, "peak_bytes", stats->peak_bytes);
    vn_json_end_object(&w);
    vn_json_end_object(&w);
    vn_json_writer_finish(&w);
    putchar('\n');
}

static bool init_run(run_state *rs) {
    das_args *a = &rs->a;
    if (a->batch_size > a->examples) a->batch_size = a->examples;
    rs->n_batches = (a->examples + a->batch_size - 1) / a->batch_size;
    if (rs->n_batches > UINT32_MAX || a->epochs > SIZE_MAX / rs->n_batches)
        return cli_fail(CMD, "too many alignment steps");
    rs->total_steps = rs->n_batches * a->epochs;
    rs->rows = calloc(rs->total_steps + 1, sizeof *rs->rows);
    rs->test_iia = -1;
    if (!rs->rows) return cli_fail(CMD, "out of memory");
    if (rs->step > rs->total_steps) return cli_fail(CMD, "step %zu is past the run's %zu steps", rs->step, rs->total_steps);
    return true;
}

static int run_single(run_state *rs, vn_context *ctx, vn_host_alloc_stats *stats) {
    das_args *a = &rs->a;
    double t_start = vn_host_seconds();
    FILE *log = a->json ? NULL : stdout;
    const char *out_dir = a->run.resume ? a->run.resume : a->run.out;
    if (a->run.resume && !load_log_csv(a->run.resume, rs)) return 1;
    vn_mlp mlp;
    if (log) print_header(rs, log);
    if (a->run.resume) {
        char sub[4096];
        double accuracy = rs->factual_accuracy;
        if (!path_in(sub, sizeof sub, a->run.resume, "model") || !cli_load_model(CMD, sub, ctx, &mlp)) return 1;
        rs->factual_accuracy = accuracy;
        if (log) fprintf(log, "resuming %s at step %zu of %zu\n", a->run.resume, rs->step, rs->total_steps);
    } else if (!prepare_model(rs, ctx, &mlp, log)) {
        return 1;
    }
    vn_rng rotation_rng;
    vn_iv_task_rng(&rotation_rng, a->seed, VN_IV_STREAM_ROTATION_INIT, 0);
    vn_iv_das_options options = das_options(a, &rotation_rng);
    vn_iv_das das;
    if (vn_iv_das_init(&das, ctx, &mlp, &options) != VN_OK) return cli_fail(CMD, "%s", vn_context_message(ctx)), 1;
    a->subspace_size = das.subspace_size;
    if (a->run.resume && !load_checkpoint(a->run.resume, &das, ctx, rs->step)) return 1;
    if (a->run.resume) {
        rs->saved = path_in(rs->checkpoint_path, sizeof rs->checkpoint_path, a->run.resume, "checkpoint.safetensors");
        rs->saved_step = rs->step;
    }
    for (size_t e = 0; e < rs->step / rs->n_batches; e++) record_epoch(rs, e); /* epochs done before a resume */
    cf_buffers buf;
    if (!cf_alloc(&buf, ctx, a->batch_size, VN_IV_HEQ_DIM)) return 1;
    if (a->run.out && !save_all(a->run.out, rs, &das, &mlp, ctx, true)) return 1;
    if (log)
        fprintf(log, "alignment: %zu batches of %zu counterfactual examples x %zu epochs (%zu steps), Adam lr %g on the "
                "rotation, model frozen\n", rs->n_batches, a->batch_size, a->epochs, rs->total_steps, a->lr);
    if (!align(rs, &das, &mlp, &buf, ctx, stats, out_dir, log)) return 1;
    bool finished = rs->step == rs->total_steps;
    if (finished && !evaluate(rs, &das, &buf, ctx)) return 1;
    if (out_dir && !save_all(out_dir, rs, &das, &mlp, ctx, false)) return 1;
    rs->t.total = vn_host_seconds() - t_start;
    if (a->json) {
        print_json(rs, stats);
        return 0;
    }
    if (!finished) {
        printf("stopped after step %zu of %zu%s%s\n", rs->step, rs->total_steps,
               out_dir ? "; continue with: cvene das --resume " : " (no --out: nothing saved)", out_dir ? out_dir : "");
        return 0;
    }
    print_summary(rs, stats, stdout);
    if (out_dir) printf("wrote %s/{model,intervention,run.json,checkpoint.safetensors,log.csv,plot.svg}\n", out_dir);
    if (rs->factual_accuracy >= 0) printf("factual test accuracy: %.4f\n", rs->factual_accuracy);
    printf("test IIA: %.4f\n", rs->test_iia);
    return 0;
}

/* ---- the sweep ---------------------------------------------------------------------------------- */

static int run_sweep(run_state *base_rs, vn_context *ctx, vn_host_alloc_stats *stats) {
    das_args *a = &base_rs->a;
    FILE *log = a->json ? NULL : stdout;
    double t_start = vn_host_seconds();
    vn_mlp trained, untrained;
    if (log)
        fprintf(log, "cvene das --sweep: test IIA over layers x hypotheses, seed %llu, %zu epochs per alignment\n",
                (unsigned long long)a->seed, a->epochs);
    if (!prepare_model(base_rs, ctx, &trained, log)) return 1;
    double factual = base_rs->factual_accuracy;
    das_args control = *a;
    control.model = NULL;
    control.untrained = true;
    if (!mlp_create(CMD, &control.recipe, ctx, &untrained)) return 1;
    size_t layers = (size_t)trained.config.n_layer;
    if (layers > 16) layers = 16;
    double table[2][VN_IV_HYP_COUNT][16];
    vn_context_mark mark = vn_context_mark_get(ctx);
    for (int net = 0; net < 2; net++) {
        if (log) fprintf(log, "%s network:\n  %-10s", net == 0 ? "trained" : "untrained (control)", "hypothesis");
        for (size_t l = 0; log && l < layers; l++) fprintf(log, "  layer %zu", l);
        if (log) fputc('\n', log);
        for (int h = 0; h < VN_IV_HYP_COUNT; h++) {
            if (log) {
                fprintf(log, "  %-10s", vn_iv_hypothesis_name((vn_iv_hypothesis)h));
                fflush(log);
            }
            for (size_t l = 0; l < layers; l++) {
                run_state rs;
                memset(&rs, 0, sizeof rs);
                rs.a = *a;
                rs.a.hypothesis = (vn_iv_hypothesis)h;
                rs.a.layer = (int64_t)l;
                rs.a.run.max_steps_given = false;
                if (!init_run(&rs)) return 1;
                vn_rng rotation_rng;
                vn_iv_task_rng(&rotation_rng, a->seed, VN_IV_STREAM_ROTATION_INIT, 0);
                vn_iv_das_options options = das_options(&rs.a, &rotation_rng);
                vn_iv_das das;
                cf_buffers buf;
                bool ok = vn_iv_das_init(&das, ctx, net == 0 ? &trained : &untrained, &options) == VN_OK;
                if (!ok) cli_fail(CMD, "%s", vn_context_message(ctx));
                ok = ok && cf_alloc(&buf, ctx, rs.a.batch_size, VN_IV_HEQ_DIM) &&
                     align(&rs, &das, net == 0 ? &trained : &untrained, &buf, ctx, stats, NULL, NULL) &&
                     evaluate(&rs, &das, &buf, ctx);
                free(rs.rows);
                vn_context_rewind(ctx, mark);
                if (!ok) return 1;
                table[net][h][l] = rs.test_iia;
                if (log) {
                    fprintf(log, "  %7.4f", rs.test_iia);
                    fflush(log);
                }
            }
            if (log) fputc('\n', log);
        }
    }
    double total = vn_host_seconds() - t_start;
    if (!a->json) {
        printf("factual test accuracy of the trained network: %.4f; sweep took %.1f s\n", factual, total);
        return 0;
    }
    vn_json_writer w;
    vn_json_writer_init(&w, vn_host_write_file, stdout, 2);
    vn_json_begin_object(&w);
    json_kv_str(&w, "command", "das --sweep");
    vn_json_key(&w, "config");
    write_config(&w, a);
    json_kv_num(&w, "factual_accuracy", factual);
    for (int net = 0; net < 2; net++) {
        vn_json_key(&w, net == 0 ? "trained" : "untrained");
        vn_json_begin_object(&w);
        for (int h = 0; h < VN_IV_HYP_COUNT; h++) {
            vn_json_key(&w, vn_iv_hypothesis_name((vn_iv_hypothesis)h));
            vn_json_begin_array(&w);
            for (size_t l = 0; l < layers; l++) vn_json_number(&w, table[net][h][l]);
            vn_json_end_array(&w);
        }
        vn_json_end_object(&w);
    }
    json_kv_num(&w, "seconds", total);
    vn_json_end_object(&w);
    vn_json_writer_finish(&w);
    putchar('\n');
    return 0;
}

int cmd_das(int argc, char **argv);

int cmd_das(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    run_state *rs = calloc(1, sizeof *rs);
    if (!rs) return cli_fail(CMD, "out of memory"), 1;
    int status = parse_args(argc, argv, &rs->a);
    if (status) {
        free(rs);
        return status;
    }
    if (vn_iv_register_ops() != VN_OK) {
        free(rs);
        return cli_fail(CMD, "cannot register the intervention ops"), 1;
    }
    vn_host_alloc_stats stats = {0};
    vn_arena arena;
    /* Blocks of 4 MiB: every tensor of a step fits in any kept block, so the
     * steps after the first reuse the same blocks whatever their kind. */
    vn_arena_init_alloc(&arena, vn_host_alloc, &stats, (size_t)4 << 20);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    if (rs->a.sweep) {
        status = run_sweep(rs, &ctx, &stats);
    } else {
        das_args saved = rs->a;
        if (rs->a.run.resume && !load_run_json(rs->a.run.resume, ctx.arena, rs)) status = 1;
        if (!status) {
            rs->a.run.resume = saved.run.resume;
            rs->a.json = saved.json;
            rs->a.progress = saved.progress;
            rs->a.run.max_steps = saved.run.max_steps;
            rs->a.run.max_steps_given = saved.run.max_steps_given;
            if (saved.run.every_given) rs->a.run.checkpoint_every = saved.run.checkpoint_every;
            size_t step = rs->step;
            if (!init_run(rs)) status = 1;
            rs->step = step;
        }
        if (!status) status = run_single(rs, &ctx, &stats);
        free(rs->rows);
    }
    vn_arena_release(&arena);
    free(rs);
    fflush(stdout);
    return status;
}
