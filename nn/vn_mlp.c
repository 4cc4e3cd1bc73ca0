/* vn_mlp.c — pyvene's MLPForClassification: config, activations, hook
 * sites, forward pass and losses. */
#include "vn_nn.h"
#include "vn_ops.h"

/* ---- names and messages ----------------------------------------------------- */

/* Finds `name` in names[0..count); on failure reports
 * "unknown <what> "<name>"; valid names: a, b, c". */
static vn_status lookup_name(const char *const *names, int count, const char *what,
                             const char *name, int *out, char *message, size_t size) {
    if (name) {
        for (int i = 0; i < count; i++) {
            if (vn_strcmp(names[i], name) == 0) {
                *out = i;
                return VN_OK;
            }
        }
    }
    char list[200];
    size_t used = 0;
    list[0] = '\0';
    for (int i = 0; i < count; i++)
        used += vn_format(list + (used < sizeof list ? used : sizeof list),
                          used < sizeof list ? sizeof list - used : 0, "%s%s", i ? ", " : "", names[i]);
    return vn_message(message, size, VN_EINVAL, "unknown %s \"%.40s\"; valid names: %s", what,
                         name ? name : "(null)", list);
}

static const char *name_at(const char *const *names, int count, int index) {
    return index >= 0 && index < count ? names[index] : "?";
}

/* ---- activations -------------------------------------------------------------- */

static const char *const activation_names[VN_ACT_COUNT] = {
    "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh", "sigmoid",
    "silu", "swish", "relu6", "leaky_relu", "quick_gelu", "linear"};

#define LEAKY_RELU_SLOPE 0.01

const char *vn_activation_name(vn_activation act) {
    return name_at(activation_names, VN_ACT_COUNT, (int)act);
}

vn_status vn_activation_lookup(const char *name, vn_activation *out, char *message, size_t size) {
    int index = 0;
    vn_status status = lookup_name(activation_names, VN_ACT_COUNT, "activation_function", name,
                                   &index, message, size);
    if (status == VN_OK && out) *out = (vn_activation)index;
    return status;
}

vn_node *vn_nn_activation(vn_context *ctx, vn_activation act, vn_node *x) {
    switch (act) {
    case VN_ACT_GELU: return vn_gelu(ctx, x);
    case VN_ACT_GELU_NEW:
    case VN_ACT_GELU_PYTORCH_TANH: return vn_gelu_tanh(ctx, x);
    case VN_ACT_RELU: return vn_relu(ctx, x);
    case VN_ACT_TANH: return vn_tanh_op(ctx, x);
    case VN_ACT_SIGMOID: return vn_sigmoid(ctx, x);
    case VN_ACT_SILU:
    case VN_ACT_SWISH: return vn_silu(ctx, x);
    case VN_ACT_RELU6: return vn_relu6(ctx, x);
    case VN_ACT_LEAKY_RELU: return vn_leaky_relu(ctx, x, LEAKY_RELU_SLOPE);
    case VN_ACT_QUICK_GELU: return vn_quick_gelu(ctx, x);
    case VN_ACT_LINEAR: return x;
    case VN_ACT_COUNT: break;
    }
    vn_context_fail(ctx, VN_EINVAL, "activation: invalid value %d", (int)act);
    return NULL;
}

vn_node *vn_nn_linear(vn_context *ctx, vn_node *x, vn_node *weight, vn_node *bias) {
    vn_node *y = vn_matmul(ctx, x, weight, false, true);
    return bias ? vn_add(ctx, y, bias) : y;
}

/* ---- components --------------------------------------------------------------- */

static const char *const component_names[VN_NN_COMPONENT_COUNT] = {
    "block_input", "mlp_activation", "block_output"};

const char *vn_nn_component_name(vn_nn_component component) {
    return name_at(component_names, VN_NN_COMPONENT_COUNT, (int)component);
}

vn_status vn_nn_component_lookup(const char *name, vn_nn_component *out, char *message, size_t size) {
    int index = 0;
    vn_status status = lookup_name(component_names, VN_NN_COMPONENT_COUNT, "component", name,
                                   &index, message, size);
    if (status == VN_OK && out) *out = (vn_nn_component)index;
    return status;
}

/* ---- problem types and losses ---------------------------------------------------- */

