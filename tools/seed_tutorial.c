/* seed_tutorial.c — pyvene's "Tutorial of Interventions on Non-transformer
 * Model: MLPs" (NonTransformer_MLP_Intervention.ipynb), cell by cell, with
 * cvene's C API, printing results the way the notebook does.
 *
 *   build/tools/seed_tutorial [--seed S]
 *
 * Cell 3 builds MLPConfig(h_dim=32, n_layer=1); cells 4-6 intervene with a
 * RotatedSpaceIntervention over both halves of a 32-d rotated space (the
 * counterfactual equals the source's output); cells 7-8 use two linked
 * LowRankRotatedSpaceInterventions, each given the same source, over
 * complementary halves (again the source's output), then backpropagate.
 * The numbers differ from the notebook's (a different random stream); the
 * claims it makes hold, and tests/test_intervene.c asserts them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "vn_iv_model.h"
#include "vn_ops.h"

/* Prints a (B, C) tensor as torch does: tensor([[a, b],\n        [c, d]]). */
static void print_tensor(const vn_node *t, bool grad_fn) {
    size_t rows = t->value.shape[0], cols = t->value.shape[1];
    printf("tensor([");
    for (size_t r = 0; r < rows; r++) {
        printf("%s[", r ? ",\n        " : "");
        for (size_t c = 0; c < cols; c++) printf("%s%.4f", c ? ", " : "", (double)t->value.data[r * cols + c]);
        printf("]");
    }
    printf("]");
    if (grad_fn && t->op) printf(", grad_fn=<%s>", t->op->name);
    printf(")");
}

/* pyvene's return value: ((base_logits,), None) or (None-free) counterfactual. */
static void print_plain(const char *label, const vn_iv_outputs *out) {
    printf("%s ((", label);
    print_tensor(out->base_logits, false);
    printf(",), None)\n");
}

static void print_counterfactual(const vn_iv_outputs *out) {
    printf("(");
    print_tensor(out->counterfactual_logits, true);
    printf(",)\n");
}

static double max_diff(const vn_node *a, const vn_node *b) {
    double m = 0;
    for (size_t k = 0; k < a->value.numel; k++) {
        double d = fabs((double)a->value.data[k] - (double)b->value.data[k]);
        if (d > m) m = d;
    }
    return m;
}

static vn_node *rand_input(vn_context *ctx, vn_rng *rng, size_t batch) {
    size_t shape[3] = {batch, 1, 32};
    vn_node *x = vn_input(ctx, 3, shape);
    if (x) vn_rng_fill_uniform(rng, x->value.data, x->value.numel, 0, 1); /* torch.rand */
    return x;
}

static int fail(vn_context *ctx) {
    fprintf(stderr, "seed_tutorial: %s\n", vn_context_message(ctx));
    return 1;
}

