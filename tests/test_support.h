/* test_support.h — what the Check suites share: the fixture's arena and
 * context, CHECK_CTX, every gradcheck case of an op, temporary
 * directories (make_tmpdir, remove_tree, assert_no_temporaries), reading
 * and writing files, running a command in-process with its output sent
 * to a file (run_quiet), PyTorch reference files (ref_file) and a suite's
 * test cases and run (test_case, test_run). */
#ifndef CVENE_TEST_SUPPORT_H
#define CVENE_TEST_SUPPORT_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "host.h"
#include "vn_gradcheck.h"
#include "vn_graph.h"
#include "vn_safetensors.h"

/* ---- the fixture ---------------------------------------------------------------------------- */

/* The arena and context a test case's fixture sets up for each test. */
extern vn_arena arena;
extern vn_context ctx;

/* A fresh host arena and a context on it. */
void fixture_setup(void);
/* The same, with the intervention ops (and the rotations) registered. */
void fixture_setup_iv(void);
/* Releases the arena. */
void fixture_teardown(void);

/* Asserts `expr`, naming the context's error when it fails. */
#define CHECK_CTX(expr)                                                                          \
    ck_assert_msg((expr), "%s failed: %s (%s)", #expr, vn_context_message(&ctx),                \
                  vn_status_string(vn_context_status(&ctx)))

/* Runs every gradcheck case of `op` (vn_gradcheck_case with index 0, 1, …
 * until one is not built) in the fixture's context, rewinding it after
 * each; each case must build, check some elements and find none off.
 * Returns the number of cases. */
int gradcheck_op_cases(const vn_op *op, const vn_gradcheck_options *options);

/* ---- suites --------------------------------------------------------------------------------- */

/* A test case `name`, added to `s`, with the fixture `setup`/`teardown`
 * (run around each test; none when both are NULL) and, when `timeout` is
 * above 0, that limit in seconds. */
TCase *test_case(Suite *s, const char *name, void (*setup)(void), void (*teardown)(void), double timeout);

/* Runs every test of `s` and frees it: EXIT_SUCCESS when none failed. */
int test_run(Suite *s);

/* ---- files and directories ------------------------------------------------------------------ */

/* Makes a new directory /tmp/cvene-test-<name>-XXXXXX; its path goes to
 * path[0..size). */
void make_tmpdir(char *path, size_t size, const char *name);

/* Removes `path`: a file, or a directory with everything under it
 * (symbolic links are removed, not followed). */
void remove_tree(const char *path);

/* Fails when any file under the directory `path` is a leftover temporary
 * file (a name holding ".tmp"). */
void assert_no_temporaries(const char *path);

/* A whole file, NUL-terminated (malloc'd; the caller frees); its size
 * without the NUL goes to *size unless size is NULL. */
char *read_text(const char *path, size_t *size);

/* Whether files `a` and `b` hold the same bytes (both must be there). */
bool same_file(const char *a, const char *b);
/* Fails, naming both, unless they do. */
void assert_same_file(const char *a, const char *b);

/* Writes the data file of `cvene train --data` to `path`: "base", rows
 * (batch × width, stored as F32), and "labels". */
void write_data_file(const char *path, vn_real *rows, const int64_t *labels, size_t batch, size_t width);

/* Runs cmd(argc, argv) with stdout and stderr sent to `capture` (a file
 * path, or NULL for /dev/null); returns its exit status. */
int run_argv(int (*cmd)(int, char **), const char *capture, int argc, char **argv);

/* The same with the arguments listed, up to NULL (at most 63). */
int run_quiet(int (*cmd)(int, char **), const char *capture, ...);

/* ---- PyTorch reference files ---------------------------------------------------------------- */

/* A safetensors file of reference values, opened whole. */
typedef struct ref_file {
    char path[256];
    unsigned char *bytes;
    size_t size;
    vn_arena arena;
    vn_safetensors st;
} ref_file;

/* Opens <dir>/<name>.safetensors. */
void ref_open(ref_file *r, const char *dir, const char *name);
void ref_close(ref_file *r);
/* The tensor `name`, which must be there. */
const vn_safetensors_entry *ref_entry(const ref_file *r, const char *name);
/* Reads tensor `name` into out[0..n) (n must be its element count). */
void ref_read(const ref_file *r, const char *name, vn_real *out, size_t n);
/* The metadata value of `key`, which must be there. */
const char *ref_meta(const ref_file *r, const char *key);

#endif
