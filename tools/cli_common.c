/* cli_common.c — shared pieces of `cvene eval` and `cvene align`. */
#define _POSIX_C_SOURCE 200809L
#include "cli_common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vn_kernels.h"
#include "vn_model_dir.h"

bool cli_fail(const char *cmd, const char *fmt, ...) {
    fprintf(stderr, "cvene %s: ", cmd);
    va_list args;
    va_start(args, fmt);
    vfprintf(stderr, fmt, args);
    va_end(args);
    fputc('\n', stderr);
    return false;
}

int cli_warn(void *user, const char *bytes, size_t length) {
    fprintf(stderr, "cvene %s: warning: %.*s", (const char *)user, (int)length, bytes);
    if (length == 0 || bytes[length - 1] != '\n') fputc('\n', stderr);
    return 0;
}

bool cli_wants_help(int argc, char **argv) {
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return true;
    return false;
}

bool cli_parse_size(const char *cmd, const char *flag, const char *text, size_t min, size_t *out) {
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!*text || *end || text[0] == '-' || errno || v < min || v > (unsigned long long)SIZE_MAX / 2)
        return cli_fail(cmd, "%s expects an integer of at least %zu, got '%s'", flag, min, text);
    *out = (size_t)v;
    return true;
}

bool cli_parse_double(const char *cmd, const char *flag, const char *text, double *out) {
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (!*text || *end || errno || !isfinite(v))
        return cli_fail(cmd, "%s expects a finite number, got '%s'", flag, text);
    *out = v;
    return true;
}

bool cli_parse_range(const char *cmd, const char *flag, const char *text, double *start, double *end) {
    const char *colon = strchr(text, ':');
    char first[64];
    if (!colon || (size_t)(colon - text) >= sizeof first)
        return cli_fail(cmd, "%s expects START:END (for example 50:0.1), got '%s'", flag, text);
    memcpy(first, text, (size_t)(colon - text));
    first[colon - text] = '\0';
    if (!cli_parse_double(cmd, flag, first, start) || !cli_parse_double(cmd, flag, colon + 1, end)) return false;
    if (*start == 0 || *end == 0) return cli_fail(cmd, "%s: temperatures must be non-zero", flag);
    return true;
}

bool cli_file_exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Reads DIR/NAME; prints the error. */
static bool read_in_dir(const char *cmd, const char *dir, const char *name, unsigned char **data, size_t *size) {
    char path[4096], err[VN_HOST_ERR];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return cli_fail(cmd, "path too long: %s/%s", dir, name);
    if (!vn_host_read_file(path, data, size, err)) return cli_fail(cmd, "%s", err);
    return true;
}

bool cli_load_model(const char *cmd, const char *dir, vn_context *ctx, vn_mlp *mlp) {
    unsigned char *bytes;
    size_t size;
    char err[512];
    if (!read_in_dir(cmd, dir, "config.json", &bytes, &size)) return false;
    vn_mlp_config config;
    vn_status status = vn_model_config_parse(bytes, size, ctx->arena, &config, cli_warn, (void *)cmd, err, sizeof err);
    free(bytes);
    if (status != VN_OK) return cli_fail(cmd, "%s/config.json: %s", dir, err);
    if (vn_mlp_init(mlp, ctx, &config, NULL) != VN_OK)
        return cli_fail(cmd, "%s/config.json: %s", dir, vn_context_message(ctx));
    if (!read_in_dir(cmd, dir, "model.safetensors", &bytes, &size)) return false;
    status = vn_model_load_params(mlp, bytes, size, ctx->arena, err, sizeof err);
    free(bytes);
    if (status != VN_OK) return cli_fail(cmd, "%s/model.safetensors: %s", dir, err);
    return true;
}

bool cli_load_intervention_config(const char *cmd, const char *dir, vn_context *ctx, vn_iv_config *config) {
    unsigned char *bytes;
    size_t size;
    char err[512];
    if (!read_in_dir(cmd, dir, "config.json", &bytes, &size)) return false;
    vn_status status = vn_iv_config_parse(bytes, size, ctx->arena, config, cli_warn, (void *)cmd, err, sizeof err);
    free(bytes);
    if (status != VN_OK) return cli_fail(cmd, "%s/config.json: %s", dir, err);
    return true;
}

bool cli_load_intervention_tensors(const char *cmd, const char *dir, vn_iv_model *model, vn_context *ctx,
                                   bool *found) {
    char path[4096];
    snprintf(path, sizeof path, "%s/interventions.safetensors", dir);
    *found = cli_file_exists(path);
    if (!*found) return true;
    unsigned char *bytes;
    size_t size;
    if (!read_in_dir(cmd, dir, "interventions.safetensors", &bytes, &size)) return false;
    vn_status status = vn_iv_load_tensors(model, ctx, bytes, size);
    free(bytes);
    if (status != VN_OK) {
        cli_fail(cmd, "%s/%s", dir, vn_context_message(ctx));
        vn_context_clear_error(ctx);
        return false;
    }
    return true;
}

