/* vn_iv_type_subtraction.c — pyvene's SubtractionIntervention.
 *
 * Activation subtraction on the selected coordinates:  y = x − m ⊙ s.
 *   dx = G,  ds = −m ⊙ G.
 *
 * Inputs: (base, source, mask); the mask is the CONST 0/1 subspace mask
 * (see vn_iv_types.h). The arithmetic is the mix family's
 * (vn_iv_type_internal.h) with the constants below. */
#include "vn_iv_type_internal.h"

static const ivt_mix subtraction_mix = {1, 0, -1};

const vn_op vn_iv_op_subtraction = {
    .name = "iv_subtraction",
    .min_inputs = 3,
    .max_inputs = 3,
    .infer = ivt_mask_mix_infer,
    .forward = ivt_mask_mix_forward,
    .backward = ivt_mask_mix_backward,
    .example = ivt_mask_mix_example,
    .role = VN_ROLE_INTERVENTION,
    .data = &subtraction_mix,
    .summary = "y = x; y_S = x_S - s_S",
};

static vn_node *subtraction_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(ctx, &vn_iv_type_subtraction, args);
}

const vn_iv_type vn_iv_type_subtraction = {
    .name = "SubtractionIntervention",
    .op = &vn_iv_op_subtraction,
    .apply = subtraction_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = false,
    .uses_subspaces = true,
    .unitwise = true,
    .collects = false,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = 0,
    .summary = "y = x; y_S = x_S - s_S",
};
