/* test_das.c — DAS and factual training (intervene/vn_iv_das.h) and the
 * commands built on them, `cvene train` and `cvene das` (run in-process):
 * IIA counting on hand-checkable cases, a miniature alignment that lowers
 * its loss, factual training that learns, model directories (PyTorch's load
 * with PyTorch's logits; ours load back exactly; saves leave no temporary
 * files), --out/--resume giving the very bytes of an uninterrupted run, and
 * the commands' argument errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "host.h"
#include "task_cli.h"
#include "test_support.h"
#include "vn_iv_das.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"
#include "vn_safetensors.h"

int cmd_das(int argc, char **argv);
int cmd_train(int argc, char **argv);

/* ---- IIA counting ------------------------------------------------------------------------- */

START_TEST(argmax_accuracy_by_hand) {
    /* rows: argmax 1, 0, tie -> 0 (the first, as torch.argmax), 2 */
    vn_real logits[4 * 3] = {0, 2, 1, 5, -1, 4, 3, 3, 0, -2, -3, -1};
    int64_t labels[4] = {1, 0, 0, 0};
    ck_assert_uint_eq(vn_iv_correct(logits, 4, 3, labels), 3);
    int64_t other[4] = {2, 1, 1, 2};
    ck_assert_uint_eq(vn_iv_correct(logits, 4, 3, other), 1);
}
END_TEST

/* The hand-built model under vn_iv_das with the identity rotation and
 * k = 4: rotated coordinates are the hidden units, so WX on [0, 4) and YZ on
 * [4, 8) are the tutorial's exact abstraction: every counterfactual is
 * predicted; four examples with one label flipped give IIA 3/4. */
START_TEST(das_step_counts_iia) {
    vn_mlp mlp;
    CHECK_CTX(vn_iv_heq_handcrafted_mlp(&mlp, &ctx) == VN_OK);
    vn_iv_das_options o = vn_iv_das_defaults();
    o.subspace_size = 4;
    o.max_batch = 512;
    vn_iv_das das;
    CHECK_CTX(vn_iv_das_init(&das, &ctx, &mlp, &o) == VN_OK);
    ck_assert_uint_eq(das.subspace_size, 4);
    ck_assert_uint_eq(das.model.config.count, 2);
    ck_assert(das.model.units[1].params == das.model.units[0].params); /* linked: one rotation */
    enum { B = 512, H = 8 };
    vn_real *mem = calloc(3 * B * H, sizeof *mem);
    int64_t *labels = malloc(B * sizeof *labels);
    vn_rng rng;
    vn_rng_seed(&rng, 1, 2);
    for (int kind = 0; kind < 3; kind++) {
        vn_iv_cf_batch b = {B, 2, {(vn_iv_cf_kind)kind, {0}}, true, mem, {mem + B * H, mem + 2 * B * H}, labels, NULL};
        vn_iv_heq_cf_fill(&b, &rng);
        vn_iv_step_result r;
        CHECK_CTX(vn_iv_das_step(&das, &ctx, &b, false, &r) == VN_OK);
        ck_assert_uint_eq(r.count, B);
        ck_assert_uint_eq(r.correct, B);
        /* label 1 with both pairs different has logits far apart; the others differ by about 1e-6 */
        ck_assert_msg(r.loss > 0.4 && r.loss < 0.6932, "loss %.9g", r.loss);
        b.count = 4;
        labels[1] = 1 - labels[1];
        CHECK_CTX(vn_iv_das_step(&das, &ctx, &b, false, &r) == VN_OK);
        ck_assert_uint_eq(r.correct, 3);
        for (size_t e = 0; e < 4; e++) labels[e] = 1 - labels[e];
        CHECK_CTX(vn_iv_das_step(&das, &ctx, &b, false, &r) == VN_OK);
        ck_assert_uint_eq(r.correct, 1);
    }
    free(mem);
    free(labels);
}
END_TEST

