/* test_support.c — what the Check suites share (test_support.h). */
#define _POSIX_C_SOURCE 200809L
#include "test_support.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vn_iv_types.h"

/* ---- the fixture ---------------------------------------------------------------------------- */

vn_arena arena;
vn_context ctx;

void fixture_setup(void) {
    vn_host_arena(&arena, NULL);
    vn_context_init(&ctx, &arena);
}

void fixture_setup_iv(void) {
    fixture_setup();
    ck_assert_int_eq(vn_iv_register_ops(), VN_OK);
}

void fixture_teardown(void) { vn_arena_release(&arena); }

int gradcheck_op_cases(const vn_op *op, const vn_gradcheck_options *options) {
    int cases = 0;
    for (int index = 0;; index++) {
        vn_context_mark mark = vn_context_mark_get(&ctx);
        vn_gradcheck_result result;
        vn_node *node;
        bool built;
        vn_status status = vn_gradcheck_case(&ctx, op, index, options, &result, &node, &built);
        ck_assert_msg(status == VN_OK, "%s case %d: %s", op->name, index, vn_context_message(&ctx));
        if (!built) break;
        cases++;
        ck_assert_msg(result.checked > 0, "%s case %d checked nothing", op->name, index);
        ck_assert_msg(result.failed == 0,
                      "%s case %d: %zu of %zu elements off; worst input %d[%zu]: analytic %.9g numeric %.9g",
                      op->name, index, result.failed, result.checked, result.worst_input, result.worst_index,
                      result.worst_analytic, result.worst_numeric);
        vn_context_rewind(&ctx, mark);
    }
    return cases;
}

/* ---- suites --------------------------------------------------------------------------------- */

TCase *test_case(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void), double timeout) {
    TCase *tc = tcase_create(name);
    if (setup || teardown) tcase_add_checked_fixture(tc, setup, teardown);
    if (timeout > 0) tcase_set_timeout(tc, timeout);
    suite_add_tcase(s, tc);
    return tc;
}

int test_run(Suite *s) {
    SRunner *runner = srunner_create(s);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* ---- files and directories ------------------------------------------------------------------ */

void make_tmpdir(char *path, size_t size, const char *name) {
    int n = snprintf(path, size, "/tmp/cvene-test-%s-XXXXXX", name);
    ck_assert_msg(n > 0 && (size_t)n < size, "no room for the temporary directory of %s", name);
    ck_assert_ptr_nonnull(mkdtemp(path));
}

void remove_tree(const char *path) {
    struct stat st;
    if (lstat(path, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        closedir(d);
    }
    rmdir(path);
}

void assert_no_temporaries(const char *path) {
    DIR *d = opendir(path);
    ck_assert_msg(d != NULL, "cannot open %s", path);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        ck_assert_msg(strstr(e->d_name, ".tmp") == NULL, "temporary file left: %s/%s", path, e->d_name);
        char sub[4096];
        struct stat st;
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode)) assert_no_temporaries(sub);
    }
    closedir(d);
}

char *read_text(const char *path, size_t *size) {
    unsigned char *data;
    size_t n;
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_host_read_file(path, &data, &n, err), "%s", err);
    char *text = realloc(data, n + 1);
    ck_assert_ptr_nonnull(text);
    text[n] = '\0';
    if (size) *size = n;
    return text;
}

bool same_file(const char *a, const char *b) {
    size_t na, nb;
    char *x = read_text(a, &na), *y = read_text(b, &nb);
    bool same = na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

void assert_same_file(const char *a, const char *b) { ck_assert_msg(same_file(a, b), "%s and %s differ", a, b); }

void write_data_file(const char *path, vn_real *rows, const int64_t *labels, size_t batch, size_t width) {
    size_t shape[2] = {batch, width}, lshape[1] = {batch};
    vn_tensor t;
    ck_assert_int_eq(vn_tensor_wrap(&t, rows, 2, shape), VN_OK);
    vn_safetensors_item items[2] = {vn_safetensors_item_real("base", &t, VN_ST_F32),
                                    vn_safetensors_item_int64("labels", labels, 1, lshape)};
    vn_host_buffer buffer = {0};
    char err[VN_HOST_ERR];
    vn_status status = vn_safetensors_write(vn_host_buffer_write, &buffer, items, 2, NULL, 0, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s: %s", path, err);
    bool written = vn_host_write_file_atomic(path, buffer.data, buffer.size, err);
    vn_host_buffer_free(&buffer);
    ck_assert_msg(written, "%s", err);
}

int run_argv(int (*cmd)(int, char **), const char *capture, int argc, char **argv) {
    fflush(stdout);
    fflush(stderr);
    int saved_out = dup(1), saved_err = dup(2);
    int fd = open(capture ? capture : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert(fd >= 0 && saved_out >= 0 && saved_err >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    int status = cmd(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(fd);
    close(saved_out);
    close(saved_err);
    return status;
}

int run_quiet(int (*cmd)(int, char **), const char *capture, ...) {
    char *argv[64];
    int argc = 0;
    va_list args;
    va_start(args, capture);
    for (const char *a; argc < 63 && (a = va_arg(args, const char *));) argv[argc++] = (char *)a;
    va_end(args);
    argv[argc] = NULL;
    return run_argv(cmd, capture, argc, argv);
}

/* ---- PyTorch reference files ---------------------------------------------------------------- */

void ref_open(ref_file *r, const char *dir, const char *name) {
    char err[VN_HOST_ERR];
    snprintf(r->path, sizeof r->path, "%s/%s.safetensors", dir, name);
    ck_assert_msg(vn_host_read_file(r->path, &r->bytes, &r->size, err), "%s", err);
    vn_host_arena(&r->arena, NULL);
    vn_status status = vn_safetensors_open(&r->st, r->bytes, r->size, &r->arena, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s: %s", r->path, err);
}

void ref_close(ref_file *r) {
    free(r->bytes);
    vn_arena_release(&r->arena);
}

const vn_safetensors_entry *ref_entry(const ref_file *r, const char *name) {
    const vn_safetensors_entry *e = vn_safetensors_find(&r->st, name);
    ck_assert_msg(e != NULL, "%s has no tensor %s", r->path, name);
    return e;
}

void ref_read(const ref_file *r, const char *name, vn_real *out, size_t n) {
    char err[256];
    vn_status status = vn_safetensors_read_real(ref_entry(r, name), out, n, err, sizeof err);
    ck_assert_msg(status == VN_OK, "%s: %s", r->path, err);
}

const char *ref_meta(const ref_file *r, const char *key) {
    const char *value = vn_safetensors_metadata_get(&r->st, key);
    ck_assert_msg(value != NULL, "%s has no metadata %s", r->path, key);
    return value;
}
