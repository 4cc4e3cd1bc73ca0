/* vn_iv_config.c — the intervention config: JSON in and out, keys, groups
 * and checks against a model. */
#include "vn_iv_config.h"
#include "vn_iv_type_internal.h"
#include "vn_json.h"

vn_iv_representation vn_iv_representation_default(const vn_iv_type *type) {
    vn_iv_representation r = {0};
    r.layer = 0;
    r.component = VN_NN_BLOCK_OUTPUT;
    r.max_number_of_units = 1;
    r.type = type;
    return r;
}

size_t vn_iv_representation_width(const vn_iv_representation *rep, size_t h) {
    return rep->type && rep->type->unitwise ? h : h * (size_t)rep->max_number_of_units;
}

size_t vn_iv_representation_coords(const vn_iv_representation *rep, size_t h) {
    if (rep->type && rep->type->rotation == VN_IV_ROTATION_LOW_RANK) return (size_t)rep->low_rank_dimension;
    return vn_iv_representation_width(rep, h);
}

vn_iv_orth_map vn_iv_config_orth_map(const vn_iv_config *config, size_t i, size_t h) {
    const vn_iv_representation *r = &config->representations[i];
    if (r->has_orthogonal_map) return r->orthogonal_map;
    if (config->has_orthogonal_map) return config->orthogonal_map;
    size_t n = h * (size_t)r->max_number_of_units;
    bool low_rank = r->type && r->type->rotation == VN_IV_ROTATION_LOW_RANK;
    return vn_iv_orth_map_default(n, low_rank ? (size_t)r->low_rank_dimension : n);
}

const char *vn_iv_config_key(const vn_iv_config *config, size_t i, char *buf, size_t size) {
    const vn_iv_representation *r = &config->representations[i];
    size_t same = 0;
    for (size_t j = 0; j < i; j++) {
        const vn_iv_representation *q = &config->representations[j];
        same += q->layer == r->layer && q->component == r->component &&
                q->max_number_of_units == r->max_number_of_units;
    }
    vn_format(buf, size, "layer_%lld_comp_%s_unit_pos_nunit_%lld#%zu", (long long)r->layer,
              vn_nn_component_name(r->component), (long long)r->max_number_of_units, same);
    return buf;
}

/* ---- parsing ----------------------------------------------------------------------- */

typedef struct parser {
    vn_arena *arena;
    vn_write_fn warn;
    void *warn_user;
    char *err;
    size_t err_size;
} parser;

static void warn(parser *p, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void warn(parser *p, const char *fmt, ...) {
    if (!p->warn) return;
    char line[256];
    va_list args;
    va_start(args, fmt);
    size_t n = vn_vformat(line, sizeof line - 1, fmt, args);
    va_end(args);
    if (n > sizeof line - 2) n = sizeof line - 2;
    line[n] = '\n';
    p->warn(p->warn_user, line, n + 1);
}

/* Formats "representation i: <detail>" errors. */
static vn_status rep_error(parser *p, size_t i, const char *field, const char *detail) {
    return vn_message(p->err, p->err_size, VN_EFORMAT, "intervention config: representation %zu: %s: %s", i,
                      field, detail);
}

/* Reads an optional integer (null allowed when `nullable`). */
static vn_status read_int(parser *p, size_t i, const char *field, const vn_json_value *v,
                          bool nullable, bool *present, int64_t *out) {
    *present = false;
    if (!v || (nullable && v->type == VN_JSON_NULL)) return VN_OK;
    char detail[200];
    if (vn_json_get_int64(v, field, out, detail, sizeof detail) != VN_OK)
        return rep_error(p, i, field, detail);
    *present = true;
    return VN_OK;
}

static vn_status read_type(parser *p, const char *where, const vn_json_value *v, const vn_iv_type **out) {
    const char *name;
    char detail[400];
    if (vn_json_get_string(v, "intervention type", &name, NULL, detail, sizeof detail) != VN_OK ||
        vn_iv_type_lookup(name, out, detail, sizeof detail) != VN_OK)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "intervention config: %s: %s", where, detail);
    return VN_OK;
}

