/* bench_train.c — training-step benchmarks: a DAS step (frozen MLP, one
 * RotatedSpaceIntervention, cross-entropy, backward, Adam on the rotation)
 * and an MLP step (AdamW on every weight), with allocator calls per step
 * and peak RSS. Used by `cvene bench das|mlp` and the benchmark targets. */
#define _POSIX_C_SOURCE 200809L
#include "bench.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "host.h"
#include "vn_iv_model.h"
#include "vn_nn.h"
#include "vn_ops.h"
#include "vn_optim.h"

const vn_bench_shape vn_bench_train_shapes[VN_BENCH_TRAIN_SHAPES] = {
    {16, 3, 64}, {32, 1, 64}, {128, 2, 64}, {512, 2, 64}, {1024, 2, 32},
};

const char *vn_bench_das_kind_name(vn_bench_das_kind kind) {
    switch (kind) {
    case VN_BENCH_DAS_MATRIX_EXP: return "matrix_exp";
    case VN_BENCH_DAS_CAYLEY: return "cayley";
    case VN_BENCH_DAS_HOUSEHOLDER: return "householder";
    case VN_BENCH_DAS_HOUSEHOLDER_LOW_RANK: return "householder_low_rank";
    case VN_BENCH_DAS_KIND_COUNT: break;
    }
    return "?";
}

long vn_bench_peak_rss_kb(void) {
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0) return -1;
    return usage.ru_maxrss;
}

/* Deterministic inputs in [-1, 1) and labels in {0, 1}. */
static void fill_inputs(vn_real *x, size_t n, uint64_t seed) {
    vn_rng rng;
    vn_rng_seed(&rng, seed, 11);
    for (size_t i = 0; i < n; i++) x[i] = (vn_real)(2 * vn_rng_uniform(&rng) - 1);
}

/* One training run's state, shared by the two benchmarks. */
typedef struct train_state {
    vn_host_alloc_stats stats;
    vn_arena arena;
    vn_context ctx;
    vn_mlp mlp;
    vn_iv_model model;
    vn_optim optim;
    vn_real *base, *source;
    int64_t *labels;
    int64_t *sub_offsets, *sub_values;
    vn_iv_partition_entry partition[2];
    int64_t pairs[4];
    vn_iv_representation rep;
    vn_iv_lists lists;
    const vn_bench_shape *shape;
    bool das;
} train_state;

static void train_free(train_state *t) {
    vn_arena_release(&t->arena);
    free(t->base);
    free(t->source);
    free(t->labels);
    free(t->sub_offsets);
    free(t->sub_values);
}

