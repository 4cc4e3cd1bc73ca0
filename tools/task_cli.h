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
#include "vn_safetensors.h"

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
    size_t steps;        /* steps this call took */
    size_t step;         /* steps done in all (a resumed run counts the earlier ones) */
    size_t total_steps;  /* the run's steps: epochs x batches per epoch */
    bool finished;       /* step == total_steps (else stopped by max_steps) */
    double seconds;      /* this call's training, generation included */
    double data_seconds; /* generating or gathering batches */
    double first_loss, last_epoch_loss, last_epoch_accuracy;
    bool checkpointed;      /* a checkpoint was written or resumed from */
    size_t checkpoint_step; /* the step of the last one */
} fit_report;

/* Checkpoints and resuming of a factual training run. The checkpoint is one
 * safetensors file holding the whole state (TRAIN_CHECKPOINT_FORMAT, see
 * README.md, "Checkpoints"): every parameter, the optimizer's moments and
 * step counts, the schedule position, the dropout pass counter, the data
 * position and the running epoch sums, so a run continued from it takes
 * bit for bit the steps an uninterrupted run takes. */
#define TRAIN_CHECKPOINT_FORMAT "cvene-train-checkpoint"

typedef struct fit_control {
    const char *label;            /* how messages call a step: "step" (NULL) or e.g. "MLP training step" */
    const char *checkpoint;       /* the checkpoint file to write (NULL: none) */
    size_t every;                 /* write it after every `every` steps (0: only at a stop and at the end) */
    size_t max_steps;             /* stop after this many steps of this call (0: run to the end) */
    const vn_safetensors *resume; /* an open checkpoint to continue from (NULL: start at step 0) */
    const vn_safetensors_kv *meta; /* the caller's metadata, stored in every checkpoint */
    size_t n_meta;
} fit_control;

/* Prints the message of a training step that failed, e.g.
 *   cvene train: step 1234 (epoch 2): gradient of mlp.h.1.ff1.weight is not
 *   finite (NaN at element 7); last good checkpoint: DIR/checkpoint.safetensors (step 1200)
 * `label` names the step ("step", "alignment step"); `step` and `epoch` are
 * 1-based; `checkpoint` NULL says no checkpoint was written. Returns false. */
bool training_step_failed(const char *cmd, const char *label, size_t step, size_t epoch, const char *message,
                          const char *checkpoint, size_t checkpoint_step);

/* Builds the recipe's MLP in ctx, initialised from the seed (stream
 * VN_IV_STREAM_MLP_INIT). */
bool mlp_create(const char *cmd, const mlp_recipe *recipe, vn_context *ctx, vn_mlp *mlp);

/* Trains `mlp` for recipe->epochs over the data, shuffled each epoch (a
 * permutation drawn from the seed's VN_IV_STREAM_SHUFFLE stream), in batches
 * of recipe->batch_size (the last one of an epoch may be smaller). Prints one
 * line per epoch to `log` (NULL: quiet) and draws a progress bar on a
 * terminal when `progress` is true. Allocates its buffers in ctx's arena.
 * `control` (NULL: none) adds checkpoints, a step limit and resuming. A
 * step whose loss, gradients or updated parameters are not finite stops the
 * run with training_step_failed's message, writing no checkpoint. */
bool mlp_fit(const char *cmd, const mlp_recipe *recipe, const fit_data *data, vn_context *ctx, vn_mlp *mlp,
             bool progress, FILE *log, const fit_control *control, fit_report *report);

/* Accuracy of `mlp` on `count` fresh factual examples (the seed's
 * VN_IV_STREAM_FACTUAL_TEST stream), classified in chunks. */
bool task_factual_accuracy(const char *cmd, vn_context *ctx, vn_mlp *mlp, uint64_t seed, size_t dim, size_t count,
                           double *accuracy);

/* The run options `cvene train` and `cvene das` share. */
typedef struct run_options {
    const char *out;         /* --out DIR */
    const char *resume;      /* --resume DIR */
    size_t max_steps;        /* --max-steps N (when max_steps_given) */
    size_t checkpoint_every; /* --checkpoint-every N (when every_given) */
    bool max_steps_given, every_given;
} run_options;

/* When `arg` is one of --out, --resume, --max-steps, --checkpoint-every:
 * stores its value `v` in `o`, sets *ok (false after a message for a bad
 * number) and returns true; otherwise returns false. */
bool run_option_parse(const char *cmd, const char *arg, const char *v, run_options *o, bool *ok);

/* Writes DIR/config.json and DIR/model.safetensors (vn_real precision: F32,
 * or F64 in a double build) as one save (cli_save_directory). */
bool save_model_dir(const char *cmd, const char *dir, const vn_mlp *mlp, vn_context *ctx);

#endif