bool cli_load_data(const char *cmd, const char *path, const vn_iv_model *model, const vn_mlp *mlp,
                   vn_arena *arena, vn_iv_batch *batch) {
    unsigned char *bytes;
    size_t size;
    char err[VN_HOST_ERR];
    if (!vn_host_read_file(path, &bytes, &size, err)) return cli_fail(cmd, "%s", err);
    vn_status status = vn_iv_data_parse(bytes, size, model, (size_t)mlp->config.h_dim, mlp->config.num_classes,
                                        arena, batch, err, sizeof err);
    free(bytes);
    if (status != VN_OK) return cli_fail(cmd, "%s: %s", path, err);
    return true;
}

bool cli_write_buffers(const char *cmd, const char *const *paths, vn_host_buffer *buffers, size_t count) {
    char err[VN_HOST_ERR];
    vn_host_file files[VN_HOST_MAX_FILES];
    bool failed = count > VN_HOST_MAX_FILES;
    for (size_t i = 0; i < count && !failed; i++) {
        failed = buffers[i].failed;
        files[i] = (vn_host_file){paths[i], buffers[i].data, buffers[i].size};
    }
    bool ok = !failed && vn_host_write_files_atomic(files, count, err);
    if (!ok) cli_fail(cmd, "%s", failed ? "out of memory" : err);
    for (size_t i = 0; i < count; i++) vn_host_buffer_free(&buffers[i]);
    return ok;
}

bool cli_write_buffer(const char *cmd, const char *path, vn_host_buffer *buffer) {
    return cli_write_buffers(cmd, &path, buffer, 1);
}

bool cli_save_directory(const char *cmd, const char *dir, vn_host_buffer *config, const char *tensors_name,
                        vn_host_buffer *tensors) {
    char err[VN_HOST_ERR], config_path[4096], tensors_path[4096];
    vn_host_buffer buffers[2] = {*config, {0}};
    const char *paths[2] = {config_path, tensors_path};
    size_t count = 1;
    if (tensors) buffers[count++] = *tensors;
    snprintf(config_path, sizeof config_path, "%s/config.json", dir);
    snprintf(tensors_path, sizeof tensors_path, "%s/%s", dir, tensors ? tensors_name : "");
    if (!vn_host_mkdirs(dir, err)) {
        for (size_t i = 0; i < count; i++) vn_host_buffer_free(&buffers[i]);
        return cli_fail(cmd, "%s", err);
    }
    return cli_write_buffers(cmd, paths, buffers, count);
}

bool cli_save_intervention(const char *cmd, const char *dir, const vn_iv_model *model, vn_context *ctx) {
    vn_host_buffer config = {0}, tensors = {0};
    if (vn_iv_config_write(&model->config, vn_host_buffer_write, &config) != VN_OK) {
        vn_host_buffer_free(&config);
        return cli_fail(cmd, "cannot format the intervention config");
    }
    bool has_tensors = vn_iv_model_has_tensors(model);
    if (has_tensors && vn_iv_save_tensors(model, ctx, vn_host_buffer_write, &tensors) != VN_OK) {
        vn_host_buffer_free(&config);
        vn_host_buffer_free(&tensors);
        cli_fail(cmd, "%s", vn_context_message(ctx));
        vn_context_clear_error(ctx);
        return false;
    }
    return cli_save_directory(cmd, dir, &config, "interventions.safetensors", has_tensors ? &tensors : NULL);
}

bool cli_write_safetensors(const char *cmd, const char *path, const vn_safetensors_item *items, size_t count) {
    vn_host_buffer buffer = {0};
    char err[VN_HOST_ERR];
    if (vn_safetensors_write(vn_host_buffer_write, &buffer, items, count, NULL, 0, err, sizeof err) != VN_OK) {
        vn_host_buffer_free(&buffer);
        return cli_fail(cmd, "%s: %s", path, err);
    }
    return cli_write_buffer(cmd, path, &buffer);
}

size_t cli_correct(const vn_node *logits, const int64_t *labels, size_t batch) {
    size_t classes = vn_tensor_cols(&logits->value), correct = 0;
    for (size_t b = 0; b < batch; b++) {
        size_t best;
        vn_row_argmax(&best, logits->value.data + b * classes, 1, classes);
        correct += (int64_t)best == labels[b];
    }
    return correct;
}

bool cli_show_progress(void) { return isatty(fileno(stderr)) != 0; }
