/* test_refcases.c — every reference case in data/ref/ (shared, made by an
 * independent PyTorch re-implementation checked against pyvene) and
 * data/cases/ (tools/gen_intervene_reference.py) through the cvene command
 * itself: `cvene eval ... --grad --out FILE` and, for align cases,
 * `cvene align ... --out DIR --log FILE.csv`, run in the case's directory
 * with the arguments of its case.json. Outputs are compared with the
 * expected files under the case's tolerances:
 *     |got − want| ≤ abs + rel · max|want|   (per tensor, elementwise)
 *
 * usage: test_refcases CVENE [CASE_ROOT...]   (run from tests/) */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "test_support.h"
#include "vn_json.h"
#include "vn_safetensors.h"

static const char *cvene_path;
static const char *roots[8] = {"data/ref", "data/cases"};
static int n_roots = 2;

typedef struct loaded {
    unsigned char *bytes;
    size_t size;
    vn_safetensors st;
} loaded;

static bool load_st(const char *path, vn_arena *arena, loaded *out, char *err) {
    if (!vn_host_read_file(path, &out->bytes, &out->size, err)) return false;
    if (vn_safetensors_open(&out->st, out->bytes, out->size, arena, err, VN_HOST_ERR) != VN_OK) {
        free(out->bytes);
        return false;
    }
    return true;
}

static const vn_json_value *load_json(const char *path, vn_arena *arena) {
    unsigned char *bytes;
    size_t size;
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_host_read_file(path, &bytes, &size, err), "%s", err);
    const vn_json_value *v;
    vn_status status = vn_json_parse(bytes, size, arena, &v, err, sizeof err);
    free(bytes);
    ck_assert_msg(status == VN_OK, "%s: %s", path, err);
    return v;
}

