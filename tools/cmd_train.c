/* cmd_train.c — `cvene train`: trains pyvene's MLP on a data file or on the
 * hierarchical-equality task and writes a model directory (FORMATS.md). */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "progress.h"
#include "task_cli.h"
#include "vn_json.h"
#include "vn_safetensors.h"

static const char *const CMD = "train";

#define CHECKPOINT_NAME "checkpoint.safetensors"

static void usage(void) {
    puts("usage: cvene train (--task hierarchical-equality | --data FILE) --out DIR [options]\n"
         "\n"
         "Trains pyvene's MLP (MLPForClassification) and writes a model directory:\n"
         "DIR/config.json (MLPConfig's fields) and DIR/model.safetensors (PyTorch's\n"
         "state_dict names and layout), each replaced atomically. The defaults are the\n"
         "recipe of pyvene's DAS tutorial: 3 ReLU layers of 16, AdamW lr 1e-3 with\n"
         "weight decay 0 decaying linearly to 0, no warm-up, gradient clipping at 1.0,\n"
         "batches of 1024, 3 epochs over 1,048,576 task examples, and the tutorial's\n"
         "loss: its labels were float one-hot vectors, from which pyvene infers\n"
         "BCE-with-logits over the 2 logits. Task examples are regenerated from the\n"
         "seed on the fly; the task's model is tested on 10,000 fresh examples.\n"
         "\n"
         "data:\n"
         "  --task hierarchical-equality   W, X, Y, Z of 4 numbers each; label (W==X)==(Y==Z)\n"
         "  --data FILE          safetensors with `base` (B, 1, h) or (B, h) and `labels` (B,)\n"
         "                       integer class ids\n"
         "  --examples N         task examples per epoch (default 1048576)\n"
         "  --test-examples N    fresh task examples to test on (default 10000; 0 skips)\n"
         "model:\n"
         "  --h-dim N            width (default 16 for the task, the data's width for --data)\n"
         "  --n-layer N          blocks (default 3)\n"
         "  --num-classes N      classes (default 2)\n"
         "  --activation NAME    transformers' ACT2FN name (default relu)\n"
         "  --pdrop P            dropout probability while training (default 0)\n"
         "  --init KIND          pytorch (default: nn.Linear's U(+-1/sqrt(fan_in)), pyvene's MLP\n"
         "                       before transformers 4.48) or normal (N(0, 0.02) weights, zero\n"
         "                       biases: transformers' generic init from 4.48 on)\n"
         "training:\n"
         "  --epochs N           passes over the data (default 3)\n"
         "  --batch-size B       examples per step (default 1024)\n"
         "  --optimizer K        sgd, adam or adamw (default adamw)\n"
         "  --lr X               learning rate (default 1e-3)\n"
         "  --weight-decay X     (default 0; AdamW's is decoupled, SGD's and Adam's is L2)\n"
         "  --momentum X         SGD momentum (default 0)\n"
         "  --warmup-steps N     linear warm-up steps (default 0)\n"
         "  --schedule S         linear (default: warm-up, then decay to 0) or constant\n"
         "  --clip-norm X        clip the gradients' 2-norm (default 1.0; 0 disables)\n"
         "  --loss L             bce (one-hot targets), ce (class ids), or auto (default:\n"
         "                       bce for the task as in the tutorial, ce for --data,\n"
         "                       pyvene's inference from integer labels)\n"
         "  --seed S             initialisation, task data, shuffling, dropout (default 0)\n"
         "output:\n"
         "  --out DIR            the model directory to write\n"
         "  --json               print a JSON summary instead of text\n"
         "checkpoints:\n"
         "  --checkpoint-every N write DIR/checkpoint.safetensors, the whole training state\n"
         "                       (parameters, optimizer moments and step counts, schedule\n"
         "                       and data position, dropout pass), every N steps and at\n"
         "                       the end, each time atomically\n"
         "  --max-steps N        stop after N steps of this invocation, writing the model\n"
         "                       directory and the checkpoint, to be resumed\n"
         "  --resume DIR         continue the run whose checkpoint is in DIR (every setting\n"
         "                       comes from it; only --max-steps, --checkpoint-every and\n"
         "                       --json may accompany it) to its last step, bit for bit\n"
         "                       as if never stopped\n"
         "\n"
         "A step whose loss, gradients or updated parameters are not finite (NaN or\n"
         "infinite) stops the run with exit status 1 and a message naming the step and\n"
         "the tensor; the last checkpoint written stays as it was.\n"
         "\n"
         "The model loads in PyTorch with the safetensors package:\n"
         "  from safetensors.torch import load_file\n"
         "  mlp.load_state_dict(load_file(\"DIR/model.safetensors\"))\n"
         "\n"
         "example: cvene train --task hierarchical-equality --out model --seed 1");
}

