/* cvene.c — the cvene command: subcommands in the style of git.
 *
 *   cvene das         pyvene's DAS tutorial end to end (the main job; cmd_das.c)
 *   cvene train       train pyvene's MLP, write a model directory (cmd_train.c)
 *   cvene demo        train a small network with the engine
 *   cvene gradcheck   check every op's backward against finite differences
 *   cvene bench       benchmarks (matmul GFLOP/s, DAS and MLP steps/s)
 *
 * Hosted code: stdio, malloc and clocks live here, never in the core. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "cli_common.h"
#include "host.h"
#include "vn_gradcheck.h"
#include "vn_iv_types.h"
#include "vn_ops.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

/* Parses "--name value" for an unsigned integer option; false (with a
 * message) on a malformed value. */
static bool parse_count(const char *flag, const char *text, unsigned long *out) {
    char *end;
    unsigned long v = strtoul(text, &end, 10);
    if (!*text || *end || text[0] == '-') {
        fprintf(stderr, "cvene: %s expects a non-negative integer, got '%s'\n", flag, text);
        return false;
    }
    *out = v;
    return true;
}

/* ---- demo: a 2-16-2 tanh network learns the XOR of two signs ----------------- */

static void demo_batch(vn_rng *rng, vn_real *x, int64_t *labels, size_t n) {
    for (size_t i = 0; i < n; i++) {
        double a = 2 * vn_rng_uniform(rng) - 1, b = 2 * vn_rng_uniform(rng) - 1;
        x[2 * i] = (vn_real)a;
        x[2 * i + 1] = (vn_real)b;
        labels[i] = (a > 0) != (b > 0);
    }
}

static int cmd_demo(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: cvene demo [--steps N] [--seed S]\n\n"
             "Trains a 2-16-2 tanh network on the XOR of two signs with plain SGD,\n"
             "built from cvene's ops, and reports loss, accuracy and allocator calls.\n\n"
             "example: cvene demo --steps 3000 --seed 1");
        return 0;
    }
    unsigned long steps = 3000, seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--steps") && i + 1 < argc) {
            if (!parse_count("--steps", argv[++i], &steps)) return 2;
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            if (!parse_count("--seed", argv[++i], &seed)) return 2;
        } else {
            fprintf(stderr, "cvene demo: unknown argument '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    enum { BATCH = 64, HIDDEN = 16 };
    vn_host_alloc_stats stats = {0};
    vn_arena arena;
    vn_host_arena(&arena, &stats);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 0);

    /* Parameters, initialised like PyTorch's Linear: U(±1/√fan_in). */
    size_t w1s[2] = {HIDDEN, 2}, b1s[1] = {HIDDEN}, w2s[2] = {2, HIDDEN}, b2s[1] = {2};
    vn_node *w1 = vn_node_set_name(&ctx, vn_param(&ctx, 2, w1s), "ff1.weight");
    vn_node *b1 = vn_node_set_name(&ctx, vn_param(&ctx, 1, b1s), "ff1.bias");
    vn_node *w2 = vn_node_set_name(&ctx, vn_param(&ctx, 2, w2s), "score.weight");
    vn_node *b2 = vn_node_set_name(&ctx, vn_param(&ctx, 1, b2s), "score.bias");
    if (!w1 || !b1 || !w2 || !b2) {
        fprintf(stderr, "cvene demo: %s\n", vn_context_message(&ctx));
        return 1;
    }
    vn_node *params[4] = {w1, b1, w2, b2};
    double bounds[4] = {1 / 1.4142135623730951, 1 / 1.4142135623730951, 0.25, 0.25};
    for (int p = 0; p < 4; p++)
        vn_rng_fill_uniform(&rng, params[p]->value.data, params[p]->value.numel, -bounds[p], bounds[p]);

    vn_context_mark mark = vn_context_mark_get(&ctx);
    size_t calls_before = 0;
    double t0 = vn_host_seconds(), running = 0;
    const double lr = 0.5;
    printf("cvene demo: 2-16-2 tanh network, XOR of signs, SGD lr %.2f, batch %d, %lu steps\n",
           lr, BATCH, steps);
    for (unsigned long step = 1; step <= steps; step++) {
        size_t xs[2] = {BATCH, 2};
        vn_node *x = vn_input(&ctx, 2, xs);
        int64_t labels[BATCH];
        if (x) demo_batch(&rng, x->value.data, labels, BATCH);
        vn_node *h = vn_tanh_op(&ctx, vn_add(&ctx, vn_matmul(&ctx, x, w1, false, true), b1));
        vn_node *logits = vn_add(&ctx, vn_matmul(&ctx, h, w2, false, true), b2);
        vn_node *loss = vn_cross_entropy(&ctx, logits, labels, BATCH);
        vn_zero_grad(&ctx);
        if (vn_backward(&ctx, loss) != VN_OK) {
            fprintf(stderr, "cvene demo: step %lu: %s\n", step, vn_context_message(&ctx));
            return 1;
        }
        running += loss->value.data[0];
        for (int p = 0; p < 4; p++) vn_axpy(params[p]->value.data, params[p]->grad.data, params[p]->value.numel, (vn_real)-lr);
        vn_context_rewind(&ctx, mark);
        if (step == 1) calls_before = stats.calls;
        if (step % 500 == 0 || step == steps) {
            unsigned long span = step % 500 == 0 ? 500 : step % 500;
            printf("  step %5lu  loss %.4f\n", step, running / (double)span);
            running = 0;
        }
    }
    double seconds = vn_host_seconds() - t0;

    /* Accuracy on fresh points, without gradients. */
    vn_context_set_grad(&ctx, false);
    enum { TEST = 4096 };
    size_t ts[2] = {TEST, 2};
    vn_node *x = vn_input(&ctx, 2, ts);
    static int64_t labels[TEST];
    if (x) demo_batch(&rng, x->value.data, labels, TEST);
    vn_node *logits = vn_add(&ctx, vn_matmul(&ctx, vn_tanh_op(&ctx, vn_add(&ctx, vn_matmul(&ctx, x, w1, false, true), b1)), w2, false, true), b2);
    if (!logits) {
        fprintf(stderr, "cvene demo: %s\n", vn_context_message(&ctx));
        return 1;
    }
    size_t correct = 0;
    for (size_t i = 0; i < TEST; i++) {
        int64_t predicted = logits->value.data[2 * i + 1] > logits->value.data[2 * i];
        correct += predicted == labels[i];
    }
    printf("test accuracy: %.4f on %d fresh points\n", (double)correct / TEST, TEST);
    printf("%lu steps in %.3f s (%.0f steps/s); allocator calls after step 1: %zu\n", steps,
           seconds, (double)steps / seconds, stats.calls - calls_before);
    vn_arena_release(&arena);
    return 0;
}