static bool train_init(train_state *t, const vn_bench_shape *shape, bool das, vn_bench_das_kind kind,
                       char *err, size_t err_size) {
    memset(t, 0, sizeof *t);
    t->shape = shape;
    t->das = das;
    vn_host_arena(&t->arena, &t->stats);
    vn_context_init(&t->ctx, &t->arena);
    size_t h = shape->h, b = shape->batch;
    vn_mlp_config config = vn_mlp_config_default();
    config.h_dim = (int64_t)h;
    config.n_layer = (int64_t)shape->layers;
    config.num_classes = 2;
    config.pdrop = 0;
    vn_rng rng;
    vn_rng_seed(&rng, 42, 1);
    t->base = malloc(b * h * sizeof(vn_real));
    t->source = malloc(b * h * sizeof(vn_real));
    t->labels = malloc(b * sizeof(int64_t));
    t->sub_offsets = malloc((b + 1) * sizeof(int64_t));
    t->sub_values = malloc(b * sizeof(int64_t));
    if (!t->base || !t->source || !t->labels || !t->sub_offsets || !t->sub_values) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    fill_inputs(t->base, b * h, 1);
    fill_inputs(t->source, b * h, 2);
    for (size_t i = 0; i < b; i++) {
        t->labels[i] = (int64_t)(i % 2);
        t->sub_offsets[i] = (int64_t)i;
        t->sub_values[i] = 0;
    }
    t->sub_offsets[b] = (int64_t)b;
    if (vn_mlp_init(&t->mlp, &t->ctx, &config, &rng) != VN_OK) goto fail;
    if (!das) {
        vn_node *params[2 * VN_BENCH_MAX_LAYERS + 2];
        size_t count = 0;
        for (size_t i = 0; i < t->mlp.n_params && count < VN_ARRAY_COUNT(params); i++)
            params[count++] = t->mlp.params[i].node;
        vn_optim_options o = vn_optim_defaults(VN_OPTIM_ADAMW);
        if (vn_optim_init(&t->optim, &t->ctx, &t->arena, &o, params, count) != VN_OK) goto fail;
        return true;
    }
    bool low_rank = kind == VN_BENCH_DAS_HOUSEHOLDER_LOW_RANK;
    size_t width = low_rank ? h / 2 : h;
    t->pairs[0] = 0;
    t->pairs[1] = (int64_t)(width / 2);
    t->pairs[2] = (int64_t)(width / 2);
    t->pairs[3] = (int64_t)width;
    t->partition[0] = (vn_iv_partition_entry){true, 2, t->pairs};
    t->partition[1] = (vn_iv_partition_entry){true, 2, t->pairs + 2};
    t->rep = vn_iv_representation_default(low_rank ? &vn_iv_type_low_rank_rotated_space
                                                   : &vn_iv_type_rotated_space);
    t->rep.layer = 0;
    t->rep.component = VN_NN_BLOCK_OUTPUT;
    t->rep.n_partitions = 2;
    t->rep.partition = t->partition;
    if (low_rank) t->rep.low_rank_dimension = (int64_t)width;
    vn_iv_config ivc = {0};
    ivc.count = 1;
    ivc.representations = &t->rep;
    ivc.has_orthogonal_map = true;
    ivc.orthogonal_map = kind == VN_BENCH_DAS_MATRIX_EXP ? VN_IV_ORTH_MATRIX_EXP
                         : kind == VN_BENCH_DAS_CAYLEY   ? VN_IV_ORTH_CAYLEY
                                                         : VN_IV_ORTH_HOUSEHOLDER;
    vn_iv_model_options mo = {&rng, false, false};
    if (vn_iv_model_init(&t->model, &t->ctx, &t->mlp, &ivc, &mo) != VN_OK) goto fail;
    vn_node *params[4];
    size_t n = vn_iv_model_trainable(&t->model, params, 4);
    vn_optim_options o = vn_optim_defaults(VN_OPTIM_ADAM);
    if (vn_optim_init(&t->optim, &t->ctx, &t->arena, &o, params, n) != VN_OK) goto fail;
    t->lists.offsets = t->sub_offsets;
    t->lists.values = t->sub_values;
    return true;
fail:
    snprintf(err, err_size, "%s", vn_context_message(&t->ctx));
    return false;
}

/* One training step; the context is rewound to where it was. */
static bool train_step(train_state *t) {
    vn_context *ctx = &t->ctx;
    vn_context_mark mark = vn_context_mark_get(ctx);
    size_t h = t->shape->h, b = t->shape->batch, shape[3] = {b, 1, h};
    vn_node *base = vn_leaf_wrap(ctx, t->base, 3, shape, VN_NODE_INPUT);
    vn_node *logits = NULL;
    if (t->das) {
        vn_node *source = vn_leaf_wrap(ctx, t->source, 3, shape, VN_NODE_INPUT);
        vn_iv_inputs in = {0};
        in.base = base;
        in.n_sources = 1;
        in.sources = &source;
        in.subspaces = &t->lists;
        vn_iv_outputs out;
        if (base && source && vn_iv_forward(&t->model, ctx, &in, &out) == VN_OK) logits = out.counterfactual_logits;
    } else {
        logits = vn_mlp_forward(&t->mlp, ctx, base);
    }
    vn_node *loss = vn_cross_entropy(ctx, logits, t->labels, b);
    vn_zero_grad(ctx);
    bool ok = loss && vn_backward(ctx, loss) == VN_OK && vn_optim_step(&t->optim) == VN_OK;
    ok = ok && ctx->status == VN_OK;
    if (ok) vn_context_rewind(ctx, mark);
    return ok;
}