typedef struct train_args {
    const char *task, *data;
    mlp_recipe recipe;
    run_options run;
    bool h_dim_given, json;
    int loss; /* 0 auto, 1 bce, 2 ce */
    size_t test_examples;
    const vn_safetensors *checkpoint; /* --resume: DIR/checkpoint.safetensors, open */
    char *arguments;                  /* the run's defining arguments as a JSON array (malloc'ed) */
} train_args;

static int parse_args(int argc, char **argv, train_args *a) {
    memset(a, 0, sizeof *a);
    a->recipe = mlp_recipe_default();
    a->test_examples = 10000;
    mlp_recipe *r = &a->recipe;
    bool setting_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--json")) {
            a->json = true;
            continue;
        }
        if (strncmp(arg, "--", 2) != 0) return cli_fail(CMD, "unexpected argument '%s' (see --help)", arg), 2;
        if (i + 1 >= argc) return cli_fail(CMD, "unknown option or missing value: '%s' (see --help)", arg), 2;
        const char *v = argv[++i];
        size_t n;
        double x;
        bool ok = true;
        if (strcmp(arg, "--resume") && strcmp(arg, "--max-steps") && strcmp(arg, "--checkpoint-every"))
            setting_given = true;
        if (!strcmp(arg, "--task")) {
            if (strcmp(v, "hierarchical-equality") != 0)
                return cli_fail(CMD, "--task: unknown task '%s' (known: hierarchical-equality)", v), 2;
            a->task = v;
        } else if (!strcmp(arg, "--data")) {
            a->data = v;
        } else if (run_option_parse(CMD, arg, v, &a->run, &ok)) {
            /* --out, --resume, --max-steps, --checkpoint-every: in a->run */
        } else if (!strcmp(arg, "--h-dim")) {
            ok = cli_parse_size(CMD, arg, v, 1, &n);
            r->config.h_dim = (int64_t)n;
            a->h_dim_given = true;
        } else if (!strcmp(arg, "--n-layer")) {
            ok = cli_parse_size(CMD, arg, v, 0, &n);
            r->config.n_layer = (int64_t)n;
        } else if (!strcmp(arg, "--num-classes")) {
            ok = cli_parse_size(CMD, arg, v, 1, &n);
            r->config.num_classes = (int64_t)n;
        } else if (!strcmp(arg, "--activation")) {
            char message[512];
            vn_activation act;
            if (vn_activation_lookup(v, &act, message, sizeof message) != VN_OK)
                return cli_fail(CMD, "--activation: %s", message), 2;
            snprintf(r->config.activation_function, sizeof r->config.activation_function, "%s", v);
        } else if (!strcmp(arg, "--pdrop")) {
            ok = cli_parse_double(CMD, arg, v, &x);
            if (ok && !(x >= 0 && x < 1)) ok = cli_fail(CMD, "--pdrop must be in [0, 1), got %s", v);
            r->config.pdrop = x;
        } else if (!strcmp(arg, "--init")) {
            if (!mlp_init_lookup(v, &r->init)) ok = cli_fail(CMD, "--init must be pytorch or normal, got '%s'", v);
        } else if (!strcmp(arg, "--epochs")) {
            ok = cli_parse_size(CMD, arg, v, 1, &r->epochs);
        } else if (!strcmp(arg, "--batch-size")) {
            ok = cli_parse_size(CMD, arg, v, 1, &r->batch_size);
        } else if (!strcmp(arg, "--examples")) {
            ok = cli_parse_size(CMD, arg, v, 1, &r->examples);
        } else if (!strcmp(arg, "--test-examples")) {
            ok = cli_parse_size(CMD, arg, v, 0, &a->test_examples);
        } else if (!strcmp(arg, "--optimizer")) {
            vn_optim_kind kind;
            if (!strcmp(v, "sgd")) kind = VN_OPTIM_SGD;
            else if (!strcmp(v, "adam")) kind = VN_OPTIM_ADAM;
            else if (!strcmp(v, "adamw")) kind = VN_OPTIM_ADAMW;
            else return cli_fail(CMD, "--optimizer must be sgd, adam or adamw, got '%s'", v), 2;
            vn_optim_options o = vn_optim_defaults(kind);
            o.lr = r->fit.optim.lr;
            o.weight_decay = r->fit.optim.weight_decay;
            o.momentum = kind == VN_OPTIM_SGD ? r->fit.optim.momentum : 0;
            r->fit.optim = o;
        } else if (!strcmp(arg, "--lr")) {
            ok = cli_parse_double(CMD, arg, v, &r->fit.optim.lr);
        } else if (!strcmp(arg, "--weight-decay")) {
            ok = cli_parse_double(CMD, arg, v, &r->fit.optim.weight_decay);
        } else if (!strcmp(arg, "--momentum")) {
            ok = cli_parse_double(CMD, arg, v, &r->fit.optim.momentum);
        } else if (!strcmp(arg, "--warmup-steps")) {
            ok = cli_parse_size(CMD, arg, v, 0, &n);
            r->fit.warmup_steps = (int64_t)n;
        } else if (!strcmp(arg, "--schedule")) {
            if (!strcmp(v, "linear")) r->linear_schedule = true;
            else if (!strcmp(v, "constant")) r->linear_schedule = false;
            else ok = cli_fail(CMD, "--schedule must be linear or constant, got '%s'", v);
        } else if (!strcmp(arg, "--clip-norm")) {
            ok = cli_parse_double(CMD, arg, v, &r->fit.clip_norm);
            if (ok && r->fit.clip_norm < 0) ok = cli_fail(CMD, "--clip-norm must be >= 0 (0 disables it)");
        } else if (!strcmp(arg, "--loss")) {
            if (!strcmp(v, "auto")) a->loss = 0;
            else if (!strcmp(v, "bce")) a->loss = 1;
            else if (!strcmp(v, "ce")) a->loss = 2;
            else ok = cli_fail(CMD, "--loss must be auto, bce or ce, got '%s'", v);
        } else if (!strcmp(arg, "--seed")) {
            ok = cli_parse_size(CMD, arg, v, 0, &n);
            r->seed = n;
        } else {
            return cli_fail(CMD, "unknown option '%s' (see --help)", arg), 2;
        }
        if (!ok) return 2;
    }
    if (a->run.resume) {
        if (setting_given)
            return cli_fail(CMD, "--resume DIR takes every setting from DIR/" CHECKPOINT_NAME "; only --max-steps, "
                            "--checkpoint-every and --json may accompany it"), 2;
        return 0;
    }
    if (!a->task == !a->data) return cli_fail(CMD, "give exactly one of --task and --data (see --help)"), 2;
    if (!a->run.out) return cli_fail(CMD, "--out DIR is required (see --help)"), 2;
    if (r->fit.optim.momentum != 0 && r->fit.optim.kind != VN_OPTIM_SGD)
        return cli_fail(CMD, "--momentum applies to --optimizer sgd only"), 2;
    char message[256];
    if (vn_optim_options_check(&r->fit.optim, message, sizeof message) != VN_OK)
        return cli_fail(CMD, "%s", message), 2;
    r->fit.targets = a->loss == 1 || (a->loss == 0 && a->task) ? VN_IV_FIT_ONE_HOT : VN_IV_FIT_CLASS_IDS;
    return 0;
}

