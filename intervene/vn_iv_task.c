/* vn_iv_task.c — the hierarchical-equality causal model, its samplers,
 * seeded datasets and the hand-built MLP (see vn_iv_task.h). */
#include "vn_iv_task.h"

/* ---- the causal model ---------------------------------------------------------------- */

const char *vn_iv_heq_pattern_name(vn_iv_heq_pattern pattern) {
    static const char *const names[VN_IV_HEQ_PATTERN_COUNT] = {"ABCD", "AABB", "AACD", "ABCC"};
    return (unsigned)pattern < VN_IV_HEQ_PATTERN_COUNT ? names[pattern] : "?";
}

bool vn_iv_heq_equal(const vn_real *a, const vn_real *b, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i]) return false;
    return true;
}

bool vn_iv_heq_wx(const vn_real *x, size_t dim) { return vn_iv_heq_equal(x, x + dim, dim); }

bool vn_iv_heq_yz(const vn_real *x, size_t dim) { return vn_iv_heq_equal(x + 2 * dim, x + 3 * dim, dim); }

int64_t vn_iv_heq_label(const vn_real *x, size_t dim) { return vn_iv_heq_wx(x, dim) == vn_iv_heq_yz(x, dim); }

static vn_iv_heq_pattern pattern_for(bool wx, bool yz) {
    return wx ? (yz ? VN_IV_HEQ_AABB : VN_IV_HEQ_AACD) : (yz ? VN_IV_HEQ_ABCC : VN_IV_HEQ_ABCD);
}

vn_iv_heq_pattern vn_iv_heq_pattern_of(const vn_real *x, size_t dim) {
    return pattern_for(vn_iv_heq_wx(x, dim), vn_iv_heq_yz(x, dim));
}

/* ---- samplers ----------------------------------------------------------------------------- */

/* The 201 values (k − 100)/100 for k = 0 … 200, each the vn_real nearest to
 * the double nearest to the decimal (as float(round(x, 2)) in Python and
 * torch), folded at compile time. */
#define COORD(k) (vn_real)(((double)(k)-100.0) / 100.0)
#define COORD10(k) COORD(k), COORD(k + 1), COORD(k + 2), COORD(k + 3), COORD(k + 4), COORD(k + 5), \
    COORD(k + 6), COORD(k + 7), COORD(k + 8), COORD(k + 9)
static const vn_real coordinates[201] = {
    COORD10(0),   COORD10(10),  COORD10(20),  COORD10(30),  COORD10(40),  COORD10(50),  COORD10(60),
    COORD10(70),  COORD10(80),  COORD10(90),  COORD10(100), COORD10(110), COORD10(120), COORD10(130),
    COORD10(140), COORD10(150), COORD10(160), COORD10(170), COORD10(180), COORD10(190), COORD(200)};
#undef COORD10
#undef COORD

/* k = round(200·u) for u = r/2^32 in [0, 1): round(uniform(-1, 1), 2) = (k − 100)/100. */
static inline vn_real coordinate(vn_rng *rng) {
    return coordinates[((uint64_t)vn_rng_u32(rng) * 200u + ((uint64_t)1 << 31)) >> 32];
}

vn_real vn_iv_heq_coordinate(vn_rng *rng) { return coordinate(rng); }

static void entity(vn_rng *rng, size_t dim, vn_real *out) {
    for (size_t i = 0; i < dim; i++) out[i] = coordinate(rng);
}

/* `second` := first (equal) or a fresh entity different from it. */
static void partner(vn_rng *rng, size_t dim, const vn_real *first, bool equal, vn_real *second) {
    if (equal) {
        for (size_t i = 0; i < dim; i++) second[i] = first[i];
        return;
    }
    do entity(rng, dim, second);
    while (vn_iv_heq_equal(first, second, dim));
}

void vn_iv_heq_make_input(vn_rng *rng, size_t dim, bool wx, bool yz, vn_real *x) {
    entity(rng, dim, x);
    partner(rng, dim, x, wx, x + dim);
    entity(rng, dim, x + 2 * dim);
    partner(rng, dim, x + 2 * dim, yz, x + 3 * dim);
}

static bool coin(vn_rng *rng) { return vn_rng_below(rng, 2) == 1; }

vn_iv_heq_pattern vn_iv_heq_sample(vn_rng *rng, size_t dim, vn_real *x) {
    static const bool wx_of[VN_IV_HEQ_PATTERN_COUNT] = {false, true, true, false};
    static const bool yz_of[VN_IV_HEQ_PATTERN_COUNT] = {false, true, false, true};
    vn_iv_heq_pattern pattern = (vn_iv_heq_pattern)vn_rng_below(rng, VN_IV_HEQ_PATTERN_COUNT);
    vn_iv_heq_make_input(rng, dim, wx_of[pattern], yz_of[pattern], x);
    return pattern;
}

