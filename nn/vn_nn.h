/* vn_nn.h — pyvene's MLP (MLPConfig, MLPForClassification), its activations,
 * hook sites and losses, and the parameter initialisers.
 *
 * The model follows pyvene's `MLPForClassification` number for number: the
 * same blocks, defaults, parameter names and layout, so a PyTorch
 * state_dict loads by name with no renaming.
 *
 *   x = dropout(inputs_embeds)                                   (input dropout)
 *   for l in 0 .. n_layer-1:   x = dropout(act(ff1_l(x)))         (no residual)
 *   logits = score(x)                 (B, S, C); squeezed to (B, C) when S == 1
 *
 * Every Linear is y = x·Wᵀ + b with W stored (out, in), as PyTorch stores it.
 *
 * Memory: the model's parameters, names and bookkeeping live in the arena of
 * the context given to vn_mlp_init (allocated there, once). A forward pass
 * allocates its nodes in the context it is given; the usual loop makes the
 * model, takes a mark (vn_context_mark_get), and rewinds to it after each
 * step. Nothing here frees memory.
 *
 * Errors: configuration checks write a message into a caller buffer
 * (`message`, `size`; either may be NULL/0). Graph-building calls record
 * errors on the context (sticky, as every op does) and return NULL. */
#ifndef VN_NN_H
#define VN_NN_H

#include "vn_graph.h"

/* ---- activations ------------------------------------------------------------
 * transformers' ACT2FN names, as pyvene's MLPConfig.activation_function
 * takes them. */
typedef enum vn_activation {
    VN_ACT_GELU,              /* "gelu": x·Φ(x), exact (erf) */
    VN_ACT_GELU_NEW,          /* "gelu_new": tanh approximation */
    VN_ACT_GELU_PYTORCH_TANH, /* "gelu_pytorch_tanh": tanh approximation */
    VN_ACT_RELU,              /* "relu" */
    VN_ACT_TANH,              /* "tanh" */
    VN_ACT_SIGMOID,           /* "sigmoid" */
    VN_ACT_SILU,              /* "silu": x·σ(x) */
    VN_ACT_SWISH,             /* "swish": the same as silu */
    VN_ACT_RELU6,             /* "relu6" */
    VN_ACT_LEAKY_RELU,        /* "leaky_relu": negative slope 0.01 */
    VN_ACT_QUICK_GELU,        /* "quick_gelu": x·σ(1.702x) */
    VN_ACT_LINEAR,            /* "linear": the identity (adds no node) */
    VN_ACT_COUNT
} vn_activation;

/* The ACT2FN name of an activation; "?" for a value out of range. */
const char *vn_activation_name(vn_activation act);

/* Looks a name up (exact, case-sensitive). An unknown name is VN_EINVAL with
 * a message that lists every valid name. */
vn_status vn_activation_lookup(const char *name, vn_activation *out, char *message, size_t size);

/* Applies the activation: a new node, or x itself for "linear". NULL (error
 * on ctx) for an invalid `act` or a NULL x. */
vn_node *vn_nn_activation(vn_context *ctx, vn_activation act, vn_node *x);

/* A Linear layer: x·Wᵀ + b. x is (..., in), W (out, in), b (out,) or NULL.
 * Result (..., out). */
vn_node *vn_nn_linear(vn_context *ctx, vn_node *x, vn_node *weight, vn_node *bias);

/* ---- hook sites -------------------------------------------------------------
 * The MLP's representation components, pyvene's names for them, in
 * topological order within a layer. */
typedef enum vn_nn_component {
    VN_NN_BLOCK_INPUT,     /* "block_input": input to block l (after input dropout at l = 0) */
    VN_NN_MLP_ACTIVATION,  /* "mlp_activation": act(ff1(x)), before the block's dropout */
    VN_NN_BLOCK_OUTPUT,    /* "block_output": the block's output, after its dropout */
    VN_NN_COMPONENT_COUNT
} vn_nn_component;

const char *vn_nn_component_name(vn_nn_component component); /* "?" when out of range */

