/* vn_iv_task.h — the hierarchical-equality task of pyvene's DAS tutorial:
 * its causal model, its input and counterfactual samplers, seeded datasets,
 * and the tutorial's hand-built MLP that solves it exactly.
 *
 * Causal model. The input is four entities W, X, Y, Z, each a vector of
 * `dim` numbers (dim = 4 in the trained-MLP part of the tutorial, 2 in the
 * hand-built part), concatenated into one row of 4·dim numbers in the order
 * W, X, Y, Z. Two intermediate variables and the output:
 *
 *   WX = [W == X],   YZ = [Y == Z]   (exact equality of every coordinate)
 *   O  = [WX == YZ]                   (the label: 1 for true, 0 for false)
 *
 * Entities. Each coordinate is round(uniform(−1, 1), 2), as pyvene's
 * `randvec`: one 32-bit PCG32 output u gives k = ⌊200·u/2³² + ½⌋ ∈ [0, 200]
 * and the coordinate (k − 100)/100 (so ±1.00 are half as likely as the other
 * 199 values, as with Python's round of a uniform double).
 *
 * Factual sampler (the tutorial's `input_sampler`). The pattern is uniform
 * over ABCD, AABB, AACD, ABCC (W X Y Z; equal letters are the same entity,
 * different letters different ones), so WX and YZ are independent fair coins
 * and O is true half the time. Entities are drawn in the order W, X (when
 * different from W), Y, Z (when different from Y); an entity meant to differ
 * from its partner is redrawn until it does, so every input realises its
 * pattern exactly.
 *
 * Realising sampler (pyvene's sampler with output_var/output_var_value,
 * after its March 2024 fix): an input whose WX (or YZ) has a given value;
 * the other pair is equal or not with probability ½ each.
 *
 * Interventions. The high-level interventions of a DAS hypothesis:
 *   both equality relations: WX only, YZ only, or both (pyvene's
 *     `sample_intervention`: each variable included with probability ½,
 *     redrawn while empty, so each kind has probability ⅓), each included
 *     variable with a value drawn as a fair coin;
 *   left equality relation: WX only, a fair-coin value;
 *   identity of the first argument: W only; its "value" is a fair coin
 *     saying whether the source's W is the base's X (true) or an entity
 *     different from it (false), so that WX after the intervention is true
 *     for half the examples.
 * A counterfactual example is a base from the factual sampler and one source
 * per intervened variable: for WX and YZ the source realises the sampled
 * value (the realising sampler); for W it is a factual input whose W is
 * replaced as just said. Its label is the causal model's output on the base
 * with each intervened variable set to its value on its source
 * (pyvene's `run_interchange`), computed from the vectors themselves.
 *
 * Datasets. Every dataset is a pure function of (seed, stream, index):
 * vn_iv_task_rng seeds PCG32 from a splitmix64 hash of the three, so a
 * factual example or a counterfactual batch can be regenerated at any time
 * instead of being stored.
 *
 * Freestanding; nothing here allocates except vn_iv_heq_handcrafted_mlp,
 * which builds an MLP in the caller's context. */
#ifndef VN_IV_TASK_H
#define VN_IV_TASK_H

#include "vn_nn.h"

/* Entities per input, and the tutorial's entity sizes. */
#define VN_IV_HEQ_ENTITIES 4
#define VN_IV_HEQ_DIM 4             /* the trained MLP: inputs of 16 */
#define VN_IV_HEQ_HANDCRAFTED_DIM 2 /* the hand-built MLP: inputs of 8 */

/* ---- the causal model -------------------------------------------------------------- */

typedef enum vn_iv_heq_pattern {
    VN_IV_HEQ_ABCD, /* WX false, YZ false: O true */
    VN_IV_HEQ_AABB, /* WX true,  YZ true:  O true */
    VN_IV_HEQ_AACD, /* WX true,  YZ false: O false */
    VN_IV_HEQ_ABCC, /* WX false, YZ true:  O false */
    VN_IV_HEQ_PATTERN_COUNT
} vn_iv_heq_pattern;

/* "ABCD", "AABB", "AACD", "ABCC"; "?" when out of range. */
const char *vn_iv_heq_pattern_name(vn_iv_heq_pattern pattern);

/* Exact equality of two vectors of n numbers. */
bool vn_iv_heq_equal(const vn_real *a, const vn_real *b, size_t n);

