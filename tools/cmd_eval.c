/* cmd_eval.c — `cvene eval`: the base and counterfactual forward passes of a
 * model under an intervention, on one data file, with optional gradients
 * (FORMATS.md). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"
#include "vn_ops.h"

static const char *const CMD = "eval";

static void usage(void) {
    puts("usage: cvene eval --model DIR [--intervention DIR] --data FILE [--out FILE] [--grad]\n"
         "\n"
         "Runs the model on the data file's base inputs and, with an intervention, the\n"
         "counterfactual pass (sources through getter hooks, the base through setter hooks),\n"
         "for every example, and prints a summary (batch, classes, IIA when the file has\n"
         "labels).\n"
         "\n"
         "  --model DIR          config.json + model.safetensors (an MLP)\n"
         "  --intervention DIR   config.json [+ interventions.safetensors]\n"
         "  --data FILE          safetensors: base, source.{g}, active.{g}, labels, and\n"
         "                       unit_locations / subspaces metadata (pyvene's nesting)\n"
         "  --out FILE           writes base_logits, counterfactual_logits (and\n"
         "                       collected.<key> for CollectIntervention); F32, or F64\n"
         "                       in a -Dreal=double build\n"
         "  --grad               also writes, for L = the sum of the counterfactual logits\n"
         "                       (of the base logits without an intervention), grad.<name>\n"
         "                       of every model tensor, grad.<key>.rotate_layer.weight with\n"
         "                       respect to each materialised rotation, and\n"
         "                       grad.<key>.intervention_boundaries / grad.<key>.masks\n"
         "\n"
         "example:\n"
         "  cvene eval --model model --intervention intervention --data data.safetensors \\\n"
         "             --grad --out out.safetensors");
}

typedef struct eval_args {
    const char *model, *intervention, *data, *out;
    bool grad;
} eval_args;

static int parse_args(int argc, char **argv, eval_args *a) {
    *a = (eval_args){0};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        const char **slot = !strcmp(arg, "--model") ? &a->model : !strcmp(arg, "--intervention") ? &a->intervention
                          : !strcmp(arg, "--data") ? &a->data : !strcmp(arg, "--out") ? &a->out : NULL;
        if (slot) {
            if (i + 1 >= argc) return cli_fail(CMD, "%s needs a value (see --help)", arg), 2;
            *slot = argv[++i];
        } else if (!strcmp(arg, "--grad")) {
            a->grad = true;
        } else {
            return cli_fail(CMD, "unknown argument '%s' (see --help)", arg), 2;
        }
    }
    if (!a->model || !a->data) return cli_fail(CMD, "--model and --data are required (see --help)"), 2;
    if (a->grad && !a->out) return cli_fail(CMD, "--grad needs --out FILE to write the gradients"), 2;
    return 0;
}

/* The output tensors: logits, collected values and gradients. */
typedef struct outputs {
    vn_safetensors_item items[4 * VN_IV_MAX_REPRESENTATIONS + 2 * VN_MLP_MAX_LAYERS + 8];
    char names[4 * VN_IV_MAX_REPRESENTATIONS + 2 * VN_MLP_MAX_LAYERS + 8][VN_IV_KEY_MAX + 64];
    vn_tensor tensors[4 * VN_IV_MAX_REPRESENTATIONS + 2 * VN_MLP_MAX_LAYERS + 8];
    size_t count;
} outputs;

static void add_output(outputs *o, const char *name, const vn_tensor *t) {
    snprintf(o->names[o->count], sizeof o->names[o->count], "%s", name);
    o->tensors[o->count] = *t;
    o->items[o->count] = vn_safetensors_item_real(o->names[o->count], &o->tensors[o->count], VN_ST_REAL);
    o->count++;
}

/* A gradient of node's shape: its buffer, or zeros (in ctx) when it has none. */
static void add_grad(outputs *o, vn_context *ctx, const char *name, const vn_node *node) {
    vn_tensor t = node->value;
    t.data = node->grad.data;
    if (!t.data) {
        t.data = vn_context_scratch(ctx, (t.numel + 1) * sizeof(vn_real));
        if (t.data) memset(t.data, 0, t.numel * sizeof(vn_real));
    }
    char full[VN_IV_KEY_MAX + 64];
    snprintf(full, sizeof full, "grad.%s", name);
    if (t.data) add_output(o, full, &t);
}

