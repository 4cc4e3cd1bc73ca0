/* test_training.c — what keeps a training run safe: the training steps stop
 * at the first NaN or infinity in the loss, a gradient or an updated
 * parameter, naming the tensor (vn_iv_fit_step, vn_iv_das_step); `cvene
 * train` and `cvene das` stop there with a message naming the step and the
 * tensor and leave the last checkpoint as it was; and a run continued from a
 * checkpoint (`--checkpoint-every`, `--max-steps`, `--resume`) ends with the
 * very bytes of an uninterrupted run. The commands run in-process. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_common.h"
#include "host.h"
#include "task_cli.h"
#include "test_support.h"
#include "vn_iv_das.h"
#include "vn_iv_types.h"
#include "vn_safetensors.h"

int cmd_das(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* ---- helpers ------------------------------------------------------------------------------- */

static bool exists(const char *dir, const char *name) {
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

/* Whether dir_a/name and dir_b/name hold the same bytes. */
static bool same_in(const char *dir_a, const char *dir_b, const char *name) {
    char a[512], b[512];
    snprintf(a, sizeof a, "%s/%s", dir_a, name);
    snprintf(b, sizeof b, "%s/%s", dir_b, name);
    return same_file(a, b);
}

/* Fails, naming both, unless they do. */
static void assert_same_in(const char *dir_a, const char *dir_b, const char *name) {
    ck_assert_msg(same_in(dir_a, dir_b, name), "%s/%s and %s/%s differ", dir_a, name, dir_b, name);
}

/* Reads a checkpoint file: its "step" metadata; the file must open and
 * every parameter in it be finite. (The optimizer's moments may hold an
 * infinity, as PyTorch's would: a squared gradient beyond the largest
 * vn_real, which Adam turns into a zero update.) */
static size_t checkpoint_step(const char *dir, const char *format) {
    char path[512], err[VN_HOST_ERR];
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", dir);
    size_t size;
    unsigned char *bytes = (unsigned char *)read_text(path, &size);
    vn_arena tmp;
    vn_host_arena(&tmp, NULL);
    vn_safetensors st;
    ck_assert_msg(vn_safetensors_open(&st, bytes, size, &tmp, err, sizeof err) == VN_OK, "%s: %s", path, err);
    ck_assert_str_eq(vn_safetensors_metadata_get(&st, "format"), format);
    const char *step = vn_safetensors_metadata_get(&st, "step");
    ck_assert_ptr_nonnull(step);
    size_t result = (size_t)strtoull(step, NULL, 10);
    ck_assert(st.count > 0);
    for (size_t i = 0; i < st.count; i++) {
        const vn_safetensors_entry *e = &st.entries[i];
        if (e->dtype == VN_ST_I64 || !strncmp(e->name, "optimizer.", 10)) continue;
        vn_real *values = malloc((e->numel + 1) * sizeof *values);
        ck_assert_int_eq(vn_safetensors_read_real(e, values, e->numel, err, sizeof err), VN_OK);
        for (size_t j = 0; j < e->numel; j++) ck_assert_msg(isfinite(values[j]), "%s: %s[%zu]", path, e->name, j);
        free(values);
    }
    vn_arena_release(&tmp);
    free(bytes);
    return result;
}

/* Finds "<label> N (epoch E): " and "last good checkpoint: DIR/checkpoint.safetensors (step C)"
 * in a command's output; *c is SIZE_MAX without a checkpoint. */
static void parse_failure(const char *text, const char *label, const char *dir, size_t *n, size_t *epoch, size_t *c) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%s ", label);
    const char *at = strstr(text, prefix);
    ck_assert_msg(at != NULL, "no '%s' in: %s", prefix, text);
    ck_assert_msg(sscanf(at + strlen(prefix), "%zu (epoch %zu): ", n, epoch) == 2, "no step in: %s", text);
    char want[512];
    snprintf(want, sizeof want, "; last good checkpoint: %s/checkpoint.safetensors (step ", dir);
    const char *ck = strstr(text, want);
    *c = SIZE_MAX;
    if (ck) ck_assert(sscanf(ck + strlen(want), "%zu)", c) == 1);
}