static const char *const problem_names[VN_PROBLEM_COUNT] = {
    "none", "regression", "single_label_classification", "multi_label_classification"};

const char *vn_problem_type_name(vn_problem_type type) {
    return name_at(problem_names, VN_PROBLEM_COUNT, (int)type);
}

vn_status vn_problem_type_lookup(const char *name, vn_problem_type *out, char *message, size_t size) {
    int index = 0;
    vn_status status = lookup_name(problem_names + 1, VN_PROBLEM_COUNT - 1, "problem_type", name,
                                   &index, message, size);
    if (status == VN_OK && out) *out = (vn_problem_type)(index + 1);
    return status;
}

vn_problem_type vn_problem_type_infer(int64_t num_classes, bool integer_labels) {
    if (num_classes == 1) return VN_PROBLEM_REGRESSION;
    return integer_labels ? VN_PROBLEM_SINGLE_LABEL : VN_PROBLEM_MULTI_LABEL;
}

/* Regression targets in the logits' shape: float targets reshaped, or
 * integer labels converted into a new CONST leaf. */
static vn_node *regression_targets(vn_context *ctx, vn_node *logits, const vn_nn_labels *labels) {
    const vn_tensor *shape = &logits->value;
    size_t count = labels->targets ? labels->targets->value.numel : labels->n;
    if (count != shape->numel) {
        vn_context_fail(ctx, VN_ESHAPE, "loss (regression): %zu labels for %zu logits", count,
                        shape->numel);
        return NULL;
    }
    if (labels->targets) {
        if (vn_tensor_same_shape(&labels->targets->value, shape)) return labels->targets;
        return vn_reshape(ctx, labels->targets, shape->ndim, shape->shape);
    }
    vn_node *t = vn_constant(ctx, shape->ndim, shape->shape);
    if (t)
        for (size_t i = 0; i < count; i++) t->value.data[i] = (vn_real)labels->classes[i];
    return t;
}

/* Logits and exactly one kind of labels, else an error on ctx. */
static bool loss_arguments_ok(vn_context *ctx, const vn_node *logits, const vn_nn_labels *labels) {
    if (ctx->status != VN_OK) return false;
    if (!logits) {
        vn_context_fail(ctx, VN_EINVAL, "loss: NULL logits");
        return false;
    }
    if (!labels || (labels->targets != NULL) == (labels->classes != NULL)) {
        vn_context_fail(ctx, VN_EINVAL, "loss: give exactly one of integer labels and float targets");
        return false;
    }
    return true;
}

vn_node *vn_nn_loss(vn_context *ctx, vn_problem_type type, vn_node *logits,
                    const vn_nn_labels *labels) {
    if (!loss_arguments_ok(ctx, logits, labels)) return NULL;
    switch (type) {
    case VN_PROBLEM_REGRESSION:
        return vn_mse(ctx, logits, regression_targets(ctx, logits, labels));
    case VN_PROBLEM_SINGLE_LABEL:
        if (!labels->classes) break;
        return vn_cross_entropy(ctx, logits, labels->classes, labels->n);
    case VN_PROBLEM_MULTI_LABEL:
        if (!labels->targets) break;
        return vn_bce_with_logits(ctx, logits, labels->targets);
    default:
        vn_context_fail(ctx, VN_EINVAL, "loss: problem_type must be regression, "
                        "single_label_classification or multi_label_classification, got %s",
                        vn_problem_type_name(type));
        return NULL;
    }
    vn_context_fail(ctx, VN_EINVAL, "loss: %s needs %s labels", vn_problem_type_name(type),
                    type == VN_PROBLEM_SINGLE_LABEL ? "integer (class id)" : "float");
    return NULL;
}

vn_node *vn_mlp_loss(vn_mlp *model, vn_context *ctx, vn_node *logits, const vn_nn_labels *labels) {
    if (ctx->status != VN_OK) return NULL;
    if (!model) {
        vn_context_fail(ctx, VN_EINVAL, "mlp loss: NULL model");
        return NULL;
    }
    if (!loss_arguments_ok(ctx, logits, labels)) return NULL;
    if (model->config.problem_type == VN_PROBLEM_NONE)
        model->config.problem_type = vn_problem_type_infer(model->config.num_classes,
                                                           labels->classes != NULL);
    return vn_nn_loss(ctx, model->config.problem_type, logits, labels);
}