START_TEST(das_errors) {
    vn_mlp mlp;
    CHECK_CTX(vn_iv_heq_handcrafted_mlp(&mlp, &ctx) == VN_OK);
    vn_iv_das_options o = vn_iv_das_defaults();
    o.subspace_size = 5; /* two subspaces of 5 do not fit in 8 */
    vn_iv_das das;
    ck_assert_int_eq(vn_iv_das_init(&das, &ctx, &mlp, &o), VN_EINVAL);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "subspace size 5 does not fit"));
    vn_context_clear_error(&ctx);
    o.subspace_size = 0;
    o.max_batch = 4;
    o.hypothesis = VN_IV_HYP_LEFT;
    CHECK_CTX(vn_iv_das_init(&das, &ctx, &mlp, &o) == VN_OK);
    ck_assert_uint_eq(das.subspace_size, 4); /* h/2 */
    vn_real mem[3 * 8 * 8] = {0};
    int64_t labels[8] = {0};
    vn_iv_cf_batch b = {4, 2, {VN_IV_CF_BOTH, {0}}, true, mem, {mem + 64, mem + 128}, labels, NULL};
    vn_rng rng;
    vn_rng_seed(&rng, 1, 1);
    vn_iv_heq_cf_fill(&b, &rng);
    vn_iv_step_result r;
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_EINVAL); /* both-kind batch, left hypothesis */
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "kind WX+YZ under hypothesis left"));
    vn_context_clear_error(&ctx);
    b.intervention.kind = VN_IV_CF_WX;
    b.count = 8; /* more than max_batch */
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_ESHAPE);
    vn_context_clear_error(&ctx);
    b.count = 4;
    b.dim = 4; /* rows of 16 for a model of 8 */
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_ESHAPE);
    vn_context_clear_error(&ctx);
    b.dim = 2;
    CHECK_CTX(vn_iv_das_step(&das, &ctx, &b, true, &r) == VN_OK);
    /* a label out of range is the loss's error, reported with its message */
    labels[2] = 5;
    ck_assert_int_eq(vn_iv_das_step(&das, &ctx, &b, true, &r), VN_ERANGE);
    ck_assert(vn_context_message(&ctx)[0] != '\0');
    vn_context_clear_error(&ctx);
}
END_TEST

/* A small MLP trained on the task (the recipe at a small scale). */
static void small_trained_mlp(vn_mlp *mlp, size_t examples, fit_report *report) {
    mlp_recipe r = mlp_recipe_default();
    r.examples = examples;
    r.epochs = 2;
    r.batch_size = 128;
    r.fit.optim.lr = 1e-2;
    r.seed = 0;
    ck_assert(mlp_create("test", &r, &ctx, mlp));
    fit_data data = {0};
    data.dim = VN_IV_HEQ_DIM;
    ck_assert(mlp_fit("test", &r, &data, &ctx, mlp, false, NULL, NULL, report));
}

START_TEST(factual_training_learns) {
    vn_mlp mlp;
    fit_report report;
    double before;
    mlp_recipe r = mlp_recipe_default();
    ck_assert(mlp_create("test", &r, &ctx, &mlp));
    ck_assert(task_factual_accuracy("test", &ctx, &mlp, 3, VN_IV_HEQ_DIM, 2000, &before));
    vn_arena_release(&arena);
    vn_host_arena(&arena, NULL);
    vn_context_init(&ctx, &arena);
    small_trained_mlp(&mlp, 32768, &report);
    double after;
    ck_assert(task_factual_accuracy("test", &ctx, &mlp, 3, VN_IV_HEQ_DIM, 2000, &after));
    ck_assert_uint_eq(report.steps, 2 * 32768 / 128);
    ck_assert_msg(report.last_epoch_loss < 0.8 * report.first_loss, "loss %g -> %g", report.first_loss,
                  report.last_epoch_loss);
    ck_assert_msg(after > 0.8 && after > before + 0.2, "accuracy %.3f -> %.3f", before, after);
    ck_assert_int_eq(mlp.config.problem_type, VN_PROBLEM_MULTI_LABEL); /* one-hot targets: BCE, as pyvene infers */
}
END_TEST