static vn_status read_map(parser *p, const char *where, const vn_json_value *v, vn_iv_orth_map *out) {
    const char *name;
    char detail[200];
    if (vn_json_get_string(v, "orthogonal_map", &name, NULL, detail, sizeof detail) != VN_OK)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "intervention config: %s: %s", where, detail);
    if (vn_iv_orth_map_lookup(name, out) != VN_OK)
        return vn_message(p->err, p->err_size, VN_EFORMAT,
                          "intervention config: %s: unknown orthogonal_map \"%.40s\"; valid names: "
                          "matrix_exp, householder, cayley", where, name);
    return VN_OK;
}

static vn_status read_partition(parser *p, size_t i, const vn_json_value *v, vn_iv_representation *r) {
    r->n_partitions = 0;
    r->partition = NULL;
    if (!v || v->type == VN_JSON_NULL) return VN_OK;
    if (v->type != VN_JSON_ARRAY)
        return rep_error(p, i, "subspace_partition", "expected null or a list of [start, end) pairs or index lists");
    size_t n = vn_json_length(v);
    vn_iv_partition_entry *entries = vn_arena_alloc(p->arena, (n ? n : 1) * sizeof *entries, 0);
    if (!entries) return vn_message(p->err, p->err_size, VN_ENOMEM, "intervention config: out of memory");
    for (size_t e = 0; e < n; e++) {
        const vn_json_value *entry = vn_json_at(v, e);
        char detail[200];
        if (entry->type != VN_JSON_ARRAY) {
            vn_format(detail, sizeof detail, "entry %zu is a %s, expected a list of integers", e,
                      vn_json_type_name(entry->type));
            return rep_error(p, i, "subspace_partition", detail);
        }
        size_t count = vn_json_length(entry);
        int64_t *values = vn_arena_alloc(p->arena, (count ? count : 1) * sizeof *values, 0);
        if (!values) return vn_message(p->err, p->err_size, VN_ENOMEM, "intervention config: out of memory");
        for (size_t k = 0; k < count; k++) {
            if (vn_json_get_int64(vn_json_at(entry, k), "a partition index", &values[k], detail,
                                  sizeof detail) != VN_OK)
                return rep_error(p, i, "subspace_partition", detail);
        }
        entries[e].is_pair = count == 2;
        entries[e].count = count;
        entries[e].values = values;
    }
    r->n_partitions = n;
    r->partition = entries;
    return VN_OK;
}

/* Fields of a representation, in pyvene's positional order. */
enum {
    F_LAYER, F_COMPONENT, F_UNIT, F_UNITS, F_LOW_RANK, F_TYPE, F_INTERVENTION, F_PARTITION,
    F_GROUP, F_LINK, F_MOE, F_SOURCE_REPR, F_HIDDEN_SOURCE, F_LATENT_DIM, F_ORTH_MAP, F_COUNT
};
static const char *const field_names[F_COUNT] = {
    "layer", "component", "unit", "max_number_of_units", "low_rank_dimension", "intervention_type",
    "intervention", "subspace_partition", "group_key", "intervention_link_key", "moe_key",
    "source_representation", "hidden_source_representation", "latent_dim", "orthogonal_map"};
#define POSITIONAL_FIELDS F_ORTH_MAP /* orthogonal_map is cvene's, named only */