/* FNV-1a (64 bits) of a file's bytes: a checkpoint's record of its data file. */
static uint64_t fnv1a64(const unsigned char *bytes, size_t size) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++) h = (h ^ bytes[i]) * 0x100000001b3ull;
    return h;
}

/* Reads `base` ((B, 1, h) or (B, h)) and `labels` (B,) from a data file;
 * *digest receives the FNV-1a hash of its bytes as 16 hex digits. */
static bool load_rows(const char *path, vn_arena *arena, vn_tensor *rows, int64_t **labels, size_t *count,
                      char digest[17]) {
    unsigned char *bytes;
    size_t size, n_labels;
    char err[VN_HOST_ERR];
    if (!vn_host_read_file(path, &bytes, &size, err)) return cli_fail(CMD, "%s", err);
    snprintf(digest, 17, "%016llx", (unsigned long long)fnv1a64(bytes, size));
    vn_arena tmp;
    vn_host_arena(&tmp, NULL);
    vn_safetensors st;
    bool ok = vn_safetensors_open(&st, bytes, size, &tmp, err, sizeof err) == VN_OK &&
              vn_safetensors_tensor(&st, "base", arena, rows, err, sizeof err) == VN_OK &&
              vn_safetensors_int64(&st, "labels", arena, labels, &n_labels, NULL, err, sizeof err) == VN_OK;
    vn_arena_release(&tmp);
    free(bytes);
    if (!ok) return cli_fail(CMD, "%s: %s", path, err);
    bool shape_ok = (rows->ndim == 2) || (rows->ndim == 3 && rows->shape[1] == 1);
    if (!shape_ok || rows->shape[0] != n_labels || n_labels == 0) {
        char shape[64];
        return cli_fail(CMD, "%s: base %s and %zu labels: expected base (B, 1, h) or (B, h) and B >= 1 labels", path,
                        vn_shape_string(rows, shape, sizeof shape), n_labels);
    }
    *count = n_labels;
    return true;
}