/* WX, YZ and O of one input row x (4·dim numbers). */
bool vn_iv_heq_wx(const vn_real *x, size_t dim);
bool vn_iv_heq_yz(const vn_real *x, size_t dim);
int64_t vn_iv_heq_label(const vn_real *x, size_t dim);

/* The pattern of an input (entities compared exactly). An input whose W, X
 * or Y, Z coincide by accident still gets the pattern its equalities say. */
vn_iv_heq_pattern vn_iv_heq_pattern_of(const vn_real *x, size_t dim);

/* ---- samplers -------------------------------------------------------------------------- */

/* One coordinate round(uniform(−1, 1), 2) (see the top of this file). */
vn_real vn_iv_heq_coordinate(vn_rng *rng);

/* An input row with the given equalities: W, then X = W or a different
 * entity, then Y, then Z = Y or a different entity. */
void vn_iv_heq_make_input(vn_rng *rng, size_t dim, bool wx, bool yz, vn_real *x);

/* The factual sampler: a uniform pattern; returns it. */
vn_iv_heq_pattern vn_iv_heq_sample(vn_rng *rng, size_t dim, vn_real *x);

/* The intermediate variables an intervention can set. */
typedef enum vn_iv_heq_variable {
    VN_IV_HEQ_VAR_WX,
    VN_IV_HEQ_VAR_YZ,
    VN_IV_HEQ_VAR_COUNT
} vn_iv_heq_variable;

/* The realising sampler: an input whose `variable` equals `value`. */
void vn_iv_heq_sample_realising(vn_rng *rng, size_t dim, vn_iv_heq_variable variable, bool value,
                                vn_real *x);

/* ---- hypotheses and interventions ---------------------------------------------------------- */

/* A DAS hypothesis: which high-level variables are aligned. */
typedef enum vn_iv_hypothesis {
    VN_IV_HYP_BOTH,     /* "both": WX and YZ, two linked interventions */
    VN_IV_HYP_LEFT,     /* "left": WX alone, one intervention */
    VN_IV_HYP_IDENTITY, /* "identity": W itself, one intervention (expected to fail) */
    VN_IV_HYP_COUNT
} vn_iv_hypothesis;

/* "both", "left", "identity"; "?" when out of range. */
const char *vn_iv_hypothesis_name(vn_iv_hypothesis hypothesis);
/* Exact lookup of the three names; VN_EINVAL otherwise. */
vn_status vn_iv_hypothesis_lookup(const char *name, vn_iv_hypothesis *out);
/* Number of high-level variables (interventions): 2 for both, else 1. */
size_t vn_iv_hypothesis_variables(vn_iv_hypothesis hypothesis);

/* The kind of a counterfactual example; the first three are pyvene's
 * intervention_id values. */
typedef enum vn_iv_cf_kind {
    VN_IV_CF_WX = 0,   /* WX only */
    VN_IV_CF_YZ = 1,   /* YZ only */
    VN_IV_CF_BOTH = 2, /* WX and YZ */
    VN_IV_CF_W = 3,    /* W only (identity hypothesis) */
    VN_IV_CF_KIND_COUNT
} vn_iv_cf_kind;

/* "WX", "YZ", "WX+YZ", "W"; "?" when out of range. */
const char *vn_iv_cf_kind_name(vn_iv_cf_kind kind);

/* The kinds a hypothesis uses (both: WX, YZ, BOTH; left: WX; identity: W)
 * into kinds[0..3); returns their number. */
size_t vn_iv_hypothesis_kinds(vn_iv_hypothesis hypothesis, vn_iv_cf_kind kinds[3]);

/* A sampled high-level intervention: its kind and the value of each
 * variable it sets (value[0]: WX, or for W whether the source's W is the
 * base's X; value[1]: YZ). Unused values are false. */
typedef struct vn_iv_heq_intervention {
    vn_iv_cf_kind kind;
    bool value[2];
} vn_iv_heq_intervention;

/* pyvene's intervention sampler for a hypothesis (see the top of this file). */
vn_iv_heq_intervention vn_iv_heq_sample_intervention(vn_rng *rng, vn_iv_hypothesis hypothesis);

/* One counterfactual example under `iv`: fills base (4·dim), the sources
 * the kind uses — src_wx for WX, BOTH and W (the W-kind source goes there
 * too), src_yz for YZ and BOTH — and leaves the other source untouched;
 * returns the counterfactual label. Draws the base first, then the WX (or
 * W) source, then the YZ source. */
int64_t vn_iv_heq_counterfactual(vn_rng *rng, size_t dim, const vn_iv_heq_intervention *iv, vn_real *base,
                                 vn_real *src_wx, vn_real *src_yz);