static vn_status read_representation(parser *p, size_t i, const vn_json_value *v,
                                     vn_iv_representation *r) {
    const vn_json_value *f[F_COUNT] = {0};
    if (v->type == VN_JSON_OBJECT) {
        for (size_t k = 0; k < vn_json_length(v); k++) {
            const vn_json_member *m = vn_json_member_at(v, k);
            bool known = false;
            /* Compared with the key's length: "layer\u0000" is not "layer". */
            for (int j = 0; j < F_COUNT && !known; j++) {
                if (vn_str_equal_n(m->key, m->key_length, field_names[j])) {
                    f[j] = m->value;
                    known = true;
                }
            }
            if (!known)
                warn(p, "intervention config: representation %zu: ignoring unknown key \"%.60s%s\"", i, m->key,
                     vn_strlen(m->key) < m->key_length ? "\\u0000..." : "");
        }
    } else if (v->type == VN_JSON_ARRAY) {
        size_t n = vn_json_length(v);
        if (n > POSITIONAL_FIELDS) return rep_error(p, i, "fields", "more than pyvene's 14 positional fields");
        for (size_t k = 0; k < n; k++) f[k] = vn_json_at(v, k);
    } else {
        return rep_error(p, i, "representation", "expected an object (or pyvene's positional list)");
    }
    *r = vn_iv_representation_default(NULL);
    bool present;
    char detail[400];
    vn_status status;
    if ((status = read_int(p, i, "layer", f[F_LAYER], false, &present, &r->layer)) != VN_OK) return status;
    if (f[F_COMPONENT]) {
        const char *name;
        if (vn_json_get_string(f[F_COMPONENT], "component", &name, NULL, detail, sizeof detail) != VN_OK ||
            vn_nn_component_lookup(name, &r->component, detail, sizeof detail) != VN_OK)
            return rep_error(p, i, "component", detail);
    }
    if (f[F_UNIT]) {
        const char *unit;
        if (vn_json_get_string(f[F_UNIT], "unit", &unit, NULL, detail, sizeof detail) != VN_OK)
            return rep_error(p, i, "unit", detail);
        if (vn_strcmp(unit, "pos") != 0) {
            vn_format(detail, sizeof detail, "\"%.20s\" is not supported: the MLP's only unit is \"pos\" "
                      "(pyvene's \"h\", \"h.pos\" and \"t\" are for attention heads and recurrent models)", unit);
            return rep_error(p, i, "unit", detail);
        }
    }
    if ((status = read_int(p, i, "max_number_of_units", f[F_UNITS], false, &present,
                           &r->max_number_of_units)) != VN_OK)
        return status;
    if ((status = read_int(p, i, "low_rank_dimension", f[F_LOW_RANK], true, &present,
                           &r->low_rank_dimension)) != VN_OK)
        return status;
    if (present && r->low_rank_dimension < 1) {
        vn_format(detail, sizeof detail, "must be at least 1 (or null), got %lld", (long long)r->low_rank_dimension);
        return rep_error(p, i, "low_rank_dimension", detail);
    }
    if ((status = read_partition(p, i, f[F_PARTITION], r)) != VN_OK) return status;
    if ((status = read_int(p, i, "group_key", f[F_GROUP], true, &r->has_group_key, &r->group_key)) != VN_OK)
        return status;
    if ((status = read_int(p, i, "intervention_link_key", f[F_LINK], true, &r->has_link_key,
                           &r->link_key)) != VN_OK)
        return status;
    if (f[F_TYPE] && f[F_TYPE]->type != VN_JSON_NULL) {
        vn_format(detail, sizeof detail, "representation %zu", i);
        if ((status = read_type(p, detail, f[F_TYPE], &r->type)) != VN_OK) return status;
        r->own_type = true;
    }
    if (f[F_ORTH_MAP] && f[F_ORTH_MAP]->type != VN_JSON_NULL) {
        vn_format(detail, sizeof detail, "representation %zu", i);
        if ((status = read_map(p, detail, f[F_ORTH_MAP], &r->orthogonal_map)) != VN_OK) return status;
        r->has_orthogonal_map = true;
    }
    static const int unsupported[] = {F_INTERVENTION, F_MOE, F_SOURCE_REPR, F_HIDDEN_SOURCE, F_LATENT_DIM};
    for (size_t k = 0; k < VN_ARRAY_COUNT(unsupported); k++) {
        const vn_json_value *u = f[unsupported[k]];
        if (u && u->type != VN_JSON_NULL)
            return rep_error(p, i, field_names[unsupported[k]], "is not supported (only null)");
    }
    return VN_OK;
}

