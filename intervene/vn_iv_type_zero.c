/* vn_iv_type_zero.c — pyvene's ZeroIntervention.
 *
 * Zeroes the selected coordinates; needs no source:  y = (1 − m) ⊙ x.
 *   dx = (1 − m) ⊙ G.
 *
 * Inputs: (base, mask); the mask is the CONST 0/1 subspace mask
 * (see vn_iv_types.h). The arithmetic is the mix family's
 * (vn_iv_type_internal.h) with the constants below. */
#include "vn_iv_type_internal.h"

static const ivt_mix zero_mix = {1, -1, 0};

const vn_op vn_iv_op_zero = {
    .name = "iv_zero",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = ivt_mask_mix_infer,
    .forward = ivt_mask_mix_forward,
    .backward = ivt_mask_mix_backward,
    .example = ivt_mask_mix_example,
    .role = VN_ROLE_INTERVENTION,
    .data = &zero_mix,
    .summary = "y = x; y_S = 0 (no source)",
};

static vn_node *zero_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(ctx, &vn_iv_type_zero, args);
}

const vn_iv_type vn_iv_type_zero = {
    .name = "ZeroIntervention",
    .op = &vn_iv_op_zero,
    .apply = zero_apply,
    .source = VN_IV_SOURCE_NONE,
    .trainable = false,
    .uses_subspaces = true,
    .unitwise = true,
    .collects = false,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = 0,
    .summary = "y = x; y_S = 0 (no source)",
};