static void add_intervention_grads(outputs *o, vn_context *ctx, const vn_iv_model *model) {
    char name[VN_IV_KEY_MAX + 64];
    for (size_t i = 0; i < model->config.count; i++) {
        const vn_iv_unit *u = &model->units[i];
        const vn_iv_params *p = u->params;
        if (!p || u->owner != i) continue;
        if (p->has_rotation) {
            snprintf(name, sizeof name, "%s.rotate_layer.weight", u->key);
            if (p->weight) {
                add_grad(o, ctx, name, p->weight);
            } else {
                vn_node zero = {0};
                size_t shape[2] = {p->rotation.n, p->rotation.m};
                vn_tensor_set_shape(&zero.value, 2, shape);
                add_grad(o, ctx, name, &zero);
            }
        }
        if (p->boundaries) {
            snprintf(name, sizeof name, "%s.intervention_boundaries", u->key);
            add_grad(o, ctx, name, p->boundaries);
        }
        if (p->masks) {
            snprintf(name, sizeof name, "%s.masks", u->key);
            add_grad(o, ctx, name, p->masks);
        }
    }
}

static void print_summary(const eval_args *a, const vn_mlp *mlp, const vn_iv_model *model, const vn_iv_batch *batch,
                          const vn_iv_outputs *out, size_t written) {
    const vn_mlp_config *c = &mlp->config;
    printf("cvene eval\n");
    printf("  model         %s: h_dim %lld, %lld layer%s, %s, %lld classes\n", a->model, (long long)c->h_dim,
           (long long)c->n_layer, c->n_layer == 1 ? "" : "s", c->activation_function, (long long)c->num_classes);
    printf("  data          %s: %zu example%s, %zu position%s%s\n", a->data, batch->batch,
           batch->batch == 1 ? "" : "s", batch->seq, batch->seq == 1 ? "" : "s",
           batch->labels ? ", labels" : "");
    if (model) {
        printf("  intervention  %s: %zu representation%s, %zu group%s\n", a->intervention, model->config.count,
               model->config.count == 1 ? "" : "s", model->n_groups, model->n_groups == 1 ? "" : "s");
        for (size_t i = 0; i < model->config.count; i++) {
            const vn_iv_unit *u = &model->units[i];
            printf("    %-46s %-36s group %zu, %s%s, applied to %zu/%zu\n", u->key, u->type->name, u->group,
                   batch->sources[u->group] ? "source" : "no source",
                   u->owner != i ? ", linked" : "", out->applied[i], batch->batch);
        }
    }
    const vn_node *shown = out->counterfactual_logits ? out->counterfactual_logits : out->base_logits;
    bool two_d = shown && shown->value.ndim == 2;
    if (out->counterfactual_logits && out->base_logits && out->base_logits->value.numel == shown->value.numel) {
        double max = 0, sum = 0;
        for (size_t k = 0; k < shown->value.numel; k++) {
            double d = fabs((double)shown->value.data[k] - (double)out->base_logits->value.data[k]);
            sum += d;
            if (d > max) max = d;
        }
        printf("  effect        |counterfactual - base| logits: mean %.4g, max %.4g\n",
               sum / (double)shown->value.numel, max);
    }
    if (batch->labels && two_d) {
        size_t correct = cli_correct(shown, batch->labels, batch->batch);
        printf("  %s  %.4f (%zu/%zu)\n", out->counterfactual_logits ? "IIA         " : "accuracy    ",
               (double)correct / (double)batch->batch, correct, batch->batch);
    } else if (batch->labels) {
        printf("  (labels given, but the logits have %d dimensions: no accuracy)\n", shown ? shown->value.ndim : 0);
    }
    if (a->out) printf("  wrote         %s (%zu tensor%s)\n", a->out, written, written == 1 ? "" : "s");
}