/* A temporary directory with the paths of a run that stops at a non-finite
 * step (bad), of a run stopped at its last checkpoint (ref) and of what the
 * commands print (capture). */
typedef struct failing_run {
    char dir[64], bad[128], ref[128], capture[160];
} failing_run;

static void failing_run_init(failing_run *r) {
    make_tmpdir(r->dir, sizeof r->dir, "training");
    snprintf(r->bad, sizeof r->bad, "%s/bad", r->dir);
    snprintf(r->ref, sizeof r->ref, "%s/ref", r->dir);
    snprintf(r->capture, sizeof r->capture, "%s/out.txt", r->dir);
}

/* What the failed command printed (malloc'd), with its step, epoch and last
 * checkpoint found by parse_failure. */
static char *failure_text(const failing_run *r, const char *label, size_t *n, size_t *epoch, size_t *c) {
    char *text = read_text(r->capture, NULL);
    parse_failure(text, label, r->bad, n, epoch, c);
    return text;
}

/* Resuming r->bad meets the same failure: step n of `epoch`, the last
 * checkpoint at step c. */
static void assert_resume_fails_alike(int (*cmd)(int, char **), const char *name, const failing_run *r,
                                      const char *label, size_t n, size_t epoch, size_t c) {
    ck_assert_int_eq(run_quiet(cmd, r->capture, name, "--resume", r->bad, NULL), 1);
    size_t n2, epoch2, c2;
    free(failure_text(r, label, &n2, &epoch2, &c2));
    ck_assert(n2 == n && epoch2 == epoch && c2 == c);
}

/* `cvene train --resume run` refuses, printing (to `capture`) a message
 * that holds `why`. */
static void assert_train_resume_refused(const char *run, const char *capture, const char *why) {
    ck_assert_int_eq(run_quiet(cmd_train, capture, "train", "--resume", run, NULL), 1);
    char *text = read_text(capture, NULL);
    ck_assert_msg(strstr(text, why) != NULL, "%s", text);
    free(text);
}

/* ---- the steps: what is not finite, and that nothing was updated -------------------------------- */

/* pyvene's MLP with one block of width 2 and every parameter set by hand. */
static void tiny_mlp(vn_mlp *mlp, vn_iv_fit *fit, vn_optim_options optim, const char *activation) {
    vn_mlp_config c = vn_mlp_config_default();
    c.h_dim = 2;
    c.n_layer = 1;
    c.num_classes = 2;
    c.pdrop = 0;
    snprintf(c.activation_function, sizeof c.activation_function, "%s", activation);
    CHECK_CTX(vn_mlp_init(mlp, &ctx, &c, NULL) == VN_OK);
    vn_mlp_param_find(mlp, "score.weight")->value.data[0] = 1; /* logit 0 = h0, logit 1 = -h0 */
    vn_mlp_param_find(mlp, "score.weight")->value.data[2] = -1;
    vn_iv_fit_options o = vn_iv_fit_defaults();
    o.optim = optim;
    o.clip_norm = 1;
    o.targets = VN_IV_FIT_CLASS_IDS;
    CHECK_CTX(vn_iv_fit_init(fit, &ctx, mlp, &o) == VN_OK);
}

/* A copy of every parameter's values. */
static vn_real *snapshot(const vn_mlp *mlp) {
    size_t n, total = 0;
    const vn_nn_param *p = vn_mlp_params(mlp, &n);
    for (size_t i = 0; i < n; i++) total += p[i].node->value.numel;
    vn_real *copy = malloc(total * sizeof *copy), *at = copy;
    for (size_t i = 0; i < n; i++) {
        memcpy(at, p[i].node->value.data, p[i].node->value.numel * sizeof *at);
        at += p[i].node->value.numel;
    }
    return copy;
}

