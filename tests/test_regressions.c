/* test_regressions.c — one test per finding of the fuzzers (tests/fuzz)
 * and of the review of every reader for sizes, offsets and counts that the
 * input decides (README.md, "Reliability"). Each test names the input that
 * used to misbehave and checks the behaviour the contract asks for. The
 * inputs that came from a fuzzer are also kept as files under
 * tests/fuzz/regressions/<target>/, which the fuzz-replay tests run. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "test_support.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_json.h"
#include "vn_model_dir.h"
#include "vn_ops.h"
#include "vn_safetensors.h"

#define ERR 512

/* A writer that appends to a string (for warnings). */
typedef struct text {
    char buf[1024];
    size_t n;
} text;

static int text_write(void *user, const char *bytes, size_t length) {
    text *t = user;
    for (size_t i = 0; i < length && t->n + 1 < sizeof t->buf; i++) t->buf[t->n++] = bytes[i];
    t->buf[t->n] = '\0';
    return 0;
}

/* A safetensors file from a raw JSON header and `data_size` zero bytes of
 * data (malloc'd; the caller frees). */
static unsigned char *raw_file(const char *header, size_t data_size, size_t *size) {
    size_t hlen = strlen(header);
    *size = 8 + hlen + data_size;
    unsigned char *file = calloc(1, *size);
    ck_assert_ptr_nonnull(file);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(file + 8, header, hlen);
    return file;
}

/* The seed tutorial's model and intervention (tests/data/ref/seed_rotated_h32),
 * loaded with the calls `cvene eval` makes. */
#define SEED_CASE "data/ref/seed_rotated_h32"
typedef struct seed_case {
    vn_mlp mlp;
    vn_iv_config config;
    vn_iv_model model;
} seed_case;

static void read_case_file(const char *name, unsigned char **data, size_t *size) {
    char path[256], err[VN_HOST_ERR];
    snprintf(path, sizeof path, "%s/%s", SEED_CASE, name);
    ck_assert_msg(vn_host_read_file(path, data, size, err), "%s", err);
}

static void load_seed_case(seed_case *c) {
    unsigned char *bytes;
    size_t size;
    char err[ERR];
    vn_mlp_config mc;
    read_case_file("model/config.json", &bytes, &size);
    ck_assert_int_eq(vn_model_config_parse(bytes, size, &arena, &mc, NULL, NULL, err, sizeof err), VN_OK);
    free(bytes);
    ck_assert_int_eq(vn_mlp_init(&c->mlp, &ctx, &mc, NULL), VN_OK);
    read_case_file("model/model.safetensors", &bytes, &size);
    ck_assert_int_eq(vn_model_load_params(&c->mlp, bytes, size, &arena, err, sizeof err), VN_OK);
    free(bytes);
    read_case_file("intervention/config.json", &bytes, &size);
    ck_assert_int_eq(vn_iv_config_parse(bytes, size, &arena, &c->config, NULL, NULL, err, sizeof err), VN_OK);
    free(bytes);
    ck_assert_int_eq(vn_iv_model_init(&c->model, &ctx, &c->mlp, &c->config, NULL), VN_OK);
}

/* vn_iv_data_parse of a raw file for the seed case; the message in err. */
static vn_status parse_data(seed_case *c, const char *header, size_t data_size, char *err) {
    size_t size;
    unsigned char *file = raw_file(header, data_size, &size);
    vn_iv_batch batch;
    vn_status status = vn_iv_data_parse(file, size, &c->model, 32, 2, &arena, &batch, err, ERR);
    free(file);
    return status;
}

/* ======================================================================== */
/* Model directory (nn/vn_model_dir.c)                                      */
/* ======================================================================== */

/* A key that equals a field's name up to an escaped NUL ("h_dim\u0000")
 * is not that field: it used to be read as h_dim (vn_strcmp stops at the
 * NUL), silently overriding the real one. Now it is an unknown key, ignored
 * with a warning. */
START_TEST(test_model_config_key_with_nul) {
    static const char json[] = "{\"h_dim\": 4, \"h_dim\\u0000\": 8, \"n_layer\": 1}";
    vn_mlp_config c;
    char err[ERR];
    text warnings = {{0}, 0};
    ck_assert_int_eq(vn_model_config_parse(json, strlen(json), &arena, &c, text_write, &warnings, err, sizeof err),
                     VN_OK);
    ck_assert_int_eq(c.h_dim, 4);
    ck_assert_msg(strstr(warnings.buf, "unknown key") != NULL, "no warning: \"%s\"", warnings.buf);
}
END_TEST

