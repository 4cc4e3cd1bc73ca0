/* render.c — graphs kept for pictures, Graphviz rendering, and traces. */
#include "render.h"

#include <stdlib.h>
#include <string.h>

#include "vn_iv_types.h"
#include "vn_ops.h"

#ifdef CVENE_HAVE_GVC
#include <gvc.h>
#endif

/* ---- graphs ------------------------------------------------------------------------------- */

void render_graph_init(render_graph *g) {
    memset(g, 0, sizeof *g);
    vn_host_arena(&g->arena, NULL);
    vn_context_init(&g->ctx, &g->arena);
}

void render_graph_free(render_graph *g) { vn_arena_release(&g->arena); }

void render_graph_set_runs(render_graph *g, vn_node *base, vn_node *const *sources, size_t n_sources) {
    g->n_runs = 0;
    for (size_t s = 0; s < n_sources && g->n_runs + 1 < RENDER_MAX_RUNS; s++) {
        if (!sources[s]) continue;
        snprintf(g->run_labels[g->n_runs], sizeof g->run_labels[0], "source run (group %zu)", s);
        g->runs[g->n_runs] = (vn_dot_run){sources[s], g->run_labels[g->n_runs]};
        g->n_runs++;
    }
    snprintf(g->run_labels[g->n_runs], sizeof g->run_labels[0], "base run");
    g->runs[g->n_runs] = (vn_dot_run){base, g->run_labels[g->n_runs]};
    g->n_runs++;
}

/* torch.rand(batch, 1, 32) as the tutorial program draws it. */
static vn_node *seed_input(vn_context *ctx, vn_rng *rng, const char *name) {
    size_t shape[3] = {1, 1, 32};
    vn_node *x = vn_node_set_name(ctx, vn_input(ctx, 3, shape), name);
    if (x) vn_rng_fill_uniform(rng, x->value.data, x->value.numel, 0, 1);
    return x;
}