static bool unchanged(const vn_mlp *mlp, const vn_real *copy) {
    size_t n;
    const vn_nn_param *p = vn_mlp_params(mlp, &n);
    for (size_t i = 0; i < n; i++) {
        if (memcmp(copy, p[i].node->value.data, p[i].node->value.numel * sizeof *copy) != 0) return false;
        copy += p[i].node->value.numel;
    }
    return true;
}

START_TEST(fit_step_names_a_nonfinite_gradient) {
    /* x = (0.75 max, 0) and ff1.weight[0][0] = 2 / x0: the forward pass is
     * small (h0 = 2, logits (2, -2), a finite loss), but the gradient of
     * ff1.weight[0][0] is about 1.96 x0, beyond the largest vn_real */
    vn_mlp mlp;
    vn_iv_fit fit;
    tiny_mlp(&mlp, &fit, vn_optim_defaults(VN_OPTIM_ADAM), "relu");
    vn_real x[2] = {(vn_real)0.75 * VN_REAL_MAX, 0};
    vn_mlp_param_find(&mlp, "mlp.h.0.ff1.weight")->value.data[0] = 2 / x[0];
    int64_t label[1] = {1};
    vn_real *before = snapshot(&mlp);
    vn_iv_step_result r;
    ck_assert_int_eq(vn_iv_fit_step(&fit, &ctx, x, label, 1, &r), VN_ENAN);
    ck_assert_msg(isfinite(r.loss) && r.loss > 3 && r.loss < 5, "loss %g", r.loss);
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_GRAD);
    ck_assert_str_eq(r.nonfinite.node->name, "mlp.h.0.ff1.weight");
    ck_assert_uint_eq(r.nonfinite.param, 0);
    ck_assert_uint_eq(r.nonfinite.index, 0);
    ck_assert_str_eq(vn_context_message(&ctx), "gradient of mlp.h.0.ff1.weight is not finite (inf at element 0)");
    /* stopped before clipping and the update: parameters and optimizer untouched */
    ck_assert(unchanged(&mlp, before));
    ck_assert_int_eq(fit.optim.step_count, 0);
    ck_assert_int_eq(fit.optim.state[0].steps, 0);
    ck_assert(fit.optim.state[0].buf1[0] == 0);
    vn_context_clear_error(&ctx);
    /* a smaller input trains normally, with the same model */
    x[0] = 1;
    CHECK_CTX(vn_iv_fit_step(&fit, &ctx, x, label, 1, &r) == VN_OK);
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_NONE);
    ck_assert(!unchanged(&mlp, before));
    ck_assert_int_eq(fit.optim.step_count, 1);
    free(before);
}
END_TEST

START_TEST(fit_step_names_a_nonfinite_loss) {
    vn_mlp mlp;
    vn_iv_fit fit;
    tiny_mlp(&mlp, &fit, vn_optim_defaults(VN_OPTIM_ADAMW), "tanh"); /* relu would turn the NaN into 0 */
    vn_mlp_param_find(&mlp, "mlp.h.0.ff1.weight")->value.data[0] = 1;
    vn_real x[4] = {1, 0, (vn_real)NAN, 0};
    int64_t labels[2] = {0, 1};
    vn_real *before = snapshot(&mlp);
    vn_iv_step_result r;
    ck_assert_int_eq(vn_iv_fit_step(&fit, &ctx, x, labels, 2, &r), VN_ENAN);
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_LOSS);
    ck_assert_ptr_null(r.nonfinite.node);
    ck_assert_str_eq(vn_context_message(&ctx), "the loss is not finite (NaN)");
    ck_assert(unchanged(&mlp, before));
    ck_assert_int_eq(fit.optim.step_count, 0);
    free(before);
}
END_TEST