/* ---- config --------------------------------------------------------------------- */

vn_mlp_config vn_mlp_config_default(void) {
    vn_mlp_config c = {0};
    c.h_dim = 512;
    c.n_layer = 2;
    c.num_classes = 2;
    vn_strlcpy(c.activation_function, "gelu", sizeof c.activation_function);
    c.pdrop = 0.3;
    c.include_bias = true;
    c.squeeze_output = true;
    c.include_emb = false;
    c.vocab_size = 50257;
    c.max_position_embeddings = 512;
    c.problem_type = VN_PROBLEM_NONE;
    return c;
}

static vn_status check_range(const char *field, int64_t value, int64_t low, int64_t high,
                             char *message, size_t size) {
    if (value >= low && value <= high) return VN_OK;
    return vn_message(message, size, VN_EINVAL, "mlp config: %s must be in [%lld, %lld], got %lld",
                         field, (long long)low, (long long)high, (long long)value);
}

vn_status vn_mlp_config_check(const vn_mlp_config *c, char *message, size_t size) {
    if (!c) return vn_message(message, size, VN_EINVAL, "mlp config: NULL");
    vn_status status;
    if ((status = check_range("h_dim", c->h_dim, 1, INT32_MAX, message, size)) != VN_OK ||
        (status = check_range("n_layer", c->n_layer, 0, VN_MLP_MAX_LAYERS, message, size)) != VN_OK ||
        (status = check_range("num_classes", c->num_classes, 1, INT32_MAX, message, size)) != VN_OK ||
        (status = check_range("vocab_size", c->vocab_size, 0, INT64_MAX, message, size)) != VN_OK ||
        (status = check_range("max_position_embeddings", c->max_position_embeddings, 0, INT64_MAX,
                              message, size)) != VN_OK)
        return status;
    size_t length = 0;
    while (length < sizeof c->activation_function && c->activation_function[length]) length++;
    if (length == sizeof c->activation_function)
        return vn_message(message, size, VN_EINVAL, "mlp config: activation_function is not terminated "
                             "within %zu bytes", sizeof c->activation_function);
    char detail[240];
    if (vn_activation_lookup(c->activation_function, NULL, detail, sizeof detail) != VN_OK)
        return vn_message(message, size, VN_EINVAL, "mlp config: %s", detail);
    if (!(c->pdrop >= 0 && c->pdrop <= 1))
        return vn_message(message, size, VN_EINVAL, "mlp config: pdrop must be in [0, 1], got %g", c->pdrop);
    if (c->include_emb)
        return vn_message(message, size, VN_EINVAL, "mlp config: include_emb is not supported "
                             "(cvene's MLP takes inputs_embeds)");
    if ((int)c->problem_type < 0 || c->problem_type >= VN_PROBLEM_COUNT)
        return vn_message(message, size, VN_EINVAL, "mlp config: problem_type has invalid value %d",
                             (int)c->problem_type);
    return VN_OK;
}

/* ---- building the model ------------------------------------------------------------ */

/* One named PARAM leaf, appended to the model's parameter list. */
static vn_node *add_param(vn_mlp *m, vn_context *ctx, int ndim, const size_t *shape,
                          const char *name) {
    vn_node *node = vn_node_set_name(ctx, vn_param(ctx, ndim, shape), name);
    if (!node || !node->name) return NULL;
    m->params[m->n_params].name = node->name;
    m->params[m->n_params].node = node;
    m->n_params++;
    return node;
}

/* A Linear layer's weight (out, in) and, with include_bias, bias (out,),
 * named "<prefix>.weight" and "<prefix>.bias". */
static bool add_linear(vn_mlp *m, vn_context *ctx, vn_mlp_linear *layer, const char *prefix,
                       size_t out, size_t in) {
    char name[64];
    size_t wshape[2] = {out, in};
    vn_format(name, sizeof name, "%s.weight", prefix);
    layer->weight = add_param(m, ctx, 2, wshape, name);
    layer->bias = NULL;
    if (!layer->weight) return false;
    if (!m->config.include_bias) return true;
    vn_format(name, sizeof name, "%s.bias", prefix);
    layer->bias = add_param(m, ctx, 1, &out, name);
    return layer->bias != NULL;
}