/* A tensor whose name is a parameter's name plus "\u0000..." is not that
 * parameter: it used to pass the "is a parameter" check and then be
 * ignored. Now it is the error for a tensor the model does not have. */
START_TEST(test_model_weights_name_with_nul) {
    vn_mlp_config c = vn_mlp_config_default();
    c.h_dim = 2;
    c.n_layer = 0;
    c.num_classes = 2;
    vn_mlp mlp;
    ck_assert_int_eq(vn_mlp_init(&mlp, &ctx, &c, NULL), VN_OK);
    /* The model's own file, then the same header with one more tensor
     * named "score.bias\u0000x" (spelled with the escape in the JSON). */
    vn_host_buffer good = {0};
    char err[ERR];
    ck_assert_int_eq(vn_model_save_params(&mlp, &arena, vn_host_buffer_write, &good, err, sizeof err), VN_OK);
    ck_assert_int_eq(vn_model_load_params(&mlp, good.data, good.size, &arena, err, sizeof err), VN_OK);
    static const char header[] =
        "{\"score.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]},"
        "\"score.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]},"
        "\"score.bias\\u0000x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}";
    size_t hlen = strlen(header), size = 8 + hlen + 32;
    unsigned char *file = calloc(1, size);
    ck_assert_ptr_nonnull(file);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(file + 8, header, hlen);
    vn_status status = vn_model_load_params(&mlp, file, size, &arena, err, sizeof err);
    ck_assert_int_eq(status, VN_EFORMAT);
    ck_assert_msg(strstr(err, "not a parameter") != NULL, "message: %s", err);
    free(file);
    vn_host_buffer_free(&good);
}
END_TEST

/* ======================================================================== */
/* Data files and intervention directories (intervene/)                     */
/* ======================================================================== */

/* Labels and active flags stored as F32/F64 must be whole numbers in range.
 * NaN, infinities and values beyond int64 were converted with a C cast
 * (intervene/vn_iv_io.c, read_ints), which is undefined behaviour:
 * clang's UBSan (float-cast-overflow, part of -fsanitize=undefined there,
 * not in gcc's) stopped on it; on x86 the cast happens to give INT64_MIN,
 * so a gcc build reported an error by accident. The values are now checked
 * before the cast, and the message says what is wrong with them. */
/* vn_iv_data_parse for the seed case of a file with base, source 0 and the
 * tensor `tensor` (a header entry: F32, shape [1], data at [256,260])
 * holding v; the batch in *batch, the message in err. */
static vn_status parse_float_tensor(seed_case *c, const char *tensor, float v, vn_iv_batch *batch, char *err) {
    char header[512];
    snprintf(header, sizeof header,
             "{\"base\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[0,128]},"
             "\"source.0\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[128,256]},%s}",
             tensor);
    size_t size;
    unsigned char *file = raw_file(header, 260, &size);
    memcpy(file + size - 4, &v, 4);
    vn_status status = vn_iv_data_parse(file, size, &c->model, 32, 2, &arena, batch, err, ERR);
    free(file);
    return status;
}

START_TEST(test_data_float_labels) {
    seed_case c;
    load_seed_case(&c);
    static const float bad[] = {0.5f, 1e30f, -1e30f, 9.3e18f, -9.3e18f, -0.5f};
    const size_t n_bad = sizeof bad / sizeof bad[0];
    static const char *const tensors[2][2] = {
        {"labels", "\"labels\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[256,260]}"},
        {"active.0", "\"active.0\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[256,260]}"}};
    char err[ERR];
    for (size_t t = 0; t < 2; t++) {
        for (size_t i = 0; i < n_bad + 3; i++) {
            float v = i < n_bad ? bad[i] : i == n_bad ? (float)NAN : i == n_bad + 1 ? (float)INFINITY : -(float)INFINITY;
            vn_iv_batch batch;
            err[0] = '\0';
            vn_status status = parse_float_tensor(&c, tensors[t][1], v, &batch, err);
            ck_assert_msg(status == VN_EFORMAT, "%s = %g: status %d (%s)", tensors[t][0], (double)v, status, err);
            ck_assert_msg(strstr(err, tensors[t][0]) && (strstr(err, "not an integer") || strstr(err, "outside")),
                          "%s = %g: %s", tensors[t][0], (double)v, err);
        }
        /* Whole numbers in range are still read. */
        vn_iv_batch batch;
        vn_status status = parse_float_tensor(&c, tensors[t][1], 1, &batch, err);
        ck_assert_msg(status == VN_OK, "%s = 1: %s", tensors[t][0], err);
        ck_assert(t == 0 ? batch.labels[0] == 1 : batch.active[0][0] == 1);
    }
}
END_TEST