START_TEST(fit_step_names_a_nonfinite_update) {
    /* Adam's first step size is lr / (1 - beta1) = 10 lr: with lr = 0.75 max
     * it is infinite and the updated weights are not finite */
    vn_optim_options adam = vn_optim_defaults(VN_OPTIM_ADAM);
    adam.lr = 0.75 * (double)VN_REAL_MAX;
    vn_mlp mlp;
    vn_iv_fit fit;
    tiny_mlp(&mlp, &fit, adam, "relu");
    vn_mlp_param_find(&mlp, "mlp.h.0.ff1.weight")->value.data[0] = (vn_real)0.5;
    vn_real x[2] = {1, (vn_real)0.5};
    int64_t label[1] = {1};
    vn_iv_step_result r;
    ck_assert_int_eq(vn_iv_fit_step(&fit, &ctx, x, label, 1, &r), VN_ENAN);
    ck_assert(isfinite(r.loss));
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_VALUE);
    ck_assert_str_eq(r.nonfinite.node->name, "mlp.h.0.ff1.weight");
    ck_assert(!isfinite(r.nonfinite.value));
    ck_assert_msg(strstr(vn_context_message(&ctx), "mlp.h.0.ff1.weight is not finite after the optimizer step (") ==
                      vn_context_message(&ctx), "%s", vn_context_message(&ctx));
    ck_assert_int_eq(fit.optim.step_count, 1); /* the update happened */
}
END_TEST

START_TEST(das_step_names_the_rotation) {
    vn_mlp mlp;
    CHECK_CTX(vn_iv_heq_handcrafted_mlp(&mlp, &ctx) == VN_OK);
    vn_iv_das_options o = vn_iv_das_defaults();
    o.max_batch = 64;
    o.optim.lr = 0.75 * (double)VN_REAL_MAX;
    vn_iv_das das;
    CHECK_CTX(vn_iv_das_init(&das, &ctx, &mlp, &o) == VN_OK);
    enum { B = 64, H = 8 };
    vn_real mem[3 * B * H];
    int64_t labels[B];
    vn_iv_cf_batch b = {B, 2, {VN_IV_CF_BOTH, {0}}, true, mem, {mem + B * H, mem + 2 * B * H}, labels, NULL};
    vn_rng rng;
    vn_rng_seed(&rng, 3, 3);
    vn_iv_heq_cf_fill(&b, &rng);
    for (size_t i = 0; i < B; i++) labels[i] = 1 - labels[i]; /* wrong labels: a gradient to follow */
    const char *name = "layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer.parametrizations.weight.original";
    /* a NaN in the (frozen) model's head: the loss, before any update */
    vn_real *head = vn_mlp_param_find(&mlp, "score.bias")->value.data, keep = head[1];
    head[1] = (vn_real)NAN;
    vn_real original = das.params[0]->value.data[1];
    vn_iv_step_result r;
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_ENAN);
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_LOSS);
    ck_assert_str_eq(vn_context_message(&ctx), "the loss is not finite (NaN)");
    ck_assert(das.params[0]->value.data[1] == original);
    ck_assert_int_eq(das.optim.step_count, 0);
    vn_context_clear_error(&ctx);
    /* evaluation does not check */
    CHECK_CTX(vn_iv_das_step(&das, &ctx, &b, false, &r) == VN_OK);
    /* an infinite step size: the rotation's parameter, by its saved name */
    head[1] = keep;
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_ENAN);
    ck_assert_int_eq(r.nonfinite.where, VN_NONFINITE_VALUE);
    char want[256];
    snprintf(want, sizeof want, "%s is not finite after the optimizer step (", name);
    ck_assert_msg(strstr(vn_context_message(&ctx), want) == vn_context_message(&ctx), "%s", vn_context_message(&ctx));
}
END_TEST

/* ---- cvene train ------------------------------------------------------------------------------- */

#define TRAIN_TASK "--task", "hierarchical-equality", "--examples", "4096", "--epochs", "3", "--batch-size", "256", \
                   "--test-examples", "200"

/* SGD without clipping at a learning rate that makes the weights grow until
 * step 4 overflows (in the loss or a gradient, depending on the build). */