/* Runs cvene with argv in `dir`, output to `log`; returns the exit status. */
static int run_cvene(const char *dir, char **argv, const char *log) {
    fflush(stdout); /* or the child's copy of the buffer is written twice */
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        FILE *f = freopen(log, "w", stdout);
        if (!f || dup2(fileno(stdout), 2) < 0 || chdir(dir) != 0) _exit(127);
        execv(cvene_path, argv);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

static void show_log(const char *log) {
    FILE *f = fopen(log, "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) fprintf(stderr, "  | %s", line);
    if (f) fclose(f);
}

/* argv = [cvene, args from the JSON list..., extra..., NULL] */
static char **make_argv(const vn_json_value *args, char **extra, int n_extra) {
    size_t n = vn_json_length(args);
    char **argv = calloc(n + (size_t)n_extra + 2, sizeof *argv);
    argv[0] = (char *)cvene_path;
    for (size_t i = 0; i < n; i++) argv[1 + i] = (char *)vn_json_at(args, i)->string;
    for (int i = 0; i < n_extra; i++) argv[1 + n + (size_t)i] = extra[i];
    return argv;
}

/* The tolerance rule for a tensor name: exact key, "prefix.*", or "*". */
static bool tolerance_for(const vn_json_value *tol, const char *name, double *abs_tol, double *rel_tol) {
    const vn_json_value *rule = vn_json_get(tol, name);
    for (size_t k = 0; !rule && k < vn_json_length(tol); k++) {
        const vn_json_member *m = vn_json_member_at(tol, k);
        size_t n = strlen(m->key);
        if (n >= 2 && m->key[n - 1] == '*' && m->key[n - 2] == '.' && strncmp(name, m->key, n - 1) == 0) rule = m->value;
    }
    if (!rule) rule = vn_json_get(tol, "*");
    if (!rule) return false;
    *abs_tol = vn_json_get(rule, "abs")->number;
    *rel_tol = vn_json_get(rule, "rel")->number;
    return true;
}

/* Compares `count` values; returns the max |got − want| and asserts the rule. */
static double compare(const char *what, const char *name, const vn_real *got, const vn_real *want, size_t count,
                      double abs_tol, double rel_tol) {
    double scale = 0, worst = 0;
    for (size_t i = 0; i < count; i++) scale = fmax(scale, fabs((double)want[i]));
    double limit = abs_tol + rel_tol * scale;
    for (size_t i = 0; i < count; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        ck_assert_msg(d <= limit, "%s: %s[%zu] = %.9g, expected %.9g (|diff| %.3g > %.3g)", what, name, i,
                      (double)got[i], (double)want[i], d, limit);
        worst = fmax(worst, d);
    }
    return worst;
}

static vn_real *read_all(const vn_safetensors_entry *e) {
    vn_real *v = malloc((e->numel + 1) * sizeof *v);
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_safetensors_read_real(e, v, e->numel, err, sizeof err) == VN_OK, "%s", err);
    return v;
}

static void same_shape(const char *what, const vn_safetensors_entry *got, const vn_safetensors_entry *want) {
    ck_assert_msg(got->ndim == want->ndim, "%s: %s has %d dims, expected %d", what, want->name, got->ndim, want->ndim);
    for (int d = 0; d < want->ndim; d++)
        ck_assert_msg(got->shape[d] == want->shape[d], "%s: %s dim %d is %zu, expected %zu", what, want->name, d,
                      got->shape[d], want->shape[d]);
}

/* Every tensor of `expected` against `out` (extra output tensors are not
 * compared). Prints the worst logits and gradient errors. */
static void compare_files(const char *what, const loaded *out, const loaded *expected, const vn_json_value *tol,
                          const char *skip) {
    double worst_logits = 0, worst_grad = 0, worst_other = 0;
    for (size_t k = 0; k < expected->st.count; k++) {
        const vn_safetensors_entry *want = &expected->st.entries[k];
        if (skip && strcmp(want->name, skip) == 0) continue;
        const vn_safetensors_entry *got = vn_safetensors_find(&out->st, want->name);
        ck_assert_msg(got != NULL, "%s: no tensor %s in the output", what, want->name);
        same_shape(what, got, want);
        double abs_tol, rel_tol;
        ck_assert_msg(tolerance_for(tol, want->name, &abs_tol, &rel_tol), "%s: no tolerance for %s", what, want->name);
        vn_real *g = read_all(got), *w = read_all(want);
        double e = compare(what, want->name, g, w, want->numel, abs_tol, rel_tol);
        free(g);
        free(w);
        if (strstr(want->name, "logits")) worst_logits = fmax(worst_logits, e);
        else if (!strncmp(want->name, "grad.", 5)) worst_grad = fmax(worst_grad, e);
        else worst_other = fmax(worst_other, e);
    }
    printf("%-44s %s max |error|: logits %.2e, gradients %.2e, other %.2e\n", what, VN_REAL_NAME, worst_logits,
           worst_grad, worst_other);
}

static void check_eval(const char *case_dir, const vn_json_value *c, const char *tmp, vn_arena *arena) {
    char out_path[1024], log[1024], err[VN_HOST_ERR];
    snprintf(out_path, sizeof out_path, "%s/out.safetensors", tmp);
    snprintf(log, sizeof log, "%s/eval.log", tmp);
    char *extra[2] = {"--out", out_path};
    char **argv = make_argv(vn_json_get(c, "args"), extra, 2);
    int status = run_cvene(case_dir, argv, log);
    free(argv);
    if (status != 0) show_log(log);
    ck_assert_msg(status == 0, "%s: cvene eval exited with %d", case_dir, status);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", case_dir, vn_json_get(c, "expected")->string);
    loaded out, expected;
    ck_assert_msg(load_st(out_path, arena, &out, err), "%s", err);
    ck_assert_msg(load_st(path, arena, &expected, err), "%s", err);
    compare_files(case_dir, &out, &expected, vn_json_get(c, "tolerance"), NULL);
    free(out.bytes);
    free(expected.bytes);
}

/* The loss column of the --log CSV ("step,loss,accuracy"). */
static size_t read_losses(const char *path, vn_real *losses, size_t max) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "no log %s", path);
    char line[256];
    ck_assert(fgets(line, sizeof line, f) != NULL);
    ck_assert_str_eq(line, "step,loss,accuracy\n");
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        unsigned long step;
        double loss, accuracy;
        ck_assert_int_eq(sscanf(line, "%lu,%lf,%lf", &step, &loss, &accuracy), 3);
        ck_assert_uint_eq(step, n + 1);
        ck_assert(accuracy >= 0 && accuracy <= 1);
        losses[n++] = (vn_real)loss;
    }
    fclose(f);
    return n;
}

