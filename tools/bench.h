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

#endif
