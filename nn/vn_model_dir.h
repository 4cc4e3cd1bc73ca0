/* vn_model_dir.h — a model directory's two files as bytes (FORMATS.md):
 * config.json (MLPConfig's fields) and model.safetensors (PyTorch's
 * state_dict names and layout).
 *
 *   {"model_type": "mlp", "h_dim": 16, "n_layer": 3, "num_classes": 2,
 *    "activation_function": "relu", "pdrop": 0.0, "include_bias": true,
 *    "squeeze_output": true}
 *
 * Missing fields take pyvene's defaults (vn_mlp_config_default). Known
 * fields: model_type (must be "mlp"), h_dim, n_layer, num_classes,
 * activation_function, pdrop, include_bias, squeeze_output, include_emb,
 * vocab_size, max_position_embeddings, problem_type (null or a transformers
 * name). Unknown keys (transformers_version, ...) are ignored, each reported
 * through the warning writer; a known key with a wrong type or value is an
 * error.
 *
 * The host reads and writes the files; these functions take and give bytes.
 * Memory: the parsers use the given arena for temporary trees and rewind it
 * before returning; nothing they return points into it. */
#ifndef VN_MODEL_DIR_H
#define VN_MODEL_DIR_H

#include "vn_nn.h"
#include "vn_safetensors.h"

/* The safetensors dtype that holds vn_real exactly: F32, or F64 in a
 * -Dreal=double build. Writers of cvene's own files use it. */
#ifdef VN_REAL_DOUBLE
#define VN_ST_REAL VN_ST_F64
#else
#define VN_ST_REAL VN_ST_F32
#endif

/* config.json bytes → *out (checked with vn_mlp_config_check). VN_EFORMAT
 * with a message naming the field; VN_ENOMEM; VN_EINVAL for bad values. */
vn_status vn_model_config_parse(const void *bytes, size_t size, vn_arena *scratch, vn_mlp_config *out,
                                vn_write_fn warn, void *warn_user, char *err, size_t err_size);

/* Writes the config as JSON (every field; problem_type null when NONE). */
vn_status vn_model_config_write(const vn_mlp_config *config, vn_write_fn write, void *user);

/* model.safetensors bytes → the model's parameters, by state_dict name.
 * Every parameter must be present with its exact shape (F32 or F64); a
 * tensor the model does not have is an error naming it. VN_EFORMAT /
 * VN_ESHAPE with a message; on failure parameters may be partly loaded. */
vn_status vn_model_load_params(vn_mlp *model, const void *bytes, size_t size, vn_arena *scratch,
                               char *err, size_t err_size);

/* Writes the parameters (state_dict order) as VN_ST_REAL safetensors; the item
 * list is made in `scratch` and released. */
vn_status vn_model_save_params(const vn_mlp *model, vn_arena *scratch, vn_write_fn write, void *user,
                               char *err, size_t err_size);

#endif
