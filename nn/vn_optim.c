/* vn_optim.c — SGD, Adam, AdamW, gradient clipping and the warm-up schedule,
 * with PyTorch's update rules in PyTorch's order of operations. */
#include "vn_optim.h"
#include "vn_math.h"
#include "vn_nn.h"

static const char *const kind_names[VN_OPTIM_KIND_COUNT] = {"sgd", "adam", "adamw"};

const char *vn_optim_kind_name(vn_optim_kind kind) {
    return (int)kind >= 0 && kind < VN_OPTIM_KIND_COUNT ? kind_names[kind] : "?";
}

vn_optim_options vn_optim_defaults(vn_optim_kind kind) {
    vn_optim_options o = {0};
    o.kind = kind;
    o.lr = 1e-3;
    o.beta1 = 0.9;
    o.beta2 = 0.999;
    o.eps = 1e-8;
    o.weight_decay = kind == VN_OPTIM_ADAMW ? 1e-2 : 0;
    return o;
}

/* A non-negative finite option. */
static vn_status check_nonnegative(const vn_optim_options *o, const char *name, double value,
                                   char *message, size_t size) {
    if (value >= 0 && vn_isfinite(value)) return VN_OK;
    return vn_message(message, size, VN_EINVAL, "%s: invalid %s %g (must be finite and >= 0)",
                         vn_optim_kind_name(o->kind), name, value);
}

static vn_status check_beta(const vn_optim_options *o, const char *name, double value,
                            char *message, size_t size) {
    if (value >= 0 && value < 1) return VN_OK;
    return vn_message(message, size, VN_EINVAL, "%s: invalid %s %g (must be in [0, 1))",
                         vn_optim_kind_name(o->kind), name, value);
}

vn_status vn_optim_options_check(const vn_optim_options *o, char *message, size_t size) {
    if (!o) return vn_message(message, size, VN_EINVAL, "optimizer: NULL options");
    if ((int)o->kind < 0 || o->kind >= VN_OPTIM_KIND_COUNT)
        return vn_message(message, size, VN_EINVAL, "optimizer: unknown kind %d (valid: sgd, adam, adamw)",
                             (int)o->kind);
    vn_status status;
    if ((status = check_nonnegative(o, "lr", o->lr, message, size)) != VN_OK ||
        (status = check_nonnegative(o, "weight_decay", o->weight_decay, message, size)) != VN_OK)
        return status;
    if (o->kind == VN_OPTIM_SGD) {
        if ((status = check_nonnegative(o, "momentum", o->momentum, message, size)) != VN_OK)
            return status;
        if (!vn_isfinite(o->dampening))
            return vn_message(message, size, VN_EINVAL, "sgd: invalid dampening %g", o->dampening);
        if (o->nesterov && (o->momentum <= 0 || o->dampening != 0))
            return vn_message(message, size, VN_EINVAL,
                                 "sgd: nesterov momentum requires a momentum and zero dampening");
        return VN_OK;
    }
    if ((status = check_nonnegative(o, "eps", o->eps, message, size)) != VN_OK ||
        (status = check_beta(o, "beta1", o->beta1, message, size)) != VN_OK ||
        (status = check_beta(o, "beta2", o->beta2, message, size)) != VN_OK)
        return status;
    return VN_OK;
}

double vn_optim_linear_warmup_factor(int64_t step, int64_t warmup, int64_t total) {
    if (step < warmup) return (double)step / (double)(warmup > 1 ? warmup : 1);
    double decay = total - warmup > 1 ? (double)(total - warmup) : 1.0;
    double factor = (double)(total - step) / decay;
    return factor > 0 ? factor : 0.0;
}

static bool has_grad(const vn_node *node) {
    return node->grad.data && (node->flags & VN_NODE_REQUIRES_GRAD);
}

/* A zero-filled state buffer shaped like the parameter, or NULL on failure. */
static vn_real *state_buffer(vn_context *ctx, vn_arena *arena, const vn_node *param) {
    size_t bytes;
    if (!vn_size_mul(param->value.numel, sizeof(vn_real), &bytes)) {
        vn_context_fail(ctx, VN_EOVERFLOW, "optimizer: state size overflows");
        return NULL;
    }
    vn_real *p = vn_arena_calloc(arena, bytes ? bytes : 1, 0);
    if (!p) vn_context_fail(ctx, VN_ENOMEM, "optimizer: out of arena memory for state (%zu bytes)", bytes);
    return p;
}