vn_status vn_iv_config_parse(const void *bytes, size_t size, vn_arena *arena, vn_iv_config *out,
                             vn_write_fn warn_fn, void *warn_user, char *err, size_t err_size) {
    if (!bytes || !arena || !out) return vn_message(err, err_size, VN_EINVAL, "intervention config: NULL argument");
    parser p = {arena, warn_fn, warn_user, err, err_size};
    const vn_json_value *root;
    char detail[400];
    vn_status status = vn_json_parse(bytes, size, arena, &root, detail, sizeof detail);
    if (status != VN_OK) return vn_message(err, err_size, status, "intervention config: %s", detail);
    if (root->type != VN_JSON_OBJECT)
        return vn_message(err, err_size, VN_EFORMAT, "intervention config: expected a JSON object, found %s",
                          vn_json_type_name(root->type));
    *out = (vn_iv_config){0};
    static const char *const known[] = {"representations", "intervention_types", "orthogonal_map",
        "model_type", "mode", "sorted_keys", "intervention_dimensions", "intervention_constant_sources",
        "transformers_version"};
    for (size_t k = 0; k < vn_json_length(root); k++) {
        const vn_json_member *m = vn_json_member_at(root, k);
        bool is_known = false;
        for (size_t j = 0; j < VN_ARRAY_COUNT(known); j++) is_known |= vn_str_equal_n(m->key, m->key_length, known[j]);
        if (!is_known)
            warn(&p, "intervention config: ignoring unknown key \"%.60s%s\"", m->key,
                 vn_strlen(m->key) < m->key_length ? "\\u0000..." : "");
    }
    const vn_json_value *mode = vn_json_get(root, "mode");
    if (mode && mode->type != VN_JSON_NULL) {
        const char *name;
        if (vn_json_get_string(mode, "mode", &name, NULL, detail, sizeof detail) != VN_OK)
            return vn_message(err, err_size, VN_EFORMAT, "intervention config: %s", detail);
        if (vn_strcmp(name, "parallel") != 0)
            return vn_message(err, err_size, VN_EFORMAT, "intervention config: mode \"%.20s\" is not supported "
                              "(only \"parallel\")", name);
    }
    const vn_json_value *reps = vn_json_get(root, "representations");
    if (!reps || reps->type != VN_JSON_ARRAY || vn_json_length(reps) == 0)
        return vn_message(err, err_size, VN_EFORMAT,
                          "intervention config: \"representations\" must be a non-empty list");
    size_t count = vn_json_length(reps);
    if (count > VN_IV_MAX_REPRESENTATIONS)
        return vn_message(err, err_size, VN_EFORMAT, "intervention config: %zu representations (at most %d)",
                          count, VN_IV_MAX_REPRESENTATIONS);
    out->representations = vn_arena_alloc(arena, count * sizeof *out->representations, 0);
    if (!out->representations) return vn_message(err, err_size, VN_ENOMEM, "intervention config: out of memory");
    out->count = count;
    for (size_t i = 0; i < count; i++)
        if ((status = read_representation(&p, i, vn_json_at(reps, i), &out->representations[i])) != VN_OK)
            return status;
    const vn_json_value *map = vn_json_get(root, "orthogonal_map");
    if (map && map->type != VN_JSON_NULL) {
        if ((status = read_map(&p, "orthogonal_map", map, &out->orthogonal_map)) != VN_OK) return status;
        out->has_orthogonal_map = true;
    }
    /* intervention_types: one name, or one per representation */
    const vn_json_value *types = vn_json_get(root, "intervention_types");
    if (types && types->type == VN_JSON_ARRAY) {
        if (vn_json_length(types) != count)
            return vn_message(err, err_size, VN_EFORMAT, "intervention config: intervention_types lists %zu "
                              "types for %zu representations", vn_json_length(types), count);
        for (size_t i = 0; i < count; i++) {
            const vn_iv_type *t;
            vn_format(detail, sizeof detail, "intervention_types[%zu]", i);
            if ((status = read_type(&p, detail, vn_json_at(types, i), &t)) != VN_OK) return status;
            if (!out->representations[i].own_type) out->representations[i].type = t;
        }
    } else if (types && types->type != VN_JSON_NULL) {
        const vn_iv_type *t;
        if ((status = read_type(&p, "intervention_types", types, &t)) != VN_OK) return status;
        for (size_t i = 0; i < count; i++)
            if (!out->representations[i].own_type) out->representations[i].type = t;
    }
    for (size_t i = 0; i < count; i++)
        if (!out->representations[i].type)
            return rep_error(&p, i, "intervention_type", "missing: give \"intervention_types\" or the "
                             "representation's own \"intervention_type\"");
    return VN_OK;
}

/* ---- writing ------------------------------------------------------------------------ */

static void write_optional_int(vn_json_writer *w, const char *key, bool present, int64_t value) {
    vn_json_key(w, key);
    if (present) vn_json_integer(w, value);
    else vn_json_null(w);
}