/* intervene/vn_iv_io.c (parse_data) compared names with vn_strcmp /
 * vn_strncmp, which stop at a NUL: a tensor named "labels\u0000x" or
 * "source.0\u0000x" was read as labels or source 0. The format says
 * unknown tensors are errors. */
START_TEST(test_data_tensor_name_with_nul) {
    seed_case c;
    load_seed_case(&c);
    char err[ERR];
    vn_status status = parse_data(&c,
        "{\"base\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[0,128]},"
        "\"labels\\u0000x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[128,136]}}", 136, err);
    ck_assert_msg(status == VN_EFORMAT && strstr(err, "unknown tensor"), "labels\\u0000x: %d %s", status, err);
    status = parse_data(&c,
        "{\"base\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[0,128]},"
        "\"source.0\\u0000x\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[128,256]}}", 256, err);
    ck_assert_msg(status == VN_EFORMAT && strstr(err, "unknown tensor"), "source.0\\u0000x: %d %s", status, err);
    status = parse_data(&c,
        "{\"base\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[0,128]},"
        "\"active.0\\u0000\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[128,136]}}", 136, err);
    ck_assert_msg(status == VN_EFORMAT && strstr(err, "unknown tensor"), "active.0\\u0000: %d %s", status, err);
}
END_TEST

/* intervene/vn_iv_io.c (parse_json_meta) parsed vn_strlen(text) bytes of
 * a metadata value: a value with an escaped NUL, "[[[0]]]\u0000 anything",
 * was read as "[[[0]]]", ignoring the rest. The whole value is parsed now. */
START_TEST(test_data_metadata_with_nul) {
    seed_case c;
    load_seed_case(&c);
    char err[ERR];
    vn_status status = parse_data(&c,
        "{\"__metadata__\":{\"subspaces\":\"[[[0]]]\\u0000 anything\"},"
        "\"base\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[0,128]},"
        "\"source.0\":{\"dtype\":\"F32\",\"shape\":[1,1,32],\"data_offsets\":[128,256]}}", 256, err);
    ck_assert_msg(status == VN_EFORMAT, "subspaces with a NUL inside accepted");
    ck_assert_msg(strstr(err, "subspaces") != NULL, "message: %s", err);
}
END_TEST

/* intervene/vn_iv_io.c (check_names) compared with vn_strncmp /
 * vn_strcmp: "<key>.rotate_layer.weight\u0000x" in interventions.safetensors
 * used to count as the key's rotation and then be ignored; it is an
 * unknown tensor. */
START_TEST(test_iv_tensor_name_with_nul) {
    seed_case c;
    load_seed_case(&c);
    unsigned char *bytes;
    size_t size;
    read_case_file("intervention/interventions.safetensors", &bytes, &size);
    ck_assert_int_eq(vn_iv_load_tensors(&c.model, &ctx, bytes, size), VN_OK);
    /* The same file with one more (empty) tensor named <key>.rotate_layer.weight\u0000x. */
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | bytes[i];
    const char *key = c.model.units[0].key;
    char extra[512];
    snprintf(extra, sizeof extra, ",\"%s.rotate_layer.weight\\u0000x\":{\"dtype\":\"F32\",\"shape\":[0],"
             "\"data_offsets\":[%zu,%zu]}}", key, size - 8 - (size_t)hlen, size - 8 - (size_t)hlen);
    size_t json_end = 8 + (size_t)hlen;
    while (bytes[json_end - 1] == ' ') json_end--;
    ck_assert_int_eq(bytes[json_end - 1], '}');
    size_t new_hlen = json_end - 1 - 8 + strlen(extra), data_size = size - 8 - (size_t)hlen;
    unsigned char *file = malloc(8 + new_hlen + data_size);
    ck_assert_ptr_nonnull(file);
    for (int i = 0; i < 8; i++) file[i] = (unsigned char)((uint64_t)new_hlen >> (8 * i));
    memcpy(file + 8, bytes + 8, json_end - 1 - 8);
    memcpy(file + json_end - 1, extra, strlen(extra));
    memcpy(file + 8 + new_hlen, bytes + 8 + hlen, data_size);
    vn_status status = vn_iv_load_tensors(&c.model, &ctx, file, 8 + new_hlen + data_size);
    ck_assert_msg(status == VN_EFORMAT && strstr(vn_context_message(&ctx), "unknown tensor"),
                  "a tensor name with a NUL inside: %d %s", status, vn_context_message(&ctx));
    vn_context_clear_error(&ctx);
    free(file);
    free(bytes);
}
END_TEST