static void check_align(const char *case_dir, const vn_json_value *c, const char *tmp, vn_arena *arena) {
    char out_dir[1024], csv[1024], log[1024], err[VN_HOST_ERR], what[1100];
    snprintf(out_dir, sizeof out_dir, "%s/trained", tmp);
    snprintf(csv, sizeof csv, "%s/log.csv", tmp);
    snprintf(log, sizeof log, "%s/align.log", tmp);
    char *extra[4] = {"--out", out_dir, "--log", csv};
    char **argv = make_argv(vn_json_get(c, "align_args"), extra, 4);
    int status = run_cvene(case_dir, argv, log);
    free(argv);
    if (status != 0) show_log(log);
    ck_assert_msg(status == 0, "%s: cvene align exited with %d", case_dir, status);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", case_dir, vn_json_get(c, "align_expected")->string);
    loaded trained, expected;
    snprintf(out_dir + strlen(out_dir), sizeof out_dir - strlen(out_dir), "/interventions.safetensors");
    ck_assert_msg(load_st(out_dir, arena, &trained, err), "%s", err);
    ck_assert_msg(load_st(path, arena, &expected, err), "%s", err);
    const vn_json_value *tol = vn_json_get(c, "align_tolerance");
    const vn_safetensors_entry *want = vn_safetensors_find(&expected.st, "losses");
    ck_assert_ptr_nonnull(want);
    vn_real losses[4096];
    size_t n = read_losses(csv, losses, 4096);
    ck_assert_uint_eq(n, want->numel);
    vn_real *w = read_all(want);
    double abs_tol, rel_tol;
    ck_assert(tolerance_for(tol, "losses", &abs_tol, &rel_tol));
    snprintf(what, sizeof what, "%s (align)", case_dir);
    double e = compare(what, "losses", losses, w, n, abs_tol, rel_tol);
    free(w);
    printf("%-44s %s max |error|: losses %.2e\n", what, VN_REAL_NAME, e);
    compare_files(what, &trained, &expected, tol, "losses");
    free(trained.bytes);
    free(expected.bytes);
}

static void check_case(const char *case_dir) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    char path[1024], tmp[] = "/tmp/cvene_refcase_XXXXXX";
    snprintf(path, sizeof path, "%s/case.json", case_dir);
    const vn_json_value *c = load_json(path, &arena);
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    check_eval(case_dir, c, tmp, &arena);
    if (vn_json_get(c, "align_args")) check_align(case_dir, c, tmp, &arena);
    char rm[1200];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(rm), 0);
    vn_arena_release(&arena);
}

/* One test per case directory, found at run time. */
static char case_dirs[64][512];
static int n_cases;

START_TEST(reference_case) {
    check_case(case_dirs[_i]);
}
END_TEST

START_TEST(every_root_has_cases) {
    int per_root[8] = {0};
    for (int r = 0; r < n_roots; r++)
        for (int k = 0; k < n_cases; k++) per_root[r] += strncmp(case_dirs[k], roots[r], strlen(roots[r])) == 0;
    ck_assert_int_ge(per_root[0], 11); /* data/ref */
    if (n_roots > 1) ck_assert_int_ge(per_root[1], 13); /* data/cases */
}
END_TEST

/* ---- the command line's other paths ------------------------------------------------- */