vn_status vn_mlp_init(vn_mlp *m, vn_context *ctx, const vn_mlp_config *config, vn_rng *rng) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!m) return vn_context_fail(ctx, VN_EINVAL, "mlp: NULL model");
    char message[sizeof ctx->message];
    vn_status status = vn_mlp_config_check(config, message, sizeof message);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s", message);
    *m = (vn_mlp){0};
    m->config = *config;
    vn_activation_lookup(config->activation_function, &m->activation, NULL, 0);
    m->training = true;
    size_t layers = (size_t)config->n_layer, h = (size_t)config->h_dim;
    size_t classes = (size_t)config->num_classes;
    size_t per_linear = config->include_bias ? 2 : 1;
    size_t max_params = (layers + 1) * per_linear;
    m->blocks = layers ? vn_context_scratch(ctx, layers * sizeof *m->blocks) : NULL;
    m->params = vn_context_scratch(ctx, max_params * sizeof *m->params);
    m->scopes = vn_context_scratch(ctx, (layers + 2) * sizeof *m->scopes);
    if ((layers && !m->blocks) || !m->params || !m->scopes) return ctx->status;
    char name[64];
    m->scopes[0] = "mlp";
    m->scopes[layers + 1] = "score";
    for (size_t l = 0; l < layers; l++) {
        vn_format(name, sizeof name, "mlp.h.%zu", l);
        if (!(m->scopes[l + 1] = vn_context_strdup(ctx, name))) return ctx->status;
        vn_format(name, sizeof name, "mlp.h.%zu.ff1", l);
        if (!add_linear(m, ctx, &m->blocks[l], name, h, h)) return ctx->status;
    }
    if (!add_linear(m, ctx, &m->score, "score", classes, h)) return ctx->status;
    if (rng) vn_mlp_reset_parameters(m, rng);
    return VN_OK;
}

void vn_mlp_reset_parameters(vn_mlp *m, vn_rng *rng) {
    for (int64_t l = 0; l < m->config.n_layer; l++)
        vn_nn_init_linear(&m->blocks[l].weight->value,
                          m->blocks[l].bias ? &m->blocks[l].bias->value : NULL, rng);
    vn_nn_init_linear(&m->score.weight->value, m->score.bias ? &m->score.bias->value : NULL, rng);
}

const vn_nn_param *vn_mlp_params(const vn_mlp *m, size_t *count) {
    if (count) *count = m->n_params;
    return m->params;
}

vn_node *vn_mlp_param_find(const vn_mlp *m, const char *name) {
    for (size_t i = 0; name && i < m->n_params; i++)
        if (vn_strcmp(m->params[i].name, name) == 0) return m->params[i].node;
    return NULL;
}

void vn_mlp_set_trainable(vn_mlp *m, bool trainable) {
    for (size_t i = 0; i < m->n_params; i++) vn_node_set_trainable(m->params[i].node, trainable);
}

void vn_mlp_set_training(vn_mlp *m, bool training) { m->training = training; }

void vn_mlp_set_hook(vn_mlp *m, vn_nn_hook_fn hook, void *user) {
    m->hook = hook;
    m->hook_user = user;
}

void vn_mlp_set_dropout_seed(vn_mlp *m, uint64_t seed) {
    m->dropout_seed = seed;
    m->dropout_pass = 0;
}

static uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

uint64_t vn_nn_dropout_seed(uint64_t seed, uint64_t pass) { return splitmix64(seed + splitmix64(pass)); }

/* ---- forward ---------------------------------------------------------------------- */

/* Calls the hook at a site and checks what it returns. */
static vn_node *call_hook(vn_mlp *m, vn_context *ctx, vn_nn_component component, size_t layer,
                          vn_node *x) {
    if (!x || ctx->status != VN_OK) return NULL;
    vn_nn_site site = {component, (int)layer};
    vn_node *y = m->hook(m->hook_user, ctx, site, x);
    if (!y) {
        vn_context_fail(ctx, VN_EINVAL, "mlp: the hook at %s of layer %zu returned no node",
                        vn_nn_component_name(component), layer);
        return NULL;
    }
    if (!vn_tensor_same_shape(&y->value, &x->value)) {
        char want[64], got[64];
        vn_context_fail(ctx, VN_ESHAPE, "mlp: the hook at %s of layer %zu returned shape %s for a %s site",
                        vn_nn_component_name(component), layer,
                        vn_shape_string(&y->value, got, sizeof got),
                        vn_shape_string(&x->value, want, sizeof want));
        return NULL;
    }
    return y;
}