bool vn_bench_train_case(const vn_bench_shape *shape, bool das, vn_bench_das_kind kind, double seconds,
                         vn_bench_train_result *result, char *err, size_t err_size) {
    memset(result, 0, sizeof *result);
    result->shape = *shape;
    result->kind = kind;
    train_state *t = malloc(sizeof *t);
    if (!t) {
        snprintf(err, err_size, "out of memory");
        return false;
    }
    bool ok = train_init(t, shape, das, kind, err, err_size);
    /* Warm up: the first steps grow the arena to its steady size. */
    for (int i = 0; ok && i < 3; i++) ok = train_step(t);
    size_t calls0 = t->stats.calls;
    /* Size a batch to about 1/8 of the budget, then take the best batch. */
    double t0 = vn_host_seconds();
    size_t reps = 0;
    while (ok && vn_host_seconds() - t0 < seconds / 16) {
        ok = train_step(t);
        reps++;
    }
    size_t steady_steps = reps;
    double per = reps ? (vn_host_seconds() - t0) / (double)reps : 1;
    size_t batch = (size_t)(seconds / 8 / (per > 0 ? per : 1e-9));
    if (batch < 1) batch = 1;
    double best = 0, end = vn_host_seconds() + seconds;
    int batches = 0;
    while (ok && (vn_host_seconds() < end || batches < 3)) {
        double s = vn_host_seconds();
        for (size_t r = 0; ok && r < batch; r++) ok = train_step(t);
        double dt = vn_host_seconds() - s;
        double rate = dt > 0 ? (double)batch / dt : 0;
        if (rate > best) best = rate;
        steady_steps += batch;
        batches++;
    }
    if (!ok && !err[0]) snprintf(err, err_size, "%s", vn_context_message(&t->ctx));
    result->steps_per_second = best;
    result->alloc_calls_per_step = steady_steps ? (double)(t->stats.calls - calls0) / (double)steady_steps : 0;
    result->arena_bytes = t->stats.peak_bytes;
    result->peak_rss_kb = vn_bench_peak_rss_kb();
    train_free(t);
    free(t);
    return ok;
}

static void print_results(FILE *out, const char *what, const vn_bench_train_result *r, size_t count, bool json) {
    if (json) {
        fprintf(out, "[\n");
        for (size_t i = 0; i < count; i++)
            fprintf(out, "  {\"bench\": \"%s\", \"map\": \"%s\", \"h\": %zu, \"layers\": %zu, \"batch\": %zu, "
                    "\"steps_per_second\": %.1f, \"alloc_calls_per_step\": %.3f, \"arena_bytes\": %zu, "
                    "\"peak_rss_kb\": %ld, \"real\": \"%s\"}%s\n", what,
                    strcmp(what, "das") == 0 ? vn_bench_das_kind_name(r[i].kind) : "-", r[i].shape.h,
                    r[i].shape.layers, r[i].shape.batch, r[i].steps_per_second, r[i].alloc_calls_per_step,
                    r[i].arena_bytes, r[i].peak_rss_kb, VN_REAL_NAME, i + 1 < count ? "," : "");
        fprintf(out, "]\n");
        return;
    }
    for (size_t i = 0; i < count; i++)
        fprintf(out, "%-22s %6zu %6zu %6zu %12.1f %12.3f %12.1f %10ld\n",
                strcmp(what, "das") == 0 ? vn_bench_das_kind_name(r[i].kind) : "mlp (AdamW)", r[i].shape.h,
                r[i].shape.layers, r[i].shape.batch, r[i].steps_per_second, r[i].alloc_calls_per_step,
                (double)r[i].arena_bytes / 1048576.0, r[i].peak_rss_kb);
}

static void print_header(FILE *out, const char *title, double seconds) {
    fprintf(out, "%s: training steps/s, best of batches over %.2g s per case; element %s\n", title, seconds,
            VN_REAL_NAME);
    fprintf(out, "%-22s %6s %6s %6s %12s %12s %12s %10s\n", "map", "h", "layers", "batch", "steps/s",
            "allocs/step", "arena MiB", "peak RSS kB");
}