START_TEST(miniature_alignment_lowers_the_loss) {
    vn_mlp mlp;
    fit_report report;
    small_trained_mlp(&mlp, 32768, &report);
    vn_rng rot;
    vn_rng_seed(&rot, 4, 4);
    vn_iv_das_options o = vn_iv_das_defaults();
    o.max_batch = 512;
    o.optim.lr = 2e-2;
    o.rng = &rot;
    vn_iv_das das;
    CHECK_CTX(vn_iv_das_init(&das, &ctx, &mlp, &o) == VN_OK);
    enum { B = 512, H = 16 };
    vn_real *train = calloc(3 * B * H, sizeof *train), *held = calloc(3 * B * H, sizeof *held);
    int64_t *train_labels = malloc(B * sizeof(int64_t)), *held_labels = malloc(B * sizeof(int64_t));
    vn_iv_cf_batch t = {B, 4, {VN_IV_CF_BOTH, {0}}, true, train, {train + B * H, train + 2 * B * H}, train_labels, NULL};
    vn_iv_cf_batch h = {B, 4, {VN_IV_CF_BOTH, {0}}, true, held, {held + B * H, held + 2 * B * H}, held_labels, NULL};
    vn_rng rng;
    vn_rng_seed(&rng, 5, 5);
    vn_iv_heq_cf_fill(&h, &rng);
    vn_iv_step_result before, after, r;
    CHECK_CTX(vn_iv_das_step(&das, &ctx, &h, false, &before) == VN_OK);
    vn_real r0 = das.params[0]->value.data[16];
    for (int step = 0; step < 30; step++) {
        t.intervention.kind = (vn_iv_cf_kind)(step % 3);
        vn_iv_heq_cf_fill(&t, &rng);
        CHECK_CTX(vn_iv_das_step(&das, &ctx, &t, true, &r) == VN_OK);
    }
    CHECK_CTX(vn_iv_das_step(&das, &ctx, &h, false, &after) == VN_OK);
    ck_assert_msg(after.loss < 0.9 * before.loss, "held-out loss %g -> %g", before.loss, after.loss);
    ck_assert(das.params[0]->value.data[16] != r0);    /* `original` moved ... */
    ck_assert_int_eq(das.optim.state[0].steps, 30);  /* ... by 30 Adam steps */
    /* the model stayed frozen */
    ck_assert(!vn_node_requires_grad(mlp.blocks[0].weight));
    free(train);
    free(held);
    free(train_labels);
    free(held_labels);
}
END_TEST

/* ---- model directories --------------------------------------------------------------------------- */

START_TEST(pytorch_model_directory_gives_pytorch_logits) {
    static const char *const cases[] = {"data/ref/d_mlp3_h16_vanilla_sub0", "data/ref/seed_rotated_h32"};
    for (size_t c = 0; c < 2; c++) {
        char path[512], err[VN_HOST_ERR];
        snprintf(path, sizeof path, "%s/model", cases[c]);
        vn_mlp mlp;
        ck_assert(cli_load_model("test", path, &ctx, &mlp));
        unsigned char *data, *expected;
        size_t n_data, n_expected;
        snprintf(path, sizeof path, "%s/data.safetensors", cases[c]);
        ck_assert_msg(vn_host_read_file(path, &data, &n_data, err), "%s", err);
        snprintf(path, sizeof path, "%s/expected.safetensors", cases[c]);
        ck_assert_msg(vn_host_read_file(path, &expected, &n_expected, err), "%s", err);
        vn_safetensors st_data, st_expected;
        vn_tensor base, want;
        ck_assert(vn_safetensors_open(&st_data, data, n_data, &arena, err, sizeof err) == VN_OK);
        ck_assert(vn_safetensors_open(&st_expected, expected, n_expected, &arena, err, sizeof err) == VN_OK);
        ck_assert(vn_safetensors_tensor(&st_data, "base", &arena, &base, err, sizeof err) == VN_OK);
        ck_assert(vn_safetensors_tensor(&st_expected, "base_logits", &arena, &want, err, sizeof err) == VN_OK);
        vn_mlp_set_training(&mlp, false);
        vn_node *x = vn_leaf_wrap(&ctx, base.data, base.ndim, base.shape, VN_NODE_INPUT);
        vn_node *logits = vn_mlp_forward(&mlp, &ctx, x);
        CHECK_CTX(logits != NULL);
        ck_assert_uint_eq(logits->value.numel, want.numel);
        for (size_t i = 0; i < want.numel; i++)
            ck_assert_msg(fabs((double)logits->value.data[i] - (double)want.data[i]) <= 1e-5, "%s: logit %zu: %g vs %g",
                          cases[c], i, (double)logits->value.data[i], (double)want.data[i]);
        free(data);
        free(expected);
    }
}
END_TEST

START_TEST(saved_model_loads_back_exactly_without_temporaries) {
    vn_mlp mlp;
    fit_report report;
    small_trained_mlp(&mlp, 2048, &report);
    char dir[64];
    make_tmpdir(dir, sizeof dir, "das");
    char model_dir[128];
    snprintf(model_dir, sizeof model_dir, "%s/model", dir);
    ck_assert(save_model_dir("test", model_dir, &mlp, &ctx));
    ck_assert(save_model_dir("test", model_dir, &mlp, &ctx)); /* replaces the files */
    assert_no_temporaries(dir);
    vn_mlp loaded;
    ck_assert(cli_load_model("test", model_dir, &ctx, &loaded));
    ck_assert_int_eq(loaded.config.h_dim, 16);
    ck_assert_int_eq(loaded.config.n_layer, 3);
    ck_assert_str_eq(loaded.config.activation_function, "relu");
    ck_assert_int_eq(loaded.config.problem_type, VN_PROBLEM_MULTI_LABEL);
    size_t n, m;
    const vn_nn_param *a = vn_mlp_params(&mlp, &n), *b = vn_mlp_params(&loaded, &m);
    ck_assert_uint_eq(n, m);
    for (size_t p = 0; p < n; p++) {
        ck_assert_str_eq(a[p].name, b[p].name);
        for (size_t i = 0; i < a[p].node->value.numel; i++) /* vn_real precision: exact */
            ck_assert_msg(b[p].node->value.data[i] == a[p].node->value.data[i], "%s[%zu]", a[p].name, i);
    }
    remove_tree(dir);
}
END_TEST

