/* vn_ops_unary.c — elementwise functions y = f(x) and dropout.
 *
 * Every unary op is a pair of scalar functions: the value f(x) and the
 * derivative f'(x) (which may use y = f(x) when that is cheaper). The shared
 * family code applies them: forward y = f(x), backward dX = G ⊙ f'(x). */
#include "vn_ops.h"
#include "vn_op_util.h"
#include "vn_math.h"

typedef struct unary_info {
    vn_real (*f)(vn_real x, vn_real p);              /* value; p = attrs.f[0] */
    vn_real (*df)(vn_real x, vn_real y, vn_real p);  /* dy/dx at x, with y = f(x) */
    double low, high;                                 /* gradcheck input range */
    double kinks[2];                                  /* points to keep away from */
    int n_kinks;
} unary_info;

static vn_status unary_infer(vn_context *ctx, vn_node *out) {
    return vn_infer_like(ctx, out, &out->inputs[0]->value);
}

/* The family's loops. Each op instantiates them with its own f and df (see
 * UNARY_OP), so the scalar functions inline into the loop instead of being
 * called through a pointer per element. */
#define UNARY_LOOPS(var, f_, df_)                                                             \
    static void var##_forward(vn_node *out) {                                                 \
        const vn_real *x = vn_input_value(out, 0);                                            \
        vn_real *y = out->value.data, p = (vn_real)out->attrs.f[0];                            \
        for (size_t i = 0, n = out->value.numel; i < n; i++) y[i] = f_(x[i], p);              \
    }                                                                                         \
    static vn_status var##_backward(vn_context *ctx, vn_node *out) {                          \
        (void)ctx; /* dX = G ⊙ f'(X) */                                                       \
        const vn_real *x = vn_input_value(out, 0), *y = out->value.data, *g = out->grad.data; \
        vn_real *dx = vn_input_grad(out, 0), p = (vn_real)out->attrs.f[0];                    \
        for (size_t i = 0, n = out->value.numel; i < n; i++) {                                 \
            vn_real slope = df_(x[i], y[i], p); /* a separate statement lets it vectorise */   \
            dx[i] += g[i] * slope;                                                            \
        }                                                                                     \
        return VN_OK;                                                                         \
    }

static vn_node *unary_apply(vn_context *ctx, const vn_op *op, vn_node *x, double p) {
    vn_attrs attrs = {0};
    attrs.f[0] = p;
    return vn_apply(ctx, op, &x, 1, &attrs);
}

/* Default parameter per op for examples (scale factor, leaky slope). */
static double example_parameter(const vn_op *op) {
    if (op == &vn_op_scale) return -1.5;
    if (op == &vn_op_leaky_relu) return 0.01;
    return 0;
}

static vn_node *unary_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    const unary_info *info = op->data;
    size_t shape[VN_MAX_DIMS];
    int ndim = vn_example_shape(index, shape);
    if (ndim < 0) return NULL;
    vn_node *x = vn_example_param_avoiding(ctx, rng, ndim, shape, info->low, info->high,
                                           info->kinks, info->n_kinks, 0.1);
    return unary_apply(ctx, op, x, example_parameter(op));
}