/* intervene/vn_iv_config.c (read_representation) matched field names with
 * vn_strcmp: "layer\u0000" is not "layer". It used to set the layer (here
 * to 5, out of the model's range). The same for the top-level keys. */
START_TEST(test_iv_config_key_with_nul) {
    static const char json[] = "{\"representations\": [{\"layer\": 0, \"layer\\u0000\": 5}],"
                               " \"intervention_types\": \"VanillaIntervention\"}";
    vn_iv_config config;
    char err[ERR];
    text warnings = {{0}, 0};
    ck_assert_int_eq(vn_iv_config_parse(json, strlen(json), &arena, &config, text_write, &warnings, err, sizeof err),
                     VN_OK);
    ck_assert_int_eq(config.representations[0].layer, 0);
    ck_assert_msg(strstr(warnings.buf, "unknown key \"layer\\u0000...\"") != NULL, "no warning: \"%s\"",
                  warnings.buf);
    /* A top-level "representations\u0000" neither replaces nor counts as "representations". */
    static const char top[] = "{\"representations\": [{\"layer\": 0}], \"representations\\u0000\": 5,"
                              " \"intervention_types\": \"VanillaIntervention\"}";
    warnings.n = 0;
    warnings.buf[0] = '\0';
    ck_assert_int_eq(vn_iv_config_parse(top, strlen(top), &arena, &config, text_write, &warnings, err, sizeof err),
                     VN_OK);
    ck_assert_msg(strstr(warnings.buf, "unknown key \"representations\\u0000...\"") != NULL, "no warning: \"%s\"",
                  warnings.buf);
}
END_TEST

/* intervene/vn_iv_io.c (load_rotation) returned after
 * vn_iv_rotation_set_state without looking at the rotation it defines:
 * found by fuzz_safetensors (tests/fuzz/regressions/safetensors/
 * nonfinite-rotation). A parametrisation of finite values whose rotation
 * is not finite (original with entries near FLT_MAX: matrix_exp overflows)
 * was accepted; the forward pass then gave NaN logits, and saving the
 * intervention wrote a NaN rotate_layer.weight that cvene itself refuses to
 * load. The reader rejects it with VN_ENAN and a message naming the
 * parametrisation tensor. */
