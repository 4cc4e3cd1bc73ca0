/* vn_gradcheck.c — central-difference checks of op backward functions. */
#include "vn_gradcheck.h"
#include "vn_kernels.h"
#include "vn_math.h"

vn_gradcheck_options vn_gradcheck_defaults(void) {
#ifdef VN_REAL_DOUBLE
    vn_gradcheck_options options = {1e-6, 1e-5, 1e-3, 1234};
#else
    vn_gradcheck_options options = {1e-2, 1e-3, 1e-3, 1234};
#endif
    return options;
}

/* L = Σ w ⊙ y, accumulated in double. */
static double weighted_sum(const vn_node *out, const vn_real *w) {
    double total = 0;
    for (size_t i = 0; i < out->value.numel; i++) total += (double)w[i] * (double)out->value.data[i];
    return total;
}

vn_status vn_gradcheck_node(vn_context *ctx, vn_node *out, const vn_gradcheck_options *options,
                            vn_gradcheck_result *result) {
    *result = (vn_gradcheck_result){0};
    result->worst_input = -1;
    if (ctx->status != VN_OK) return ctx->status;
    if (!out || !out->op) return vn_context_fail(ctx, VN_EINVAL, "gradcheck: not an op node");
    vn_gradcheck_options opt = options ? *options : vn_gradcheck_defaults();

    vn_real *w = vn_context_scratch(ctx, out->value.numel * sizeof(vn_real));
    if (!w) return ctx->status;
    vn_rng rng;
    vn_rng_seed(&rng, opt.seed, 99);
    vn_rng_fill_uniform(&rng, w, out->value.numel, -1, 1);

    /* Analytic gradients, through the engine. */
    for (int i = 0; i < out->n_inputs; i++) {
        vn_node *in = out->inputs[i];
        if (in->op) return vn_context_fail(ctx, VN_EINVAL, "gradcheck: input %d of %s is not a leaf", i, out->op->name);
        if (in->grad.data) vn_fill(in->grad.data, in->value.numel, 0);
    }
    if (vn_backward_with(ctx, out, w) != VN_OK) return ctx->status;

    double worst = -1;
    for (int i = 0; i < out->n_inputs; i++) {
        vn_node *in = out->inputs[i];
        if (!vn_node_requires_grad(in)) continue;
        /* The same input may appear twice; check it once. */
        bool seen = false;
        for (int j = 0; j < i; j++) seen |= out->inputs[j] == in;
        if (seen) continue;
        for (size_t e = 0; e < in->value.numel; e++) {
            vn_real saved = in->value.data[e];
            vn_real plus = (vn_real)(saved + opt.eps), minus = (vn_real)(saved - opt.eps);
            in->value.data[e] = plus;
            out->op->forward(out);
            double l_plus = weighted_sum(out, w);
            in->value.data[e] = minus;
            out->op->forward(out);
            double l_minus = weighted_sum(out, w);
            in->value.data[e] = saved;
            double numeric = (l_plus - l_minus) / ((double)plus - (double)minus);
            double analytic = in->grad.data[e];
            double error = vn_fabs(analytic - numeric);
            double scale = vn_fabs(numeric) > 1e-12 ? vn_fabs(numeric) : 1e-12;
            bool ok = error <= opt.atol + opt.rtol * vn_fabs(numeric) && vn_isfinite(analytic);
            result->checked++;
            if (!ok) result->failed++;
            if (error > result->max_abs_error) result->max_abs_error = error;
            if (error / scale > result->max_rel_error && error > 0) result->max_rel_error = error / scale;
            if (!vn_isfinite(analytic) || error > worst) {
                worst = vn_isfinite(analytic) ? error : 1e300;
                result->worst_input = i;
                result->worst_index = e;
                result->worst_analytic = analytic;
                result->worst_numeric = numeric;
            }
        }
    }
    out->op->forward(out); /* leave the node's value as it was */
    return VN_OK;
}

vn_status vn_gradcheck_case(vn_context *ctx, const vn_op *op, int index,
                            const vn_gradcheck_options *options, vn_gradcheck_result *result,
                            vn_node **node, bool *built) {
    *built = false;
    *node = NULL;
    *result = (vn_gradcheck_result){0};
    result->worst_input = -1;
    if (!op || !op->example) return vn_context_fail(ctx, VN_EINVAL, "gradcheck: op has no examples");
    vn_rng rng;
    vn_rng_seed(&rng, 2024 + (uint64_t)index, 5);
    vn_node *out = op->example(ctx, op, index, &rng);
    if (!out) return ctx->status;
    *built = true;
    *node = out;
    if (out->op != op)
        return vn_context_fail(ctx, VN_EINVAL, "gradcheck: example %d of %s built a %s node", index,
                               op->name, out->op ? out->op->name : "leaf");
    return vn_gradcheck_node(ctx, out, options, result);
}
