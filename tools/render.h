/* render.h — hosted helpers for graph pictures and traces: a graph built
 * and kept together with its context (the seed tutorial's, or a model's),
 * DOT text written to .dot files or rendered to .svg / .png through
 * Graphviz's libgvc, and the step-by-step trace of a forward and backward
 * pass that `cvene trace` and tools/scalar_example.c print.
 *
 * Hosted code (stdio, malloc). Rendering needs libgvc at build time
 * (CVENE_HAVE_GVC); without it only .dot files can be written, and the
 * functions below say so in their error message. */
#ifndef RENDER_H
#define RENDER_H

#include <stdio.h>

#include "host.h"
#include "vn_dot.h"
#include "vn_iv_model.h"

/* ---- a graph and everything it lives in ---------------------------------------- */

#define RENDER_MAX_RUNS (VN_IV_MAX_REPRESENTATIONS + 1)

/* A forward pass (and optionally its backward pass) kept for drawing. The
 * context points into the struct: do not copy or move it once built.
 * Release with render_graph_free. */
typedef struct render_graph {
    vn_arena arena;                 /* owns every node and tensor */
    vn_context ctx;
    vn_mlp mlp;
    vn_iv_model model;
    bool has_model;                 /* an intervenable model was built */
    vn_node *output;                /* counterfactual logits (base logits without interventions) */
    vn_node *loss;                  /* sum of the output, after backward; NULL without */
    vn_node *collected[VN_IV_MAX_REPRESENTATIONS]; /* CollectIntervention outputs */
    size_t n_collected;
    vn_dot_run runs[RENDER_MAX_RUNS]; /* every source run, then the base run */
    size_t n_runs;
    char run_labels[RENDER_MAX_RUNS][64];
    char title[256];
} render_graph;

/* Starts an empty graph: its arena (malloc-backed) and context. */
void render_graph_init(render_graph *g);
void render_graph_free(render_graph *g);

/* The seed tutorial's cells 4-5 (pyvene's NonTransformer_MLP_Intervention
 * notebook): MLPConfig(h_dim=32, n_layer=1) (GELU, eval mode, frozen), one
 * RotatedSpaceIntervention at layer 0 block_output with subspace_partition
 * [[0, 16], [16, 32]] (a matrix_exp rotation), base and source drawn as
 * torch.rand(1, 1, 32), unit locations [[[0]]] on both sides and subspaces
 * [[[1, 0]]], everything from PCG32 seed 0 in the order the tutorial
 * program (tools/seed_tutorial.c) draws it. With `backward`, the loss is the
 * sum of the counterfactual logits and vn_backward has run.
 * Returns false with a message in err (VN_HOST_ERR bytes). */
bool render_seed_graph(render_graph *g, bool backward, char *err);

/* Fills g->runs and g->run_labels for a model's inputs: "source run
 * (group g)" for every non-NULL source, then "base run". */
void render_graph_set_runs(render_graph *g, vn_node *base, vn_node *const *sources, size_t n_sources);

/* The roots of the graph's picture: the loss (or, without backward, the
 * output), then every collected output; returns how many (at most max). */
size_t render_graph_roots(const render_graph *g, const vn_node **roots, size_t max);

/* Every node the roots depend on, in topological order: a malloc'd array
 * (free it) of *count nodes; NULL when out of memory. */
const vn_node **render_graph_nodes(const render_graph *g, size_t *count);

/* The intervention op nodes the roots depend on, in topological order;
 * returns how many there are (at most max are stored). */
size_t render_interventions(const render_graph *g, const vn_node **out, size_t max);

/* ---- DOT text and rendering --------------------------------------------------------- */

/* The output formats, from a path's extension. */
typedef enum render_format { RENDER_DOT, RENDER_SVG, RENDER_PNG, RENDER_UNKNOWN } render_format;
render_format render_format_of(const char *path);

/* True when this build can render SVG and PNG (libgvc was found). */
bool render_have_graphviz(void);

/* Writes DOT text (length bytes, need not be NUL-terminated) to `path`:
 * as is for .dot, laid out by Graphviz's dot engine for .svg and .png.
 * The file is written atomically. false with a message in err. */
bool render_write(const char *dot_text, size_t length, const char *path, char *err);

/* Lays out DOT text and renders it in memory ("svg" or "png"); *out is
 * malloc'd (free it). false with a message in err. */
bool render_to_memory(const char *dot_text, size_t length, const char *format, char **out, size_t *out_length,
                      char *err);

/* ---- traces -------------------------------------------------------------------------- */

/* Prints the forward pass of everything `root` depends on, node by node in
 * creation (= topological) order: each leaf with its role and value, each
 * op with its inputs (index, name, shape) and its output (shape, values as
 * vn_dot_summary prints them, `digits` significant digits). */
void render_trace_forward(FILE *out, vn_context *ctx, const vn_node *root, int digits);

/* Prints the backward pass from `loss`, which vn_backward has already
 * processed: in reverse creation order, each node that received a
 * gradient, the gradient it received, and for ops the contribution sent to
 * each input. The contributions are recomputed by calling the op's
 * backward once more into temporary buffers (the engine records nothing
 * while it runs); the node's own gradients are left as they were.
 * Returns false when that call fails (message printed). */
bool render_trace_backward(FILE *out, vn_context *ctx, const vn_node *loss, int digits);

/* ---- graphs of the cvene command (implemented in tools/cmd_dot.c) ----------------------- */

/* Where `cvene dot` and `cvene trace` take their graph from. */
typedef struct render_source {
    const char *model;        /* DIR with config.json and model.safetensors; NULL: the seed tutorial */
    const char *intervention; /* DIR with config.json [+ interventions.safetensors] */
    const char *data;         /* safetensors data file; NULL: the deterministic input */
} render_source;

/* Parses the source options (--model, --intervention, --data) at argv[*i];
 * returns 1 when it took the option (and its value, *i advanced), 0 when
 * argv[*i] is something else, -1 after printing an error. */
int render_parse_source(const char *cmd, int argc, char **argv, int *i, render_source *src);

/* Builds the graph the source names: the seed tutorial, or the model (with
 * the intervention, on the data file or on the deterministic input: batch
 * 1, as many positions as the largest max_number_of_units, base then each
 * group's source uniform in [0, 1) from PCG32 seed 0, default unit
 * locations, every subspace). With `backward`, runs backward from the sum
 * of the output. Prints errors prefixed by cmd and returns false. */
bool render_load_graph(const char *cmd, const render_source *src, bool backward, render_graph *g);

#endif