static bool file_contains(const char *path, const char *text) {
    unsigned char *bytes;
    size_t size;
    char err[VN_HOST_ERR];
    if (!vn_host_read_file(path, &bytes, &size, err)) return false;
    char *copy = malloc(size + 1);
    memcpy(copy, bytes, size);
    copy[size] = '\0';
    bool found = strstr(copy, text) != NULL;
    free(copy);
    free(bytes);
    return found;
}

static bool same_bytes(const char *a, const char *b) {
    unsigned char *x, *y;
    size_t nx, ny;
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_host_read_file(a, &x, &nx, err), "%s", err);
    ck_assert_msg(vn_host_read_file(b, &y, &ny, err), "%s", err);
    bool same = nx == ny && memcmp(x, y, nx) == 0;
    free(x);
    free(y);
    return same;
}

/* Runs `cvene ARGS...` (NULL-terminated) in dir; checks the exit status and
 * that the output contains `text` (when given). */
static void expect_run(const char *dir, int want_status, const char *text, const char *log, ...) {
    char *argv[32];
    int n = 0;
    argv[n++] = (char *)cvene_path;
    va_list args;
    va_start(args, log);
    for (char *a; n < 31 && (a = va_arg(args, char *)) != NULL;) argv[n++] = a;
    va_end(args);
    argv[n] = NULL;
    int status = run_cvene(dir, argv, log);
    if (status != want_status || (text && !file_contains(log, text))) show_log(log);
    ck_assert_msg(status == want_status, "cvene %s %s: exit status %d, expected %d", argv[1], argv[2] ? argv[2] : "",
                  status, want_status);
    if (text) ck_assert_msg(file_contains(log, text), "cvene %s: output lacks \"%s\"", argv[1], text);
}