/* Exact name lookup; unknown names are VN_EINVAL listing the valid ones. */
vn_status vn_nn_component_lookup(const char *name, vn_nn_component *out, char *message, size_t size);

typedef struct vn_nn_site {
    vn_nn_component component;
    int layer;
} vn_nn_site;

/* Called by a model at each site as it runs. `node` is the site's tensor;
 * the hook returns the node the model continues with: `node` itself (to
 * observe), or a replacement of the same shape (to intervene), made in ctx.
 * Returning NULL means failure: the hook should record why on ctx (else the
 * model records a generic message). The hook must not modify node's value.
 * Hooks are not called once the context holds an error. */
typedef vn_node *(*vn_nn_hook_fn)(void *user, vn_context *ctx, vn_nn_site site, vn_node *node);

/* ---- losses and pyvene's problem_type ---------------------------------------- */

typedef enum vn_problem_type {
    VN_PROBLEM_NONE = 0,      /* None: inferred from the first labels (pyvene's rule) */
    VN_PROBLEM_REGRESSION,    /* "regression": MSE */
    VN_PROBLEM_SINGLE_LABEL,  /* "single_label_classification": cross-entropy */
    VN_PROBLEM_MULTI_LABEL,   /* "multi_label_classification": BCE with logits */
    VN_PROBLEM_COUNT
} vn_problem_type;

/* transformers' name; "none" for VN_PROBLEM_NONE, "?" when out of range. */
const char *vn_problem_type_name(vn_problem_type type);
/* Looks up one of the three transformers names (not "none"); VN_EINVAL
 * listing them otherwise. */
vn_status vn_problem_type_lookup(const char *name, vn_problem_type *out, char *message, size_t size);

/* pyvene's inference: num_classes == 1 → regression; otherwise integer labels
 * → single-label, float labels → multi-label. */
vn_problem_type vn_problem_type_infer(int64_t num_classes, bool integer_labels);

/* Labels for a loss: either integer class ids (`classes`, `n` of them) or
 * float targets (`targets`, a node: CONST or INPUT, or anything with a value).
 * Exactly one of the two is given. Class ids are copied by the loss. */
typedef struct vn_nn_labels {
    const int64_t *classes;
    size_t n;
    vn_node *targets;
} vn_nn_labels;

/* The loss for `type` (not NONE), all means over elements as PyTorch's
 * defaults:
 *   regression:   MSE(logits, labels). Labels (float targets or integer ids,
 *                 converted to vn_real) must have as many elements as the
 *                 logits and are read in the logits' shape (pyvene squeezes
 *                 both sides when C == 1).
 *   single_label: cross-entropy of logits viewed as (N, C) against N integer
 *                 ids (float class probabilities are not supported: VN_EINVAL).
 *   multi_label:  BCE with logits; float targets of the logits' shape
 *                 (integer labels are VN_EINVAL, as in PyTorch).
 * Returns the scalar loss node, or NULL with the error on ctx. */
vn_node *vn_nn_loss(vn_context *ctx, vn_problem_type type, vn_node *logits,
                    const vn_nn_labels *labels);

/* ---- the MLP ----------------------------------------------------------------- */

#define VN_MLP_ACTIVATION_NAME_MAX 32
#define VN_MLP_MAX_LAYERS 4096

/* pyvene's MLPConfig (NEW field names; OLD's num_labels is num_classes). */
typedef struct vn_mlp_config {
    int64_t h_dim;                 /* 512: width of the input and every hidden layer */
    int64_t n_layer;               /* 2: number of blocks (0 allowed: logits = score(dropout(x))) */
    int64_t num_classes;           /* 2: width of the head */
    char activation_function[VN_MLP_ACTIVATION_NAME_MAX]; /* "gelu" */
    double pdrop;                  /* 0.3: dropout probability, input and every block */
    bool include_bias;             /* true: bias on every Linear */
    bool squeeze_output;           /* true: (B, 1, C) logits become (B, C) */
    bool include_emb;              /* false; true is not supported (inputs are embeddings) */
    int64_t vocab_size;            /* 50257: kept for round trips, unused */
    int64_t max_position_embeddings; /* 512: kept for round trips, unused */
    vn_problem_type problem_type;  /* NONE: inferred on the first vn_mlp_loss and stored */
} vn_mlp_config;

