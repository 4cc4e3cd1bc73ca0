/* cmd_dot.c — `cvene dot`: the graph of a forward (and backward) pass as a
 * picture, and the graph sources `cvene dot` and `cvene trace` share. */
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "render.h"
#include "vn_iv_types.h"
#include "vn_ops.h"

/* ---- graph sources (shared with cmd_trace.c) ------------------------------------------ */

int render_parse_source(const char *cmd, int argc, char **argv, int *i, render_source *src) {
    const char *arg = argv[*i];
    const char **slot = !strcmp(arg, "--model") ? &src->model
                      : !strcmp(arg, "--intervention") ? &src->intervention
                      : !strcmp(arg, "--data") ? &src->data : NULL;
    if (!slot) return 0;
    if (*i + 1 >= argc) return cli_fail(cmd, "%s needs a value (see --help)", arg), -1;
    *slot = argv[++*i];
    return 1;
}

/* The deterministic input: batch 1, S positions, base then each group's
 * source, uniform in [0, 1) from PCG32 seed 0. */
static vn_node *default_input(vn_context *ctx, vn_rng *rng, size_t seq, size_t h) {
    size_t shape[3] = {1, seq, h};
    vn_node *x = vn_input(ctx, 3, shape);
    if (x) vn_rng_fill_uniform(rng, x->value.data, x->value.numel, 0, 1);
    return x;
}

bool render_load_graph(const char *cmd, const render_source *src, bool backward, render_graph *g) {
    char err[VN_HOST_ERR];
    if (!src->model) {
        if (src->intervention || src->data) return cli_fail(cmd, "--intervention and --data need --model");
        if (!render_seed_graph(g, backward, err)) return cli_fail(cmd, "%s", err);
        return true;
    }
    if (vn_iv_register_ops() != VN_OK) return cli_fail(cmd, "cannot register the intervention ops");
    vn_context *ctx = &g->ctx;
    if (!cli_load_model(cmd, src->model, ctx, &g->mlp)) return false;
    if (src->intervention) {
        vn_iv_config config;
        if (!cli_load_intervention_config(cmd, src->intervention, ctx, &config)) return false;
        if (vn_iv_model_init(&g->model, ctx, &g->mlp, &config, NULL) != VN_OK)
            return cli_fail(cmd, "%s/config.json: %s", src->intervention, vn_context_message(ctx));
        g->has_model = true;
        bool found;
        if (!cli_load_intervention_tensors(cmd, src->intervention, &g->model, ctx, &found)) return false;
        if (!found && vn_iv_model_has_tensors(&g->model))
            fprintf(stderr, "cvene %s: %s has no interventions.safetensors: drawing the initial (identity) "
                    "rotations and parameters\n", cmd, src->intervention);
    } else {
        vn_mlp_set_training(&g->mlp, false);
        vn_mlp_set_trainable(&g->mlp, backward);
    }
    vn_iv_model *model = g->has_model ? &g->model : NULL;
    size_t h = (size_t)g->mlp.config.h_dim;
    vn_node *base, *sources[VN_IV_MAX_REPRESENTATIONS] = {0};
    size_t n_sources = model ? model->n_groups : 0;
    vn_iv_inputs in = {0};
    if (src->data) {
        vn_iv_batch *batch = vn_context_scratch(ctx, sizeof *batch);
        vn_iv_batch_nodes nodes;
        if (!batch) return cli_fail(cmd, "out of memory");
        if (!cli_load_data(cmd, src->data, model, &g->mlp, ctx->arena, batch)) return false;
        if (vn_iv_batch_inputs(batch, ctx, &nodes, &in) != VN_OK)
            return cli_fail(cmd, "%s: %s", src->data, vn_context_message(ctx));
        base = nodes.base;
        for (size_t s = 0; s < n_sources; s++) sources[s] = nodes.sources[s];
        /* in.sources points into `nodes`, which ends here: point it at the copy. */
        if (in.sources) in.sources = sources;
    } else {
        size_t seq = 1;
        for (size_t i = 0; model && i < model->config.count; i++)
            if (model->units[i].units > seq) seq = model->units[i].units;
        vn_rng rng;
        vn_rng_seed(&rng, 0, 0);
        base = default_input(ctx, &rng, seq, h);
        for (size_t s = 0; s < n_sources; s++) sources[s] = default_input(ctx, &rng, seq, h);
        in.base = base;
        in.n_sources = n_sources;
        in.sources = model ? sources : NULL;
    }
    vn_node_set_name(ctx, base, "base");
    for (size_t s = 0; s < n_sources; s++) {
        char name[32];
        snprintf(name, sizeof name, "source.%zu", s);
        vn_node_set_name(ctx, sources[s], name);
    }
    in.base_logits = false;
    if (model) {
        vn_iv_outputs out;
        if (vn_iv_forward(model, ctx, &in, &out) == VN_OK) {
            /* No source at all is a plain forward: draw its base logits. */
            g->output = out.counterfactual_logits ? out.counterfactual_logits : out.base_logits;
            for (size_t i = 0; i < model->config.count; i++)
                if (out.collected[i]) g->collected[g->n_collected++] = out.collected[i];
        }
    } else {
        g->output = vn_mlp_forward(&g->mlp, ctx, base);
    }
    if (!g->output) return cli_fail(cmd, "%s", vn_context_message(ctx));
    if (backward) {
        g->loss = vn_sum(ctx, g->output);
        if (vn_backward(ctx, g->loss) != VN_OK) return cli_fail(cmd, "backward: %s", vn_context_message(ctx));
    }
    if (model) render_graph_set_runs(g, base, sources, n_sources);
    snprintf(g->title, sizeof g->title, "%s%s%s%s", src->model, src->intervention ? " + " : "",
             src->intervention ? src->intervention : "", backward ? "; gradients of L = sum(output)" : "");
    return true;
}