void vn_iv_heq_sample_realising(vn_rng *rng, size_t dim, vn_iv_heq_variable variable, bool value,
                                vn_real *x) {
    bool other = coin(rng);
    if (variable == VN_IV_HEQ_VAR_WX) vn_iv_heq_make_input(rng, dim, value, other, x);
    else vn_iv_heq_make_input(rng, dim, other, value, x);
}

/* ---- hypotheses and interventions --------------------------------------------------------------- */

const char *vn_iv_hypothesis_name(vn_iv_hypothesis hypothesis) {
    static const char *const names[VN_IV_HYP_COUNT] = {"both", "left", "identity"};
    return (unsigned)hypothesis < VN_IV_HYP_COUNT ? names[hypothesis] : "?";
}

vn_status vn_iv_hypothesis_lookup(const char *name, vn_iv_hypothesis *out) {
    for (int h = 0; name && h < VN_IV_HYP_COUNT; h++) {
        if (!vn_strcmp(name, vn_iv_hypothesis_name((vn_iv_hypothesis)h))) {
            *out = (vn_iv_hypothesis)h;
            return VN_OK;
        }
    }
    return VN_EINVAL;
}

size_t vn_iv_hypothesis_variables(vn_iv_hypothesis hypothesis) { return hypothesis == VN_IV_HYP_BOTH ? 2 : 1; }

const char *vn_iv_cf_kind_name(vn_iv_cf_kind kind) {
    static const char *const names[VN_IV_CF_KIND_COUNT] = {"WX", "YZ", "WX+YZ", "W"};
    return (unsigned)kind < VN_IV_CF_KIND_COUNT ? names[kind] : "?";
}

size_t vn_iv_hypothesis_kinds(vn_iv_hypothesis hypothesis, vn_iv_cf_kind kinds[3]) {
    switch (hypothesis) {
    case VN_IV_HYP_BOTH:
        kinds[0] = VN_IV_CF_WX;
        kinds[1] = VN_IV_CF_YZ;
        kinds[2] = VN_IV_CF_BOTH;
        return 3;
    case VN_IV_HYP_LEFT:
        kinds[0] = VN_IV_CF_WX;
        return 1;
    case VN_IV_HYP_IDENTITY:
        kinds[0] = VN_IV_CF_W;
        return 1;
    default:
        return 0;
    }
}

vn_iv_heq_intervention vn_iv_heq_sample_intervention(vn_rng *rng, vn_iv_hypothesis hypothesis) {
    vn_iv_heq_intervention iv = {VN_IV_CF_WX, {false, false}};
    if (hypothesis == VN_IV_HYP_LEFT || hypothesis == VN_IV_HYP_IDENTITY) {
        iv.kind = hypothesis == VN_IV_HYP_LEFT ? VN_IV_CF_WX : VN_IV_CF_W;
        iv.value[0] = coin(rng);
        return iv;
    }
    /* pyvene: for WX then YZ, include it with probability ½ and then draw
     * its value; start over while nothing is included. */
    bool in_wx, in_yz;
    do {
        iv.value[0] = iv.value[1] = false;
        if ((in_wx = coin(rng))) iv.value[0] = coin(rng);
        if ((in_yz = coin(rng))) iv.value[1] = coin(rng);
    } while (!in_wx && !in_yz);
    iv.kind = in_wx && in_yz ? VN_IV_CF_BOTH : in_wx ? VN_IV_CF_WX : VN_IV_CF_YZ;
    return iv;
}

int64_t vn_iv_heq_interchange_label(size_t dim, vn_iv_cf_kind kind, const vn_real *base, const vn_real *src_wx,
                                    const vn_real *src_yz) {
    bool wx = vn_iv_heq_wx(base, dim), yz = vn_iv_heq_yz(base, dim);
    if (kind == VN_IV_CF_WX || kind == VN_IV_CF_BOTH) wx = vn_iv_heq_wx(src_wx, dim);
    if (kind == VN_IV_CF_YZ || kind == VN_IV_CF_BOTH) yz = vn_iv_heq_yz(src_yz, dim);
    if (kind == VN_IV_CF_W) wx = vn_iv_heq_equal(src_wx, base + dim, dim);
    return wx == yz;
}

int64_t vn_iv_heq_counterfactual(vn_rng *rng, size_t dim, const vn_iv_heq_intervention *iv, vn_real *base,
                                 vn_real *src_wx, vn_real *src_yz) {
    vn_iv_heq_sample(rng, dim, base);
    switch (iv->kind) {
    case VN_IV_CF_WX:
        vn_iv_heq_sample_realising(rng, dim, VN_IV_HEQ_VAR_WX, iv->value[0], src_wx);
        break;
    case VN_IV_CF_YZ:
        vn_iv_heq_sample_realising(rng, dim, VN_IV_HEQ_VAR_YZ, iv->value[1], src_yz);
        break;
    case VN_IV_CF_BOTH:
        vn_iv_heq_sample_realising(rng, dim, VN_IV_HEQ_VAR_WX, iv->value[0], src_wx);
        vn_iv_heq_sample_realising(rng, dim, VN_IV_HEQ_VAR_YZ, iv->value[1], src_yz);
        break;
    default: /* W: a factual input whose W is the base's X, or an entity different from it */
        vn_iv_heq_sample(rng, dim, src_wx);
        partner(rng, dim, base + dim, iv->value[0], src_wx);
        break;
    }
    return vn_iv_heq_interchange_label(dim, iv->kind, base, src_wx, src_yz);
}

