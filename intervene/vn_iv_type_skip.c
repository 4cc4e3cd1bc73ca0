/* vn_iv_type_skip.c — pyvene's SkipIntervention.
 *
 * Skips the site's module: the source is the module's *input* in the source
 * run (for block_output, that layer's block_input), written over the
 * module's output on the selected coordinates, with Vanilla's math:
 * y = (1 − m) ⊙ x + m ⊙ s.  dx = (1 − m) ⊙ G,  ds = m ⊙ G.
 * (pyvene's usual use passes the base itself as the source.)
 *
 * Inputs: (base, source, mask); the mask is the CONST 0/1 subspace mask
 * (see vn_iv_types.h). The arithmetic is the mix family's
 * (vn_iv_type_internal.h) with the constants below. */
#include "vn_iv_type_internal.h"

static const ivt_mix skip_mix = {1, -1, 1};

const vn_op vn_iv_op_skip = {
    .name = "iv_skip",
    .min_inputs = 3,
    .max_inputs = 3,
    .infer = ivt_mask_mix_infer,
    .forward = ivt_mask_mix_forward,
    .backward = ivt_mask_mix_backward,
    .example = ivt_mask_mix_example,
    .role = VN_ROLE_INTERVENTION,
    .data = &skip_mix,
    .summary = "y = x; y_S = input_S (the site module's input in the source run)",
};

static vn_node *skip_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(ctx, &vn_iv_type_skip, args);
}

const vn_iv_type vn_iv_type_skip = {
    .name = "SkipIntervention",
    .op = &vn_iv_op_skip,
    .apply = skip_apply,
    .source = VN_IV_SOURCE_MODULE_INPUT,
    .trainable = false,
    .uses_subspaces = true,
    .unitwise = true,
    .collects = false,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = 0,
    .summary = "y = x; y_S = input_S (the site module's input in the source run)",
};