/* ---- cvene dot -------------------------------------------------------------------------------- */

static const char *const CMD = "dot";

static void usage(void) {
    puts("usage: cvene dot [--model DIR [--intervention DIR] [--data FILE]] [--grad] [--values]\n"
         "                 [--digits N] [--zoom WHAT] [--lr] [--no-legend] [--no-clusters] [--no-fold]\n"
         "                 [--title TEXT] -o OUT\n"
         "\n"
         "Draws the graph of a forward pass: one record per node (name, op, shape), runs,\n"
         "layers and interventions as clusters, roles in colour with a legend. OUT ends in\n"
         ".dot (DOT text), .svg or .png (laid out with Graphviz's libgvc).\n"
         "\n"
         "  --model DIR          config.json + model.safetensors (an MLP). Without it: the\n"
         "                       seed tutorial's cell 5 (h_dim 32, one GELU layer, a\n"
         "                       RotatedSpaceIntervention at layer 0 block_output)\n"
         "  --intervention DIR   config.json [+ interventions.safetensors]\n"
         "  --data FILE          the inputs (as `cvene eval` reads them). Without it: batch 1,\n"
         "                       as many positions as the largest max_number_of_units, the\n"
         "                       base then each group's source uniform in [0, 1) from PCG32\n"
         "                       seed 0, default unit locations and every subspace\n"
         "  --grad               run backward from L = sum(output) and annotate gradients;\n"
         "                       red edges carry them (with --intervention the model's\n"
         "                       weights stay frozen, as in pyvene; without, they are\n"
         "                       trainable so that their gradients show)\n"
         "  --values             a value summary on every node (the values when <= 8)\n"
         "  --digits N           significant digits of numbers (default 4; 0: none)\n"
         "  --zoom WHAT          only one node and its neighbours: WHAT is a representation\n"
         "                       key, a node index, or 'intervention' (the first one)\n"
         "  --lr                 left to right instead of top down\n"
         "  --no-legend, --no-clusters, --no-fold (draw single-use constants as nodes)\n"
         "  -o, --out OUT        the output file\n"
         "\n"
         "examples:\n"
         "  cvene dot -o docs/seed_tutorial.svg\n"
         "  cvene dot --grad --values -o seed_grad.png\n"
         "  cvene dot --zoom intervention --values -o zoom.svg\n"
         "  cvene dot --model model --intervention intervention --data data.safetensors --grad -o g.svg");
}

typedef struct dot_args {
    render_source src;
    const char *out, *zoom, *title;
    bool grad, values, lr, no_legend, no_clusters, no_fold;
    size_t digits;
    bool digits_given;
} dot_args;