void vn_iv_heq_cf_fill(vn_iv_cf_batch *b, vn_rng *rng) {
    size_t width = VN_IV_HEQ_ENTITIES * b->dim;
    bool uses_wx = b->intervention.kind != VN_IV_CF_YZ;
    bool uses_yz = b->intervention.kind == VN_IV_CF_YZ || b->intervention.kind == VN_IV_CF_BOTH;
    for (size_t e = 0; e < b->count; e++) {
        vn_iv_heq_intervention iv = b->intervention;
        if (b->values_per_example) {
            iv.value[0] = iv.kind != VN_IV_CF_YZ && coin(rng);
            iv.value[1] = (iv.kind == VN_IV_CF_YZ || iv.kind == VN_IV_CF_BOTH) && coin(rng);
        }
        vn_real *base = b->base + e * width, *wx = b->source[0] + e * width, *yz = b->source[1] + e * width;
        if (!uses_wx)
            for (size_t i = 0; i < width; i++) wx[i] = 0;
        if (!uses_yz)
            for (size_t i = 0; i < width; i++) yz[i] = 0;
        b->labels[e] = vn_iv_heq_counterfactual(rng, b->dim, &iv, base, wx, yz);
        if (b->base_labels) b->base_labels[e] = vn_iv_heq_label(base, b->dim);
    }
}

/* ---- seeded datasets -------------------------------------------------------------------------------- */

static uint64_t splitmix64(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t vn_iv_task_seed(uint64_t seed, uint64_t stream, uint64_t index) {
    return splitmix64(splitmix64(seed ^ splitmix64(stream)) + index);
}

void vn_iv_task_rng(vn_rng *rng, uint64_t seed, uint64_t stream, uint64_t index) {
    vn_rng_seed(rng, vn_iv_task_seed(seed, stream, index), stream);
}

int64_t vn_iv_heq_factual_example(uint64_t seed, uint64_t stream, uint64_t index, size_t dim, vn_real *x) {
    vn_rng rng;
    vn_iv_task_rng(&rng, seed, stream, index);
    vn_iv_heq_sample(&rng, dim, x);
    return vn_iv_heq_label(x, dim);
}

/* ---- the hand-built MLP ---------------------------------------------------------------------------- */

vn_status vn_iv_heq_handcrafted_mlp(vn_mlp *mlp, vn_context *ctx) {
    /* Layer 0 (out × in): unit 2c = a_c − b_c, unit 2c+1 = b_c − a_c for coordinate c
     * of (a, b), and the same for (c, d) in units 4-7. */
    static const signed char w1[8][8] = {
        {1, 0, -1, 0, 0, 0, 0, 0},  {0, 1, 0, -1, 0, 0, 0, 0}, {-1, 0, 1, 0, 0, 0, 0, 0},
        {0, -1, 0, 1, 0, 0, 0, 0},  {0, 0, 0, 0, 1, 0, -1, 0}, {0, 0, 0, 0, 0, 1, 0, -1},
        {0, 0, 0, 0, -1, 0, 1, 0},  {0, 0, 0, 0, 0, -1, 0, 1}};
    vn_mlp_config config = vn_mlp_config_default();
    config.h_dim = 8;
    config.n_layer = 2;
    config.num_classes = 2;
    config.pdrop = 0.0;
    vn_strlcpy(config.activation_function, "relu", sizeof config.activation_function);
    vn_status status = vn_mlp_init(mlp, ctx, &config, NULL);
    if (status != VN_OK) return status;
    vn_real *l0 = mlp->blocks[0].weight->value.data, *l1 = mlp->blocks[1].weight->value.data;
    vn_real *head = mlp->score.weight->value.data;
    for (size_t o = 0; o < 8; o++) {
        for (size_t i = 0; i < 8; i++) {
            l0[o * 8 + i] = w1[o][i];
            /* layer 1: unit 0 = s_ab − s_cd, 1 = s_cd − s_ab, 2 = s_cd, 3 = s_ab, 4-7 = 0 */
            bool ab = i < 4;
            vn_real v = 0;
            if (o == 0) v = ab ? 1 : -1;
            else if (o == 1) v = ab ? -1 : 1;
            else if (o == 2) v = ab ? 0 : 1;
            else if (o == 3) v = ab ? 1 : 0;
            l1[o * 8 + i] = v;
        }
    }
    for (size_t i = 0; i < 2 * 8; i++) head[i] = 0;
    head[0] = head[1] = 1;
    head[2] = head[3] = (vn_real)-0.999999;
    mlp->score.bias->value.data[0] = 0;
    mlp->score.bias->value.data[1] = (vn_real)1e-14;
    vn_mlp_set_training(mlp, false);
    return VN_OK;
}