vn_status vn_iv_config_write(const vn_iv_config *c, vn_write_fn write, void *user) {
    vn_json_writer w;
    vn_json_writer_init(&w, write, user, 1);
    vn_json_begin_object(&w);
    vn_json_key(&w, "representations");
    vn_json_begin_array(&w);
    bool same_type = true;
    for (size_t i = 0; i < c->count; i++) {
        const vn_iv_representation *r = &c->representations[i];
        same_type &= r->type == c->representations[0].type;
        vn_json_begin_object(&w);
        vn_json_key(&w, "layer");
        vn_json_integer(&w, r->layer);
        vn_json_key(&w, "component");
        vn_json_string(&w, vn_nn_component_name(r->component));
        vn_json_key(&w, "unit");
        vn_json_string(&w, "pos");
        vn_json_key(&w, "max_number_of_units");
        vn_json_integer(&w, r->max_number_of_units);
        write_optional_int(&w, "low_rank_dimension", r->low_rank_dimension > 0, r->low_rank_dimension);
        vn_json_key(&w, "subspace_partition");
        if (r->partition) {
            vn_json_begin_array(&w);
            for (size_t e = 0; e < r->n_partitions; e++) {
                vn_json_begin_array(&w);
                for (size_t k = 0; k < r->partition[e].count; k++) vn_json_integer(&w, r->partition[e].values[k]);
                vn_json_end_array(&w);
            }
            vn_json_end_array(&w);
        } else {
            vn_json_null(&w);
        }
        write_optional_int(&w, "intervention_link_key", r->has_link_key, r->link_key);
        write_optional_int(&w, "group_key", r->has_group_key, r->group_key);
        if (r->has_orthogonal_map) {
            vn_json_key(&w, "orthogonal_map");
            vn_json_string(&w, vn_iv_orth_map_name(r->orthogonal_map));
        }
        vn_json_end_object(&w);
    }
    vn_json_end_array(&w);
    vn_json_key(&w, "intervention_types");
    if (same_type) {
        vn_json_string(&w, c->representations[0].type->name);
    } else {
        vn_json_begin_array(&w);
        for (size_t i = 0; i < c->count; i++) vn_json_string(&w, c->representations[i].type->name);
        vn_json_end_array(&w);
    }
    if (c->has_orthogonal_map) {
        vn_json_key(&w, "orthogonal_map");
        vn_json_string(&w, vn_iv_orth_map_name(c->orthogonal_map));
    }
    vn_json_end_object(&w);
    vn_status status = vn_json_writer_finish(&w);
    if (status == VN_OK && write(user, "\n", 1) != 0) status = VN_EIO;
    return status;
}

/* ---- groups and checks ------------------------------------------------------------------ */

vn_status vn_iv_config_groups(const vn_iv_config *c, size_t *group_of, size_t *n_groups, char *err,
                              size_t err_size) {
    size_t with_key = 0;
    for (size_t i = 0; i < c->count; i++) with_key += c->representations[i].has_group_key;
    if (with_key == 0) {
        for (size_t i = 0; i < c->count; i++) group_of[i] = i;
        *n_groups = c->count;
        return VN_OK;
    }
    size_t groups = 0;
    for (size_t i = 0; i < c->count; i++) {
        const vn_iv_representation *r = &c->representations[i];
        if (!r->has_group_key)
            return vn_message(err, err_size, VN_EINVAL, "representation %zu has no group_key while others have "
                              "one: with group keys, every representation needs one (pyvene's rule)", i);
        if (i > 0) {
            int64_t prev = c->representations[i - 1].group_key;
            if (r->group_key < prev)
                return vn_message(err, err_size, VN_EINVAL, "representation %zu: group_key %lld after %lld: group "
                                  "keys must be non-decreasing in config order (pyvene's rule)", i,
                                  (long long)r->group_key, (long long)prev);
            if (r->group_key != prev) groups++;
        }
        group_of[i] = groups;
    }
    *n_groups = groups + 1;
    return VN_OK;
}

static vn_status check_partition(const vn_iv_config *c, size_t i, size_t coords, char *key, char *err,
                                 size_t err_size) {
    const vn_iv_representation *r = &c->representations[i];
    if (r->partition && r->n_partitions == 0)
        return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): subspace_partition is empty", i, key);
    for (size_t e = 0; e < r->n_partitions; e++) {
        const vn_iv_partition_entry *p = &r->partition[e];
        if (p->is_pair) {
            int64_t start = p->values[0], end = p->values[1];
            if (start >= end)
                return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): subspace_partition entry %zu "
                                  "[%lld, %lld) is empty", i, key, e, (long long)start, (long long)end);
            if (start < 0 || (uint64_t)end > coords)
                return vn_message(err, err_size, VN_ERANGE, "representation %zu (%s): subspace_partition entry %zu "
                                  "[%lld, %lld) is outside the %zu coordinates of %s", i, key, e,
                                  (long long)start, (long long)end, coords, r->type->name);
        } else {
            if (p->count == 0)
                return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): subspace_partition entry %zu "
                                  "is an empty list", i, key, e);
            for (size_t k = 0; k < p->count; k++)
                if (p->values[k] < 0 || (uint64_t)p->values[k] >= coords)
                    return vn_message(err, err_size, VN_ERANGE, "representation %zu (%s): subspace_partition entry "
                                      "%zu: index %lld is outside the %zu coordinates of %s", i, key, e,
                                      (long long)p->values[k], coords, r->type->name);
        }
    }
    return VN_OK;
}