/* ---- gradcheck: a table over registered ops ------------------------------------ */

static int cmd_gradcheck(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: cvene gradcheck [OP...]\n\n"
             "Compares every op's backward with central differences (all registered ops\n"
             "by default) and prints op, case, input shapes, max abs and relative error\n"
             "and the verdict. Exit status 1 if any case fails.\n\n"
             "example: cvene gradcheck matmul softmax");
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        if (!vn_op_find(argv[i])) {
            fprintf(stderr, "cvene gradcheck: unknown op '%s'; registered ops:", argv[i]);
            for (size_t k = 0; k < vn_op_count(); k++) fprintf(stderr, " %s", vn_op_at(k)->name);
            fputc('\n', stderr);
            return 2;
        }
    }
    vn_gradcheck_options options = vn_gradcheck_defaults();
    printf("gradcheck (%s build): eps %g, atol %g, rtol %g\n", VN_REAL_NAME, options.eps,
           options.atol, options.rtol);
    int width = 16; /* the op column fits the longest registered name (plugins' are long) */
    for (size_t k = 0; k < vn_op_count(); k++)
        if ((int)strlen(vn_op_at(k)->name) > width) width = (int)strlen(vn_op_at(k)->name);
    printf("%-*s %4s  %-28s %12s %12s  %s\n", width, "op", "case", "input shapes", "max abs", "max rel", "result");
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    int failures = 0;
    for (size_t k = 0; k < vn_op_count(); k++) {
        const vn_op *op = vn_op_at(k);
        bool selected = argc == 1;
        for (int i = 1; i < argc; i++) selected |= !strcmp(argv[i], op->name);
        if (!selected) continue;
        for (int index = 0;; index++) {
            vn_context_mark mark = vn_context_mark_get(&ctx);
            vn_gradcheck_result result;
            vn_node *node;
            bool built;
            vn_status status = vn_gradcheck_case(&ctx, op, index, &options, &result, &node, &built);
            if (status != VN_OK) {
                printf("%-*s %4d  error: %s\n", width, op->name, index, vn_context_message(&ctx));
                failures++;
                vn_context_rewind(&ctx, mark);
                break;
            }
            if (!built) break;
            char shapes[128] = "", one[48];
            for (int i = 0; i < node->n_inputs; i++) {
                vn_shape_string(&node->inputs[i]->value, one, sizeof one);
                if (i) strncat(shapes, " ", sizeof shapes - strlen(shapes) - 1);
                strncat(shapes, one, sizeof shapes - strlen(shapes) - 1);
            }
            bool ok = result.failed == 0;
            failures += !ok;
            printf("%-*s %4d  %-28s %12.3e %12.3e  %s\n", width, op->name, index, shapes,
                   result.max_abs_error, result.max_rel_error, ok ? "pass" : "FAIL");
            vn_context_rewind(&ctx, mark);
        }
    }
    vn_arena_release(&arena);
    printf("%s\n", failures ? "some checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}

/* ---- bench ----------------------------------------------------------------------- */

static int cmd_bench(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        puts("usage: cvene bench [matmul] [das] [mlp] [--seconds S] [--threads N] [--h H] [--batch B] [--json]\n\n"
             "matmul  matrix-product GFLOP/s for square n = 64, 256, 1024 and the DAS\n"
             "        shapes, each transpose variant\n"
             "das     DAS training steps/s: frozen MLP, one RotatedSpaceIntervention at\n"
             "        layer 0 block_output, cross-entropy, backward, Adam on the rotation;\n"
             "        maps matrix_exp, householder (square, and tall h x h/2 through\n"
             "        LowRankRotatedSpaceIntervention) and cayley; (h, layers, batch) =\n"
             "        (16,3,64) (32,1,64) (128,2,64) (512,2,64) (1024,2,32)\n"
             "mlp     MLP training steps/s (AdamW on every weight), the same shapes\n"
             "With no name, matmul. Every table is single-threaded; --threads N (N >= 2)\n"
             "adds the speedup of an N-thread pool for matmul and the DAS step at h = 512.\n"
             "--h H keeps only the shapes of width H, --batch B replaces their batch size\n"
             "(cvene das trains at --h 16 --batch 6400); --json prints das/mlp as JSON.\n"
             "Each case also reports allocator calls per steady-state step and peak RSS.\n\n"
             "example: cvene bench das --seconds 0.5");
        return 0;
    }
    double seconds = 0.3;
    bool matmul = false, das = false, mlp = false, json = false;
    int threads = 0;
    size_t only_h = 0, batch = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seconds") && i + 1 < argc) {
            seconds = atof(argv[++i]);
            if (!(seconds > 0 && seconds < 3600)) {
                fprintf(stderr, "cvene bench: --seconds expects a positive number\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            threads = atoi(argv[++i]);
            if (threads < 2 || threads > 64) {
                fprintf(stderr, "cvene bench: --threads expects 2 to 64\n");
                return 2;
            }
        } else if (!strcmp(argv[i], "--h") && i + 1 < argc) {
            long h = atol(argv[++i]);
            if (h <= 0) {
                fprintf(stderr, "cvene bench: --h expects a positive width\n");
                return 2;
            }
            only_h = (size_t)h;
        } else if (!strcmp(argv[i], "--batch") && i + 1 < argc) {
            long b = atol(argv[++i]);
            if (b <= 0) {
                fprintf(stderr, "cvene bench: --batch expects a positive size\n");
                return 2;
            }
            batch = (size_t)b;
        } else if (!strcmp(argv[i], "--json")) {
            json = true;
        } else if (!strcmp(argv[i], "matmul")) {
            matmul = true;
        } else if (!strcmp(argv[i], "das")) {
            das = true;
        } else if (!strcmp(argv[i], "mlp")) {
            mlp = true;
        } else {
            fprintf(stderr, "cvene bench: unknown benchmark '%s' (see --help)\n", argv[i]);
            return 2;
        }
    }
    if (!matmul && !das && !mlp) matmul = true;
    int failures = 0;
    if (matmul) {
        vn_bench_matmul(stdout, seconds);
        if (threads) {
            printf("\n");
            vn_bench_matmul_threads(stdout, seconds, threads);
        }
    }
    if (das) {
        if (matmul && !json) printf("\n");
        failures += vn_bench_das(stdout, seconds, json, only_h, batch);
        if (threads && !json) {
            printf("\n");
            vn_bench_das_threads(stdout, seconds, threads, 512);
        }
    }
    if (mlp) {
        if ((matmul || das) && !json) printf("\n");
        failures += vn_bench_mlp(stdout, seconds, json, only_h, batch);
    }
    return failures ? 1 : 0;
}