START_TEST(train_command_writes_a_model_directory) {
    char dir[64], out[128], data_path[128];
    make_tmpdir(dir, sizeof dir, "das");
    snprintf(out, sizeof out, "%s/model", dir);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--examples", "4096",
                               "--epochs", "1", "--batch-size", "256", "--test-examples", "500", "--out", out, NULL),
                     0);
    assert_no_temporaries(dir);
    vn_mlp mlp;
    ck_assert(cli_load_model("test", out, &ctx, &mlp));
    ck_assert_int_eq(mlp.config.h_dim, 16);
    /* a data file: base (B, h) with the sign of the first coordinate as the label */
    enum { B = 256, H = 6 };
    vn_real rows[B * H];
    int64_t labels[B];
    vn_rng rng;
    vn_rng_seed(&rng, 1, 1);
    vn_rng_fill_uniform(&rng, rows, B * H, -1, 1);
    for (size_t b = 0; b < B; b++) labels[b] = rows[b * H] > 0;
    snprintf(data_path, sizeof data_path, "%s/data.safetensors", dir);
    write_data_file(data_path, rows, labels, B, H);
    snprintf(out, sizeof out, "%s/data_model", dir);
    char capture[160];
    snprintf(capture, sizeof capture, "%s/out.json", dir);
    ck_assert_int_eq(run_quiet(cmd_train, capture, "train", "--data", data_path, "--n-layer", "1", "--epochs", "20",
                               "--batch-size", "32", "--lr", "0.01", "--out", out, "--json", NULL),
                     0);
    char *json = read_text(capture, NULL);
    ck_assert_msg(strstr(json, "\"problem_type\": \"single_label_classification\"") != NULL, "%s", json);
    const char *acc = strstr(json, "\"last_epoch_accuracy\": ");
    ck_assert_ptr_nonnull(acc);
    ck_assert_msg(atof(acc + strlen("\"last_epoch_accuracy\": ")) > 0.9, "%s", json);
    free(json);
    ck_assert(cli_load_model("test", out, &ctx, &mlp));
    ck_assert_int_eq(mlp.config.h_dim, H);
    ck_assert_int_eq(mlp.config.n_layer, 1);
    assert_no_temporaries(dir);
    remove_tree(dir);
}
END_TEST

/* ---- cvene das: --out and --resume -------------------------------------------------------------- */

#define SMALL_RUN "--mlp-examples", "4096", "--mlp-epochs", "1", "--mlp-batch-size", "256", "--examples", "1024", \
                  "--batch-size", "128", "--epochs", "3", "--test-examples", "300", "--no-progress"

START_TEST(resume_continues_bit_for_bit) {
    char dir[64], a[128], b[128], pa[192], pb[192];
    make_tmpdir(dir, sizeof dir, "das");
    snprintf(a, sizeof a, "%s/whole", dir);
    snprintf(b, sizeof b, "%s/parts", dir);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", SMALL_RUN, "--seed", "2", "--out", a, NULL), 0);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", SMALL_RUN, "--seed", "2", "--out", b, "--max-steps", "5", NULL), 0);
    snprintf(pb, sizeof pb, "%s/run.json", b);
    char *state = read_text(pb, NULL);
    ck_assert_ptr_nonnull(strstr(state, "\"step\": 5,"));
    ck_assert_ptr_nonnull(strstr(state, "\"finished\": false"));
    free(state);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", b, "--max-steps", "9", NULL), 0); /* to 14 of 24 */
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", b, NULL), 0);
    static const char *const files[] = {"checkpoint.safetensors", "intervention/interventions.safetensors",
                                        "intervention/config.json", "model/model.safetensors", "log.csv", "run.json",
                                        "plot.svg"};
    for (size_t i = 0; i < VN_ARRAY_COUNT(files); i++) {
        snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
        snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
        assert_same_file(pa, pb);
    }
    snprintf(pa, sizeof pa, "%s/run.json", a);
    char *run = read_text(pa, NULL);
    ck_assert_ptr_nonnull(strstr(run, "\"finished\": true"));
    ck_assert_ptr_nonnull(strstr(run, "\"test_iia\": 0."));
    free(run);
    snprintf(pa, sizeof pa, "%s/log.csv", a);
    char *log = read_text(pa, NULL);
    ck_assert_ptr_nonnull(strstr(log, "step,epoch,kind,loss,iia\n1,1,"));
    ck_assert_ptr_nonnull(strstr(log, "\n24,3,"));
    free(log);
    snprintf(pa, sizeof pa, "%s/plot.svg", a);
    char *svg = read_text(pa, NULL);
    ck_assert_ptr_nonnull(strstr(svg, "<svg"));
    ck_assert_ptr_nonnull(strstr(svg, "</svg>"));
    free(svg);
    /* a finished run has nothing left to resume: it evaluates again, same numbers */
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", a, NULL), 0);
    snprintf(pa, sizeof pa, "%s/run.json", a);
    snprintf(pb, sizeof pb, "%s/run.json", b);
    assert_same_file(pa, pb);
    assert_no_temporaries(dir);
    remove_tree(dir);
}
END_TEST

