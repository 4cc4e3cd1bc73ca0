/* vn_iv_types.c — the type table, the type registry and op registration. */
#include "vn_iv_types.h"
#include "vn_iv_rotation.h"
#include "vn_iv_units.h"

/* The built-in types, indexed by vn_iv_type_id. */
static const vn_iv_type *const builtin_types[] = {
    [VN_IV_VANILLA] = &vn_iv_type_vanilla,
    [VN_IV_ADDITION] = &vn_iv_type_addition,
    [VN_IV_SUBTRACTION] = &vn_iv_type_subtraction,
    [VN_IV_ZERO] = &vn_iv_type_zero,
    [VN_IV_COLLECT] = &vn_iv_type_collect,
    [VN_IV_SKIP] = &vn_iv_type_skip,
    [VN_IV_ROTATED_SPACE] = &vn_iv_type_rotated_space,
    [VN_IV_LOW_RANK_ROTATED_SPACE] = &vn_iv_type_low_rank_rotated_space,
    [VN_IV_BOUNDLESS_ROTATED_SPACE] = &vn_iv_type_boundless_rotated_space,
    [VN_IV_SIGMOID_MASK_ROTATED_SPACE] = &vn_iv_type_sigmoid_mask_rotated_space,
    [VN_IV_SIGMOID_MASK] = &vn_iv_type_sigmoid_mask,
};
VN_STATIC_ASSERT(VN_ARRAY_COUNT(builtin_types) == VN_IV_TYPE_COUNT, builtin_types_complete);

const vn_iv_type *vn_iv_builtin_type(vn_iv_type_id id) {
    return (unsigned)id < VN_IV_TYPE_COUNT ? builtin_types[id] : NULL;
}

static const vn_iv_type *plugin_types[VN_IV_MAX_PLUGIN_TYPES];
static size_t n_plugin_types;

size_t vn_iv_type_count(void) { return VN_IV_TYPE_COUNT + n_plugin_types; }

const vn_iv_type *vn_iv_type_at(size_t index) {
    if (index < VN_IV_TYPE_COUNT) return builtin_types[index];
    index -= VN_IV_TYPE_COUNT;
    return index < n_plugin_types ? plugin_types[index] : NULL;
}

/* pyvene writes saved types as "<class 'pyvene.models.interventions.NAME'>":
 * NAME goes to (*start, *length); any other string is returned whole. */
static void bare_name(const char *name, const char **start, size_t *length) {
    size_t n = vn_strlen(name);
    *start = name;
    *length = n;
    static const char prefix[] = "<class '", suffix[] = "'>";
    size_t p = sizeof prefix - 1, s = sizeof suffix - 1;
    if (n < p + s || vn_strncmp(name, prefix, p) != 0 || vn_strcmp(name + n - s, suffix) != 0) return;
    size_t begin = p, end = n - s;
    for (size_t i = begin; i < end; i++)
        if (name[i] == '.') begin = i + 1;
    *start = name + begin;
    *length = end - begin;
}

const vn_iv_type *vn_iv_type_find(const char *name) {
    if (!name) return NULL;
    const char *start;
    size_t length;
    bare_name(name, &start, &length);
    for (size_t i = 0; i < vn_iv_type_count(); i++) {
        const vn_iv_type *t = vn_iv_type_at(i);
        if (vn_str_equal_n(start, length, t->name)) return t;
    }
    return NULL;
}

vn_status vn_iv_type_lookup(const char *name, const vn_iv_type **out, char *message, size_t size) {
    const vn_iv_type *t = vn_iv_type_find(name);
    if (t) {
        if (out) *out = t;
        return VN_OK;
    }
    if (message && size) {
        size_t used = vn_format(message, size, "unknown intervention type \"%.60s\"; valid types:",
                                name ? name : "(null)");
        for (size_t i = 0; i < vn_iv_type_count() && used < size; i++)
            used += vn_format(message + used, size - used, "%s %s", i ? "," : "", vn_iv_type_at(i)->name);
    }
    return VN_EINVAL;
}

vn_status vn_iv_type_register(const vn_iv_type *type) {
    if (!type || !type->name || !type->op || !type->apply) return VN_EINVAL;
    const vn_iv_type *same = vn_iv_type_find(type->name);
    if (same) return same == type ? VN_OK : VN_EINVAL;
    if (n_plugin_types == VN_IV_MAX_PLUGIN_TYPES) return VN_EFULL;
    vn_status status = vn_op_register(type->op);
    if (status != VN_OK) return status;
    plugin_types[n_plugin_types++] = type;
    return VN_OK;
}

vn_status vn_iv_register_ops(void) {
    vn_status status = vn_iv_rotation_register_ops();
    for (size_t i = 0; status == VN_OK && i < VN_IV_TYPE_COUNT; i++)
        status = vn_op_register(builtin_types[i]->op);
    if (status == VN_OK) status = vn_op_register(&vn_iv_op_gather_units);
    if (status == VN_OK) status = vn_op_register(&vn_iv_op_scatter_units);
    return status;
}