vn_status vn_iv_config_check(const vn_iv_config *c, const vn_mlp_config *model, char *err,
                             size_t err_size) {
    if (!c || !model || c->count == 0)
        return vn_message(err, err_size, VN_EINVAL, "intervention config: no representations");
    if (c->count > VN_IV_MAX_REPRESENTATIONS)
        return vn_message(err, err_size, VN_EINVAL, "intervention config: %zu representations (at most %d)",
                          c->count, VN_IV_MAX_REPRESENTATIONS);
    size_t h = (size_t)model->h_dim;
    for (size_t i = 0; i < c->count; i++) {
        const vn_iv_representation *r = &c->representations[i];
        char key[VN_IV_KEY_MAX];
        vn_iv_config_key(c, i, key, sizeof key);
        if (!r->type)
            return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): no intervention type", i, key);
        if ((unsigned)r->component >= VN_NN_COMPONENT_COUNT)
            return vn_message(err, err_size, VN_EINVAL, "representation %zu: invalid component %d", i,
                              (int)r->component);
        if (r->layer < 0 || r->layer >= model->n_layer)
            return vn_message(err, err_size, VN_ERANGE, "representation %zu (%s): layer %lld is out of range: the "
                              "model has %lld layer%s (0 .. %lld)", i, key, (long long)r->layer,
                              (long long)model->n_layer, model->n_layer == 1 ? "" : "s", (long long)model->n_layer - 1);
        if (r->max_number_of_units < 1 || r->max_number_of_units > 4096)
            return vn_message(err, err_size, VN_ERANGE, "representation %zu (%s): max_number_of_units %lld must be "
                              "in [1, 4096]", i, key, (long long)r->max_number_of_units);
        size_t n = h * (size_t)r->max_number_of_units;
        if (r->type->rotation == VN_IV_ROTATION_LOW_RANK) {
            if (r->low_rank_dimension <= 0)
                return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): %s needs low_rank_dimension "
                                  "(1 .. %zu)", i, key, r->type->name, n);
            if ((uint64_t)r->low_rank_dimension > n)
                return vn_message(err, err_size, VN_ERANGE, "representation %zu (%s): low_rank_dimension %lld is "
                                  "larger than the representation's %zu coordinates", i, key,
                                  (long long)r->low_rank_dimension, n);
        }
        if (r->type->source == VN_IV_SOURCE_MODULE_INPUT && r->component == VN_NN_MLP_ACTIVATION)
            return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): %s needs the input of the site's "
                              "module, and mlp_activation's module (the activation) takes ff1's output, which is "
                              "not a hook site; supported: block_output (its module's input is the layer's "
                              "block_input) and block_input", i, key, r->type->name);
        vn_status status = check_partition(c, i, vn_iv_representation_coords(r, h), key, err, err_size);
        if (status != VN_OK) return status;
        if (r->has_link_key) {
            for (size_t j = 0; j < i; j++) {
                const vn_iv_representation *q = &c->representations[j];
                if (!q->has_link_key || q->link_key != r->link_key) continue;
                if (q->type != r->type || q->max_number_of_units != r->max_number_of_units ||
                    vn_iv_representation_coords(q, h) != vn_iv_representation_coords(r, h) ||
                    vn_iv_config_orth_map(c, j, h) != vn_iv_config_orth_map(c, i, h))
                    return vn_message(err, err_size, VN_EINVAL, "representation %zu (%s): linked (key %lld) to "
                                      "representation %zu, which differs in type, shape or orthogonal_map: linked "
                                      "representations "
                                      "share one set of parameters", i, key, (long long)r->link_key, j);
                break;
            }
        }
    }
    size_t groups[VN_IV_MAX_REPRESENTATIONS], n_groups;
    return vn_iv_config_groups(c, groups, &n_groups, err, err_size);
}
