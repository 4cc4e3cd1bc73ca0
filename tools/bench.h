/* bench.h — timing of the core's kernels, for `cvene bench` and the
 * `bench_matmul` benchmark. Hosted code (libc, clocks, threads). */
#ifndef VN_BENCH_H
#define VN_BENCH_H

#include <stdio.h>

#include "vn_kernels.h"

/* Prints a table of vn_gemm GFLOP/s: square n = 64, 256, 1024 and the DAS
 * shapes 6400×16 · 16×16 and 64×512 · 512×512, each with the four
 * transpose variants (NN, NT, TN, TT), plus the naive triple loop for the
 * smaller shapes. Each cell is timed for about `seconds_per_case` seconds
 * (best of several batches). Uses whatever parallel-for hook is installed
 * and says so in the header line. */
void vn_bench_matmul(FILE *out, double seconds_per_case);

/* Prints the speedup of vn_gemm with a pool of `threads` threads over one
 * thread, for n = 1024 and 64×512 · 512×512. Installs the pool's hook for
 * the timed runs and restores the previous state (no hook) afterwards. */
void vn_bench_matmul_threads(FILE *out, double seconds_per_case, int threads);

/* A small pthread pool that serves as the core's parallel-for hook:
 *
 *     vn_bench_pool *pool = vn_bench_pool_create(2);
 *     vn_set_parallel_for(vn_bench_pool_parallel_for, pool);
 *     ...
 *     vn_set_parallel_for(NULL, NULL);
 *     vn_bench_pool_destroy(pool);
 *
 * The calling thread takes part in the work, so `threads` counts it.
 * Returns NULL when threads could not be started. One parallel_for at a
 * time (the core never nests them). */
typedef struct vn_bench_pool vn_bench_pool;
vn_bench_pool *vn_bench_pool_create(int threads);
void vn_bench_pool_destroy(vn_bench_pool *pool);
int vn_bench_pool_threads(const vn_bench_pool *pool);
void vn_bench_pool_parallel_for(void *pool, vn_parallel_task run, void *task, size_t count);

/* ---- training steps (bench_train.c) ------------------------------------- */

#include <stdbool.h>

/* The benchmark shapes: (h_dim, n_layer, batch). */
typedef struct vn_bench_shape {
    size_t h, layers, batch;
} vn_bench_shape;
#define VN_BENCH_TRAIN_SHAPES 5
#define VN_BENCH_MAX_LAYERS 8
extern const vn_bench_shape vn_bench_train_shapes[VN_BENCH_TRAIN_SHAPES];

/* The rotation of a DAS step: RotatedSpaceIntervention with the map
 * matrix_exp, cayley or householder (square), or householder on a tall
 * h × h/2 matrix (LowRankRotatedSpaceIntervention, low_rank_dimension h/2). */
typedef enum vn_bench_das_kind {
    VN_BENCH_DAS_MATRIX_EXP,
    VN_BENCH_DAS_CAYLEY,
    VN_BENCH_DAS_HOUSEHOLDER,
    VN_BENCH_DAS_HOUSEHOLDER_LOW_RANK,
    VN_BENCH_DAS_KIND_COUNT
} vn_bench_das_kind;
const char *vn_bench_das_kind_name(vn_bench_das_kind kind);

typedef struct vn_bench_train_result {
    vn_bench_shape shape;
    vn_bench_das_kind kind;
    double steps_per_second;     /* best batch */
    double alloc_calls_per_step; /* allocator calls per steady-state step (target 0) */
    size_t arena_bytes;          /* peak bytes the arena held */
    long peak_rss_kb;            /* getrusage's ru_maxrss of the process so far */
} vn_bench_train_result;

/* Times training steps of one case for about `seconds`. A DAS step
 * (das = true): the frozen MLP (num_classes 2, no dropout) with one
 * intervention at layer 0 block_output, partition [[0, w/2], [w/2, w]],
 * subspace [0] for every example, cross-entropy on the counterfactual
 * logits, backward, Adam on the rotation. An MLP step (das = false):
 * cross-entropy, backward, AdamW on every weight. Inputs are (batch, 1, h).
 * false with a message in err when the step fails. */
bool vn_bench_train_case(const vn_bench_shape *shape, bool das, vn_bench_das_kind kind, double seconds,
                         vn_bench_train_result *result, char *err, size_t err_size);

/* Tables (or JSON arrays) over every shape (or only those of width only_h
 * when non-zero; with the batch size `batch` instead of the shape's when
 * non-zero); return the number of failed cases. */
int vn_bench_das(FILE *out, double seconds, bool json, size_t only_h, size_t batch);
int vn_bench_mlp(FILE *out, double seconds, bool json, size_t only_h, size_t batch);

/* The DAS step at width h with a `threads`-thread pool against one thread. */
void vn_bench_das_threads(FILE *out, double seconds, int threads, size_t h);

/* getrusage's peak resident set size in kB. */
long vn_bench_peak_rss_kb(void);

#endif