static int run(const train_args *a, vn_context *ctx, vn_host_alloc_stats *stats) {
    mlp_recipe recipe = a->recipe;
    fit_data data = {0};
    data.dim = VN_IV_HEQ_DIM;
    char digest[17] = "";
    if (a->data) {
        vn_tensor rows;
        int64_t *labels = NULL;
        size_t count = 0;
        if (!load_rows(a->data, ctx->arena, &rows, &labels, &count, digest)) return 1;
        const char *saved = a->checkpoint ? vn_safetensors_metadata_get(a->checkpoint, "data_fnv1a64") : NULL;
        if (a->checkpoint && (!saved || strcmp(saved, digest) != 0))
            return cli_fail(CMD, "%s is not the data file the checkpoint in %s was trained on (FNV-1a %s, expected %s)",
                            a->data, a->run.out, digest, saved ? saved : "none"), 1;
        size_t h = rows.shape[rows.ndim - 1];
        if (a->h_dim_given && (size_t)recipe.config.h_dim != h)
            return cli_fail(CMD, "--h-dim %lld, but %s's rows are %zu wide", (long long)recipe.config.h_dim, a->data,
                            h), 1;
        recipe.config.h_dim = (int64_t)h;
        for (size_t i = 0; i < count; i++)
            if (labels[i] < 0 || labels[i] >= recipe.config.num_classes)
                return cli_fail(CMD, "%s: label %lld of example %zu is not in [0, %lld) (see --num-classes)", a->data,
                                (long long)labels[i], i, (long long)recipe.config.num_classes), 1;
        data.rows = rows.data;
        data.labels = labels;
        data.count = count;
    } else if (recipe.config.h_dim != VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM) {
        return cli_fail(CMD, "the task's inputs are %d wide: --h-dim must be %d", VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM,
                        VN_IV_HEQ_ENTITIES * VN_IV_HEQ_DIM), 1;
    }
    char message[512];
    if (vn_mlp_config_check(&recipe.config, message, sizeof message) != VN_OK) return cli_fail(CMD, "%s", message), 1;
    vn_mlp mlp;
    if (!mlp_create(CMD, &recipe, ctx, &mlp)) return 1;
    /* checkpoints: with --checkpoint-every, --max-steps, and always when resuming */
    char checkpoint[4096], every[32];
    if ((size_t)snprintf(checkpoint, sizeof checkpoint, "%s/" CHECKPOINT_NAME, a->run.out) >= sizeof checkpoint)
        return cli_fail(CMD, "path too long: %s", a->run.out), 1;
    snprintf(every, sizeof every, "%zu", a->run.checkpoint_every);
    vn_safetensors_kv meta[3] = {{"arguments", a->arguments}, {"checkpoint_every", every}, {"data_fnv1a64", digest}};
    fit_control control = {0};
    control.checkpoint = a->run.checkpoint_every || a->run.max_steps_given || a->checkpoint ? checkpoint : NULL;
    control.every = a->run.checkpoint_every;
    control.max_steps = a->run.max_steps_given ? a->run.max_steps : 0;
    control.resume = a->checkpoint;
    control.meta = meta;
    control.n_meta = a->data ? 3 : 2;
    if (control.checkpoint) {
        char err[VN_HOST_ERR];
        if (!vn_host_mkdirs(a->run.out, err)) return cli_fail(CMD, "%s", err), 1;
    }
    size_t calls_before = stats->calls;
    fit_report report;
    FILE *log = a->json ? NULL : stdout;
    if (log) {
        printf("cvene train: %s, MLP %lld x %lld %s, %s lr %g, %zu epoch%s of %zu examples in batches of %zu\n",
               a->task ? a->task : a->data, (long long)recipe.config.n_layer, (long long)recipe.config.h_dim,
               recipe.config.activation_function, vn_optim_kind_name(recipe.fit.optim.kind), recipe.fit.optim.lr,
               recipe.epochs, recipe.epochs == 1 ? "" : "s", data.rows ? data.count : recipe.examples,
               recipe.batch_size);
        if (a->checkpoint)
            printf("  resuming      %s at step %s\n", checkpoint, vn_safetensors_metadata_get(a->checkpoint, "step"));
        fflush(stdout);
    }
    if (!mlp_fit(CMD, &recipe, &data, ctx, &mlp, !a->json, log, &control, &report)) return 1;
    size_t calls = stats->calls - calls_before;
    double accuracy = -1;
    if (report.finished && a->task && a->test_examples > 0 &&
        !task_factual_accuracy(CMD, ctx, &mlp, recipe.seed, VN_IV_HEQ_DIM, a->test_examples, &accuracy))
        return 1;
    if (!save_model_dir(CMD, a->run.out, &mlp, ctx)) return 1;
    const char *loss = vn_problem_type_name(mlp.config.problem_type);
    if (a->json) {
        vn_json_writer w;
        vn_json_writer_init(&w, vn_host_write_file, stdout, 2);
        vn_json_begin_object(&w);
        vn_json_key(&w, "command");
        vn_json_string(&w, "train");
        vn_json_key(&w, "data");
        vn_json_string(&w, a->task ? a->task : a->data);
        vn_json_key(&w, "out");
        vn_json_string(&w, a->run.out);
        vn_json_key(&w, "problem_type");
        vn_json_string(&w, loss);
        vn_json_key(&w, "steps");
        vn_json_unsigned(&w, report.steps);
        vn_json_key(&w, "step");
        vn_json_unsigned(&w, report.step);
        vn_json_key(&w, "total_steps");
        vn_json_unsigned(&w, report.total_steps);
        vn_json_key(&w, "finished");
        vn_json_bool(&w, report.finished);
        vn_json_key(&w, "checkpoint");
        if (report.checkpointed) vn_json_string(&w, checkpoint);
        else vn_json_null(&w);
        vn_json_key(&w, "checkpoint_step");
        if (report.checkpointed) vn_json_unsigned(&w, report.checkpoint_step);
        else vn_json_null(&w);
        vn_json_key(&w, "seconds");
        vn_json_number(&w, report.seconds);
        vn_json_key(&w, "data_seconds");
        vn_json_number(&w, report.data_seconds);
        vn_json_key(&w, "last_epoch_loss");
        vn_json_number(&w, report.last_epoch_loss);
        vn_json_key(&w, "last_epoch_accuracy");
        vn_json_number(&w, report.last_epoch_accuracy);
        vn_json_key(&w, "test_accuracy");
        if (accuracy >= 0) vn_json_number(&w, accuracy);
        else vn_json_null(&w);
        vn_json_key(&w, "allocator_calls_during_training");
        vn_json_unsigned(&w, calls);
        vn_json_end_object(&w);
        vn_json_writer_finish(&w);
        putchar('\n');
        return 0;
    }
    printf("  loss          %s (%s)\n", loss,
           mlp.config.problem_type == VN_PROBLEM_MULTI_LABEL ? "BCE-with-logits on one-hot targets" : "cross-entropy");
    printf("  training      %zu steps in %.2f s (%.0f steps/s; %.2f s generating batches); allocator calls: %zu\n",
           report.steps, report.seconds, report.seconds > 0 ? (double)report.steps / report.seconds : 0.0,
           report.data_seconds, calls);
    if (accuracy >= 0) printf("  test          accuracy %.4f on %zu fresh examples\n", accuracy, a->test_examples);
    printf("  wrote         %s/config.json, %s/model.safetensors\n", a->run.out, a->run.out);
    if (report.checkpointed) printf("  checkpoint    %s (step %zu)\n", checkpoint, report.checkpoint_step);
    if (!report.finished)
        printf("stopped after step %zu of %zu; continue with: cvene train --resume %s\n", report.step,
               report.total_steps, a->run.out);
    return 0;
}