int vn_bench_das(FILE *out, double seconds, bool json, size_t only_h, size_t batch) {
    static const vn_bench_das_kind kinds[] = {VN_BENCH_DAS_MATRIX_EXP, VN_BENCH_DAS_HOUSEHOLDER,
                                              VN_BENCH_DAS_HOUSEHOLDER_LOW_RANK, VN_BENCH_DAS_CAYLEY};
    vn_bench_train_result results[VN_BENCH_TRAIN_SHAPES * 4];
    size_t count = 0;
    int failures = 0;
    if (!json) print_header(out, "DAS step (frozen MLP, RotatedSpaceIntervention at layer 0 block_output, Adam)", seconds);
    for (size_t k = 0; k < VN_ARRAY_COUNT(kinds); k++) {
        for (size_t s = 0; s < VN_BENCH_TRAIN_SHAPES; s++) {
            if (only_h && vn_bench_train_shapes[s].h != only_h) continue;
            char err[512] = "";
            vn_bench_shape shape = vn_bench_train_shapes[s];
            if (batch) shape.batch = batch;
            if (!vn_bench_train_case(&shape, true, kinds[k], seconds, &results[count], err,
                                     sizeof err)) {
                fprintf(stderr, "das %s h=%zu: %s\n", vn_bench_das_kind_name(kinds[k]),
                        vn_bench_train_shapes[s].h, err);
                failures++;
                continue;
            }
            if (!json) print_results(out, "das", &results[count], 1, false), fflush(out);
            count++;
        }
    }
    if (json) print_results(out, "das", results, count, true);
    return failures;
}

int vn_bench_mlp(FILE *out, double seconds, bool json, size_t only_h, size_t batch) {
    vn_bench_train_result results[VN_BENCH_TRAIN_SHAPES];
    size_t count = 0;
    int failures = 0;
    if (!json) print_header(out, "MLP training step (cross-entropy, AdamW on all weights)", seconds);
    for (size_t s = 0; s < VN_BENCH_TRAIN_SHAPES; s++) {
        if (only_h && vn_bench_train_shapes[s].h != only_h) continue;
        char err[512] = "";
        vn_bench_shape shape = vn_bench_train_shapes[s];
        if (batch) shape.batch = batch;
        if (!vn_bench_train_case(&shape, false, VN_BENCH_DAS_MATRIX_EXP, seconds,
                                 &results[count], err, sizeof err)) {
            fprintf(stderr, "mlp h=%zu: %s\n", vn_bench_train_shapes[s].h, err);
            failures++;
            continue;
        }
        if (!json) print_results(out, "mlp", &results[count], 1, false), fflush(out);
        count++;
    }
    if (json) print_results(out, "mlp", results, count, true);
    return failures;
}

void vn_bench_das_threads(FILE *out, double seconds, int threads, size_t h) {
    const vn_bench_shape *shape = NULL;
    for (size_t s = 0; s < VN_BENCH_TRAIN_SHAPES; s++)
        if (vn_bench_train_shapes[s].h == h) shape = &vn_bench_train_shapes[s];
    vn_bench_pool *pool = vn_bench_pool_create(threads);
    if (!shape || !pool) {
        fprintf(out, "das threads: no shape with h = %zu or no threads\n", h);
        vn_bench_pool_destroy(pool);
        return;
    }
    fprintf(out, "DAS step with a %d-thread pool as the parallel-for hook; element %s\n", threads, VN_REAL_NAME);
    fprintf(out, "%-22s %6s %6s %6s %12s %12s %8s\n", "map", "h", "layers", "batch", "1 thread", "pool",
            "speedup");
    static const vn_bench_das_kind kinds[] = {VN_BENCH_DAS_MATRIX_EXP, VN_BENCH_DAS_CAYLEY};
    for (size_t k = 0; k < VN_ARRAY_COUNT(kinds); k++) {
        vn_bench_train_result one, many;
        char err[512] = "";
        vn_set_parallel_for(NULL, NULL);
        bool ok = vn_bench_train_case(shape, true, kinds[k], seconds, &one, err, sizeof err);
        vn_set_parallel_for(vn_bench_pool_parallel_for, pool);
        ok = ok && vn_bench_train_case(shape, true, kinds[k], seconds, &many, err, sizeof err);
        vn_set_parallel_for(NULL, NULL);
        if (!ok) {
            fprintf(out, "%-22s %s\n", vn_bench_das_kind_name(kinds[k]), err);
            continue;
        }
        fprintf(out, "%-22s %6zu %6zu %6zu %12.1f %12.1f %7.2fx\n", vn_bench_das_kind_name(kinds[k]), shape->h,
                shape->layers, shape->batch, one.steps_per_second, many.steps_per_second,
                one.steps_per_second > 0 ? many.steps_per_second / one.steps_per_second : 0.0);
        fflush(out);
    }
    vn_bench_pool_destroy(pool);
}
