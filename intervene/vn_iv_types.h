/* vn_iv_types.h — pyvene's intervention types as autograd ops, and the type
 * table the intervenable model (vn_iv_model.h) works from.
 *
 * Each type is one file (vn_iv_type_<name>.c) holding its op — shape rule,
 * forward, backward (the math named in comments), gradcheck examples — and
 * its descriptor, a `vn_iv_type`. The ops are ordinary ops: they are applied
 * with vn_apply, registered with vn_op_register (role VN_ROLE_INTERVENTION),
 * and their parameters (a rotation's materialised matrix R, Boundless
 * boundaries, sigmoid masks) are ordinary inputs, so gradients reach them
 * through an ordinary backward pass.
 *
 * Shapes. An intervention sees the representation gathered at the unit
 * locations as `rows × w`: x (base) and s (source) have the same shape and
 * numel = rows·w. Types that act on each unit on its own (pyvene's
 * "localist" ones: Vanilla, Addition, Subtraction, Zero, Collect, Skip) have
 * w = h and rows = examples·units; the others (the rotations and the sigmoid
 * masks) see the units of an example concatenated, w = h·units and
 * rows = examples. The output has x's shape.
 *
 * Subspaces. Types that use subspaces take a CONST mask (mask_rows × c) of
 * 0/1 over their own coordinates (c = w, or the low rank m), one row per
 * row of x, or one row for all (mask_rows = 1). Each example thus has its
 * own coordinates; a coordinate selected twice counts once.
 *
 * With x, s the base and source rows, S the selected coordinates (mask 1):
 *   VanillaIntervention              y = x, y_S = s_S
 *   AdditionIntervention             y = x, y_S = x_S + s_S
 *   SubtractionIntervention          y = x, y_S = x_S − s_S
 *   ZeroIntervention                 y = x, y_S = 0                      (no source)
 *   CollectIntervention              y = x ⊙ 1_S (the collected values;
 *                                    the model continues with x)        (no source)
 *   SkipIntervention                 Vanilla's math, s = the site module's
 *                                    input in the source run
 *   RotatedSpaceIntervention         u = xR, u_S = (sR)_S, y = u·Rᵀ   (R n×n)
 *   LowRankRotatedSpaceIntervention  y = x + ((sW − xW) ⊙ 1_S)·Wᵀ       (W n×m)
 *   BoundlessRotatedSpaceIntervention
 *                                    y = ((1−m)⊙xR + m⊙sR)·Rᵀ,
 *                                    m_j = σ(j/T)·σ((β·n − j)/T), β = clamp(b, 1e-3, 1)
 *   SigmoidMaskRotatedSpaceIntervention
 *                                    y = ((1−m)⊙xR + m⊙sR)·Rᵀ, m = σ(θ/T)
 *   SigmoidMaskIntervention          y = (1−m)⊙x + m⊙s, m = σ(θ/T)
 * (j = 0 … n−1 indexes rotated coordinates; the last three ignore subspaces.)
 *
 * Memory: applying an op allocates its node, value and saved memory in the
 * context's arena; backward takes scratch memory from the context. */
#ifndef VN_IV_TYPES_H
#define VN_IV_TYPES_H

#include "vn_graph.h"

/* ---- the built-in types -------------------------------------------------------- */

typedef enum vn_iv_type_id {
    VN_IV_VANILLA,
    VN_IV_ADDITION,
    VN_IV_SUBTRACTION,
    VN_IV_ZERO,
    VN_IV_COLLECT,
    VN_IV_SKIP,
    VN_IV_ROTATED_SPACE,
    VN_IV_LOW_RANK_ROTATED_SPACE,
    VN_IV_BOUNDLESS_ROTATED_SPACE,
    VN_IV_SIGMOID_MASK_ROTATED_SPACE,
    VN_IV_SIGMOID_MASK,
    VN_IV_TYPE_COUNT
} vn_iv_type_id;

/* The shape of a type's rotation. */
typedef enum vn_iv_rotation_shape {
    VN_IV_ROTATION_NONE,
    VN_IV_ROTATION_SQUARE,   /* R: n × n, n = w */
    VN_IV_ROTATION_LOW_RANK  /* W: n × m, m = low_rank_dimension */
} vn_iv_rotation_shape;

/* Where a type takes its source from in the source run. */
typedef enum vn_iv_source_kind {
    VN_IV_SOURCE_NONE,        /* no source (Zero, Collect) */
    VN_IV_SOURCE_SITE,        /* the source's representation at the same site */
    VN_IV_SOURCE_MODULE_INPUT /* the input of the site's module (Skip) */
} vn_iv_source_kind;