START_TEST(test_iv_parametrisation_nonfinite) {
    seed_case c;
    load_seed_case(&c);
    size_t n = 32, shape[2] = {32, 32};
    vn_real *original = calloc(n * n, sizeof *original), *base = calloc(n * n, sizeof *base);
    ck_assert(original && base);
    for (size_t i = 0; i < n; i++) {
        original[i * n + i] = -1;
        base[i * n + i] = 1;
    }
    /* Strictly below the diagonal (the map reads only those). The values
     * are ones whose matrix_exp overflows in each build. */
#ifdef VN_REAL_DOUBLE
    original[1 * n + 0] = DBL_MAX;
#else
    original[1 * n + 0] = 3e38f;
#endif
    vn_tensor to, tb;
    ck_assert_int_eq(vn_tensor_wrap(&to, original, 2, shape), VN_OK);
    ck_assert_int_eq(vn_tensor_wrap(&tb, base, 2, shape), VN_OK);
    char names[2][160];
    snprintf(names[0], sizeof names[0], "%s.rotate_layer.parametrizations.weight.original", c.model.units[0].key);
    snprintf(names[1], sizeof names[1], "%s.rotate_layer.parametrizations.weight.0.base", c.model.units[0].key);
    vn_safetensors_item items[2] = {vn_safetensors_item_real(names[0], &to, VN_ST_REAL),
                                    vn_safetensors_item_real(names[1], &tb, VN_ST_REAL)};
    vn_host_buffer file = {0};
    char err[ERR];
    ck_assert_int_eq(vn_safetensors_write(vn_host_buffer_write, &file, items, 2, NULL, 0, err, sizeof err), VN_OK);
    vn_status status = vn_iv_load_tensors(&c.model, &ctx, file.data, file.size);
    ck_assert_msg(status != VN_OK, "a parametrisation with a non-finite rotation was accepted");
    ck_assert_int_eq(status, VN_ENAN);
    const char *message = vn_context_message(&ctx);
    ck_assert_msg(strstr(message, names[0]) && strstr(message, "non-finite rotation"), "message: %s", message);
    vn_context_clear_error(&ctx);
    /* A non-finite value in the state itself is named too. */
    original[1 * n + 0] = (vn_real)INFINITY;
    vn_host_buffer_free(&file);
    ck_assert_int_eq(vn_safetensors_write(vn_host_buffer_write, &file, items, 2, NULL, 0, err, sizeof err), VN_OK);
    status = vn_iv_load_tensors(&c.model, &ctx, file.data, file.size);
    message = vn_context_message(&ctx);
    ck_assert_msg(status == VN_ENAN && strstr(message, names[0]), "infinite original: %d %s", status, message);
    vn_context_clear_error(&ctx);
    vn_host_buffer_free(&file);
    free(original);
    free(base);
}
END_TEST

/* tools/cmd_eval.c (print_summary divides by the number of examples):
 * `cvene eval` on a data file with base (0, 1, h) printed "IIA -nan (0/0)"
 * and a mean effect of -nan, and exited 0. It is an error now, as for
 * `cvene align`: a message, exit status 1, and nothing printed is NaN. */
static const char *cvene_path;

START_TEST(test_eval_empty_batch) {
    ck_assert_ptr_nonnull(cvene_path);
    char header[512], path[] = "/tmp/cvene-empty-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    snprintf(header, sizeof header,
             "{\"base\":{\"dtype\":\"F32\",\"shape\":[0,1,32],\"data_offsets\":[0,0]},"
             "\"source.0\":{\"dtype\":\"F32\",\"shape\":[0,1,32],\"data_offsets\":[0,0]},"
             "\"labels\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]}}");
    size_t size;
    unsigned char *file = raw_file(header, 0, &size);
    ck_assert_int_eq(write(fd, file, size), (ssize_t)size);
    close(fd);
    free(file);
    char command[1024];
    snprintf(command, sizeof command, "%s eval --model %s/model --intervention %s/intervention --data %s 2>&1",
             cvene_path, SEED_CASE, SEED_CASE, path);
    FILE *out = popen(command, "r");
    ck_assert_ptr_nonnull(out);
    char output[4096];
    size_t n = fread(output, 1, sizeof output - 1, out);
    output[n] = '\0';
    int status = pclose(out);
    unlink(path);
    ck_assert_msg(strstr(output, "nan") == NULL, "cvene eval printed NaN:\n%s", output);
    ck_assert_msg(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1, "cvene eval exited with %d:\n%s",
                  status, output);
    ck_assert_msg(strstr(output, "has no examples") != NULL, "no message:\n%s", output);
}
END_TEST

static Suite *regressions_suite(void) {
    Suite *s = suite_create("regressions");
    TCase *model = test_case(s, "model_dir", fixture_setup_iv, fixture_teardown, 0);
    tcase_add_test(model, test_model_config_key_with_nul);
    tcase_add_test(model, test_model_weights_name_with_nul);
    TCase *data = test_case(s, "intervene", fixture_setup_iv, fixture_teardown, 0);
    tcase_add_test(data, test_data_float_labels);
    tcase_add_test(data, test_data_tensor_name_with_nul);
    tcase_add_test(data, test_data_metadata_with_nul);
    tcase_add_test(data, test_iv_tensor_name_with_nul);
    tcase_add_test(data, test_iv_config_key_with_nul);
    tcase_add_test(data, test_iv_parametrisation_nonfinite);
    TCase *cli = test_case(s, "cli", NULL, NULL, 0);
    tcase_add_test(cli, test_eval_empty_batch);
    return s;
}

int main(int argc, char **argv) {
    cvene_path = argc > 1 ? argv[1] : NULL;
    return test_run(regressions_suite());
}