static int parse_args(int argc, char **argv, dot_args *a) {
    memset(a, 0, sizeof *a);
    a->digits = 4;
    for (int i = 1; i < argc; i++) {
        int took = render_parse_source(CMD, argc, argv, &i, &a->src);
        if (took < 0) return 2;
        if (took) continue;
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "-o") || !strcmp(arg, "--out") ? &a->out
                          : !strcmp(arg, "--zoom") ? &a->zoom : !strcmp(arg, "--title") ? &a->title : NULL;
        if (slot || !strcmp(arg, "--digits")) {
            if (i + 1 >= argc) return cli_fail(CMD, "%s needs a value (see --help)", arg), 2;
            if (slot) {
                *slot = argv[++i];
            } else {
                if (!cli_parse_size(CMD, arg, argv[++i], 0, &a->digits)) return 2;
                if (a->digits > 17) return cli_fail(CMD, "--digits must be at most 17"), 2;
            }
        } else if (!strcmp(arg, "--grad")) {
            a->grad = true;
        } else if (!strcmp(arg, "--values")) {
            a->values = true;
        } else if (!strcmp(arg, "--lr")) {
            a->lr = true;
        } else if (!strcmp(arg, "--no-legend")) {
            a->no_legend = true;
        } else if (!strcmp(arg, "--no-clusters")) {
            a->no_clusters = true;
        } else if (!strcmp(arg, "--no-fold")) {
            a->no_fold = true;
        } else {
            return cli_fail(CMD, "unknown argument '%s' (see --help)", arg), 2;
        }
    }
    if (!a->out) return cli_fail(CMD, "-o OUT is required (see --help)"), 2;
    render_format format = render_format_of(a->out);
    if (format == RENDER_UNKNOWN) return cli_fail(CMD, "%s: the output must end in .dot, .svg or .png", a->out), 2;
    if (format != RENDER_DOT && !render_have_graphviz())
        return cli_fail(CMD, "this cvene was built without Graphviz (libgvc): it writes .dot only; run "
                        "`dot -T%s` on a .dot file, or install libgraphviz-dev and rebuild",
                        format == RENDER_SVG ? "svg" : "png"), 2;
    return 0;
}

/* The node --zoom names. */
static const vn_node *find_zoom(const render_graph *g, const char *what) {
    const vn_node *ivs[VN_IV_MAX_REPRESENTATIONS * 4];
    size_t n = render_interventions(g, ivs, sizeof ivs / sizeof ivs[0]);
    if (n > sizeof ivs / sizeof ivs[0]) n = sizeof ivs / sizeof ivs[0];
    if (!strcmp(what, "intervention")) return n ? ivs[0] : NULL;
    for (size_t k = 0; k < n; k++)
        if (ivs[k]->scope && !strcmp(ivs[k]->scope, what)) return ivs[k];
    char *end;
    long index = strtol(what[0] == '#' ? what + 1 : what, &end, 10);
    if (*end || end == what || index < 0) return NULL;
    for (const vn_node *p = g->ctx.last; p; p = p->prev)
        if (p->index == index) return p;
    return NULL;
}

int cmd_dot(int argc, char **argv);

int cmd_dot(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    dot_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    render_graph *g = malloc(sizeof *g);
    if (!g) return cli_fail(CMD, "out of memory"), 1;
    render_graph_init(g);
    status = 1;
    vn_host_buffer text = {0};
    char err[VN_HOST_ERR];
    if (render_load_graph(CMD, &a.src, a.grad, g)) {
        vn_dot_options o = vn_dot_defaults();
        if (a.grad) o.flags |= VN_DOT_GRADS;
        if (a.values) o.flags |= VN_DOT_VALUES;
        if (a.lr) o.flags |= VN_DOT_LEFT_RIGHT;
        if (a.no_legend) o.flags &= ~(unsigned)VN_DOT_LEGEND;
        if (a.no_clusters) o.flags &= ~(unsigned)VN_DOT_CLUSTERS;
        if (a.no_fold) o.flags &= ~(unsigned)VN_DOT_FOLD_CONSTANTS;
        o.digits = (int)a.digits;
        o.runs = g->runs;
        o.n_runs = g->n_runs;
        o.title = a.title ? a.title : g->title;
        size_t count = 0;
        const vn_node **nodes = a.zoom ? NULL : render_graph_nodes(g, &count);
        vn_status drawn = VN_ENOMEM;
        if (a.zoom && (o.focus = find_zoom(g, a.zoom)) != NULL)
            drawn = vn_dot_write(&g->ctx, NULL, &o, vn_host_buffer_write, &text);
        else if (nodes)
            drawn = vn_dot_write_nodes(&g->ctx, nodes, count, &o, vn_host_buffer_write, &text);
        free((void *)nodes);
        if (a.zoom && !o.focus) {
            cli_fail(CMD, "--zoom %s: no such intervention key or node index (try 'intervention')", a.zoom);
        } else if (drawn != VN_OK || text.failed) {
            cli_fail(CMD, "%s", text.failed || !vn_context_status(&g->ctx) ? "out of memory"
                                                                      : vn_context_message(&g->ctx));
        } else if (!render_write((const char *)text.data, text.size, a.out, err)) {
            cli_fail(CMD, "%s", err);
        } else {
            printf("cvene dot: wrote %s (%d nodes in the context)\n", a.out, g->ctx.n_nodes);
            status = 0;
        }
    }
    vn_host_buffer_free(&text);
    render_graph_free(g);
    free(g);
    return status;
}