/* pyvene's defaults, as listed above. */
vn_mlp_config vn_mlp_config_default(void);

/* Validates every field; VN_OK, or VN_EINVAL with a message naming the field:
 * h_dim in [1, 2^31 − 1], n_layer in [0, VN_MLP_MAX_LAYERS], num_classes in
 * [1, 2^31 − 1], a known activation_function (NUL-terminated), pdrop in
 * [0, 1], include_emb false, vocab_size and max_position_embeddings ≥ 0,
 * problem_type in range. */
vn_status vn_mlp_config_check(const vn_mlp_config *config, char *message, size_t size);

/* A parameter with its PyTorch state_dict name. */
typedef struct vn_nn_param {
    const char *name; /* in the context's arena (the node's name) */
    vn_node *node;    /* a PARAM leaf */
} vn_nn_param;

typedef struct vn_mlp_linear {
    vn_node *weight; /* (out, in) */
    vn_node *bias;   /* (out,), NULL without include_bias */
} vn_mlp_linear;

/* The model. Fields are readable; change them through the functions below.
 * Between passes these may also be set directly: hook, hook_user, training,
 * dropout_seed, dropout_pass, and config.pdrop, config.squeeze_output and
 * config.problem_type; the other config fields fix the parameters' shapes
 * and must not change. */
typedef struct vn_mlp {
    vn_mlp_config config;
    vn_activation activation;
    vn_mlp_linear *blocks;   /* n_layer entries: ff1 of block l */
    vn_mlp_linear score;     /* the head, (num_classes, h_dim) */
    vn_nn_param *params;     /* state_dict order */
    size_t n_params;
    const char **scopes;     /* scope labels: [0] "mlp", [1+l] "mlp.h.{l}", [1+n_layer] "score" */
    bool training;           /* dropout on; true after init, as a new torch module */
    uint64_t dropout_seed;   /* see "Dropout" below */
    uint64_t dropout_pass;
    vn_nn_hook_fn hook;      /* NULL: no hooks */
    void *hook_user;
} vn_mlp;

/* Builds the model's parameters as named PARAM leaves in ctx (in state_dict
 * order: mlp.h.{i}.ff1.weight, mlp.h.{i}.ff1.bias for each block, then
 * score.weight, score.bias; biases only with include_bias). With `rng`, they
 * are initialised as vn_mlp_reset_parameters does; with NULL they are zero
 * (to be loaded). The config is checked first (its message goes to ctx).
 * The model starts in training mode with no hook, dropout_seed 0.
 * Allocates in ctx's arena. Returns VN_OK or the context's error. */
vn_status vn_mlp_init(vn_mlp *model, vn_context *ctx, const vn_mlp_config *config, vn_rng *rng);

/* PyTorch's default nn.Linear initialisation for every layer, in
 * construction order (block 0 weight, block 0 bias, block 1 ..., score weight,
 * score bias): each weight and bias drawn from U(−1/√h_dim, 1/√h_dim) by
 * vn_nn_init_linear. (Distribution as PyTorch's; the stream is PCG32's.) */
void vn_mlp_reset_parameters(vn_mlp *model, vn_rng *rng);

/* The parameters in state_dict order; *count receives their number. */
const vn_nn_param *vn_mlp_params(const vn_mlp *model, size_t *count);

/* The parameter with that state_dict name, or NULL. */
vn_node *vn_mlp_param_find(const vn_mlp *model, const char *name);

/* Freezes (trainable = false) or unfreezes every parameter. */
void vn_mlp_set_trainable(vn_mlp *model, bool trainable);

/* Training mode turns dropout on; eval mode (false) makes dropout the
 * identity, adding no node (so mlp_activation and block_output are then the
 * very same node, as in PyTorch where eval dropout returns its input). */
void vn_mlp_set_training(vn_mlp *model, bool training);

/* Installs a hook (NULL removes it). */
void vn_mlp_set_hook(vn_mlp *model, vn_nn_hook_fn hook, void *user);