/* The arguments that define a run, as the JSON array a checkpoint keeps:
 * all but --out, --resume, --max-steps, --checkpoint-every and --json, with
 * --data's path made absolute so that a resume from elsewhere finds it. */
static char *arguments_json(int argc, char **argv) {
    vn_host_buffer buffer = {0};
    vn_json_writer w;
    vn_json_writer_init(&w, vn_host_buffer_write, &buffer, 0);
    vn_json_begin_array(&w);
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--json")) continue;
        if (!strcmp(arg, "--out") || !strcmp(arg, "--resume") || !strcmp(arg, "--max-steps") ||
            !strcmp(arg, "--checkpoint-every")) {
            i++;
            continue;
        }
        vn_json_string(&w, arg);
        if (!strcmp(arg, "--data") && i + 1 < argc) {
            char *absolute = realpath(argv[++i], NULL);
            vn_json_string(&w, absolute ? absolute : argv[i]);
            free(absolute);
        }
    }
    vn_json_end_array(&w);
    if (vn_json_writer_finish(&w) != VN_OK || vn_host_buffer_write(&buffer, "", 1) != 0 || buffer.failed) {
        vn_host_buffer_free(&buffer);
        return NULL;
    }
    return (char *)buffer.data; /* NUL-terminated by the last write */
}