static int run(const eval_args *a, vn_context *ctx, outputs *o) {
    vn_mlp mlp;
    if (!cli_load_model(CMD, a->model, ctx, &mlp)) return 1;
    vn_iv_model model_storage, *model = NULL;
    if (a->intervention) {
        vn_iv_config config;
        if (!cli_load_intervention_config(CMD, a->intervention, ctx, &config)) return 1;
        vn_iv_model_options options = {NULL, a->grad, false};
        if (vn_iv_model_init(&model_storage, ctx, &mlp, &config, &options) != VN_OK)
            return cli_fail(CMD, "%s/config.json: %s", a->intervention, vn_context_message(ctx)), 1;
        model = &model_storage;
        bool found;
        if (!cli_load_intervention_tensors(CMD, a->intervention, model, ctx, &found)) return 1;
        if (!found && vn_iv_model_has_tensors(model))
            return cli_fail(CMD, "%s has no interventions.safetensors, but its interventions have trainable "
                            "tensors (train them with cvene align)", a->intervention), 1;
    } else {
        vn_mlp_set_training(&mlp, false);
        vn_mlp_set_trainable(&mlp, a->grad);
    }
    vn_iv_batch batch;
    if (!cli_load_data(CMD, a->data, model, &mlp, ctx->arena, &batch)) return 1;
    /* No examples: no logits to show and no IIA (0/0), as for cvene align. */
    if (batch.batch == 0) return cli_fail(CMD, "%s has no examples (base has shape (0, %zu, %zu))", a->data,
                                          batch.seq, batch.h), 1;
    vn_iv_batch_nodes nodes;
    vn_iv_inputs in;
    vn_iv_outputs out;
    vn_iv_batch_inputs(&batch, ctx, &nodes, &in);
    in.base_logits = true;
    if (model) {
        vn_iv_forward(model, ctx, &in, &out);
    } else {
        memset(&out, 0, sizeof out);
        out.base_logits = vn_mlp_forward(&mlp, ctx, nodes.base); /* with gradients for --grad */
    }
    if (vn_context_status(ctx) != VN_OK) return cli_fail(CMD, "%s", vn_context_message(ctx)), 1;
    vn_node *result = model ? out.counterfactual_logits : out.base_logits;
    if (a->grad && vn_backward(ctx, vn_sum(ctx, result)) != VN_OK)
        return cli_fail(CMD, "backward: %s", vn_context_message(ctx)), 1;
    if (a->out) {
        add_output(o, "base_logits", &out.base_logits->value);
        if (out.counterfactual_logits) add_output(o, "counterfactual_logits", &out.counterfactual_logits->value);
        for (size_t i = 0; model && i < model->config.count; i++) {
            char name[VN_IV_KEY_MAX + 16];
            snprintf(name, sizeof name, "collected.%s", model->units[i].key);
            if (out.collected[i]) add_output(o, name, &out.collected[i]->value);
        }
        if (a->grad) {
            size_t count;
            const vn_nn_param *params = vn_mlp_params(&mlp, &count);
            for (size_t k = 0; k < count; k++) add_grad(o, ctx, params[k].name, params[k].node);
            if (model) add_intervention_grads(o, ctx, model);
        }
        if (vn_context_status(ctx) != VN_OK) return cli_fail(CMD, "%s", vn_context_message(ctx)), 1;
        if (!cli_write_safetensors(CMD, a->out, o->items, o->count)) return 1;
    }
    print_summary(a, &mlp, model, &batch, &out, o->count);
    return 0;
}

int cmd_eval(int argc, char **argv);

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage();
        return 0;
    }
    eval_args a;
    int status = parse_args(argc, argv, &a);
    if (status) return status;
    if (vn_iv_register_ops() != VN_OK) return cli_fail(CMD, "cannot register the intervention ops"), 1;
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    outputs *o = calloc(1, sizeof *o);
    if (!o) return cli_fail(CMD, "out of memory"), 1;
    status = run(&a, &ctx, o);
    free(o);
    vn_arena_release(&arena);
    return status;
}
