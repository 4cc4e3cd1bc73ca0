/* scalar_example.c — backpropagation on numbers small enough to check by hand.
 *
 *   build/tools/scalar_example [--dot FILE]
 *
 * Two expressions on 0-d tensors, built with cvene's ops exactly as a
 * network is built (autograd/README.md walks through them):
 *
 *   a = 2, b = −3, c = 10, f = −2
 *   e = a·b = −6,  d = e + c = 4,  L = d·f = −8
 *
 *   x1 = 2, x2 = 0, w1 = −3, w2 = 1, bias = 6.8813735870195432
 *   n = x1·w1 + x2·w2 + bias = 0.8813735870195432,  o = tanh(n) = 1/√2
 *
 * Backward from L and from o gives every gradient; the chain rule by hand:
 *   dL/dL = 1, dL/dd = f = −2, dL/df = d = 4, dL/de = dL/dd · 1 = −2,
 *   dL/dc = −2, dL/da = dL/de · b = 6, dL/db = dL/de · a = −4;
 *   do/dn = 1 − o² = 0.5, do/dbias = 0.5, do/dx1 = w1 · 0.5 = −1.5,
 *   do/dw1 = x1 · 0.5 = 1, do/dx2 = w2 · 0.5 = 0.5, do/dw2 = x2 · 0.5 = 0.
 *
 * It prints the forward and backward trace, writes the graph with values
 * and gradients as DOT (default scalar_example.dot; render it with
 * `dot -Tsvg scalar_example.dot -o scalar_example.svg`), and checks every
 * gradient against the hand-derived value. Exit status 0 when all agree. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"
#include "vn_ops.h"

/* A named 0-d parameter holding v: a leaf whose gradient backward fills. */
static vn_node *number(vn_context *ctx, const char *name, double v) {
    vn_node *x = vn_node_set_name(ctx, vn_param(ctx, 0, NULL), name);
    if (x) x->value.data[0] = (vn_real)v;
    return x;
}

static vn_node *named(vn_context *ctx, vn_node *x, const char *name) { return vn_node_set_name(ctx, x, name); }

typedef struct expected {
    const char *name;
    const vn_node *node;
    double value, grad;
} expected;

int main(int argc, char **argv) {
    const char *dot_path = "scalar_example.dot";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dot") && i + 1 < argc) {
            dot_path = argv[++i];
        } else {
            fprintf(stderr, "usage: scalar_example [--dot FILE]\n");
            return 2;
        }
    }
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);

    /* The first expression. */
    vn_node *a = number(&ctx, "a", 2), *b = number(&ctx, "b", -3), *c = number(&ctx, "c", 10);
    vn_node *e = named(&ctx, vn_mul(&ctx, a, b), "e");
    vn_node *d = named(&ctx, vn_add(&ctx, e, c), "d");
    vn_node *f = number(&ctx, "f", -2);
    vn_node *L = named(&ctx, vn_mul(&ctx, d, f), "L");

    /* A neuron: tanh(x1·w1 + x2·w2 + bias). */
    vn_node *x1 = number(&ctx, "x1", 2), *x2 = number(&ctx, "x2", 0);
    vn_node *w1 = number(&ctx, "w1", -3), *w2 = number(&ctx, "w2", 1);
    vn_node *bias = number(&ctx, "bias", 6.8813735870195432);
    vn_node *x1w1 = named(&ctx, vn_mul(&ctx, x1, w1), "x1*w1");
    vn_node *x2w2 = named(&ctx, vn_mul(&ctx, x2, w2), "x2*w2");
    vn_node *sum = named(&ctx, vn_add(&ctx, x1w1, x2w2), "x1*w1 + x2*w2");
    vn_node *n = named(&ctx, vn_add(&ctx, sum, bias), "n");
    vn_node *o = named(&ctx, vn_tanh_op(&ctx, n), "o");

    if (vn_backward(&ctx, L) != VN_OK || vn_backward(&ctx, o) != VN_OK) {
        fprintf(stderr, "scalar_example: %s\n", vn_context_message(&ctx));
        return 1;
    }

    printf("L = (a*b + c) * f\n\n");
    render_trace_forward(stdout, &ctx, L, 6);
    printf("\n");
    bool ok = render_trace_backward(stdout, &ctx, L, 6);
    printf("\no = tanh(x1*w1 + x2*w2 + bias)\n\n");
    render_trace_forward(stdout, &ctx, o, 6);
    printf("\n");
    ok &= render_trace_backward(stdout, &ctx, o, 6);

    /* Both expressions in one picture, left to right, with values and gradients. */
    vn_host_buffer text = {0};
    vn_dot_options options = vn_dot_defaults();
    options.flags |= VN_DOT_VALUES | VN_DOT_GRADS | VN_DOT_LEFT_RIGHT;
    options.title = "L = (a*b + c) * f   and   o = tanh(x1*w1 + x2*w2 + bias)";
    char err[VN_HOST_ERR];
    if (vn_dot_write(&ctx, NULL, &options, vn_host_buffer_write, &text) != VN_OK || text.failed ||
        !render_write((const char *)text.data, text.size, dot_path, err)) {
        fprintf(stderr, "scalar_example: cannot write %s: %s\n", dot_path,
                text.failed ? "out of memory" : vn_context_status(&ctx) ? vn_context_message(&ctx) : err);
        ok = false;
    } else {
        printf("\nwrote the graph to %s\n", dot_path);
    }
    vn_host_buffer_free(&text);

    const expected checks[] = {
        {"a", a, 2, 6},      {"b", b, -3, -4},   {"c", c, 10, -2},    {"e", e, -6, -2},
        {"d", d, 4, -2},     {"f", f, -2, 4},    {"L", L, -8, 1},     {"x1", x1, 2, -1.5},
        {"w1", w1, -3, 1},   {"x2", x2, 0, 0.5}, {"w2", w2, 1, 0},    {"bias", bias, 6.8813735870195432, 0.5},
        {"n", n, 0.8813735870195432, 0.5},       {"o", o, 0.7071067811865476, 1},
    };
    const double tol = sizeof(vn_real) == sizeof(float) ? 1e-5 : 1e-12;
    printf("\n%-6s %12s %12s %12s  %s\n", "node", "value", "gradient", "by hand", "check");
    for (size_t k = 0; k < sizeof checks / sizeof checks[0]; k++) {
        const expected *x = &checks[k];
        double value = x->node->value.data[0], grad = x->node->grad.data ? x->node->grad.data[0] : NAN;
        bool good = fabs(value - x->value) <= tol * (1 + fabs(x->value)) &&
                    fabs(grad - x->grad) <= tol * (1 + fabs(x->grad));
        ok &= good;
        printf("%-6s %12.6f %12.6f %12.6f  %s\n", x->name, value, grad, x->grad, good ? "ok" : "WRONG");
    }
    printf("%s\n", ok ? "every gradient agrees with the hand-derived value" : "some gradient is WRONG");
    vn_arena_release(&arena);
    return ok ? 0 : 1;
}
