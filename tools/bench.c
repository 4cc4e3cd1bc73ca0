/* bench.c — vn_gemm timings and a pthread pool for the parallel-for hook. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- the thread pool ------------------------------------------------------ */

#define VN_BENCH_MAX_THREADS 64

struct vn_bench_pool {
    pthread_mutex_t lock;
    pthread_cond_t start;     /* a job was posted (or stop) */
    pthread_cond_t done;      /* the last chunk of a job finished */
    pthread_t workers[VN_BENCH_MAX_THREADS];
    int nworkers;             /* threads besides the caller */
    unsigned long generation; /* bumped for every job */
    bool stop;
    /* the current job */
    vn_parallel_task run;
    void *task;
    size_t count, next, finished;
};

/* Takes chunks of the current job until none is left. Called with the lock
 * held; returns with it held. */
static void pool_work(vn_bench_pool *pool) {
    while (pool->next < pool->count) {
        size_t i = pool->next++;
        vn_parallel_task run = pool->run;
        void *task = pool->task;
        pthread_mutex_unlock(&pool->lock);
        run(task, i, i + 1);
        pthread_mutex_lock(&pool->lock);
        if (++pool->finished == pool->count) pthread_cond_broadcast(&pool->done);
    }
}

static void *pool_worker(void *arg) {
    vn_bench_pool *pool = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (!pool->stop && pool->generation == seen) pthread_cond_wait(&pool->start, &pool->lock);
        if (pool->stop) break;
        seen = pool->generation;
        pool_work(pool);
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

vn_bench_pool *vn_bench_pool_create(int threads) {
    if (threads < 1 || threads > VN_BENCH_MAX_THREADS) return NULL;
    vn_bench_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    if (pthread_mutex_init(&pool->lock, NULL) != 0) {
        free(pool);
        return NULL;
    }
    pthread_cond_init(&pool->start, NULL);
    pthread_cond_init(&pool->done, NULL);
    for (int i = 0; i < threads - 1; i++) {
        if (pthread_create(&pool->workers[i], NULL, pool_worker, pool) != 0) break;
        pool->nworkers++;
    }
    if (pool->nworkers != threads - 1) {
        vn_bench_pool_destroy(pool);
        return NULL;
    }
    return pool;
}

void vn_bench_pool_destroy(vn_bench_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    pool->stop = true;
    pthread_cond_broadcast(&pool->start);
    pthread_mutex_unlock(&pool->lock);
    for (int i = 0; i < pool->nworkers; i++) pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->start);
    pthread_cond_destroy(&pool->done);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

int vn_bench_pool_threads(const vn_bench_pool *pool) {
    return pool ? pool->nworkers + 1 : 1;
}

void vn_bench_pool_parallel_for(void *user, vn_parallel_task run, void *task, size_t count) {
    vn_bench_pool *pool = user;
    if (count == 0) return;
    if (!pool || pool->nworkers == 0 || count == 1) {
        run(task, 0, count);
        return;
    }
    pthread_mutex_lock(&pool->lock);
    pool->run = run;
    pool->task = task;
    pool->count = count;
    pool->next = 0;
    pool->finished = 0;
    pool->generation++;
    pthread_cond_broadcast(&pool->start);
    pool_work(pool);
    while (pool->finished < pool->count) pthread_cond_wait(&pool->done, &pool->lock);
    pool->count = 0;
    pthread_mutex_unlock(&pool->lock);
}

/* ---- timing -------------------------------------------------------------------- */

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

typedef struct bench_case {
    const char *name;
    size_t m, n, k;
} bench_case;

static const bench_case bench_cases[] = {
    {"64x64 . 64x64", 64, 64, 64},
    {"256x256 . 256x256", 256, 256, 256},
    {"1024x1024 . 1024x1024", 1024, 1024, 1024},
    {"6400x16 . 16x16", 6400, 16, 16},
    {"64x512 . 512x512", 64, 512, 512},
};

typedef struct bench_data {
    vn_real *a, *b, *c;
    size_t m, n, k;
} bench_data;

static vn_real *bench_alloc(size_t count) {
    void *p = NULL;
    if (posix_memalign(&p, 64, count * sizeof(vn_real) + 64) != 0) return NULL;
    return p;
}

static bool bench_data_make(bench_data *d, size_t m, size_t n, size_t k) {
    d->m = m;
    d->n = n;
    d->k = k;
    d->a = bench_alloc(m * k);
    d->b = bench_alloc(k * n);
    d->c = bench_alloc(m * n);
    if (!d->a || !d->b || !d->c) return false;
    unsigned long s = 12345;
    for (size_t i = 0; i < m * k; i++) {
        s = s * 6364136223846793005ul + 1442695040888963407ul;
        d->a[i] = (vn_real)((double)(s >> 40) / 16777216.0 - 0.5);
    }
    for (size_t i = 0; i < k * n; i++) {
        s = s * 6364136223846793005ul + 1442695040888963407ul;
        d->b[i] = (vn_real)((double)(s >> 40) / 16777216.0 - 0.5);
    }
    memset(d->c, 0, m * n * sizeof(vn_real));
    return true;
}

static void bench_data_free(bench_data *d) {
    free(d->a);
    free(d->b);
    free(d->c);
    d->a = d->b = d->c = NULL;
}

/* The textbook loop the fast kernel replaces, for comparison. */
static void naive_gemm(vn_real *c, const vn_real *a, const vn_real *b, size_t m, size_t n,
                       size_t k) {
    for (size_t i = 0; i < m * n; i++) c[i] = 0;
    for (size_t i = 0; i < m; i++) {
        vn_real *crow = c + i * n;
        for (size_t p = 0; p < k; p++) {
            vn_real aval = a[i * k + p];
            const vn_real *brow = b + p * n;
            for (size_t j = 0; j < n; j++) crow[j] += aval * brow[j];
        }
    }
}

/* GFLOP/s of one product: the best of several batches, the whole taking
 * about `seconds`. variant: bit 0 = trans_a, bit 1 = trans_b, 4 = naive. */
static double bench_rate(bench_data *d, int variant, double seconds) {
    double flops = 2.0 * (double)d->m * (double)d->n * (double)d->k;
    bool ta = variant & 1, tb = (variant >> 1) & 1, naive = variant == 4;
    /* Warm up, and size a batch to about 1/32 of the budget: many short
     * batches make the best one likely to have run undisturbed. */
    double t0 = now_seconds();
    size_t reps = 0;
    do {
        if (naive) naive_gemm(d->c, d->a, d->b, d->m, d->n, d->k);
        else vn_gemm(d->c, d->a, d->b, d->m, d->n, d->k, ta, tb, false);
        reps++;
    } while (now_seconds() - t0 < seconds / 32 && reps < 1000000);
    double per = (now_seconds() - t0) / (double)reps;
    size_t batch = (size_t)(seconds / 32 / (per > 0 ? per : 1e-9));
    if (batch < 1) batch = 1;
    double best = 0, end = now_seconds() + seconds;
    int batches = 0;
    do {
        double s = now_seconds();
        for (size_t r = 0; r < batch; r++) {
            if (naive) naive_gemm(d->c, d->a, d->b, d->m, d->n, d->k);
            else vn_gemm(d->c, d->a, d->b, d->m, d->n, d->k, ta, tb, false);
        }
        double t = now_seconds() - s;
        double rate = t > 0 ? flops * (double)batch / t / 1e9 : 0;
        if (rate > best) best = rate;
        batches++;
    } while (now_seconds() < end || batches < 3);
    return best;
}

/* Whether a parallel-for hook is installed, and how many threads it used:
 * runs a probe over 64 chunks and records which thread ran each. 0 means
 * everything ran inline in one call (no hook, or one that does nothing). */
typedef struct probe_task {
    pthread_t who[64];
    size_t calls;
    pthread_mutex_t lock;
} probe_task;

static void probe_run(void *task, size_t begin, size_t end) {
    probe_task *p = task;
    pthread_mutex_lock(&p->lock);
    p->calls++;
    pthread_mutex_unlock(&p->lock);
    for (size_t i = begin; i < end; i++) {
        p->who[i] = pthread_self();
        /* Long enough that other threads get a chance to take chunks. */
        double until = now_seconds() + 2e-5;
        while (now_seconds() < until) {
        }
    }
}

static int hook_threads(void) {
    probe_task p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.lock, NULL);
    vn_parallel_for(probe_run, &p, 64);
    pthread_mutex_destroy(&p.lock);
    if (p.calls <= 1) return 0;
    int distinct = 0;
    for (size_t i = 0; i < 64; i++) {
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) seen = pthread_equal(p.who[i], p.who[j]) != 0;
        if (!seen) distinct++;
    }
    return distinct;
}

