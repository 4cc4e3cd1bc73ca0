/* vn_iv_model.h — pyvene's IntervenableModel over cvene's MLP.
 *
 * An intervenable model wraps a vn_mlp and an intervention config
 * (vn_iv_config.h). One forward pass, as pyvene's parallel mode:
 *
 *   1. (optionally) the base run without interventions and without
 *      gradients: the base logits;
 *   2. for each group g with a source: a source run of the MLP with *getter*
 *      hooks, which gather each of the group's representations at its source
 *      unit locations (Skip: at its site module's input);
 *   3. the base run with *setter* hooks: at each site, in config order, the
 *      representation's rows are gathered at its base locations, the type's
 *      op (vn_iv_types.h) is applied with its parameters, and the result is
 *      scattered back into a new node the model continues with. Nothing the
 *      caller passed in is written.
 *   4. the counterfactual logits (with gradients).
 *
 * Representations at the same site compose in config order, each acting on
 * the previous one's output; linked representations share one parameter set
 * (one rotation, boundary, mask), so gradients from every use add up in it.
 * Each example has its own unit locations, subspaces and `active` flag.
 *
 * Unit locations and subspaces follow pyvene's nesting, stored per
 * representation as B lists (vn_iv_lists): locations [example][unit] →
 * position along the sequence axis, subspaces [example] → partition ids (or
 * raw coordinates of the type's coordinate space when the representation has
 * no subspace_partition).
 *
 * Memory: vn_iv_model_init allocates the model's bookkeeping and the
 * intervention parameters in ctx's arena (create the model before a
 * training loop's mark). vn_iv_forward allocates every node, index list and
 * mask of the pass in the context it is given; the training loop rewinds it
 * after each step, so the steady state calls no allocator. With S = units
 * and every example active at positions 0 … units−1 (the DAS shape), the
 * gather and the scatter are skipped and the type's op works on the site's
 * tensor directly. */
#ifndef VN_IV_MODEL_H
#define VN_IV_MODEL_H

#include "vn_iv_config.h"
#include "vn_iv_rotation.h"

/* B lists of integers: list b is values[offsets[b] .. offsets[b + 1]).
 * offsets NULL means "not given" (pyvene's None). */
typedef struct vn_iv_lists {
    const int64_t *offsets; /* B + 1 non-decreasing entries */
    const int64_t *values;
} vn_iv_lists;

/* Parameters of one intervention (shared by linked representations). */
typedef struct vn_iv_params {
    bool has_rotation;
    vn_iv_rotation rotation; /* R = rotation.map(original, base), n × m */
    vn_node *boundaries;     /* PARAM (1): Boundless */
    vn_node *temperature;    /* CONST 0-d: Boundless, sigmoid masks */
    vn_node *masks;          /* PARAM (w): sigmoid masks */
    vn_node *weight;         /* R of the current pass, once used (valid until the context is rewound) */
} vn_iv_params;

typedef struct vn_iv_model_options {
    vn_rng *rng;          /* initialises rotations as PyTorch's orthogonal_ does; NULL: identity */
    bool model_trainable; /* false (pyvene): the model's parameters are frozen */
    bool model_training;  /* false (pyvene): eval mode, dropout off */
} vn_iv_model_options;

/* Per-representation state (read-only for users). */
typedef struct vn_iv_unit {
    const vn_iv_representation *rep;
    const vn_iv_type *type;
    char key[VN_IV_KEY_MAX];
    size_t units;            /* k = max_number_of_units */
    size_t width;            /* w: the rows the type sees are w wide */
    size_t coords;           /* c: the coordinates subspaces index */
    size_t group;
    size_t owner;            /* the representation holding the parameters (first of its link) */
    vn_iv_params *params;    /* NULL for types without tensors */
    size_t n_parts;          /* expanded subspace_partition: part p is */
    const size_t *part_offsets; /* part_coords[part_offsets[p] .. part_offsets[p+1]) */
    const size_t *part_coords;
    /* state of the current pass */
    bool applies;
    size_t n_active;
    const size_t *active;    /* the examples it applies to */
    const size_t *base_rows, *source_rows; /* NULL: identity (no gather/scatter) */
    vn_node *mask;
    vn_node *source;
} vn_iv_unit;

typedef struct vn_iv_model {
    vn_mlp *mlp;
    vn_iv_config config;     /* a copy; representations in the model's arena */
    size_t h, n_groups;
    vn_iv_unit *units;       /* config.count entries */
    /* state of the current pass */
    int phase;
    size_t phase_group;
} vn_iv_model;

/* What to run. */
typedef struct vn_iv_inputs {
    vn_node *base;                       /* (B, S, h) inputs_embeds */
    size_t n_sources;                    /* must equal the number of groups ... */
    vn_node *const *sources;             /* ... unless NULL: a plain forward (no counterfactual).
                                            Entries (B, S', h), NULL: pyvene's None */
    const uint8_t *const *active;        /* NULL, or one per group: NULL (all) or B flags */
    const vn_iv_lists *source_locations; /* NULL, or one per representation */
    const vn_iv_lists *base_locations;   /* NULL, or one per representation */
    const vn_iv_lists *subspaces;        /* NULL, or one per representation */
    bool base_logits;                    /* also run the base alone (no gradient) */
} vn_iv_inputs;

typedef struct vn_iv_outputs {
    vn_node *base_logits;           /* when asked (always for a plain forward); no gradient */
    vn_node *counterfactual_logits; /* NULL for a plain forward */
    /* Collect representations: the collected rows (m ⊙ x, see vn_iv_types.h),
     * NULL for the others and when nothing applied. */
    vn_node *collected[VN_IV_MAX_REPRESENTATIONS];
    size_t applied[VN_IV_MAX_REPRESENTATIONS]; /* examples each representation acted on */
} vn_iv_outputs;

/* Builds the model: checks the config against mlp's (vn_iv_config_check),
 * copies it, resolves keys, groups, links and partitions, and creates the
 * parameters of every trainable intervention with pyvene's initial values
 * (rotations from options->rng, boundaries 0.5, temperatures and masks as the
 * type says). Puts the MLP in eval mode and freezes it unless the options ask
 * otherwise. options may be NULL (pyvene's defaults, identity rotations).
 * VN_OK or the error recorded on ctx. Allocates in ctx's arena. */
vn_status vn_iv_model_init(vn_iv_model *model, vn_context *ctx, vn_mlp *mlp, const vn_iv_config *config,
                           const vn_iv_model_options *options);

/* One forward pass (see the top of this file) into *out. Every misuse is an
 * error recorded on ctx with a message naming the representation (index and
 * key), the example and the offending value: a wrong number of sources, a
 * batch or width mismatch, locations out of range or not max_number_of_units
 * per example, subspace ids out of range. Returns VN_OK or ctx's status. */
vn_status vn_iv_forward(vn_iv_model *model, vn_context *ctx, const vn_iv_inputs *inputs,
                        vn_iv_outputs *out);

/* The trainable leaves of the interventions (each rotation's `original`,
 * Boundless boundaries, sigmoid masks), each once; writes at most `max`
 * into out and returns how many there are. */
size_t vn_iv_model_trainable(const vn_iv_model *model, vn_node **out, size_t max);

/* Sets every temperature (Boundless, sigmoid masks) to t; VN_EINVAL for a
 * non-finite or zero t. */
vn_status vn_iv_model_set_temperature(vn_iv_model *model, double t);

/* True when some representation has a temperature. */
bool vn_iv_model_has_temperature(const vn_iv_model *model);

#endif