#define UNARY_OP(var, opname, text, f_, df_, low_, high_, n_kinks_, ...)                  \
    UNARY_LOOPS(var, f_, df_)                                                               \
    static const unary_info var##_info = {f_, df_, low_, high_, {__VA_ARGS__}, n_kinks_}; \
    const vn_op var = {.name = opname, .min_inputs = 1, .max_inputs = 1,                    \
                       .infer = unary_infer, .forward = var##_forward,                     \
                       .backward = var##_backward, .example = unary_example,               \
                       .overwrites = true, .data = &var##_info, .summary = text}

/* ---- the functions ---------------------------------------------------------- */

static vn_real neg_f(vn_real x, vn_real p) { (void)p; return -x; }
static vn_real neg_df(vn_real x, vn_real y, vn_real p) { (void)x, (void)y, (void)p; return -1; }
UNARY_OP(vn_op_neg, "neg", "y = -x", neg_f, neg_df, -2, 2, 0, 0);

static vn_real scale_f(vn_real x, vn_real p) { return p * x; }
static vn_real scale_df(vn_real x, vn_real y, vn_real p) { (void)x, (void)y; return p; }
UNARY_OP(vn_op_scale, "scale", "y = s * x", scale_f, scale_df, -2, 2, 0, 0);

/* NaN passes through, as torch.relu does (a NaN input is not silently zeroed). */
static vn_real relu_f(vn_real x, vn_real p) { (void)p; return x > 0 || x != x ? x : 0; }
static vn_real relu_df(vn_real x, vn_real y, vn_real p) { (void)y, (void)p; return x > 0 ? 1 : 0; }
UNARY_OP(vn_op_relu, "relu", "y = max(x, 0)", relu_f, relu_df, -2, 2, 1, 0);

/* GELU, exact: y = x·Φ(x) with Φ(x) = ½(1 + erf(x/√2)); y' = Φ(x) + x·φ(x). */
#define SQRT1_2 0.70710678118654752440
#define INV_SQRT_2PI 0.39894228040143267794
static vn_real gelu_f(vn_real x, vn_real p) {
    (void)p;
    return (vn_real)0.5 * x * (1 + vn_erf(x * (vn_real)SQRT1_2));
}
/* Φ(x) is read back from the forward's y = x·Φ(x) (the same Φ the forward
 * used, without a second erf); near 0, where y/x would lose digits to
 * underflow, Φ(x) = ½ to working precision. */
static vn_real gelu_df(vn_real x, vn_real y, vn_real p) {
    (void)p;
    vn_real ax = x < 0 ? -x : x;
    vn_real cdf = ax >= (vn_real)0x1p-40 ? y / x : (vn_real)0.5;
    return cdf + x * (vn_real)INV_SQRT_2PI * vn_exp((vn_real)-0.5 * x * x);
}
UNARY_OP(vn_op_gelu, "gelu", "y = x * Phi(x) (erf)", gelu_f, gelu_df, -3, 3, 0, 0);

/* GELU, tanh approximation: y = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³);
 * y' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3·0.044715x²). */
#define SQRT_2_OVER_PI 0.79788456080286535588
#define GELU_CUBIC 0.044715
static vn_real gelu_tanh_inner(vn_real x) {
    return (vn_real)SQRT_2_OVER_PI * (x + (vn_real)GELU_CUBIC * x * x * x);
}
static vn_real gelu_tanh_f(vn_real x, vn_real p) {
    (void)p;
    return (vn_real)0.5 * x * (1 + vn_tanh(gelu_tanh_inner(x)));
}
static vn_real gelu_tanh_df(vn_real x, vn_real y, vn_real p) {
    (void)y, (void)p;
    vn_real t = vn_tanh(gelu_tanh_inner(x));
    vn_real du = (vn_real)SQRT_2_OVER_PI * (1 + 3 * (vn_real)GELU_CUBIC * x * x);
    return (vn_real)0.5 * (1 + t) + (vn_real)0.5 * x * (1 - t * t) * du;
}
UNARY_OP(vn_op_gelu_tanh, "gelu_tanh", "y = x/2 * (1 + tanh(sqrt(2/pi)(x + 0.044715x^3)))",
         gelu_tanh_f, gelu_tanh_df, -3, 3, 0, 0);

/* σ(x), computed without overflow for either sign. */
static vn_real sigmoid(vn_real x) {
    if (x >= 0) return 1 / (1 + vn_exp(-x));
    vn_real e = vn_exp(x);
    return e / (1 + e);
}

static vn_real sigmoid_f(vn_real x, vn_real p) { (void)p; return sigmoid(x); }
static vn_real sigmoid_df(vn_real x, vn_real y, vn_real p) { (void)x, (void)p; return y * (1 - y); }
UNARY_OP(vn_op_sigmoid, "sigmoid", "y = 1 / (1 + exp(-x))", sigmoid_f, sigmoid_df, -4, 4, 0, 0);

/* x·σ(kx): silu with k = 1, quick_gelu with k = 1.702; y' = σ + kx·σ(1 − σ). */
static vn_real x_sigmoid_df(vn_real x, vn_real k) {
    vn_real s = sigmoid(k * x);
    return s + k * x * s * (1 - s);
}
static vn_real silu_f(vn_real x, vn_real p) { (void)p; return x * sigmoid(x); }
static vn_real silu_df(vn_real x, vn_real y, vn_real p) { (void)y, (void)p; return x_sigmoid_df(x, 1); }
UNARY_OP(vn_op_silu, "silu", "y = x * sigmoid(x)", silu_f, silu_df, -4, 4, 0, 0);

#define QUICK_GELU_K 1.702
static vn_real quick_gelu_f(vn_real x, vn_real p) { (void)p; return x * sigmoid((vn_real)QUICK_GELU_K * x); }
static vn_real quick_gelu_df(vn_real x, vn_real y, vn_real p) {
    (void)y, (void)p;
    return x_sigmoid_df(x, (vn_real)QUICK_GELU_K);
}
UNARY_OP(vn_op_quick_gelu, "quick_gelu", "y = x * sigmoid(1.702x)", quick_gelu_f, quick_gelu_df,
         -4, 4, 0, 0);

static vn_real tanh_f(vn_real x, vn_real p) { (void)p; return vn_tanh(x); }
static vn_real tanh_df(vn_real x, vn_real y, vn_real p) { (void)x, (void)p; return 1 - y * y; }
UNARY_OP(vn_op_tanh, "tanh", "y = tanh(x)", tanh_f, tanh_df, -3, 3, 0, 0);

static vn_real leaky_relu_f(vn_real x, vn_real p) { return x > 0 ? x : p * x; }
static vn_real leaky_relu_df(vn_real x, vn_real y, vn_real p) { (void)y; return x > 0 ? 1 : p; }
UNARY_OP(vn_op_leaky_relu, "leaky_relu", "y = x > 0 ? x : slope * x", leaky_relu_f, leaky_relu_df,
         -2, 2, 1, 0);

static vn_real relu6_f(vn_real x, vn_real p) { (void)p; return x <= 0 ? 0 : (x >= 6 ? 6 : x); }
static vn_real relu6_df(vn_real x, vn_real y, vn_real p) { (void)y, (void)p; return x > 0 && x < 6 ? 1 : 0; }
UNARY_OP(vn_op_relu6, "relu6", "y = min(max(x, 0), 6)", relu6_f, relu6_df, -2, 8, 2, 0, 6);

static vn_real exp_f(vn_real x, vn_real p) { (void)p; return vn_exp(x); }
static vn_real exp_df(vn_real x, vn_real y, vn_real p) { (void)x, (void)p; return y; }
UNARY_OP(vn_op_exp, "exp", "y = exp(x)", exp_f, exp_df, -2, 2, 0, 0);

static vn_real log_f(vn_real x, vn_real p) { (void)p; return vn_log(x); }
static vn_real log_df(vn_real x, vn_real y, vn_real p) { (void)y, (void)p; return 1 / x; }
UNARY_OP(vn_op_log, "log", "y = log(x)", log_f, log_df, 0.5, 3, 0, 0);

vn_node *vn_neg(vn_context *ctx, vn_node *a) { return unary_apply(ctx, &vn_op_neg, a, 0); }
vn_node *vn_scale(vn_context *ctx, vn_node *a, double s) { return unary_apply(ctx, &vn_op_scale, a, s); }
vn_node *vn_relu(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_relu, x, 0); }
vn_node *vn_gelu(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_gelu, x, 0); }
vn_node *vn_gelu_tanh(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_gelu_tanh, x, 0); }
vn_node *vn_quick_gelu(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_quick_gelu, x, 0); }
vn_node *vn_tanh_op(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_tanh, x, 0); }
vn_node *vn_sigmoid(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_sigmoid, x, 0); }
vn_node *vn_silu(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_silu, x, 0); }
vn_node *vn_leaky_relu(vn_context *ctx, vn_node *x, double negative_slope) {
    return unary_apply(ctx, &vn_op_leaky_relu, x, negative_slope);
}
vn_node *vn_relu6(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_relu6, x, 0); }
vn_node *vn_exp_op(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_exp, x, 0); }
vn_node *vn_log_op(vn_context *ctx, vn_node *x) { return unary_apply(ctx, &vn_op_log, x, 0); }