/* The counterfactual label of given vectors (pyvene's run_interchange):
 * O of the base with WX := WX(src_wx) (kinds WX, BOTH), YZ := YZ(src_yz)
 * (kinds YZ, BOTH), or W := src_wx's W (kind W). */
int64_t vn_iv_heq_interchange_label(size_t dim, vn_iv_cf_kind kind, const vn_real *base, const vn_real *src_wx,
                                    const vn_real *src_yz);

/* A batch of counterfactual examples in caller memory. */
typedef struct vn_iv_cf_batch {
    size_t count;                        /* examples */
    size_t dim;                          /* entity size; rows are 4·dim wide */
    vn_iv_heq_intervention intervention; /* the kind; and the values unless per example */
    bool values_per_example;             /* draw the values for each example (kind fixed) */
    vn_real *base;                       /* count rows */
    vn_real *source[2];                  /* [0]: WX (or W) source rows, [1]: YZ source rows */
    int64_t *labels;                     /* count counterfactual labels */
    int64_t *base_labels;                /* count factual labels of the bases, or NULL */
} vn_iv_cf_batch;

/* Fills the batch: example after example, each as vn_iv_heq_counterfactual
 * with the batch's intervention (pyvene's generate_counterfactual_dataset,
 * whose examples of one batch share one sampled intervention), or with
 * values redrawn per example (then each value is a fair coin drawn before
 * the example). A source the kind does not use is zero-filled, as pyvene
 * pads its sources with zeros. */
void vn_iv_heq_cf_fill(vn_iv_cf_batch *batch, vn_rng *rng);

/* ---- seeded datasets --------------------------------------------------------------------------- */

/* Streams (which dataset a number is for). */
enum {
    VN_IV_STREAM_FACTUAL_TRAIN = 1, /* index: example */
    VN_IV_STREAM_FACTUAL_TEST = 2,  /* index: 0 (one sequential stream) */
    VN_IV_STREAM_CF_TRAIN = 3,      /* index: batch */
    VN_IV_STREAM_CF_TEST = 4,       /* index: kind */
    VN_IV_STREAM_SHUFFLE = 5,       /* index: epoch (factual training) */
    VN_IV_STREAM_CF_SHUFFLE = 6,    /* index: epoch (alignment) */
    VN_IV_STREAM_MLP_INIT = 7,      /* index: 0 */
    VN_IV_STREAM_ROTATION_INIT = 8, /* index: 0 */
    VN_IV_STREAM_DROPOUT = 9        /* index: 0 */
};

/* splitmix64(splitmix64(seed ⊕ splitmix64(stream)) + index). */
uint64_t vn_iv_task_seed(uint64_t seed, uint64_t stream, uint64_t index);

/* vn_rng_seed(rng, vn_iv_task_seed(seed, stream, index), stream). */
void vn_iv_task_rng(vn_rng *rng, uint64_t seed, uint64_t stream, uint64_t index);

/* Example `index` of the factual dataset (seed, stream): the factual
 * sampler run on vn_iv_task_rng(seed, stream, index). Writes x (4·dim) and
 * returns the label. */
int64_t vn_iv_heq_factual_example(uint64_t seed, uint64_t stream, uint64_t index, size_t dim, vn_real *x);

/* ---- the hand-built MLP (tutorial §"hand-crafted") --------------------------------------------- */

/* Builds in ctx pyvene's MLPConfig(h_dim=8, activation_function="relu",
 * n_layer=2, num_classes=2, pdrop=0) with the tutorial's weights for
 * entities of 2 numbers (inputs a, b, c, d of 8): layer 0 units 0-3 are
 * ReLU(a−b), ReLU(b−a) per coordinate and units 4-7 the same for c, d;
 * layer 1 unit 0 = ReLU(s_ab − s_cd), unit 1 = ReLU(s_cd − s_ab), unit 2 =
 * s_cd, unit 3 = s_ab (s_ab the sum of units 0-3, s_cd of units 4-7); the
 * head gives logit 0 = |s_ab − s_cd| − 0.999999·(s_ab + s_cd) and logit 1 =
 * 1e-14. All other biases are 0. It computes O exactly: the block_output of
 * layer 0 holds |W − X| in units 0-3 and |Y − Z| in units 4-7. Allocates in
 * ctx; VN_OK or ctx's error. */
vn_status vn_iv_heq_handcrafted_mlp(vn_mlp *mlp, vn_context *ctx);

#endif