/* Dropout: sets the seed and restarts the pass count at 0.
 *
 * Every forward pass in training mode takes the pass number
 * k = model->dropout_pass and then increments it (eval passes do not count).
 * In pass k, dropout site j (j = 0: the input dropout; j = 1 + l: block l's
 * dropout) draws its mask from PCG32 with
 *     seed   = vn_nn_dropout_seed(dropout_seed, k),   stream = j,
 * through vn_dropout, whose mask element i is dropped when the i-th uniform
 * draw is below pdrop. So a run is reproducible from (dropout_seed, k), and
 * every site of a pass has an independent stream. */
void vn_mlp_set_dropout_seed(vn_mlp *model, uint64_t seed);

/* The per-pass seed: splitmix64(seed + splitmix64(pass)). */
uint64_t vn_nn_dropout_seed(uint64_t seed, uint64_t pass);

/* The forward pass. `inputs_embeds` is (B, S, h_dim) — pyvene's intended
 * shape, with S = 1 — or (B, h_dim), processed as is (hook sites then see
 * (B, h_dim) tensors and the logits are (B, C) whatever squeeze_output says).
 * Returns the logits: (B, S, C), or (B, C) when squeeze_output and S == 1.
 * Hooks, when installed, are called per layer at block_input, then
 * mlp_activation, then block_output, and the model continues with what they
 * return. Allocates the pass's nodes in ctx. NULL with the error on ctx. */
vn_node *vn_mlp_forward(vn_mlp *model, vn_context *ctx, vn_node *inputs_embeds);

/* The first blocks only: the same pass as vn_mlp_forward (dropout, hooks)
 * through block `last_layer` (0 ≤ last_layer < n_layer), returning that
 * block's output (after its block_output hook) and making no node after it.
 * A run that only needs an activation at layer l (an intervention's source
 * run) stops there. VN_ERANGE for a layer outside the model. */
vn_node *vn_mlp_forward_blocks(vn_mlp *model, vn_context *ctx, vn_node *inputs_embeds,
                               int64_t last_layer);

/* pyvene's loss: the config's problem_type, or when NONE the inferred one
 * (vn_problem_type_infer on num_classes and the kind of labels), which is
 * then stored in model->config.problem_type as pyvene stores it. Then
 * vn_nn_loss. */
vn_node *vn_mlp_loss(vn_mlp *model, vn_context *ctx, vn_node *logits, const vn_nn_labels *labels);

/* ---- initialisers (vn_init.c) ------------------------------------------------ */

/* PyTorch's default nn.Linear init: weight and bias (bias may be NULL) from
 * U(−1/√fan_in, 1/√fan_in), weight first, drawn in row-major order. fan_in
 * is the weight's number of columns (in features); 0 columns draw nothing. */
void vn_nn_init_linear(vn_tensor *weight, vn_tensor *bias, vn_rng *rng);

/* PyTorch's nn.init.orthogonal_(t, gain): t is viewed as rows × cols with
 * rows = shape[0] and cols = numel / rows. A rows × cols matrix of standard
 * normals is drawn (row-major, from rng); when rows < cols it is transposed;
 * its Householder QR gives Q (with orthonormal columns) and R; each column of
 * Q is multiplied by the sign of R's diagonal entry (+1 for a zero entry),
 * which makes the result the unique Q of the QR with a positive diagonal;
 * transposed back when rows < cols, scaled by gain, and written to t.
 * So t has orthonormal rows (rows ≤ cols) or columns (rows ≥ cols) times
 * gain. The QR runs in double in scratch memory taken from `scratch` (about
 * 16·rows·cols bytes), which is rewound to where it was before returning (so
 * t's data must not be allocated from `scratch` after a mark the caller
 * rewinds; allocating it before the call is fine).
 * VN_ESHAPE for fewer than 2 dimensions, VN_ENOMEM when scratch is
 * exhausted; an empty tensor is left as is. */
vn_status vn_nn_init_orthogonal(vn_tensor *t, double gain, vn_rng *rng, vn_arena *scratch);

#endif