START_TEST(das_json_summary) {
    char dir[64], capture[128];
    make_tmpdir(dir, sizeof dir, "das");
    snprintf(capture, sizeof capture, "%s/out.json", dir);
    ck_assert_int_eq(run_quiet(cmd_das, capture, "das", SMALL_RUN, "--hypothesis", "left", "--layer", "1", "--json", NULL),
                     0);
    char *json = read_text(capture, NULL);
    ck_assert_msg(json[0] == '{', "%s", json);
    static const char *const keys[] = {"\"hypothesis\": \"left\"", "\"layer\": 1", "\"test_iia\": ", "\"WX\": ",
                                       "\"per_step_after_first_epoch\": 0", "\"alignment\": ", "\"finished\": true"};
    for (size_t i = 0; i < VN_ARRAY_COUNT(keys); i++) ck_assert_msg(strstr(json, keys[i]) != NULL, "no %s in %s", keys[i], json);
    ck_assert_ptr_null(strstr(json, "\"YZ\": "));
    free(json);
    remove_tree(dir);
}
END_TEST

START_TEST(command_argument_errors) {
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--bogus", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--hypothesis", "right", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--task", "sst2", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--epochs", "0", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--seed", "-1", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--layer", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "extra", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", "x", "--seed", "1", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--sweep", "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--model", "x", "--untrained", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--resume", "/nonexistent/run", NULL), 1);
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", SMALL_RUN, "--layer", "3", NULL), 1);        /* 3 layers: 0-2 */
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", SMALL_RUN, "--subspace-size", "9", NULL), 1); /* 2 x 9 > 16 */
    ck_assert_int_eq(run_quiet(cmd_das, NULL, "das", "--help", NULL), 0);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", NULL), 2); /* no --out */
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--out", "x", NULL), 2);                      /* no data */
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--data", "f", "--out",
                               "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "parity", "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--optimizer", "lbfgs",
                               "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--activation", "swiglu",
                               "--out", "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--momentum", "0.9",
                               "--out", "x", NULL), 2); /* momentum needs sgd */
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--lr", "-1", "--out",
                               "x", NULL), 2);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--task", "hierarchical-equality", "--h-dim", "8", "--out",
                               "x", NULL), 1); /* the task's inputs are 16 wide */
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--data", "/nonexistent.safetensors", "--out", "x", NULL), 1);
    ck_assert_int_eq(run_quiet(cmd_train, NULL, "train", "--help", NULL), 0);
}
END_TEST

int main(void) {
    Suite *s = suite_create("das");
    TCase *tc = test_case(s, "das", fixture_setup_iv, fixture_teardown, 300);
    tcase_add_test(tc, argmax_accuracy_by_hand);
    tcase_add_test(tc, das_step_counts_iia);
    tcase_add_test(tc, das_errors);
    tcase_add_test(tc, factual_training_learns);
    tcase_add_test(tc, miniature_alignment_lowers_the_loss);
    tcase_add_test(tc, pytorch_model_directory_gives_pytorch_logits);
    tcase_add_test(tc, saved_model_loads_back_exactly_without_temporaries);
    tcase_add_test(tc, train_command_writes_a_model_directory);
    tcase_add_test(tc, resume_continues_bit_for_bit);
    tcase_add_test(tc, das_json_summary);
    tcase_add_test(tc, command_argument_errors);
    return test_run(s);
}
