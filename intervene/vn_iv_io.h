/* vn_iv_io.h — an intervention's tensors (interventions.safetensors) and
 * the data file of `cvene eval` / `cvene align` (FORMATS.md), as bytes.
 *
 * Intervention tensors are named "<key>.<tensor>" with pyvene's key of the
 * representation and PyTorch's state_dict names:
 *   rotate_layer.weight                              R (n × n, or n × m)
 *   rotate_layer.parametrizations.weight.original    X (n × m)
 *   rotate_layer.parametrizations.weight.0.base      B (n × n)
 *   intervention_boundaries (1), temperature (0-d or 1), masks (w)
 * Linked representations share one set, stored under the first key of the
 * link; the reader also accepts copies under later keys when they equal the
 * first key's within 1e-5.
 *
 * Loading a rotation: with X and B, R = map(X, B) exactly (and a
 * rotate_layer.weight given too must agree within 1e-5, else an error);
 * with only rotate_layer.weight, the rotation is re-based on it
 * (vn_iv_rotation_set_weight: X = −I, B = R or its deterministic completion
 * for a tall R). pyvene's extra buffers (embed_dim, interchange_dim,
 * intervention_population) are accepted and ignored; SigmoidMask's pyvene
 * name "mask" is read as "masks". Any other tensor is an error naming it.
 *
 * The data file: base (B, S, h), source.{g} (B, S', h), active.{g} (B,) 0/1,
 * labels (B,) class ids, and "__metadata__" strings holding JSON in pyvene's
 * nesting: "unit_locations" = {"sources->base": [source_locations,
 * base_locations]}, each [representation][example][unit], and "subspaces"
 * = [representation][example] → ids; any representation's entry may be
 * null. Unknown metadata keys (such as PyTorch's "format") are ignored;
 * unknown tensors are errors.
 *
 * Memory: everything is allocated in the arena (or context) given; the
 * readers copy what they keep, so the file bytes may be freed afterwards. */
#ifndef VN_IV_IO_H
#define VN_IV_IO_H

#include "vn_iv_model.h"

/* ---- intervention tensors --------------------------------------------------------- */

/* True when some representation has tensors to save (a trainable type). */
bool vn_iv_model_has_tensors(const vn_iv_model *model);

/* Writes every trainable intervention's tensors (the materialised R and the
 * parametrisation state, boundaries, temperature, masks) under the first key
 * of each link, as VN_ST_REAL (F32; F64 in a double build). Uses temporary
 * memory from ctx (released). VN_OK or the error recorded on ctx. */
vn_status vn_iv_save_tensors(const vn_iv_model *model, vn_context *ctx, vn_write_fn write, void *user);

/* Loads interventions.safetensors bytes into the model's parameters (see the
 * top of this file). Every trainable intervention must find its tensors.
 * Errors (recorded on ctx, naming the tensor): malformed file, unknown or
 * missing tensors, wrong shapes, a non-orthogonal rotate_layer.weight, a
 * weight that disagrees with the parametrisation, unequal linked copies.
 * Uses temporary memory from ctx (released). */
vn_status vn_iv_load_tensors(vn_iv_model *model, vn_context *ctx, const void *bytes, size_t size);

/* ---- data files ----------------------------------------------------------------- */

typedef struct vn_iv_batch {
    size_t batch, seq, h;          /* base is (B, S, h) */
    vn_real *base;                 /* B·S·h values */
    size_t n_groups;               /* the model's groups (0 without a model) */
    vn_real *sources[VN_IV_MAX_REPRESENTATIONS];     /* NULL: absent (pyvene's None) */
    size_t source_seq[VN_IV_MAX_REPRESENTATIONS];    /* S' of each source */
    uint8_t *active[VN_IV_MAX_REPRESENTATIONS];      /* NULL: every example */
    int64_t *labels;               /* B class ids, or NULL */
    size_t n_reps;                 /* the model's representations (0 without a model) */
    vn_iv_lists source_locations[VN_IV_MAX_REPRESENTATIONS]; /* offsets NULL: not given */
    vn_iv_lists base_locations[VN_IV_MAX_REPRESENTATIONS];
    vn_iv_lists subspaces[VN_IV_MAX_REPRESENTATIONS];
} vn_iv_batch;

/* Parses a data file for `model` (NULL: only base and labels are read; the
 * sources, active flags and metadata are then ignored). `h` and
 * `num_classes` come from the MLP. Errors (VN_EFORMAT, VN_ESHAPE, VN_ERANGE,
 * VN_ENOMEM) with a message in err naming the tensor, representation or
 * example: a missing or badly shaped base, a source whose group does not
 * exist or whose batch or width differs, active values other than 0/1,
 * labels out of [0, num_classes), metadata that is not JSON in pyvene's
 * nesting or has the wrong number of representations or examples. */
vn_status vn_iv_data_parse(const void *bytes, size_t size, const vn_iv_model *model, size_t h,
                           int64_t num_classes, vn_arena *arena, vn_iv_batch *out, char *err,
                           size_t err_size);

/* Examples [start, start + count) of a batch as a view (no copy). */
void vn_iv_batch_slice(const vn_iv_batch *batch, size_t start, size_t count, vn_iv_batch *out);

/* Examples index[0..count) of a batch, copied into `arena` (for shuffled
 * batches). VN_ENOMEM when the arena is full. */
vn_status vn_iv_batch_gather(const vn_iv_batch *batch, const size_t *index, size_t count,
                             vn_arena *arena, vn_iv_batch *out);

/* Graph inputs over a batch's memory (INPUT leaves wrapping base and
 * sources, no copy) and the vn_iv_inputs that point at them and at the
 * batch's lists. `nodes` holds the source nodes; it and the batch must
 * outlive the forward pass. VN_OK or ctx's error. */
typedef struct vn_iv_batch_nodes {
    vn_node *base;
    vn_node *sources[VN_IV_MAX_REPRESENTATIONS];
} vn_iv_batch_nodes;
vn_status vn_iv_batch_inputs(const vn_iv_batch *batch, vn_context *ctx, vn_iv_batch_nodes *nodes,
                             vn_iv_inputs *inputs);

#endif
