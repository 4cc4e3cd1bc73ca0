/* fuzz_cases.h — the models of the reference cases (tests/data), for the
 * harnesses that need a model to read a file against: each pair is a model
 * config.json and an intervention config.json, covering every intervention
 * type, groups, links, units, low rank and partitions. */
#ifndef FUZZ_CASES_H
#define FUZZ_CASES_H

#include "fuzz_common.h"
#include "vn_iv_model.h"
#include "vn_iv_types.h"
#include "vn_model_dir.h"

#define MLP(h, layers, act) \
    "{\"model_type\":\"mlp\",\"h_dim\":" #h ",\"n_layer\":" #layers ",\"num_classes\":2,\"activation_function\":\"" act "\"}"
#define REP(layer, comp, units, rank, part, link, group) \
    "{\"layer\":" #layer ",\"component\":\"" comp "\",\"unit\":\"pos\",\"max_number_of_units\":" #units \
    ",\"low_rank_dimension\":" rank ",\"subspace_partition\":" part ",\"intervention_link_key\":" link \
    ",\"group_key\":" group

static const struct fuzz_pair {
    int h;
    const char *model, *intervention;
} pairs[] = {
    {32, MLP(32, 1, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 1, "null", "[[0,16],[16,32]]", "null", "null") "}],"
     "\"intervention_types\":\"RotatedSpaceIntervention\"}"},
    {32, MLP(32, 1, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 1, "8", "[[0,4],[4,8]]", "0", "null") "},"
     REP(0, "block_output", 1, "8", "[[0,4],[4,8]]", "0", "null") "}],"
     "\"intervention_types\":\"LowRankRotatedSpaceIntervention\"}"},
    {16, MLP(16, 3, "relu"),
     "{\"representations\":[" REP(0, "block_output", 1, "null", "[[0,8],[8,16]]", "null", "3")
     ",\"intervention_type\":\"RotatedSpaceIntervention\"},"
     REP(1, "block_output", 1, "4", "[[0,2],[2,4]]", "null", "3")
     ",\"intervention_type\":\"LowRankRotatedSpaceIntervention\"},"
     REP(2, "block_input", 1, "null", "null", "null", "7") ",\"intervention_type\":\"VanillaIntervention\"}]}"},
    {16, MLP(16, 2, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 1, "null", "null", "null", "null") "}],"
     "\"intervention_types\":\"BoundlessRotatedSpaceIntervention\"}"},
    {16, MLP(16, 2, "gelu"),
     "{\"representations\":[" REP(1, "block_output", 1, "null", "[[0,8],[8,16]]", "null", "null") "}],"
     "\"intervention_types\":\"AdditionIntervention\"}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 2, "null", "[[0,5],[5,16]]", "null", "null") "},"
     REP(1, "block_input", 2, "null", "[[0,4],[4,8]]", "null", "null") "}],"
     "\"intervention_types\":[\"RotatedSpaceIntervention\",\"VanillaIntervention\"]}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 1, "null", "[[0,4],[4,8]]", "null", "null") "},"
     REP(1, "block_output", 1, "null", "[[0,4],[4,8]]", "null", "null") "}],"
     "\"intervention_types\":[\"CollectIntervention\",\"VanillaIntervention\"]}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(0, "block_output", 1, "null", "[[0,4],[4,8]]", "5", "null") "},"
     REP(1, "block_output", 1, "null", "[[0,4],[4,8]]", "5", "null") "}],"
     "\"intervention_types\":\"RotatedSpaceIntervention\"}"},
    {8, MLP(8, 1, "gelu"),
     "{\"representations\":[" REP(0, "mlp_activation", 1, "null", "null", "null", "null") "}],"
     "\"intervention_types\":\"SigmoidMaskIntervention\"}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(1, "block_input", 1, "null", "null", "null", "null") "}],"
     "\"intervention_types\":\"SigmoidMaskRotatedSpaceIntervention\"}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(1, "block_output", 1, "null", "[[0,3],[3,8]]", "null", "null") "}],"
     "\"intervention_types\":\"SkipIntervention\"}"},
    {8, MLP(8, 2, "tanh"),
     "{\"representations\":[" REP(0, "mlp_activation", 1, "null", "null", "null", "null") "}],"
     "\"intervention_types\":\"SubtractionIntervention\"}"},
    {8, MLP(8, 2, "gelu"),
     "{\"representations\":[" REP(1, "block_input", 1, "null", "[[0,2],[2,5],[5,6,7]]", "null", "null") "}],"
     "\"intervention_types\":\"ZeroIntervention\"}"},
    {8, MLP(8, 2, "tanh"),
     "{\"representations\":[" REP(1, "block_output", 1, "3", "[[0,1],[1,3]]", "null", "null") "}],"
     "\"intervention_types\":\"LowRankRotatedSpaceIntervention\",\"orthogonal_map\":\"householder\"}"},
};

/* A built pair: the MLP (weights from a fixed seed, or zeros) and the
 * intervenable model (identity rotations), in ctx. */
typedef struct fuzz_model {
    vn_mlp_config mc;
    vn_mlp mlp;
    vn_iv_config ic;
    vn_iv_model model;
} fuzz_model;

static inline void fuzz_build_pair(size_t p, vn_context *ctx, fuzz_model *out) {
    char err[512];
    if (vn_model_config_parse(pairs[p].model, strlen(pairs[p].model), ctx->arena, &out->mc, NULL, NULL, err,
                              sizeof err) != VN_OK)
        fuzz_fail("embedded model config", err);
    if (vn_iv_config_parse(pairs[p].intervention, strlen(pairs[p].intervention), ctx->arena, &out->ic, NULL, NULL, err,
                           sizeof err) != VN_OK)
        fuzz_fail("embedded intervention config", err);
    vn_rng rng;
    vn_rng_seed(&rng, 7, (uint64_t)p);
    /* Identity rotations (rng NULL): drawing orthogonal ones would cost
     * most of the time of a run. */
    vn_iv_model_options options = {NULL, true, false};
    if (vn_mlp_init(&out->mlp, ctx, &out->mc, &rng) != VN_OK ||
        vn_iv_model_init(&out->model, ctx, &out->mlp, &out->ic, &options) != VN_OK)
        fuzz_fail("embedded model", ctx->message);
}

/* FNV-1a of bytes, to pick a pair. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t size) {
    uint64_t h = 14695981039346656037u;
    for (size_t i = 0; i < size; i++) h = (h ^ data[i]) * 1099511628211u;
    return h;
}

/* Pair number `pick mod (pairs with this h)` among those of width h, or
 * among all when none has it. */
static inline size_t fuzz_pick_pair(size_t h, uint64_t pick) {
    size_t matching = 0;
    for (size_t p = 0; p < VN_ARRAY_COUNT(pairs); p++) matching += (size_t)pairs[p].h == h;
    size_t n = matching ? matching : VN_ARRAY_COUNT(pairs), k = (size_t)(pick % n), seen = 0;
    for (size_t p = 0; p < VN_ARRAY_COUNT(pairs); p++) {
        if (matching && (size_t)pairs[p].h != h) continue;
        if (seen++ == k) return p;
    }
    return 0;
}

#endif