int cmd_eval(int argc, char **argv);  /* cmd_eval.c */
int cmd_align(int argc, char **argv); /* cmd_align.c */
int cmd_dot(int argc, char **argv);   /* cmd_dot.c */
int cmd_trace(int argc, char **argv); /* cmd_trace.c */
int cmd_train(int argc, char **argv); /* cmd_train.c */
int cmd_das(int argc, char **argv);   /* cmd_das.c */

static const command commands[] = {
    {"das", cmd_das, "pyvene's DAS tutorial end to end: task data, MLP, alignment, IIA"},
    {"train", cmd_train, "train pyvene's MLP on a data file or a task; write a model directory"},
    {"demo", cmd_demo, "train a small network with the engine"},
    {"eval", cmd_eval, "base and counterfactual logits (and gradients) of a model under an intervention"},
    {"align", cmd_align, "train an intervention's rotations, boundaries and masks on labels"},
    {"dot", cmd_dot, "draw the graph of a forward (and backward) pass: .dot, .svg, .png"},
    {"trace", cmd_trace, "print a forward and a backward pass step by step"},
    {"gradcheck", cmd_gradcheck, "check op gradients against finite differences"},
    {"bench", cmd_bench, "benchmarks: matmul GFLOP/s, DAS and MLP training steps/s"},
};

static void usage(FILE *out) {
    fprintf(out, "usage: cvene COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\n'cvene COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv) {
    vn_iv_register_ops(); /* the intervention and rotation ops, for gradcheck and the commands */
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "cvene: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
