/* cmd_trace.c — `cvene trace`: a forward and a backward pass, step by step. */
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "render.h"

static const char *const CMD = "trace";

static void usage(void) {
    puts("usage: cvene trace [--model DIR [--intervention DIR] [--data FILE]] [--digits N]\n"
         "                   [--forward-only]\n"
         "\n"
         "Prints a forward pass node by node (each op, its inputs' shapes, its output) and\n"
         "then the backward pass from L = sum(output), newest node first: the gradient\n"
         "each node receives and what its backward sends to each input. Tensors of up to\n"
         "8 values are printed in full, larger ones as min / max / mean.\n"
         "\n"
         "Without --model: the seed tutorial's cell 5 (an MLP with h_dim 32 and one GELU\n"
         "layer, a RotatedSpaceIntervention at layer 0 block_output, base and source of\n"
         "shape (1, 1, 32)). The model's weights are frozen, as in pyvene, so the\n"
         "gradient flows through the intervention into its rotation only.\n"
         "\n"
         "  --model, --intervention, --data   as for `cvene dot` (see cvene dot --help)\n"
         "  --digits N                        significant digits (default 4)\n"
         "  --forward-only                    stop after the forward pass\n"
         "\n"
         "example: cvene trace --digits 3");
}

int cmd_trace(int argc, char **argv);

int cmd_trace(int argc, char **argv) {
    render_source src = {0};
    size_t digits = 4;
    bool forward_only = false;
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        int took = render_parse_source(CMD, argc, argv, &i, &src);
        if (took < 0) return 2;
        if (took) continue;
        if (!strcmp(argv[i], "--digits") && i + 1 < argc) {
            if (!cli_parse_size(CMD, "--digits", argv[++i], 1, &digits)) return 2;
            if (digits > 17) return cli_fail(CMD, "--digits must be at most 17"), 2;
        } else if (!strcmp(argv[i], "--forward-only")) {
            forward_only = true;
        } else {
            return cli_fail(CMD, "unknown argument '%s' (see --help)", argv[i]), 2;
        }
    }
    render_graph *g = malloc(sizeof *g);
    if (!g) return cli_fail(CMD, "out of memory"), 1;
    render_graph_init(g);
    int status = 1;
    if (render_load_graph(CMD, &src, !forward_only, g)) {
        printf("%s\n\n", g->title);
        render_trace_forward(stdout, &g->ctx, g->output, (int)digits);
        status = 0;
        if (!forward_only) {
            printf("\nL = sum(output) = #%d\n\n", g->loss->index);
            if (!render_trace_backward(stdout, &g->ctx, g->loss, (int)digits)) status = 1;
        }
    }
    render_graph_free(g);
    free(g);
    return status;
}