/* ---- dropout ------------------------------------------------------------------
 * attrs.f[0] = p, attrs.i[0] = training, attrs.i[1] = seed, attrs.i[2] = stream.
 * saved: the mask (0 or 1/(1 − p) per element), only when active. */

static bool dropout_active(const vn_node *out) {
    return out->attrs.i[0] != 0 && out->attrs.f[0] > 0;
}

static vn_status dropout_infer(vn_context *ctx, vn_node *out) {
    double p = out->attrs.f[0];
    if (!(p >= 0 && p <= 1)) return vn_context_fail(ctx, VN_EINVAL, "dropout: p = %g is outside [0, 1]", p);
    vn_status status = vn_infer_like(ctx, out, &out->inputs[0]->value);
    if (status == VN_OK && dropout_active(out)) out->saved_bytes = out->value.numel * sizeof(vn_real);
    return status;
}

static void dropout_forward(vn_node *out) {
    const vn_real *x = vn_input_value(out, 0);
    size_t n = out->value.numel;
    if (!dropout_active(out)) {
        vn_copy(out->value.data, x, n);
        return;
    }
    double p = out->attrs.f[0];
    vn_real keep_scale = p < 1 ? (vn_real)(1.0 / (1.0 - p)) : 0;
    vn_real *mask = out->saved;
    vn_rng rng;
    vn_rng_seed(&rng, (uint64_t)out->attrs.i[1], (uint64_t)out->attrs.i[2]);
    for (size_t i = 0; i < n; i++) {
        mask[i] = vn_rng_uniform(&rng) < p ? 0 : keep_scale;
        out->value.data[i] = x[i] * mask[i];
    }
}