static void print_header(FILE *out, double seconds_per_case) {
    int threads = hook_threads();
    fprintf(out, "vn_gemm GFLOP/s, best of batches over %.2g s per cell\n", seconds_per_case);
    if (threads > 0)
        fprintf(out, "element %s (%zu bytes); parallel hook on (%d thread%s)\n", VN_REAL_NAME,
                sizeof(vn_real), threads, threads == 1 ? "" : "s");
    else
        fprintf(out, "element %s (%zu bytes); parallel hook off\n", VN_REAL_NAME, sizeof(vn_real));
}

/* Column order NN, NT, TN, TT; a variant is (trans_b << 1) | trans_a. */
static const int variant_order[4] = {0, 2, 1, 3};
static const char *const variant_names[4] = {"NN", "NT", "TN", "TT"};

void vn_bench_matmul(FILE *out, double seconds_per_case) {
    print_header(out, seconds_per_case);
    fprintf(out, "%-24s %8s %8s %8s %8s %9s\n", "m x k . k x n", "NN", "NT", "TN", "TT",
            "naive NN");
    for (size_t s = 0; s < sizeof bench_cases / sizeof bench_cases[0]; s++) {
        const bench_case *bc = &bench_cases[s];
        bench_data d;
        if (!bench_data_make(&d, bc->m, bc->n, bc->k)) {
            fprintf(out, "%-24s out of memory\n", bc->name);
            bench_data_free(&d);
            continue;
        }
        fprintf(out, "%-24s", bc->name);
        fflush(out);
        for (int v = 0; v < 4; v++) {
            fprintf(out, " %8.1f", bench_rate(&d, variant_order[v], seconds_per_case));
            fflush(out);
        }
        /* The naive loop only where it finishes in reasonable time. */
        if ((double)bc->m * (double)bc->n * (double)bc->k <= 64.0 * 1024 * 1024)
            fprintf(out, " %9.1f\n", bench_rate(&d, 4, seconds_per_case));
        else
            fprintf(out, " %9s\n", "-");
        fflush(out);
        bench_data_free(&d);
    }
}