int main(int argc, char **argv) {
    unsigned long seed = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoul(argv[++i], NULL, 10);
        } else {
            fprintf(stderr, "usage: seed_tutorial [--seed S]\n");
            return 2;
        }
    }
    if (vn_iv_register_ops() != VN_OK) return 1;
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 0);

    /* In[3]: config, tokenizer, mlp = create_mlp_classifier(MLPConfig(h_dim=32, n_layer=1)) */
    printf("In[3]: create_mlp_classifier(MLPConfig(h_dim=32, n_layer=1))\n");
    vn_mlp_config mc = vn_mlp_config_default();
    mc.h_dim = 32;
    mc.n_layer = 1;
    vn_mlp mlp;
    if (vn_mlp_init(&mlp, &ctx, &mc, &rng) != VN_OK) return fail(&ctx);
    printf("loaded model\n\n");

    /* In[4]: one RotatedSpaceIntervention at layer 0 block_output, partition [[0, 16], [16, 32]] */
    printf("In[4]: RotatedSpaceIntervention at layer 0 block_output, subspace_partition [[0, 16], [16, 32]]\n");
    static const int64_t half0[2] = {0, 16}, half1[2] = {16, 32};
    vn_iv_partition_entry halves[2] = {{true, 2, half0}, {true, 2, half1}};
    vn_iv_representation rotated = vn_iv_representation_default(&vn_iv_type_rotated_space);
    rotated.n_partitions = 2;
    rotated.partition = halves;
    vn_iv_config config4 = {1, &rotated, false, VN_IV_ORTH_MATRIX_EXP};
    vn_iv_model_options options = {&rng, false, false};
    vn_iv_model model4;
    if (vn_iv_model_init(&model4, &ctx, &mlp, &config4, &options) != VN_OK) return fail(&ctx);
    vn_node *base = rand_input(&ctx, &rng, 1), *source = rand_input(&ctx, &rng, 1);
    vn_iv_inputs in = {0};
    vn_iv_outputs base_out, source_out, out;
    in.base = base;
    if (vn_iv_forward(&model4, &ctx, &in, &base_out) != VN_OK) return fail(&ctx);
    in.base = source;
    if (vn_iv_forward(&model4, &ctx, &in, &source_out) != VN_OK) return fail(&ctx);
    print_plain("base", &base_out);
    print_plain("source", &source_out);
    printf("\n");

    /* In[5]: intervenable(base, [source], {"sources->base": ([[[0]]], [[[0]]])}, subspaces=[[[1, 0]]]) */
    printf("In[5]: intervenable(base, [source], {\"sources->base\": ([[[0]]], [[[0]]])}, subspaces=[[[1, 0]]])\n");
    static const int64_t loc_offsets[2] = {0, 1}, loc0[1] = {0};
    static const int64_t sub_offsets[2] = {0, 2}, sub10[2] = {1, 0};
    vn_iv_lists locations = {loc_offsets, loc0}, subspaces = {sub_offsets, sub10};
    vn_node *sources[1] = {source};
    in = (vn_iv_inputs){0};
    in.base = base;
    in.n_sources = 1;
    in.sources = sources;
    in.source_locations = &locations;
    in.base_locations = &locations;
    in.subspaces = &subspaces;
    if (vn_iv_forward(&model4, &ctx, &in, &out) != VN_OK) return fail(&ctx);
    printf("\nIn[6]: counterfactual_outputs  # this should be the same as source.\n");
    print_counterfactual(&out);
    printf("max |counterfactual - source| = %.2e\n\n", max_diff(out.counterfactual_logits, source_out.base_logits));

    /* In[7]: two linked LowRankRotatedSpaceInterventions (low rank 32) at the same site */
    printf("In[7]: two LowRankRotatedSpaceInterventions, low_rank_dimension 32, intervention_link_key 0\n");
    vn_iv_representation low_rank[2];
    for (int i = 0; i < 2; i++) {
        low_rank[i] = vn_iv_representation_default(&vn_iv_type_low_rank_rotated_space);
        low_rank[i].low_rank_dimension = 32;
        low_rank[i].n_partitions = 2;
        low_rank[i].partition = halves;
        low_rank[i].has_link_key = true;
        low_rank[i].link_key = 0;
    }
    vn_iv_config config7 = {2, low_rank, false, VN_IV_ORTH_MATRIX_EXP};
    vn_iv_model model7;
    if (vn_iv_model_init(&model7, &ctx, &mlp, &config7, &options) != VN_OK) return fail(&ctx);
    base = rand_input(&ctx, &rng, 10);
    source = rand_input(&ctx, &rng, 10);
    in = (vn_iv_inputs){0};
    in.base = base;
    if (vn_iv_forward(&model7, &ctx, &in, &base_out) != VN_OK) return fail(&ctx);
    in.base = source;
    if (vn_iv_forward(&model7, &ctx, &in, &source_out) != VN_OK) return fail(&ctx);
    print_plain("base", &base_out);
    print_plain("source", &source_out);
    printf("\n");

    /* In[8]: intervenable(base, [source, source], locations 0, subspaces=[[[1]]*10, [[0]]*10]) */
    printf("In[8]: intervenable(base, [source, source], {\"sources->base\": ([[[0]]*10]*2, [[[0]]*10]*2)},\n"
           "                    subspaces=[[[1]]*10, [[0]]*10]); counterfactual_outputs[0].sum().backward()\n");
    int64_t offsets10[11], zeros10[10], ones10[10];
    for (int b = 0; b <= 10; b++) offsets10[b] = b;
    for (int b = 0; b < 10; b++) {
        zeros10[b] = 0;
        ones10[b] = 1;
    }
    vn_iv_lists loc10[2] = {{offsets10, zeros10}, {offsets10, zeros10}};
    vn_iv_lists sub10s[2] = {{offsets10, ones10}, {offsets10, zeros10}};
    vn_node *two_sources[2] = {source, source};
    in = (vn_iv_inputs){0};
    in.base = base;
    in.n_sources = 2;
    in.sources = two_sources;
    in.source_locations = loc10;
    in.base_locations = loc10;
    in.subspaces = sub10s;
    if (vn_iv_forward(&model7, &ctx, &in, &out) != VN_OK) return fail(&ctx);
    print_counterfactual(&out);
    printf("max |counterfactual - source| = %.2e\n", max_diff(out.counterfactual_logits, source_out.base_logits));
    if (vn_backward(&ctx, vn_sum(&ctx, out.counterfactual_logits)) != VN_OK) return fail(&ctx);
    const vn_node *original = model7.units[0].params->rotation.original;
    double norm = 0;
    for (size_t k = 0; k < original->value.numel; k++) norm += (double)original->grad.data[k] * original->grad.data[k];
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&mlp, &count);
    bool model_grad = false;
    for (size_t k = 0; k < count; k++) /* frozen: untouched by backward (zero, as allocated) */
        for (size_t e = 0; params[k].node->grad.data && e < params[k].node->value.numel; e++)
            model_grad |= params[k].node->grad.data[e] != 0;
    printf("shared rotation (one for both keys: %s): gradient of `original` filled, norm %.4g\n",
           model7.units[1].params == model7.units[0].params ? "yes" : "no", sqrt(norm));
    printf("model weights: %s\n", model_grad ? "have gradients" : "frozen, no gradient");
    vn_arena_release(&arena);
    return 0;
}