static vn_status dropout_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = G ⊙ mask (or G when inactive) */
    vn_real *dx = vn_input_grad(out, 0);
    const vn_real *g = out->grad.data, *mask = out->saved;
    for (size_t i = 0; i < out->value.numel; i++) dx[i] += mask ? g[i] * mask[i] : g[i];
    return VN_OK;
}

static vn_node *dropout_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    size_t shape[VN_MAX_DIMS];
    int ndim = vn_example_shape(index, shape);
    if (ndim < 0 || index > 2) return NULL;
    vn_node *x = vn_example_param(ctx, rng, ndim, shape, -2, 2);
    return vn_dropout(ctx, x, 0.3, index != 2, 42 + (uint64_t)index, 7);
}

const vn_op vn_op_dropout = {.name = "dropout", .min_inputs = 1, .max_inputs = 1,
                             .infer = dropout_infer, .forward = dropout_forward,
                             .backward = dropout_backward, .example = dropout_example,
                             .overwrites = true,
                             .summary = "y = x * mask / (1 - p) in training, x otherwise"};

vn_node *vn_dropout(vn_context *ctx, vn_node *x, double p, bool training, uint64_t seed,
                    uint64_t stream) {
    vn_attrs attrs = {0};
    attrs.f[0] = p;
    attrs.i[0] = training;
    attrs.i[1] = (int64_t)seed;
    attrs.i[2] = (int64_t)stream;
    return vn_apply(ctx, &vn_op_dropout, &x, 1, &attrs);
}