#ifdef VN_REAL_DOUBLE
#define TRAIN_DIVERGES "--optimizer", "sgd", "--clip-norm", "0", "--lr", "1e20"
#else
#define TRAIN_DIVERGES "--optimizer", "sgd", "--clip-norm", "0", "--lr", "1e5"
#endif

START_TEST(train_stops_at_a_nonfinite_step_keeping_the_checkpoint) {
    failing_run r;
    failing_run_init(&r);
    ck_assert_int_eq(run_quiet(cmd_train, r.capture, "train", TRAIN_TASK, TRAIN_DIVERGES, "--checkpoint-every", "3",
                               "--out", r.bad, NULL), 1);
    size_t n, epoch, c;
    char *text = failure_text(&r, "cvene train: step", &n, &epoch, &c);
    ck_assert_msg(strstr(text, " is not finite (") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "the loss is not finite") || strstr(text, "gradient of mlp.h.") ||
                      strstr(text, "gradient of score.") || strstr(text, "after the optimizer step"),
                  "no tensor named: %s", text);
    ck_assert_msg(n > 3 && epoch == 1, "diverged at step %zu (epoch %zu): retune TRAIN_DIVERGES\n%s", n, epoch, text);
    ck_assert_msg(c == (n - 1) / 3 * 3, "last checkpoint step %zu for a failure at %zu: %s", c, n, text);
    free(text);
    /* the run wrote no model; its checkpoint is complete, finite, of step c ... */
    ck_assert(!exists(r.bad, "model.safetensors") && !exists(r.bad, "config.json"));
    ck_assert_uint_eq(checkpoint_step(r.bad, TRAIN_CHECKPOINT_FORMAT), c);
    assert_no_temporaries(r.bad);
    /* ... and the very file a run stopped at step c writes */
    char steps[32];
    snprintf(steps, sizeof steps, "%zu", c);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", TRAIN_TASK, TRAIN_DIVERGES, "--checkpoint-every", "3",
                               "--max-steps", steps, "--out", r.ref, NULL), 0);
    assert_same_in(r.bad, r.ref, "checkpoint.safetensors");
    /* resuming from it meets the same failure at the same step */
    assert_resume_fails_alike(cmd_train, "train", &r, "cvene train: step", n, epoch, c);
    assert_same_in(r.bad, r.ref, "checkpoint.safetensors");
    remove_tree(r.dir);
}
END_TEST

START_TEST(train_data_with_an_infinity_stops_without_a_checkpoint) {
    char dir[64], data[128], out[128], capture[160];
    make_tmpdir(dir, sizeof dir, "training");
    enum { B = 64, H = 4 };
    vn_real rows[B * H];
    int64_t labels[B];
    for (size_t i = 0; i < B * H; i++) rows[i] = (vn_real)((double)(i % 7) / 7 - 0.5);
    for (size_t b = 0; b < B; b++) labels[b] = rows[b * H] > 0;
    rows[37 * H + 2] = (vn_real)INFINITY;
    snprintf(data, sizeof data, "%s/data.safetensors", dir);
    write_data_file(data, rows, labels, B, H);
    snprintf(out, sizeof out, "%s/model", dir);
    snprintf(capture, sizeof capture, "%s/out.txt", dir);
    /* one batch per epoch: the first step meets the infinity */
    ck_assert_int_eq(run_quiet(cmd_train, capture, "train", "--data", data, "--n-layer", "1", "--batch-size", "64",
                               "--out", out, NULL), 1);
    char *text = read_text(capture, NULL);
    ck_assert_msg(strstr(text, "cvene train: step 1 (epoch 1): ") != NULL, "%s", text);
    ck_assert_msg(strstr(text, " is not finite (") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "; no checkpoint was written") != NULL, "%s", text);
    free(text);
    ck_assert(!exists(out, "model.safetensors") && !exists(out, "checkpoint.safetensors"));
    remove_tree(dir);
}
END_TEST

/* Trains `args` uninterrupted into DIR/whole and in pieces (--max-steps at
 * `first`, then at `second` more, then to the end) into DIR/parts; every
 * file must be the same. */
