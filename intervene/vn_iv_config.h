/* vn_iv_config.h — pyvene's intervention config: representations, types,
 * keys, groups and links; read from and written to JSON (the intervention
 * directory's config.json, FORMATS.md).
 *
 *   {"representations": [
 *      {"layer": 0, "component": "block_output", "unit": "pos",
 *       "max_number_of_units": 1, "low_rank_dimension": null,
 *       "subspace_partition": [[0, 16], [16, 32]],
 *       "intervention_link_key": null, "group_key": null}],
 *    "intervention_types": "RotatedSpaceIntervention",
 *    "orthogonal_map": "matrix_exp"}
 *
 * A representation may also be a JSON array in the positional order of
 * pyvene's RepresentationConfig (layer, component, unit,
 * max_number_of_units, low_rank_dimension, intervention_type, intervention,
 * subspace_partition, group_key, intervention_link_key, moe_key,
 * source_representation, hidden_source_representation, latent_dim), as
 * pyvene's own save writes it. Missing fields take pyvene's defaults
 * (layer 0, "block_output", "pos", 1 unit, everything else null).
 *
 * Keys: representation i gets pyvene's key
 * "layer_{layer}_comp_{component}_unit_{unit}_nunit_{units}#{j}", j counting
 * earlier representations with the same prefix.
 *
 * Groups (pyvene's rule): when any representation has a group_key, all must,
 * in non-decreasing order; representations sharing a key share one source,
 * and groups are numbered 0, 1, … by rank. Without group keys each
 * representation is its own group, in config order.
 *
 * Memory: the parsed config lives in the arena given to the parser. */
#ifndef VN_IV_CONFIG_H
#define VN_IV_CONFIG_H

#include "vn_iv_types.h"
#include "vn_iv_rotation.h"
#include "vn_nn.h"

#define VN_IV_MAX_REPRESENTATIONS 64
#define VN_IV_KEY_MAX 96

/* One entry of a subspace partition: a [start, end) pair or an explicit
 * index list (an entry of exactly two integers is always a pair). */
typedef struct vn_iv_partition_entry {
    bool is_pair;
    size_t count;          /* pair: 2; list: number of indices (≥ 1 when valid) */
    const int64_t *values; /* pair: {start, end}; list: the indices */
} vn_iv_partition_entry;

typedef struct vn_iv_representation {
    int64_t layer;                  /* 0 */
    vn_nn_component component;      /* "block_output" */
    int64_t max_number_of_units;    /* 1 */
    int64_t low_rank_dimension;     /* 0 = null */
    size_t n_partitions;            /* 0 = no subspace_partition */
    const vn_iv_partition_entry *partition;
    bool has_link_key;
    int64_t link_key;
    bool has_group_key;
    int64_t group_key;
    const vn_iv_type *type;         /* resolved: own intervention_type, or the config's */
    bool own_type;                  /* the representation named its type itself */
    bool has_orthogonal_map;
    vn_iv_orth_map orthogonal_map;
} vn_iv_representation;

typedef struct vn_iv_config {
    size_t count;                          /* 1 .. VN_IV_MAX_REPRESENTATIONS */
    vn_iv_representation *representations; /* count entries */
    bool has_orthogonal_map;               /* top-level "orthogonal_map" */
    vn_iv_orth_map orthogonal_map;
} vn_iv_config;

/* A representation with pyvene's defaults and the given type. */
vn_iv_representation vn_iv_representation_default(const vn_iv_type *type);

/* Parses config.json bytes into *out (allocated in `arena`). Errors are
 * VN_EFORMAT (not JSON, wrong types, missing representations, unknown
 * component, type or map — listing the valid names —, a representation
 * without a type, a bad partition entry, mode "serial") with a message in
 * err naming the representation and field; VN_ENOMEM. Unknown keys are
 * ignored, each reported through `warn` (may be NULL) as one line. Values
 * are range-checked against a model later (vn_iv_config_check). */
vn_status vn_iv_config_parse(const void *bytes, size_t size, vn_arena *arena, vn_iv_config *out,
                             vn_write_fn warn, void *warn_user, char *err, size_t err_size);

/* Writes the config as JSON (the form above, indented): every field of
 * every representation, "intervention_types" as one name when all agree and
 * as a list otherwise, "orthogonal_map" when set. VN_EIO when the writer
 * fails. */
vn_status vn_iv_config_write(const vn_iv_config *config, vn_write_fn write, void *user);

/* Representation i's key (see above) into buf; returns buf. */
const char *vn_iv_config_key(const vn_iv_config *config, size_t i, char *buf, size_t size);

/* Group of every representation (group_of[0..count)) and the number of
 * groups; VN_EINVAL with a message for pyvene's violations (a group_key on
 * some but not all, keys decreasing). */
vn_status vn_iv_config_groups(const vn_iv_config *config, size_t *group_of, size_t *n_groups,
                              char *err, size_t err_size);

/* Checks the config against a model: count ≥ 1, layer in [0, n_layer),
 * units ≥ 1, low_rank_dimension present and ≤ h·units for LowRank, links
 * joining representations of one type and one shape, partitions inside the
 * type's coordinate space and non-empty, Skip only where its module's input
 * is a site, groups as vn_iv_config_groups. VN_EINVAL / VN_ERANGE with a
 * message naming the representation (index and key) and field. */
vn_status vn_iv_config_check(const vn_iv_config *config, const vn_mlp_config *model, char *err,
                             size_t err_size);

/* The width w a representation's type sees (h, or h·units) and the size c
 * of the coordinate space its subspaces and partition index (w, or the low
 * rank m). */
size_t vn_iv_representation_width(const vn_iv_representation *rep, size_t h);
size_t vn_iv_representation_coords(const vn_iv_representation *rep, size_t h);

/* The orthogonal map of representation i: its own, else the config's, else
 * pyvene's default for its rotation's shape (matrix_exp square,
 * householder tall). */
vn_iv_orth_map vn_iv_config_orth_map(const vn_iv_config *config, size_t i, size_t h);

#endif
