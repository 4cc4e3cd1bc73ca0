/* bench_main.c — the bench_matmul program.
 *
 *   bench_matmul [--seconds S] [--threads N]
 *
 * Prints the vn_gemm table; with --threads N (N >= 2) also the speedup of
 * an N-thread pool over one thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

int main(int argc, char **argv) {
    double seconds = 0.3;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atof(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--seconds S] [--threads N]\n", argv[0]);
            return strcmp(argv[i], "--help") == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        }
    }
    if (!(seconds > 0) || seconds > 60) {
        fprintf(stderr, "%s: --seconds must be in (0, 60]\n", argv[0]);
        return EXIT_FAILURE;
    }
    vn_bench_matmul(stdout, seconds);
    if (threads >= 2) {
        printf("\n");
        vn_bench_matmul_threads(stdout, seconds, threads);
    }
    return ferror(stdout) ? EXIT_FAILURE : EXIT_SUCCESS;
}