static void check_train_resume(const char *dir, const char *const *args, size_t n_args, const char *first,
                               const char *second) {
    char whole[128], parts[128], capture_whole[160], capture_parts[160];
    snprintf(whole, sizeof whole, "%s/whole", dir);
    snprintf(parts, sizeof parts, "%s/parts", dir);
    snprintf(capture_whole, sizeof capture_whole, "%s/whole.json", dir);
    snprintf(capture_parts, sizeof capture_parts, "%s/parts.json", dir);
    char *argv[64];
    int argc = 0;
    ck_assert(n_args < 50);
    argv[argc++] = (char *)"train";
    for (size_t i = 0; i < n_args; i++) argv[argc++] = (char *)args[i];
    argv[argc++] = (char *)"--json";
    argv[argc++] = (char *)"--out";
    argv[argc++] = whole;
    argv[argc] = NULL;
    ck_assert_int_eq(run_argv(cmd_train, capture_whole, argc, argv), 0);
    argv[argc - 1] = parts;
    argv[argc++] = (char *)"--max-steps";
    argv[argc++] = (char *)first;
    argv[argc] = NULL;
    ck_assert_int_eq(run_argv(cmd_train, NULL, argc, argv), 0);
    ck_assert_uint_eq(checkpoint_step(parts, TRAIN_CHECKPOINT_FORMAT), strtoull(first, NULL, 10));
    /* a stopped run is a different state: the test would see a missing step */
    ck_assert(!same_in(whole, parts, "checkpoint.safetensors"));
    ck_assert(!same_in(whole, parts, "model.safetensors"));
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--resume", parts, "--max-steps", second, NULL), 0);
    ck_assert_uint_eq(checkpoint_step(parts, TRAIN_CHECKPOINT_FORMAT),
                      strtoull(first, NULL, 10) + strtoull(second, NULL, 10));
    ck_assert_int_eq(run_quiet(cmd_train, capture_parts, "train", "--resume", parts, "--json", NULL), 0);
    assert_same_in(whole, parts, "model.safetensors");
    assert_same_in(whole, parts, "config.json");
    assert_same_in(whole, parts, "checkpoint.safetensors");
    /* the summaries agree on the last epoch's loss and accuracy, to the last digit */
    char *a = read_text(capture_whole, NULL), *b = read_text(capture_parts, NULL);
    static const char *const keys[] = {"\"last_epoch_loss\": ", "\"last_epoch_accuracy\": ", "\"test_accuracy\": ",
                                       "\"step\": ", "\"finished\": "};
    for (size_t k = 0; k < VN_ARRAY_COUNT(keys); k++) {
        const char *x = strstr(a, keys[k]), *y = strstr(b, keys[k]);
        ck_assert_msg(x && y, "no %s in %s / %s", keys[k], a, b);
        size_t nx = strcspn(x, ",\n}"), ny = strcspn(y, ",\n}");
        ck_assert_msg(nx == ny && !memcmp(x, y, nx), "%.*s vs %.*s", (int)nx, x, (int)ny, y);
    }
    ck_assert_ptr_nonnull(strstr(b, "\"finished\": true"));
    free(a);
    free(b);
    assert_no_temporaries(whole);
    assert_no_temporaries(parts);
}

START_TEST(train_resume_is_bit_for_bit_on_the_task) {
    /* AdamW with warm-up and linear decay, dropout (its pass counter is part
     * of the state), stops inside epochs and checkpoints between them */
    char dir[64];
    make_tmpdir(dir, sizeof dir, "training");
    static const char *const args[] = {TRAIN_TASK, "--pdrop", "0.1", "--warmup-steps", "6", "--weight-decay", "0.01",
                                       "--checkpoint-every", "5"};
    check_train_resume(dir, args, VN_ARRAY_COUNT(args), "7", "30"); /* 37: inside the last epoch */
    remove_tree(dir);
}
END_TEST