vn_status vn_optim_init(vn_optim *opt, vn_context *ctx, vn_arena *arena,
                        const vn_optim_options *options, vn_node *const *params, size_t n) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!opt || !arena || (!params && n > 0))
        return vn_context_fail(ctx, VN_EINVAL, "optimizer: NULL %s",
                               !opt ? "optimizer" : (!arena ? "arena" : "parameter list"));
    char message[sizeof ctx->message];
    vn_status status = vn_optim_options_check(options, message, sizeof message);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s", message);
    for (size_t i = 0; i < n; i++) {
        if (!params[i] || !(params[i]->flags & VN_NODE_PARAM))
            return vn_context_fail(ctx, VN_EINVAL, "optimizer: parameter %zu is %s", i,
                                   params[i] ? "not a PARAM node" : "NULL");
        for (size_t j = 0; j < i; j++)
            if (params[j] == params[i])
                return vn_context_fail(ctx, VN_EINVAL, "optimizer: parameter %zu repeats parameter %zu", i, j);
    }
    *opt = (vn_optim){0};
    opt->options = *options;
    opt->n_params = n;
    if (n == 0) return VN_OK;
    opt->params = vn_arena_alloc(arena, n * sizeof *opt->params, 0);
    opt->state = vn_arena_calloc(arena, n * sizeof *opt->state, 0);
    if (!opt->params || !opt->state)
        return vn_context_fail(ctx, VN_ENOMEM, "optimizer: out of arena memory for %zu parameters", n);
    bool adam = options->kind != VN_OPTIM_SGD;
    for (size_t i = 0; i < n; i++) {
        vn_optim_state *s = &opt->state[i];
        opt->params[i] = params[i];
        if (adam || options->momentum != 0) {
            if (!(s->buf1 = state_buffer(ctx, arena, params[i]))) return ctx->status;
        }
        if (adam && !(s->buf2 = state_buffer(ctx, arena, params[i]))) return ctx->status;
        if (adam && options->amsgrad && !(s->buf3 = state_buffer(ctx, arena, params[i])))
            return ctx->status;
    }
    return VN_OK;
}

vn_status vn_optim_set_linear_schedule(vn_optim *opt, int64_t warmup, int64_t total) {
    if (!opt || warmup < 0 || total < 0) return VN_EINVAL;
    opt->scheduled = true;
    opt->warmup_steps = warmup;
    opt->total_steps = total;
    return VN_OK;
}

double vn_optim_current_lr(const vn_optim *opt) {
    if (!opt->scheduled) return opt->options.lr;
    return opt->options.lr * vn_optim_linear_warmup_factor(opt->step_count, opt->warmup_steps,
                                                           opt->total_steps);
}

/* x^k for a step count k ≥ 1, by repeated squaring (Python's beta ** step). */
static double power(double x, int64_t k) {
    double result = 1;
    for (; k > 0; k >>= 1, x *= x)
        if (k & 1) result *= x;
    return result;
}

static void sgd_update(const vn_optim_options *o, double lr, vn_node *p, vn_optim_state *s) {
    vn_real *theta = p->value.data, *b = s->buf1;
    const vn_real *grad = p->grad.data;
    size_t n = p->value.numel;
    vn_real wd = (vn_real)o->weight_decay, mu = (vn_real)o->momentum;
    vn_real keep = (vn_real)(1 - o->dampening), neg_lr = (vn_real)-lr;
    bool first = s->steps == 0;
    for (size_t i = 0; i < n; i++) {
        vn_real d = grad[i];
        if (o->weight_decay != 0) d = d + wd * theta[i];
        if (o->momentum != 0) {
            if (first) {
                b[i] = d;
            } else {
                b[i] = b[i] * mu;
                b[i] = b[i] + keep * d;
            }
            d = o->nesterov ? d + mu * b[i] : b[i];
        }
        theta[i] = theta[i] + neg_lr * d;
    }
}

