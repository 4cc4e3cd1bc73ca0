/* cli_common.h — what `cvene eval` and `cvene align` share: reading a model
 * directory, an intervention directory and a data file, writing an
 * intervention directory and safetensors outputs atomically, option parsing
 * and messages. Hosted code (stdio, malloc). Every function prints its own
 * error message, prefixed with the command's name, and returns false on
 * failure. */
#ifndef CLI_COMMON_H
#define CLI_COMMON_H

#include <stdio.h>

#include "host.h"
#include "vn_iv_io.h"
#include "vn_iv_model.h"
#include "vn_nn.h"
#include "vn_safetensors.h"

/* Prints "cvene <cmd>: <message>\n" to stderr; returns false. */
bool cli_fail(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* A vn_write_fn for warnings: each line to stderr as "cvene <cmd>: warning: ...".
 * user is the command name. */
int cli_warn(void *user, const char *bytes, size_t length);

/* True when an argument is --help or -h. */
bool cli_wants_help(int argc, char **argv);

/* Option values. Each prints a message naming the flag on failure. */
bool cli_parse_size(const char *cmd, const char *flag, const char *text, size_t min, size_t *out);
bool cli_parse_double(const char *cmd, const char *flag, const char *text, double *out);
/* "START:END" (two finite numbers, both non-zero). */
bool cli_parse_range(const char *cmd, const char *flag, const char *text, double *start, double *end);

/* True when `path` exists and is a regular file. */
bool cli_file_exists(const char *path);

/* Reads DIR/config.json and DIR/model.safetensors into *mlp (built in ctx).
 * Unknown config keys are warned about. */
bool cli_load_model(const char *cmd, const char *dir, vn_context *ctx, vn_mlp *mlp);

/* Reads DIR/config.json into *config (allocated in ctx's arena). */
bool cli_load_intervention_config(const char *cmd, const char *dir, vn_context *ctx, vn_iv_config *config);

/* Loads DIR/interventions.safetensors into the model's parameters when the
 * file exists; *found tells whether it did. */
bool cli_load_intervention_tensors(const char *cmd, const char *dir, vn_iv_model *model, vn_context *ctx,
                                   bool *found);

/* Reads a data file for `model` (NULL: base and labels only). */
bool cli_load_data(const char *cmd, const char *path, const vn_iv_model *model, const vn_mlp *mlp,
                   vn_arena *arena, vn_iv_batch *batch);

/* Saves the buffers to their paths as one atomic save
 * (vn_host_write_files_atomic: all written and flushed, then renamed in
 * order), reporting failures as `cvene CMD: ...`. Frees every buffer. */
bool cli_write_buffers(const char *cmd, const char *const *paths, vn_host_buffer *buffers, size_t count);
bool cli_write_buffer(const char *cmd, const char *path, vn_host_buffer *buffer);

/* Creates DIR and saves DIR/config.json and (when tensors is not NULL)
 * DIR/<tensors_name> as one save: both flushed before either is renamed,
 * config.json first and the tensors last (the large file's rename last keeps
 * the window a kill could split at microseconds). Frees both buffers. */
bool cli_save_directory(const char *cmd, const char *dir, vn_host_buffer *config, const char *tensors_name,
                        vn_host_buffer *tensors);

/* Writes DIR/config.json and (when some representation has tensors)
 * DIR/interventions.safetensors as one save (cli_save_directory). */
bool cli_save_intervention(const char *cmd, const char *dir, const vn_iv_model *model, vn_context *ctx);

/* Writes a safetensors file atomically. */
bool cli_write_safetensors(const char *cmd, const char *path, const vn_safetensors_item *items, size_t count);

/* Argmax accuracy of (B, C) logits against labels: correct count. */
size_t cli_correct(const vn_node *logits, const int64_t *labels, size_t batch);

/* Whether progress lines may be drawn (stderr is a terminal). */
bool cli_show_progress(void);

#endif