/* --resume DIR: reads DIR/checkpoint.safetensors into *st (bytes and
 * arena kept by the caller) and parses the run's stored arguments, followed
 * by --out DIR and this invocation's own options (argv without --resume DIR). */
static int resume_args(int argc, char **argv, const char *dir, vn_arena *arena, unsigned char **bytes,
                       vn_safetensors *st, train_args *a) {
    char path[4096], err[VN_HOST_ERR];
    size_t size;
    if ((size_t)snprintf(path, sizeof path, "%s/" CHECKPOINT_NAME, dir) >= sizeof path)
        return cli_fail(CMD, "path too long: %s", dir), 1;
    if (!vn_host_read_file(path, bytes, &size, err)) return cli_fail(CMD, "%s", err), 1;
    if (vn_safetensors_open(st, *bytes, size, arena, err, sizeof err) != VN_OK)
        return cli_fail(CMD, "%s: %s", path, err), 1;
    const char *format = vn_safetensors_metadata_get(st, "format"), *text = vn_safetensors_metadata_get(st, "arguments");
    if (!format || strcmp(format, TRAIN_CHECKPOINT_FORMAT) != 0 || !text)
        return cli_fail(CMD, "%s: not a cvene train checkpoint (metadata format %s)", path, format ? format : "missing"),
               1;
    const vn_json_value *list;
    if (vn_json_parse(text, strlen(text), arena, &list, err, sizeof err) != VN_OK || list->type != VN_JSON_ARRAY)
        return cli_fail(CMD, "%s: metadata \"arguments\" is not a JSON array", path), 1;
    char **args = calloc(list->length + (size_t)argc + 4, sizeof *args);
    if (!args) return cli_fail(CMD, "out of memory"), 1;
    int n = 0;
    args[n++] = argv[0];
    for (size_t i = 0; i < list->length; i++) {
        if (list->items[i]->type != VN_JSON_STRING) {
            free(args);
            return cli_fail(CMD, "%s: metadata \"arguments\" holds a non-string", path), 1;
        }
        args[n++] = (char *)(uintptr_t)list->items[i]->string;
    }
    char every[32];
    const char *saved_every = vn_safetensors_metadata_get(st, "checkpoint_every");
    snprintf(every, sizeof every, "%s", saved_every ? saved_every : "0");
    if (strcmp(every, "0") != 0) { /* the saved cadence, unless this invocation gives one */
        args[n++] = (char *)"--checkpoint-every";
        args[n++] = every;
    }
    args[n++] = (char *)"--out";
    args[n++] = (char *)(uintptr_t)dir;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--resume")) {
            i++;
            continue;
        }
        args[n++] = argv[i];
    }
    int status = parse_args(n, args, a);
    free(args);
    if (status) return cli_fail(CMD, "%s: the arguments it keeps do not parse (above)", path), 1;
    a->run.resume = dir;
    a->checkpoint = st;
    return 0;
}

int cmd_train(int argc, char **argv);

int cmd_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    train_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    vn_arena meta_arena;
    vn_host_arena(&meta_arena, NULL);
    unsigned char *bytes = NULL;
    vn_safetensors st;
    if (a.run.resume) status = resume_args(argc, argv, a.run.resume, &meta_arena, &bytes, &st, &a);
    if (!status) { /* a resumed run keeps the checkpoint's list unchanged */
        a.arguments = a.run.resume ? strdup(vn_safetensors_metadata_get(&st, "arguments")) : arguments_json(argc, argv);
        if (!a.arguments) {
            cli_fail(CMD, "out of memory");
            status = 1;
        }
    }
    if (!status) {
        vn_host_alloc_stats stats = {0};
        vn_arena arena;
        vn_arena_init_alloc(&arena, vn_host_alloc, &stats, (size_t)4 << 20);
        vn_context ctx;
        vn_context_init(&ctx, &arena);
        status = run(&a, &ctx, &stats);
        vn_arena_release(&arena);
    }
    free(a.arguments);
    free(bytes);
    vn_arena_release(&meta_arena);
    fflush(stdout);
    return status;
}