static void adam_update(const vn_optim_options *o, double lr, vn_node *p, vn_optim_state *s) {
    vn_real *theta = p->value.data, *m = s->buf1, *v = s->buf2, *vmax = s->buf3;
    const vn_real *grad = p->grad.data;
    size_t n = p->value.numel;
    int64_t t = s->steps + 1;
    bool decoupled = o->kind == VN_OPTIM_ADAMW;
    double bias_correction1 = 1 - power(o->beta1, t);
    double bias_correction2 = 1 - power(o->beta2, t);
    double step_size = lr / bias_correction1;
    vn_real bc2_sqrt = (vn_real)vn_sqrt_d(bias_correction2);
    vn_real beta1 = (vn_real)o->beta1, beta2 = (vn_real)o->beta2;
    vn_real one_minus_beta1 = (vn_real)(1 - o->beta1), one_minus_beta2 = (vn_real)(1 - o->beta2);
    vn_real wd = (vn_real)o->weight_decay, eps = (vn_real)o->eps;
    vn_real decay = (vn_real)(1 - lr * o->weight_decay), neg_step = (vn_real)-step_size;
    for (size_t i = 0; i < n; i++) {
        vn_real g = grad[i];
        if (decoupled) theta[i] = theta[i] * decay;
        else if (o->weight_decay != 0) g = g + wd * theta[i];
        m[i] = m[i] * beta1;
        m[i] = m[i] + one_minus_beta1 * g;
        v[i] = v[i] * beta2;
        v[i] = v[i] + one_minus_beta2 * g * g;
        vn_real second = v[i];
        if (vmax) {
            if (vmax[i] < v[i] || vn_isnan(v[i])) vmax[i] = v[i];
            second = vmax[i];
        }
        vn_real denom = vn_sqrt(second) / bc2_sqrt + eps;
        theta[i] = theta[i] + neg_step * (m[i] / denom);
    }
}

vn_status vn_optim_step(vn_optim *opt) {
    if (!opt) return VN_EINVAL;
    double lr = vn_optim_current_lr(opt);
    for (size_t i = 0; i < opt->n_params; i++) {
        vn_node *p = opt->params[i];
        if (!has_grad(p)) continue;
        if (opt->options.kind == VN_OPTIM_SGD) sgd_update(&opt->options, lr, p, &opt->state[i]);
        else adam_update(&opt->options, lr, p, &opt->state[i]);
        opt->state[i].steps++;
    }
    opt->step_count++;
    return VN_OK;
}

vn_status vn_clip_grad_norm(vn_node *const *params, size_t n, double max_norm,
                            bool error_if_nonfinite, double *total_norm) {
    if (total_norm) *total_norm = 0;
    if ((!params && n > 0) || !(max_norm >= 0)) return VN_EINVAL;
    double sum_squares = 0;
    for (size_t k = 0; k < n; k++) {
        if (!params[k] || !has_grad(params[k])) continue;
        const vn_real *g = params[k]->grad.data;
        double s = 0;
        for (size_t i = 0; i < params[k]->value.numel; i++) s += (double)g[i] * (double)g[i];
        vn_real norm = (vn_real)vn_sqrt_d(s);
        sum_squares += (double)norm * (double)norm;
    }
    vn_real total = (vn_real)vn_sqrt_d(sum_squares);
    if (total_norm) *total_norm = total;
    if (!vn_isfinite(total) && error_if_nonfinite) return VN_ENAN;
    vn_real coef = (vn_real)max_norm / (total + (vn_real)1e-6);
    if (!(coef < 1) && !vn_isnan(coef)) return VN_OK;
    for (size_t k = 0; k < n; k++) {
        if (!params[k] || !has_grad(params[k])) continue;
        vn_real *g = params[k]->grad.data;
        for (size_t i = 0; i < params[k]->value.numel; i++) g[i] = g[i] * coef;
    }
    return VN_OK;
}

bool vn_params_finite(vn_node *const *params, size_t n, bool grads, vn_nonfinite *found) {
    *found = (vn_nonfinite){0};
    for (size_t k = 0; k < n; k++) {
        const vn_node *p = params[k];
        if (!p || (grads && !has_grad(p))) continue;
        const vn_tensor *t = grads ? &p->grad : &p->value;
        size_t i = vn_first_nonfinite(t->data, t->numel);
        if (i == t->numel) continue;
        found->where = grads ? VN_NONFINITE_GRAD : VN_NONFINITE_VALUE;
        found->node = p;
        found->param = k;
        found->index = i;
        found->value = (double)t->data[i];
        return false;
    }
    return true;
}

const char *vn_nonfinite_name(double value) {
    if (vn_isnan(value)) return "NaN";
    if (vn_isfinite(value)) return "finite";
    return value > 0 ? "inf" : "-inf";
}