START_TEST(train_resume_is_bit_for_bit_on_a_data_file) {
    /* SGD with momentum (its buffer is state) on a data file, cross-entropy,
     * a constant rate, a last batch smaller than the others */
    char dir[64], data[128];
    make_tmpdir(dir, sizeof dir, "training");
    enum { B = 200, H = 6 };
    vn_real rows[B * H];
    int64_t labels[B];
    vn_rng rng;
    vn_rng_seed(&rng, 7, 7);
    vn_rng_fill_uniform(&rng, rows, B * H, -1, 1);
    for (size_t b = 0; b < B; b++) labels[b] = (rows[b * H] > 0) + (rows[b * H + 1] > 0);
    snprintf(data, sizeof data, "%s/data.safetensors", dir);
    write_data_file(data, rows, labels, B, H);
    const char *const args[] = {"--data", data, "--num-classes", "3", "--n-layer", "2", "--epochs", "4",
                                "--batch-size", "32", "--optimizer", "sgd", "--momentum", "0.9", "--lr", "0.05",
                                "--schedule", "constant", "--checkpoint-every", "8"};
    check_train_resume(dir, args, VN_ARRAY_COUNT(args), "3", "20"); /* 23 of 28: the last epoch */
    /* a different data file is refused */
    rows[0] = -rows[0];
    write_data_file(data, rows, labels, B, H);
    char parts[128], capture[160];
    snprintf(parts, sizeof parts, "%s/parts", dir);
    snprintf(capture, sizeof capture, "%s/out.txt", dir);
    assert_train_resume_refused(parts, capture, "is not the data file the checkpoint");
    remove_tree(dir);
}
END_TEST

/* ---- cvene das ---------------------------------------------------------------------------------- */

#define DAS_SMALL "--mlp-examples", "4096", "--mlp-epochs", "1", "--mlp-batch-size", "256", "--examples", "1024", \
                  "--batch-size", "128", "--epochs", "3", "--test-examples", "300", "--no-progress"

/* A learning rate at which the rotation's matrix_exp breaks down after a few steps. */
#ifdef VN_REAL_DOUBLE
#define DAS_DIVERGES "--lr", "1e18"
#else
#define DAS_DIVERGES "--lr", "1e8"
#endif

START_TEST(das_stops_at_a_nonfinite_step_keeping_the_checkpoint) {
    failing_run r;
    failing_run_init(&r);
    ck_assert_int_eq(run_quiet(cmd_das, r.capture, "das", DAS_SMALL, DAS_DIVERGES, "--checkpoint-every", "2", "--out",
                               r.bad, NULL), 1);
    size_t n, epoch, c;
    char *text = failure_text(&r, "cvene das: alignment step", &n, &epoch, &c);
    ck_assert_msg(strstr(text, "the loss is not finite") ||
                      strstr(text, "layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer.parametrizations.weight."
                                   "original is not finite after the optimizer step") ||
                      strstr(text, "gradient of layer_0_comp_block_output_unit_pos_nunit_1#0.rotate_layer."
                                   "parametrizations.weight.original is not finite ("),
                  "no tensor named: %s", text);
    ck_assert_msg(n > 2 && epoch == 1, "diverged at step %zu (epoch %zu): retune DAS_DIVERGES\n%s", n, epoch, text);
    ck_assert_msg(c == (n - 1) / 2 * 2, "last checkpoint step %zu for a failure at %zu: %s", c, n, text);
    free(text);
    ck_assert_uint_eq(checkpoint_step(r.bad, "cvene-das-checkpoint"), c);
    assert_no_temporaries(r.bad);
    /* the files of the last save are those of a run stopped at step c */
    char steps[32];
    snprintf(steps, sizeof steps, "%zu", c);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", DAS_SMALL, DAS_DIVERGES, "--checkpoint-every", "2", "--max-steps",
                               steps, "--out", r.ref, NULL), 0);
    static const char *const files[] = {"checkpoint.safetensors", "run.json", "log.csv",
                                        "intervention/interventions.safetensors", "model/model.safetensors"};
    for (size_t i = 0; i < VN_ARRAY_COUNT(files); i++) assert_same_in(r.bad, r.ref, files[i]);
    /* resuming it meets the same failure */
    assert_resume_fails_alike(cmd_das, "das", &r, "cvene das: alignment step", n, epoch, c);
    remove_tree(r.dir);
}
END_TEST

