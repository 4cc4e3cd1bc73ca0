/* vn_iv_type_collect.c — pyvene's CollectIntervention.
 *
 * Collects the selected coordinates of the base without changing the model:
 * the op's value is  c = m ⊙ x  (zeros outside the selection) and the
 * intervenable model hands it back while the site keeps x.
 *   dx = m ⊙ G.
 *
 * Inputs: (base, mask); the mask is the CONST 0/1 subspace mask
 * (see vn_iv_types.h). The arithmetic is the mix family's
 * (vn_iv_type_internal.h) with the constants below. */
#include "vn_iv_type_internal.h"

static const ivt_mix collect_mix = {0, 1, 0};

const vn_op vn_iv_op_collect = {
    .name = "iv_collect",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = ivt_mask_mix_infer,
    .forward = ivt_mask_mix_forward,
    .backward = ivt_mask_mix_backward,
    .example = ivt_mask_mix_example,
    .role = VN_ROLE_INTERVENTION,
    .data = &collect_mix,
    .summary = "collected = x * 1_S (the model continues with x)",
};

static vn_node *collect_apply(vn_context *ctx, const vn_iv_apply_args *args) {
    return ivt_mask_mix_apply(ctx, &vn_iv_type_collect, args);
}

const vn_iv_type vn_iv_type_collect = {
    .name = "CollectIntervention",
    .op = &vn_iv_op_collect,
    .apply = collect_apply,
    .source = VN_IV_SOURCE_NONE,
    .trainable = false,
    .uses_subspaces = true,
    .unitwise = true,
    .collects = true,
    .rotation = VN_IV_ROTATION_NONE,
    .tensors = 0,
    .summary = "collected = x * 1_S (the model continues with x)",
};