#define HOOK(m, ctx, component, layer, x) \
    ((m)->hook ? call_hook((m), (ctx), (component), (layer), (x)) : (x))

/* Dropout site j of the current pass: the identity (no node) in eval mode or
 * when pdrop is 0. */
static vn_node *dropout_site(const vn_mlp *m, vn_context *ctx, vn_node *x, uint64_t pass_seed,
                             size_t site) {
    if (!m->training || m->config.pdrop == 0) return x;
    return vn_dropout(ctx, x, m->config.pdrop, true, pass_seed, site);
}

/* Input dropout and blocks 0 .. n_blocks−1 with their hooks; NULL on error. */
static vn_node *forward_blocks(vn_mlp *m, vn_context *ctx, vn_node *x, size_t n_blocks) {
    if (ctx->status != VN_OK) return NULL;
    if (!m || !x) {
        vn_context_fail(ctx, VN_EINVAL, "mlp forward: NULL %s", m ? "inputs_embeds" : "model");
        return NULL;
    }
    size_t h = (size_t)m->config.h_dim;
    const vn_tensor *in = &x->value;
    if ((in->ndim != 2 && in->ndim != 3) || in->shape[in->ndim - 1] != h) {
        char got[64];
        vn_context_fail(ctx, VN_ESHAPE, "mlp forward: inputs_embeds must be (B, S, %zu) or (B, %zu), got %s",
                        h, h, vn_shape_string(in, got, sizeof got));
        return NULL;
    }
    uint64_t pass_seed = 0;
    if (m->training) pass_seed = vn_nn_dropout_seed(m->dropout_seed, m->dropout_pass++);
    vn_context_set_scope(ctx, m->scopes[0]);
    x = dropout_site(m, ctx, x, pass_seed, 0);
    for (size_t l = 0; l < n_blocks; l++) {
        vn_context_set_scope(ctx, m->scopes[l + 1]);
        x = HOOK(m, ctx, VN_NN_BLOCK_INPUT, l, x);
        vn_node *a = vn_nn_activation(ctx, m->activation,
                                      vn_nn_linear(ctx, x, m->blocks[l].weight, m->blocks[l].bias));
        a = HOOK(m, ctx, VN_NN_MLP_ACTIVATION, l, a);
        x = dropout_site(m, ctx, a, pass_seed, l + 1);
        x = HOOK(m, ctx, VN_NN_BLOCK_OUTPUT, l, x);
    }
    return x;
}

vn_node *vn_mlp_forward(vn_mlp *m, vn_context *ctx, vn_node *x) {
    const char *outer_scope = ctx->scope;
    x = forward_blocks(m, ctx, x, m ? (size_t)m->config.n_layer : 0);
    vn_node *logits = NULL;
    if (x) {
        vn_context_set_scope(ctx, m->scopes[m->config.n_layer + 1]);
        logits = vn_nn_linear(ctx, x, m->score.weight, m->score.bias);
    }
    if (logits && m->config.squeeze_output && logits->value.ndim == 3 && logits->value.shape[1] == 1) {
        size_t shape[2] = {logits->value.shape[0], logits->value.shape[2]};
        logits = vn_reshape(ctx, logits, 2, shape);
    }
    vn_context_set_scope(ctx, outer_scope);
    return logits;
}

vn_node *vn_mlp_forward_blocks(vn_mlp *m, vn_context *ctx, vn_node *x, int64_t last_layer) {
    if (ctx->status != VN_OK) return NULL;
    if (m && (last_layer < 0 || last_layer >= m->config.n_layer)) {
        vn_context_fail(ctx, VN_ERANGE, "mlp forward: layer %lld outside the model's %lld layers",
                        (long long)last_layer, (long long)m->config.n_layer);
        return NULL;
    }
    const char *outer_scope = ctx->scope;
    x = forward_blocks(m, ctx, x, (size_t)last_layer + 1);
    vn_context_set_scope(ctx, outer_scope);
    return x;
}