START_TEST(das_resume_with_checkpoint_every_is_bit_for_bit) {
    char dir[64], whole[128], parts[128];
    make_tmpdir(dir, sizeof dir, "training");
    snprintf(whole, sizeof whole, "%s/whole", dir);
    snprintf(parts, sizeof parts, "%s/parts", dir);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", DAS_SMALL, "--seed", "3", "--checkpoint-every", "5", "--out", whole,
                               NULL), 0);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", DAS_SMALL, "--seed", "3", "--checkpoint-every", "5", "--max-steps",
                               "7", "--out", parts, NULL), 0);
    ck_assert_uint_eq(checkpoint_step(parts, "cvene-das-checkpoint"), 7);
    ck_assert(!same_in(whole, parts, "intervention/interventions.safetensors"));
    char run_json[192];
    snprintf(run_json, sizeof run_json, "%s/run.json", parts);
    char *run = read_text(run_json, NULL);
    ck_assert_ptr_nonnull(strstr(run, "\"checkpoint_every\": 5"));
    free(run);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", parts, "--max-steps", "6", NULL), 0); /* 13: mid-epoch */
    ck_assert_uint_eq(checkpoint_step(parts, "cvene-das-checkpoint"), 13);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", parts, NULL), 0);
    static const char *const files[] = {"checkpoint.safetensors", "run.json", "log.csv", "plot.svg",
                                        "intervention/interventions.safetensors", "intervention/config.json",
                                        "model/model.safetensors"};
    for (size_t i = 0; i < VN_ARRAY_COUNT(files); i++) assert_same_in(whole, parts, files[i]);
    remove_tree(dir);
}
END_TEST

START_TEST(checkpoint_argument_errors) {
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", TRAIN_TASK, "--checkpoint-every", "0", "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", TRAIN_TASK, "--max-steps", "0", "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--resume", "x", "--lr", "0.1", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--resume", "x", "--out", "y", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--resume", "/nonexistent/run", NULL), 1);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--checkpoint-every", "5", NULL), 2); /* no --out */
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--sweep", "--checkpoint-every", "5", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--checkpoint-every", "0", "--out", "x", NULL), 2);
    /* a das checkpoint is not a train checkpoint, nor the other way round */
    char dir[64], run[128], capture[160];
    make_tmpdir(dir, sizeof dir, "training");
    snprintf(run, sizeof run, "%s/run", dir);
    snprintf(capture, sizeof capture, "%s/out.txt", dir);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", DAS_SMALL, "--max-steps", "2", "--out", run, NULL), 0);
    assert_train_resume_refused(run, capture, "not a cvene train checkpoint");
    remove_tree(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("training");
    TCase *tc = test_case(s, "training", fixture_setup_iv, fixture_teardown, 300);
    tcase_add_test(tc, fit_step_names_a_nonfinite_gradient);
    tcase_add_test(tc, fit_step_names_a_nonfinite_loss);
    tcase_add_test(tc, fit_step_names_a_nonfinite_update);
    tcase_add_test(tc, das_step_names_the_rotation);
    tcase_add_test(tc, train_stops_at_a_nonfinite_step_keeping_the_checkpoint);
    tcase_add_test(tc, train_data_with_an_infinity_stops_without_a_checkpoint);
    tcase_add_test(tc, train_resume_is_bit_for_bit_on_the_task);
    tcase_add_test(tc, train_resume_is_bit_for_bit_on_a_data_file);
    tcase_add_test(tc, das_stops_at_a_nonfinite_step_keeping_the_checkpoint);
    tcase_add_test(tc, das_resume_with_checkpoint_every_is_bit_for_bit);
    tcase_add_test(tc, checkpoint_argument_errors);
    return test_run(s);
}