/* Tensors a type saves and loads (interventions.safetensors), as flags. */
enum {
    VN_IV_TENSOR_ROTATION = 1u << 0,    /* rotate_layer.weight (+ parametrisation) */
    VN_IV_TENSOR_BOUNDARIES = 1u << 1,  /* intervention_boundaries (1) */
    VN_IV_TENSOR_TEMPERATURE = 1u << 2, /* temperature (0-d) */
    VN_IV_TENSOR_MASKS = 1u << 3        /* masks (w) */
};

/* The inputs of one application. Unused fields are NULL. */
typedef struct vn_iv_apply_args {
    vn_node *base;        /* x: rows × w (any shape with that many elements) */
    vn_node *source;      /* s: x's shape; NULL for source-less types */
    vn_node *mask;        /* CONST (1 or rows) × c, 0/1; types that use subspaces */
    vn_node *rotation;    /* R (w × w) or W (w × m) */
    vn_node *boundaries;  /* b: 1 element (Boundless) */
    vn_node *temperature; /* T: 1 element (Boundless, sigmoid masks) */
    vn_node *masks;       /* θ: w elements (sigmoid masks) */
} vn_iv_apply_args;

/* A type: its pyvene name, its op and how the intervenable model treats it. */
typedef struct vn_iv_type {
    const char *name;                 /* pyvene's class name */
    const vn_op *op;
    /* Builds the op's node from args (checks which inputs the type needs). */
    vn_node *(*apply)(vn_context *ctx, const vn_iv_apply_args *args);
    vn_iv_source_kind source;         /* needs a source? from where */
    bool trainable;                   /* has trainable tensors (pyvene's TrainableIntervention) */
    bool uses_subspaces;              /* takes a subspace mask */
    bool unitwise;                    /* w = h, each unit on its own; else w = h·units */
    bool collects;                    /* returns collected values; the model continues unchanged */
    vn_iv_rotation_shape rotation;
    unsigned tensors;                 /* VN_IV_TENSOR_* */
    double boundaries_init;           /* Boundless: 0.5 */
    double temperature_init;          /* Boundless 50, SigmoidMaskRotated 50, SigmoidMask 0.01 */
    double masks_init;                /* SigmoidMaskRotated 100, SigmoidMask 0 */
    const char *summary;              /* one line: the formula */
} vn_iv_type;

/* The built-in descriptors (one per vn_iv_type_<name>.c). */
extern const vn_iv_type vn_iv_type_vanilla, vn_iv_type_addition, vn_iv_type_subtraction,
    vn_iv_type_zero, vn_iv_type_collect, vn_iv_type_skip, vn_iv_type_rotated_space,
    vn_iv_type_low_rank_rotated_space, vn_iv_type_boundless_rotated_space,
    vn_iv_type_sigmoid_mask_rotated_space, vn_iv_type_sigmoid_mask;

/* Their ops, named "iv_vanilla", "iv_addition", ... (see each file). */
extern const vn_op vn_iv_op_vanilla, vn_iv_op_addition, vn_iv_op_subtraction, vn_iv_op_zero,
    vn_iv_op_collect, vn_iv_op_skip, vn_iv_op_rotated_space, vn_iv_op_low_rank_rotated_space,
    vn_iv_op_boundless_rotated_space, vn_iv_op_sigmoid_mask_rotated_space,
    vn_iv_op_sigmoid_mask;

/* The built-in type for an id; NULL when out of range. */
const vn_iv_type *vn_iv_builtin_type(vn_iv_type_id id);

/* ---- the registry ------------------------------------------------------------------ */

/* Adds a type (defined in its own file, outside the built-in table) so that
 * configs can name it; its op is registered with vn_op_register too.
 * Registering the same descriptor twice is a no-op. VN_EINVAL when the
 * descriptor lacks a name, op or apply function, when its name is taken
 * by a different type, or when vn_op_register refuses its op; VN_EFULL past
 * VN_IV_MAX_PLUGIN_TYPES. Registration happens at start-up, from one thread. */
#define VN_IV_MAX_PLUGIN_TYPES 16
vn_status vn_iv_type_register(const vn_iv_type *type);

/* Every type: the built-ins in vn_iv_type_id order, then plugins. */
size_t vn_iv_type_count(void);
const vn_iv_type *vn_iv_type_at(size_t index);

/* The type named `name` (exact); NULL when unknown. pyvene's spelling of a
 * saved type, "<class 'pyvene.models.interventions.NAME'>", is accepted too. */
const vn_iv_type *vn_iv_type_find(const char *name);

/* Looks `name` up; an unknown name is VN_EINVAL with a message (in
 * message[0..size)) listing every valid name. */
vn_status vn_iv_type_lookup(const char *name, const vn_iv_type **out, char *message, size_t size);

/* Registers every op of intervene/ with vn_op_register — the types' ops,
 * the unit gather/scatter ops (vn_iv_units.h) and the rotation ops
 * (vn_iv_rotation_register_ops) — so gradcheck loops and the command line
 * see them. Idempotent. VN_OK or the registry's error. */
vn_status vn_iv_register_ops(void);

#endif
