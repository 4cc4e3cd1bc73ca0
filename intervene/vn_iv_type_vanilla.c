/* vn_iv_type_vanilla.c — pyvene's VanillaIntervention.
 *
 * Interchange: the selected coordinates of the base are replaced by the
 * source's:  y = (1 − m) ⊙ x + m ⊙ s  with m the 0/1 subspace mask.
 *   dx = (1 − m) ⊙ G,  ds = m ⊙ G.
 *
 * Inputs: (base, source, mask); the mask is the CONST 0/1 subspace mask
 * (see vn_iv_types.h). The arithmetic is the mix family's
 * (vn_iv_type_internal.h) with the constants below. */
#include "vn_iv_type_internal.h"

static const ivt_mix vanilla_mix = {1, -1, 1};

const vn_op vn_iv_op_vanilla = {
    .name = "iv_vanilla",
    .min_inputs = 3,
    .max_inputs = 3,
    .infer = ivt_mask_mix_infer,
    .forward = ivt_mask_mix_forward,
    .backward = ivt_mask_mix_backward,
    .example = ivt_mask_mix_example,
    .role = VN_ROLE_INTERVENTION,
    .data = &vanilla_mix,
    .summary = "y = x; y_S = s_S (interchange)",
};

static vn_node *vanilla_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(ctx, &vn_iv_type_vanilla, args);
}

const vn_iv_type vn_iv_type_vanilla = {
    .name = "VanillaIntervention",
    .op = &vn_iv_op_vanilla,
    .apply = vanilla_apply,
    .source = VN_IV_SOURCE_SITE,
    .trainable = false,
    .uses_subspaces = true,
    .unitwise = true,
    .collects = false,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = 0,
    .summary = "y = x; y_S = s_S (interchange)",
};