bool render_seed_graph(render_graph *g, bool backward, char *err) {
    vn_context *ctx = &g->ctx;
    if (vn_iv_register_ops() != VN_OK) {
        snprintf(err, VN_HOST_ERR, "cannot register the intervention ops");
        return false;
    }
    vn_rng rng;
    vn_rng_seed(&rng, 0, 0);
    vn_mlp_config mc = vn_mlp_config_default();
    mc.h_dim = 32;
    mc.n_layer = 1;
    static const int64_t half0[2] = {0, 16}, half1[2] = {16, 32};
    vn_iv_partition_entry halves[2] = {{true, 2, half0}, {true, 2, half1}};
    vn_iv_representation rotated = vn_iv_representation_default(&vn_iv_type_rotated_space);
    rotated.n_partitions = 2;
    rotated.partition = halves;
    vn_iv_config config = {1, &rotated, false, VN_IV_ORTH_MATRIX_EXP};
    vn_iv_model_options options = {&rng, false, false};
    if (vn_mlp_init(&g->mlp, ctx, &mc, &rng) != VN_OK ||
        vn_iv_model_init(&g->model, ctx, &g->mlp, &config, &options) != VN_OK) {
        snprintf(err, VN_HOST_ERR, "seed tutorial: %s", vn_context_message(ctx));
        return false;
    }
    g->has_model = true;
    vn_node *base = seed_input(ctx, &rng, "base");
    vn_node *source = seed_input(ctx, &rng, "source");
    static const int64_t loc_offsets[2] = {0, 1}, loc0[1] = {0};
    static const int64_t sub_offsets[2] = {0, 2}, sub10[2] = {1, 0};
    vn_iv_lists locations = {loc_offsets, loc0}, subspaces = {sub_offsets, sub10};
    vn_node *sources[1] = {source};
    vn_iv_inputs in = {0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.source_locations = &locations;
    in.base_locations = &locations;
    in.subspaces = &subspaces;
    vn_iv_outputs out;
    if (!base || !source || vn_iv_forward(&g->model, ctx, &in, &out) != VN_OK) {
        snprintf(err, VN_HOST_ERR, "seed tutorial: %s", vn_context_message(ctx));
        return false;
    }
    g->output = out.counterfactual_logits;
    if (backward) {
        g->loss = vn_sum(ctx, g->output);
        if (vn_backward(ctx, g->loss) != VN_OK) {
            snprintf(err, VN_HOST_ERR, "seed tutorial: backward: %s", vn_context_message(ctx));
            return false;
        }
    }
    render_graph_set_runs(g, base, sources, 1);
    snprintf(g->title, sizeof g->title,
             "pyvene's seed tutorial, cell 5: a RotatedSpaceIntervention at layer 0 block_output\n"
             "subspaces [1, 0]: all 32 rotated coordinates come from the source%s",
             backward ? "; gradients of L = sum(counterfactual logits)" : "");
    return true;
}

/* Every node of the context by index, and the ones the roots depend on. */
typedef struct reach {
    const vn_node **node;
    unsigned char *reached;
    int n;
} reach;

static bool reach_from(reach *r, const vn_context *ctx, const vn_node *const *roots, size_t n_roots) {
    r->n = ctx->n_nodes;
    r->node = calloc((size_t)r->n + 1, sizeof *r->node);
    r->reached = calloc((size_t)r->n + 1, 1);
    if (!r->node || !r->reached) {
        free(r->node);
        free(r->reached);
        return false;
    }
    for (const vn_node *p = ctx->last; p; p = p->prev) r->node[p->index] = p;
    for (size_t k = 0; k < n_roots; k++) r->reached[roots[k]->index] = 1;
    for (int i = r->n - 1; i >= 0; i--)
        if (r->reached[i])
            for (int k = 0; k < r->node[i]->n_inputs; k++) r->reached[r->node[i]->inputs[k]->index] = 1;
    return true;
}

static void reach_free(reach *r) {
    free(r->node);
    free(r->reached);
}

size_t render_graph_roots(const render_graph *g, const vn_node **roots, size_t max) {
    size_t n = 0;
    const vn_node *first = g->loss ? g->loss : g->output;
    if (first && n < max) roots[n++] = first;
    for (size_t k = 0; k < g->n_collected && n < max; k++) roots[n++] = g->collected[k];
    return n;
}

const vn_node **render_graph_nodes(const render_graph *g, size_t *count) {
    const vn_node *roots[RENDER_MAX_RUNS + VN_IV_MAX_REPRESENTATIONS];
    size_t n_roots = render_graph_roots(g, roots, sizeof roots / sizeof roots[0]);
    reach r;
    *count = 0;
    if (!reach_from(&r, &g->ctx, roots, n_roots)) return NULL;
    const vn_node **list = malloc(((size_t)r.n + 1) * sizeof *list);
    for (int i = 0; list && i < r.n; i++)
        if (r.reached[i]) list[(*count)++] = r.node[i];
    reach_free(&r);
    return list;
}

size_t render_interventions(const render_graph *g, const vn_node **out, size_t max) {
    size_t n_nodes, count = 0;
    const vn_node **nodes = render_graph_nodes(g, &n_nodes);
    for (size_t i = 0; nodes && i < n_nodes; i++) {
        if (!nodes[i]->op || nodes[i]->op->role != VN_ROLE_INTERVENTION) continue;
        if (count < max) out[count] = nodes[i];
        count++;
    }
    free((void *)nodes);
    return count;
}

/* ---- rendering ---------------------------------------------------------------------------- */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

render_format render_format_of(const char *path) {
    if (ends_with(path, ".dot") || ends_with(path, ".gv")) return RENDER_DOT;
    if (ends_with(path, ".svg")) return RENDER_SVG;
    if (ends_with(path, ".png")) return RENDER_PNG;
    return RENDER_UNKNOWN;
}

bool render_have_graphviz(void) {
#ifdef CVENE_HAVE_GVC
    return true;
#else
    return false;
#endif
}

#ifdef CVENE_HAVE_GVC
/* One Graphviz context for the whole process: Graphviz 2.43's pango plugin
 * keeps a pointer to the last font name it measured, which a freed context
 * would leave dangling for the next one. Freed at exit. */
static GVC_t *shared_gvc;

static void free_shared_gvc(void) {
    if (shared_gvc) gvFreeContext(shared_gvc);
    shared_gvc = NULL;
}

static GVC_t *graphviz(void) {
    if (!shared_gvc && (shared_gvc = gvContext()) != NULL) atexit(free_shared_gvc);
    return shared_gvc;
}
#endif

bool render_to_memory(const char *dot_text, size_t length, const char *format, char **out, size_t *out_length,
                      char *err) {
    *out = NULL;
    *out_length = 0;
#ifdef CVENE_HAVE_GVC
    char *text = malloc(length + 1);
    FILE *sink = tmpfile();
    if (!text || !sink) {
        free(text);
        if (sink) fclose(sink);
        snprintf(err, VN_HOST_ERR, "out of memory or no temporary file for rendering");
        return false;
    }
    memcpy(text, dot_text, length);
    text[length] = '\0';
    bool ok = false;
    GVC_t *gvc = graphviz();
    Agraph_t *graph = gvc ? agmemread(text) : NULL;
    if (!graph) {
        snprintf(err, VN_HOST_ERR, "Graphviz could not parse the DOT text");
    } else if (gvLayout(gvc, graph, "dot") != 0) {
        snprintf(err, VN_HOST_ERR, "Graphviz could not lay the graph out");
    } else {
        if (gvRender(gvc, graph, format, sink) != 0) {
            snprintf(err, VN_HOST_ERR, "Graphviz could not render %s (is its %s plugin installed?)", format, format);
        } else {
            long size = ftell(sink);
            char *bytes = size > 0 ? malloc((size_t)size + 1) : NULL;
            if (bytes && fseek(sink, 0, SEEK_SET) == 0 && fread(bytes, 1, (size_t)size, sink) == (size_t)size) {
                bytes[size] = '\0';
                *out = bytes;
                *out_length = (size_t)size;
                ok = true;
            } else {
                free(bytes);
                snprintf(err, VN_HOST_ERR, "cannot read back the rendered %s", format);
            }
        }
        gvFreeLayout(gvc, graph);
    }
    if (graph) agclose(graph);
    fclose(sink);
    free(text);
    return ok;
#else
    (void)dot_text;
    (void)length;
    snprintf(err, VN_HOST_ERR,
             "this cvene was built without Graphviz (libgvc), so it cannot render %s; write a .dot file and "
             "run `dot -T%s graph.dot -o graph.%s`, or install libgraphviz-dev and rebuild",
             format, format, format);
    return false;
#endif
}

bool render_write(const char *dot_text, size_t length, const char *path, char *err) {
    render_format format = render_format_of(path);
    if (format == RENDER_DOT) return vn_host_write_file_atomic(path, dot_text, length, err);
    if (format == RENDER_UNKNOWN) {
        snprintf(err, VN_HOST_ERR, "%.300s: the output must end in .dot, .svg or .png", path);
        return false;
    }
    char *bytes;
    size_t size;
    if (!render_to_memory(dot_text, length, format == RENDER_SVG ? "svg" : "png", &bytes, &size, err)) return false;
    bool ok = vn_host_write_file_atomic(path, bytes, size, err);
    free(bytes);
    return ok;
}

/* ---- traces ------------------------------------------------------------------------------- */

static const char *shape_of(const vn_tensor *t, char *buf, size_t size) {
    if (t->ndim == 0) snprintf(buf, size, "scalar");
    else vn_shape_string(t, buf, size);
    return buf;
}

/* "#7 source (1, 1, 32)" */
static void print_ref(FILE *out, const vn_node *node) {
    char shape[64];
    fprintf(out, "#%d %s %s", node->index, node->name ? node->name : vn_dot_kind(node),
            shape_of(&node->value, shape, sizeof shape));
}

static void print_values(FILE *out, const vn_real *data, size_t n, int digits) {
    char buf[256];
    vn_dot_summary(buf, sizeof buf, data, n, digits);
    fputs(buf, out);
}

/* "#12 x1*w1 = mul" or "#9 matmul", then the scope. */
static void print_head(FILE *out, const vn_node *node) {
    fprintf(out, "  #%-3d ", node->index);
    if (node->name) fprintf(out, "%s = ", node->name);
    fprintf(out, "%s", vn_dot_kind(node));
    if (node->scope) fprintf(out, "  (in %s)", node->scope);
}

void render_trace_forward(FILE *out, vn_context *ctx, const vn_node *root, int digits) {
    reach r;
    if (!reach_from(&r, ctx, &root, 1)) {
        fprintf(out, "(out of memory)\n");
        return;
    }
    int count = 0;
    for (int i = 0; i < r.n; i++) count += r.reached[i];
    fprintf(out, "forward: the %d nodes #%d depends on, in creation order (every node comes after its inputs)\n",
            count, root->index);
    char shape[64];
    for (int i = 0; i < r.n; i++) {
        if (!r.reached[i]) continue;
        const vn_node *node = r.node[i];
        if (!node->op) {
            fprintf(out, "  #%-3d %s: %s %s = ", i, node->name ? node->name : "(unnamed)", vn_dot_kind(node),
                    shape_of(&node->value, shape, sizeof shape));
            print_values(out, node->value.data, node->value.numel, digits);
            fputc('\n', out);
            continue;
        }
        print_head(out, node);
        fprintf(out, "\n         in   ");
        for (int k = 0; k < node->n_inputs; k++) {
            if (k) fprintf(out, ", ");
            print_ref(out, node->inputs[k]);
        }
        fprintf(out, "\n         out  %s = ", shape_of(&node->value, shape, sizeof shape));
        print_values(out, node->value.data, node->value.numel, digits);
        fputc('\n', out);
    }
    reach_free(&r);
}

/* Recomputes what node's backward sends to each input: every input that
 * requires a gradient gets a zeroed temporary buffer (an input used twice
 * shares one), the others show a NULL buffer as in the engine, and the
 * buffers are put back afterwards. */
static bool print_sends(FILE *out, vn_context *ctx, const vn_node *node_c, int digits) {
    vn_node *node = (vn_node *)node_c; /* its inputs' buffers are swapped and restored */
    vn_real *saved[VN_MAX_INPUTS] = {0}, *temp[VN_MAX_INPUTS] = {0};
    bool ok = true;
    for (int k = 0; k < node->n_inputs; k++) saved[k] = node->inputs[k]->grad.data;
    for (int k = 0; k < node->n_inputs; k++) {
        vn_node *in = node->inputs[k];
        if (!vn_node_requires_grad(in)) continue;
        for (int j = 0; j < k && !temp[k]; j++)
            if (node->inputs[j] == in) temp[k] = temp[j];
        if (!temp[k] && !(temp[k] = calloc(in->value.numel + 1, sizeof(vn_real)))) ok = false;
    }
    if (ok) {
        for (int k = 0; k < node->n_inputs; k++) node->inputs[k]->grad.data = temp[k];
        vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
        vn_status status = node->op->backward(ctx, node);
        vn_arena_rewind(ctx->arena, mark);
        for (int k = node->n_inputs - 1; k >= 0; k--) node->inputs[k]->grad.data = saved[k];
        if (status != VN_OK) {
            fprintf(out, "         (%s's backward failed: %s)\n", node->op->name, vn_context_message(ctx));
            ok = false;
        }
    } else {
        fprintf(out, "         (out of memory)\n");
    }
    for (int k = 0; ok && k < node->n_inputs; k++) {
        const vn_node *in = node->inputs[k];
        bool repeat = false;
        for (int j = 0; j < k; j++) repeat |= node->inputs[j] == in;
        if (repeat) continue;
        fprintf(out, "         sends to  ");
        print_ref(out, in);
        if (!temp[k]) {
            fprintf(out, ": nothing (%s)\n", in->flags & VN_NODE_FROZEN ? "frozen" : "needs no gradient");
            continue;
        }
        fprintf(out, ": ");
        print_values(out, temp[k], in->value.numel, digits);
        fputc('\n', out);
    }
    for (int k = 0; k < node->n_inputs; k++) {
        bool shared = false;
        for (int j = 0; j < k; j++) shared |= temp[j] == temp[k];
        if (!shared) free(temp[k]);
    }
    return ok;
}

bool render_trace_backward(FILE *out, vn_context *ctx, const vn_node *loss, int digits) {
    reach r;
    if (!reach_from(&r, ctx, &loss, 1)) {
        fprintf(out, "(out of memory)\n");
        return false;
    }
    fprintf(out, "backward from #%d: its gradient is seeded with 1; then each node, newest first, has\n"
                 "received its whole gradient and its op's backward sends a share to each input\n",
            loss->index);
    bool ok = true;
    char shape[64];
    int skipped = 0;
    for (int i = loss->index; i >= 0 && ok; i--) {
        const vn_node *node = r.node[i];
        if (!r.reached[i]) continue;
        if (!node->grad.data || !(vn_node_requires_grad(node) || node == loss)) {
            skipped++;
            continue;
        }
        if (!node->op) {
            fprintf(out, "  #%-3d %s: %s, gradient %s = ", i, node->name ? node->name : "(unnamed)",
                    vn_dot_kind(node), shape_of(&node->grad, shape, sizeof shape));
            print_values(out, node->grad.data, node->grad.numel, digits);
            fputc('\n', out);
            continue;
        }
        print_head(out, node);
        fprintf(out, "\n         receives  %s ", shape_of(&node->grad, shape, sizeof shape));
        print_values(out, node->grad.data, node->grad.numel, digits);
        fputc('\n', out);
        ok = print_sends(out, ctx, node, digits);
    }
    if (ok && skipped) {
        fprintf(out, "  not visited (no gradient needed: data, constants, frozen parameters and what\n"
                     "  depends only on them):");
        for (int i = 0; i <= loss->index; i++) {
            const vn_node *node = r.node[i];
            if (r.reached[i] && !(node->grad.data && (vn_node_requires_grad(node) || node == loss)))
                fprintf(out, " #%d", i);
        }
        fputc('\n', out);
    }
    reach_free(&r);
    return ok;
}
