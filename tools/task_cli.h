/* task_cli.h — what `cvene train` and `cvene das` share: the MLP recipe of
 * pyvene's DAS tutorial, training an MLP on the hierarchical-equality task
 * (examples regenerated from their seeds, never stored) or on rows held in
 * memory, the factual test accuracy, and writing a model directory
 * atomically. Hosted code; every function prints its own error message,
 * prefixed with the command's name, and returns false on failure. */
#ifndef TASK_CLI_H
#define TASK_CLI_H

#include <stdio.h>

#include "host.h"
#include "vn_iv_das.h"

/* How the MLP's parameters start. */
typedef enum mlp_init {
    MLP_INIT_PYTORCH, /* PyTorch's nn.Linear default, U(±1/√fan_in) for weights and biases:
                         pyvene's MLP under transformers before 4.48 (the tutorial's era) */
    MLP_INIT_NORMAL,  /* weights N(0, 0.02), biases 0: transformers' generic _init_weights
                         from 4.48 on, which pyvene 0.1.x's MLP gets today */
    MLP_INIT_COUNT
} mlp_init;

const char *mlp_init_name(mlp_init init); /* "pytorch", "normal" */
bool mlp_init_lookup(const char *name, mlp_init *out);

/* The tutorial's recipe (see cvene train --help for each field). */
typedef struct mlp_recipe {
    vn_mlp_config config;  /* h_dim 16, n_layer 3, num_classes 2, relu, pdrop 0 */
    size_t examples;       /* 1,048,576 */
    size_t epochs;         /* 3 */
    size_t batch_size;     /* 1024 */
    vn_iv_fit_options fit; /* AdamW lr 1e-3, weight decay 0, clip 1, one-hot BCE */
    bool linear_schedule;  /* linear decay to 0 after warm-up (else constant lr) */
    mlp_init init;         /* pytorch */
    uint64_t seed;         /* 0 */
} mlp_recipe;

mlp_recipe mlp_recipe_default(void);

/* Training rows: the task's factual dataset (rows NULL: example i is
 * vn_iv_heq_factual_example(seed, VN_IV_STREAM_FACTUAL_TRAIN, i) with
 * entities of `dim`), or `count` rows of width h with labels in memory. */
typedef struct fit_data {
    size_t count;
    const vn_real *rows;
    const int64_t *labels;
    size_t dim;
} fit_data;

typedef struct fit_report {
    size_t steps;
    double seconds;      /* the whole training, generation included */
    double data_seconds; /* generating or gathering batches */
    double first_loss, last_epoch_loss, last_epoch_accuracy;
} fit_report;

/* Builds the recipe's MLP in ctx, initialised from the seed (stream
 * VN_IV_STREAM_MLP_INIT). */
bool mlp_create(const char *cmd, const mlp_recipe *recipe, vn_context *ctx, vn_mlp *mlp);

/* Trains `mlp` for recipe->epochs over the data, shuffled each epoch (a
 * permutation drawn from the seed's VN_IV_STREAM_SHUFFLE stream), in batches
 * of recipe->batch_size (the last one of an epoch may be smaller). Prints one
 * line per epoch to `log` (NULL: quiet) and draws a progress bar on a
 * terminal when `progress` is true. Allocates its buffers in ctx's arena. */
bool mlp_fit(const char *cmd, const mlp_recipe *recipe, const fit_data *data, vn_context *ctx, vn_mlp *mlp,
             bool progress, FILE *log, fit_report *report);

/* Accuracy of `mlp` on `count` fresh factual examples (the seed's
 * VN_IV_STREAM_FACTUAL_TEST stream), classified in chunks. */
bool task_factual_accuracy(const char *cmd, vn_context *ctx, vn_mlp *mlp, uint64_t seed, size_t dim, size_t count,
                           double *accuracy);

/* Writes the buffer's bytes to `path` atomically (vn_host_write_file_atomic)
 * and frees the buffer; a buffer whose writer failed is "out of memory". */
bool write_buffer_atomic(const char *cmd, const char *path, vn_host_buffer *buffer);

/* Writes DIR/config.json and DIR/model.safetensors (vn_real precision:
 * F32, or F64 in a double build), each atomically; creates DIR. */
bool save_model_dir(const char *cmd, const char *dir, const vn_mlp *mlp, vn_context *ctx);

#endif