void vn_bench_matmul_threads(FILE *out, double seconds_per_case, int threads) {
    static const bench_case cases[] = {
        {"1024x1024 . 1024x1024", 1024, 1024, 1024},
        {"64x512 . 512x512", 64, 512, 512},
    };
    vn_bench_pool *pool = vn_bench_pool_create(threads);
    if (!pool) {
        fprintf(out, "could not start %d threads\n", threads);
        return;
    }
    fprintf(out, "vn_gemm with a %d-thread pool as the parallel-for hook; element %s\n", threads,
            VN_REAL_NAME);
    fprintf(out, "%-24s %4s %10s %10s %8s\n", "m x k . k x n", "", "1 thread", "pool", "speedup");
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        bench_data d;
        if (!bench_data_make(&d, cases[s].m, cases[s].n, cases[s].k)) {
            fprintf(out, "%-24s out of memory\n", cases[s].name);
            bench_data_free(&d);
            continue;
        }
        for (int v = 0; v < 4; v++) {
            vn_set_parallel_for(NULL, NULL);
            double one = bench_rate(&d, variant_order[v], seconds_per_case);
            vn_set_parallel_for(vn_bench_pool_parallel_for, pool);
            double many = bench_rate(&d, variant_order[v], seconds_per_case);
            vn_set_parallel_for(NULL, NULL);
            fprintf(out, "%-24s %4s %10.1f %10.1f %7.2fx\n", cases[s].name, variant_names[v], one,
                    many, one > 0 ? many / one : 0.0);
            fflush(out);
        }
        bench_data_free(&d);
    }
    vn_bench_pool_destroy(pool);
}