START_TEST(command_line_paths) {
    char tmp[] = "/tmp/cvene_cli_XXXXXX", log[256], out[256], a[256], b[256], c[256], csv[256], garbage[256];
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(log, sizeof log, "%s/log.txt", tmp);
    snprintf(out, sizeof out, "%s/out.safetensors", tmp);
    snprintf(a, sizeof a, "%s/a", tmp);
    snprintf(b, sizeof b, "%s/b", tmp);
    snprintf(c, sizeof c, "%s/c", tmp);
    snprintf(csv, sizeof csv, "%s/log.csv", tmp);
    snprintf(garbage, sizeof garbage, "%s/garbage.safetensors", tmp);
    FILE *f = fopen(garbage, "w");
    fputs("not a safetensors file", f);
    fclose(f);
    const char *sub0 = "data/ref/a_rotated_h32_sub0", *align = "data/ref/align_sgd_matrix_exp_h32";
    expect_run(".", 0, "usage: cvene eval", log, "eval", "--help", NULL);
    expect_run(".", 0, "example:", log, "align", "--help", NULL);
    expect_run(".", 2, "--model and --data are required", log, "eval", NULL);
    expect_run(".", 2, "unknown argument '--frobnicate'", log, "eval", "--frobnicate", NULL);
    expect_run(".", 2, "--optimizer must be sgd, adam or adamw", log, "align", "--optimizer", "lbfgs", NULL);
    expect_run(".", 2, "give --steps or --epochs, not both", log, "align", "--model", "m", "--intervention", "i",
               "--data", "d", "--out", "o", "--steps", "1", "--epochs", "1", NULL);
    expect_run(sub0, 1, "cannot open /nonexistent/config.json", log, "eval", "--model", "/nonexistent", "--data",
               "data.safetensors", NULL);
    expect_run(sub0, 1, "data file:", log, "eval", "--model", "model", "--intervention", "intervention", "--data",
               garbage, NULL);
    expect_run(sub0, 1, "has no labels", log, "align", "--model", "model", "--intervention", "intervention", "--data",
               "data.safetensors", "--out", a, NULL);
    expect_run(sub0, 1, "--temperature: no representation has a temperature", log, "align", "--model", "model",
               "--intervention", "intervention", "--data", "data.safetensors", "--out", a, "--temperature", "5:1", NULL);
    /* the model alone: base logits and the model's gradients */
    expect_run(sub0, 0, "accuracy", log, "eval", "--model", "model", "--data",
               "../align_sgd_matrix_exp_h32/data.safetensors", NULL);
    expect_run(sub0, 0, NULL, log, "eval", "--model", "model", "--data", "data.safetensors", "--grad", "--out", out, NULL);
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    loaded result;
    char err[VN_HOST_ERR];
    ck_assert_msg(load_st(out, &arena, &result, err), "%s", err);
    ck_assert_ptr_nonnull(vn_safetensors_find(&result.st, "base_logits"));
    ck_assert_ptr_null(vn_safetensors_find(&result.st, "counterfactual_logits"));
    ck_assert_ptr_nonnull(vn_safetensors_find(&result.st, "grad.score.weight"));
    free(result.bytes);
    vn_arena_release(&arena);
    /* shuffled training is reproducible from its seed; epochs count batches */
    expect_run(align, 0, NULL, log, "align", "--model", "model", "--intervention", "intervention", "--data",
               "data.safetensors", "--batch-size", "8", "--shuffle", "--seed", "3", "--epochs", "2", "--out", a, "--log",
               csv, NULL);
    ck_assert(file_contains(csv, "\n6,") && !file_contains(csv, "\n7,")); /* 20 examples: 3 batches per epoch */
    expect_run(align, 0, NULL, log, "align", "--model", "model", "--intervention", "intervention", "--data",
               "data.safetensors", "--batch-size", "8", "--shuffle", "--seed", "3", "--epochs", "2", "--out", b, NULL);
    expect_run(align, 0, "allocator calls after step 1: 0", log, "align", "--model", "model", "--intervention",
               "intervention", "--data", "data.safetensors", "--batch-size", "8", "--shuffle", "--seed", "4",
               "--epochs", "2", "--out", c, NULL);
    char fa[300], fb[300], fc[300];
    snprintf(fa, sizeof fa, "%s/interventions.safetensors", a);
    snprintf(fb, sizeof fb, "%s/interventions.safetensors", b);
    snprintf(fc, sizeof fc, "%s/interventions.safetensors", c);
    ck_assert(same_bytes(fa, fb));
    ck_assert(!same_bytes(fa, fc));
    /* a trained directory resumes: eval reads it back */
    expect_run(align, 0, "IIA", log, "eval", "--model", "model", "--intervention", a, "--data", "data.safetensors", NULL);
    char rm[300];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(rm), 0);
}
END_TEST

static int by_name(const void *a, const void *b) { return strcmp(a, b); }

static void find_cases(void) {
    for (int r = 0; r < n_roots; r++) {
        DIR *dir = opendir(roots[r]);
        if (!dir) continue;
        struct dirent *de;
        while ((de = readdir(dir)) != NULL && n_cases < 64) {
            char probe[1024];
            snprintf(probe, sizeof probe, "%s/%s/case.json", roots[r], de->d_name);
            struct stat st;
            if (de->d_name[0] == '.' || stat(probe, &st) != 0) continue;
            snprintf(case_dirs[n_cases++], sizeof case_dirs[0], "%s/%s", roots[r], de->d_name);
        }
        closedir(dir);
    }
    qsort(case_dirs, (size_t)n_cases, sizeof case_dirs[0], by_name);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: test_refcases CVENE [CASE_ROOT...]\n");
        return 2;
    }
    cvene_path = argv[1];
    if (argc > 2) {
        n_roots = 0;
        for (int i = 2; i < argc && n_roots < 8; i++) roots[n_roots++] = argv[i];
    }
    find_cases();
    Suite *s = suite_create("refcases");
    TCase *tc = test_case(s, "cases", NULL, NULL, 120);
    tcase_add_loop_test(tc, reference_case, 0, n_cases);
    tcase_add_test(tc, every_root_has_cases);
    tcase_add_test(tc, command_line_paths);
    return test_run(s);
}
