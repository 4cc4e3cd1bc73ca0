/* vn_iv_io.c — intervention tensors and data files (see vn_iv_io.h). */
#include "vn_iv_io.h"
#include "vn_iv_type_internal.h"
#include "vn_json.h"
#include "vn_kernels.h"
#include "vn_model_dir.h"
#include "vn_safetensors.h"

#define LINK_TOL 1e-5   /* linked copies and weight-vs-parametrisation agreement */

/* Rewinds ctx to `mark` but keeps an error recorded since (a rewind clears
 * it), prefixed with `prefix` when given. */
static vn_status finish(vn_context *ctx, vn_context_mark mark, const char *prefix) {
    vn_status status = ctx->status;
    char message[sizeof ctx->message];
    vn_strlcpy(message, ctx->message, sizeof message);
    vn_context_rewind(ctx, mark);
    if (status != VN_OK) {
        if (prefix) vn_context_fail(ctx, status, "%s: %s", prefix, message);
        else vn_context_fail(ctx, status, "%s", message);
    }
    return status;
}

/* "(2, 3)" for any number of dimensions (safetensors entries may have more
 * than a vn_tensor holds); returns buf. */
static const char *dims_string(const size_t *dims, int ndim, char *buf, size_t size) {
    size_t used = vn_format(buf, size, "(");
    for (int d = 0; d < ndim && used < size; d++)
        used += vn_format(buf + used, size - used, "%s%zu", d ? ", " : "", dims[d]);
    if (used < size) vn_format(buf + used, size - used, ")");
    return buf;
}

/* ---- saving ---------------------------------------------------------------------------- */

bool vn_iv_model_has_tensors(const vn_iv_model *m) {
    for (size_t i = 0; i < m->config.count; i++)
        if (m->units[i].params) return true;
    return false;
}

/* Tensor names under a key. */
static const char *const ROT_WEIGHT = "rotate_layer.weight";
static const char *const ROT_ORIGINAL = "rotate_layer.parametrizations.weight.original";
static const char *const ROT_BASE = "rotate_layer.parametrizations.weight.0.base";

static const char *tensor_name(vn_context *ctx, const char *key, const char *suffix) {
    char name[VN_IV_KEY_MAX + 64];
    vn_format(name, sizeof name, "%s.%s", key, suffix);
    return vn_context_strdup(ctx, name);
}

vn_status vn_iv_save_tensors(const vn_iv_model *m, vn_context *ctx, vn_write_fn write, void *user) {
    if (ctx->status != VN_OK) return ctx->status;
    vn_context_mark mark = vn_context_mark_get(ctx);
    size_t max_items = 6 * m->config.count;
    vn_safetensors_item *items = vn_context_scratch(ctx, max_items * sizeof *items);
    vn_tensor *shapes = vn_context_scratch(ctx, max_items * sizeof *shapes);
    if (!items || !shapes) return finish(ctx, mark, NULL);
    size_t n = 0;
    for (size_t i = 0; i < m->config.count && ctx->status == VN_OK; i++) {
        const vn_iv_unit *u = &m->units[i];
        const vn_iv_params *p = u->params;
        if (!p || u->owner != i) continue;
        if (p->has_rotation) {
            const vn_iv_rotation *r = &p->rotation;
            size_t shape[2] = {r->n, r->m};
            vn_real *weight = vn_context_scratch(ctx, r->n * r->m * sizeof *weight);
            if (!weight || vn_iv_rotation_compute(r, ctx, weight) != VN_OK) break;
            vn_tensor_wrap(&shapes[n], weight, 2, shape);
            items[n] = vn_safetensors_item_real(tensor_name(ctx, u->key, ROT_WEIGHT), &shapes[n], VN_ST_REAL);
            n++;
            items[n] = vn_safetensors_item_real(tensor_name(ctx, u->key, ROT_ORIGINAL), &r->original->value,
                                                VN_ST_REAL);
            n++;
            items[n] = vn_safetensors_item_real(tensor_name(ctx, u->key, ROT_BASE), &r->base->value, VN_ST_REAL);
            n++;
        }
        if (p->boundaries)
            items[n++] = vn_safetensors_item_real(tensor_name(ctx, u->key, "intervention_boundaries"),
                                                  &p->boundaries->value, VN_ST_REAL);
        if (p->temperature)
            items[n++] = vn_safetensors_item_real(tensor_name(ctx, u->key, "temperature"),
                                                  &p->temperature->value, VN_ST_REAL);
        if (p->masks)
            items[n++] = vn_safetensors_item_real(tensor_name(ctx, u->key, "masks"), &p->masks->value,
                                                  VN_ST_REAL);
    }
    for (size_t k = 0; k < n && ctx->status == VN_OK; k++)
        if (!items[k].name) vn_context_fail(ctx, VN_ENOMEM, "out of memory for tensor names");
    if (ctx->status == VN_OK) {
        char err[sizeof ctx->message];
        vn_status status = vn_safetensors_write(write, user, items, n, NULL, 0, err, sizeof err);
        if (status != VN_OK) vn_context_fail(ctx, status, "interventions.safetensors: %s", err);
    }
    return finish(ctx, mark, NULL);
}

/* ---- loading ----------------------------------------------------------------------------- */

typedef struct loader {
    vn_iv_model *m;
    vn_context *ctx;
    vn_safetensors st;
} loader;

static const vn_safetensors_entry *find(loader *l, const char *key, const char *suffix) {
    char name[VN_IV_KEY_MAX + 64];
    vn_format(name, sizeof name, "%s.%s", key, suffix);
    return vn_safetensors_find(&l->st, name);
}

/* Reads entry e (F32/F64) into new memory after checking its shape:
 * `ndim` dims of `shape`, or (for scalars, scalar_ok) 0-d or (1). */
static vn_real *read_entry(loader *l, const vn_safetensors_entry *e, int ndim, const size_t *shape) {
    bool ok = e->ndim == ndim;
    for (int d = 0; ok && d < ndim; d++) ok = e->shape[d] == shape[d];
    if (!ok && ndim == 1 && shape[0] == 1 && e->numel == 1 && e->ndim == 0) ok = true;
    if (!ok && ndim == 0 && e->numel == 1 && e->ndim == 1) ok = true;
    if (!ok) {
        char want[80], got[80];
        vn_context_fail(l->ctx, VN_ESHAPE, "tensor \"%s\" has shape %s, expected shape %s", e->name,
                        dims_string(e->shape, e->ndim, got, sizeof got), dims_string(shape, ndim, want, sizeof want));
        return NULL;
    }
    vn_real *data = vn_context_scratch(l->ctx, (e->numel + 1) * sizeof *data);
    char err[sizeof l->ctx->message];
    if (data && vn_safetensors_read_real(e, data, e->numel, err, sizeof err) != VN_OK) {
        vn_context_fail(l->ctx, VN_EFORMAT, "%s", err);
        return NULL;
    }
    return data;
}

static vn_status load_rotation(loader *l, vn_iv_unit *u) {
    vn_iv_rotation *r = &u->params->rotation;
    const vn_safetensors_entry *w = find(l, u->key, ROT_WEIGHT), *x = find(l, u->key, ROT_ORIGINAL),
                               *b = find(l, u->key, ROT_BASE);
    size_t ws[2] = {r->n, r->m}, bs[2] = {r->n, r->n};
    if (!w && !x && !b)
        return vn_context_fail(l->ctx, VN_EFORMAT, "%s: no rotation: give %s.%s (or the parametrisation %s "
                               "and %s)", u->key, u->key, ROT_WEIGHT, ROT_ORIGINAL, ROT_BASE);
    if ((x != NULL) != (b != NULL))
        return vn_context_fail(l->ctx, VN_EFORMAT, "%s: the parametrisation needs both %s and %s", u->key,
                               ROT_ORIGINAL, ROT_BASE);
    vn_real *weight = w ? read_entry(l, w, 2, ws) : NULL;
    if (w && !weight) return l->ctx->status;
    if (!x) return vn_iv_rotation_set_weight(r, l->ctx, weight, 0);
    vn_real *original = read_entry(l, x, 2, ws), *base = original ? read_entry(l, b, 2, bs) : NULL;
    if (!base) return l->ctx->status;
    size_t bad;
    if ((bad = vn_first_nonfinite(original, r->n * r->m)) < r->n * r->m)
        return vn_context_fail(l->ctx, VN_ENAN, "tensor \"%s\" has a non-finite value at [%zu][%zu]", x->name,
                               bad / r->m, bad % r->m);
    if ((bad = vn_first_nonfinite(base, r->n * r->n)) < r->n * r->n)
        return vn_context_fail(l->ctx, VN_ENAN, "tensor \"%s\" has a non-finite value at [%zu][%zu]", b->name,
                               bad / r->n, bad % r->n);
    vn_status status = vn_iv_rotation_set_state(r, l->ctx, original, base);
    if (status != VN_OK) return status;
    /* Finite X and B can still give a non-finite R (matrix_exp of entries
     * near FLT_MAX overflows): such a rotation would make every forward pass
     * NaN and could not be saved and loaded back. */
    vn_real *computed = vn_context_scratch(l->ctx, r->n * r->m * sizeof *computed);
    if (!computed || vn_iv_rotation_compute(r, l->ctx, computed) != VN_OK) return l->ctx->status;
    if ((bad = vn_first_nonfinite(computed, r->n * r->m)) < r->n * r->m)
        return vn_context_fail(l->ctx, VN_ENAN, "tensor \"%s\" and its base give a non-finite rotation (%s map): "
                               "%s[%zu][%zu] is not finite", x->name, vn_iv_orth_map_name(r->map), ROT_WEIGHT,
                               bad / r->m, bad % r->m);
    if (!weight) return VN_OK;
    for (size_t k = 0; k < r->n * r->m; k++) {
        double d = (double)computed[k] - (double)weight[k];
        if (!(d <= LINK_TOL && d >= -LINK_TOL))
            return vn_context_fail(l->ctx, VN_EINVAL, "%s: %s disagrees with the parametrisation (%s, %s) at "
                                   "[%zu][%zu]: %.9g vs %.9g (tolerance %g)", u->key, ROT_WEIGHT, ROT_ORIGINAL,
                                   ROT_BASE, k / r->m, k % r->m, (double)weight[k], (double)computed[k], LINK_TOL);
    }
    return VN_OK;
}

/* Reads a small parameter tensor (boundaries, temperature, masks) into node. */
static vn_status load_small(loader *l, vn_iv_unit *u, vn_node *node, const char *suffix, const char *alias) {
    const vn_safetensors_entry *e = find(l, u->key, suffix);
    if (!e && alias) e = find(l, u->key, alias);
    if (!e) return vn_context_fail(l->ctx, VN_EFORMAT, "%s: missing tensor %s.%s (%s)", u->key, u->key, suffix,
                                   u->type->name);
    vn_real *data = read_entry(l, e, node->value.ndim, node->value.shape);
    if (!data) return l->ctx->status;
    for (size_t k = 0; k < node->value.numel; k++) {
        if (!vn_isfinite(data[k]))
            return vn_context_fail(l->ctx, VN_ENAN, "tensor \"%s\" has a non-finite value", e->name);
        node->value.data[k] = data[k];
    }
    return VN_OK;
}

/* Which suffix (if any) tensor `name` has under representation i's key. */
static const char *const known_suffixes[] = {
    "rotate_layer.weight", "rotate_layer.parametrizations.weight.original",
    "rotate_layer.parametrizations.weight.0.base", "intervention_boundaries", "temperature", "masks",
    "mask", "embed_dim", "interchange_dim", "intervention_population"};
enum { S_WEIGHT, S_ORIGINAL, S_BASE, S_BOUNDARIES, S_TEMPERATURE, S_MASKS, S_MASK, S_IGNORED };

static bool suffix_allowed(const vn_iv_type *t, size_t s) {
    switch (s) {
    case S_WEIGHT: case S_ORIGINAL: case S_BASE: return t->tensors & VN_IV_TENSOR_ROTATION;
    case S_BOUNDARIES: return t->tensors & VN_IV_TENSOR_BOUNDARIES;
    case S_TEMPERATURE: return t->tensors & VN_IV_TENSOR_TEMPERATURE;
    case S_MASKS: case S_MASK: return t->tensors & VN_IV_TENSOR_MASKS;
    default: return true;
    }
}

/* Every tensor must belong to a representation's key, with a suffix its
 * type has; copies under later linked keys must equal the first key's. */
static vn_status check_names(loader *l) {
    const vn_iv_model *m = l->m;
    for (size_t k = 0; k < l->st.count; k++) {
        const vn_safetensors_entry *e = &l->st.entries[k];
        bool placed = false;
        for (size_t i = 0; i < m->config.count && !placed; i++) {
            const vn_iv_unit *u = &m->units[i];
            /* Compared with the name's length: "<key>.masks\u0000x" is not the key's masks. */
            size_t kl = vn_strlen(u->key);
            if (e->name_length <= kl || e->name[kl] != '.' || !vn_str_equal_n(e->name, kl, u->key)) continue;
            const char *suffix = e->name + kl + 1;
            size_t suffix_length = e->name_length - kl - 1;
            for (size_t s = 0; s < VN_ARRAY_COUNT(known_suffixes) && !placed; s++) {
                if (!vn_str_equal_n(suffix, suffix_length, known_suffixes[s])) continue;
                placed = true;
                if (!suffix_allowed(u->type, s < S_IGNORED ? s : S_IGNORED))
                    return vn_context_fail(l->ctx, VN_EFORMAT, "tensor \"%s\": %s has no %s", e->name,
                                           u->type->name, known_suffixes[s]);
                if (u->owner == i || s >= S_IGNORED) continue;
                const vn_safetensors_entry *first = find(l, m->units[u->owner].key, known_suffixes[s]);
                bool same = first && first->numel == e->numel;
                vn_real *a = same ? vn_context_scratch(l->ctx, (e->numel + 1) * sizeof *a) : NULL;
                vn_real *b = same ? vn_context_scratch(l->ctx, (e->numel + 1) * sizeof *b) : NULL;
                char err[160];
                if (same && (!a || !b)) return l->ctx->status;
                if (same && (vn_safetensors_read_real(first, a, e->numel, err, sizeof err) != VN_OK ||
                             vn_safetensors_read_real(e, b, e->numel, err, sizeof err) != VN_OK))
                    same = false;
                for (size_t q = 0; same && q < e->numel; q++) {
                    double d = (double)a[q] - (double)b[q];
                    same = d <= LINK_TOL && d >= -LINK_TOL;
                }
                if (!same)
                    return vn_context_fail(l->ctx, VN_EFORMAT, "tensor \"%s\" differs from the first linked key's "
                                           "copy (%s)", e->name, m->units[u->owner].key);
            }
        }
        if (!placed)
            return vn_context_fail(l->ctx, VN_EFORMAT, "unknown tensor \"%.120s%s\" in interventions.safetensors "
                                   "(tensors are named <key>.<tensor>, with keys such as %s)", e->name,
                                   vn_strlen(e->name) < e->name_length ? "\\u0000..." : "", m->units[0].key);
    }
    return VN_OK;
}

vn_status vn_iv_load_tensors(vn_iv_model *m, vn_context *ctx, const void *bytes, size_t size) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!m || !bytes) return vn_context_fail(ctx, VN_EINVAL, "interventions.safetensors: NULL argument");
    vn_context_mark mark = vn_context_mark_get(ctx);
    loader l = {m, ctx, {0}};
    char err[sizeof ctx->message];
    vn_status status = vn_safetensors_open(&l.st, bytes, size, ctx->arena, err, sizeof err);
    if (status != VN_OK) {
        vn_context_fail(ctx, status, "%s", err);
        return finish(ctx, mark, "interventions.safetensors");
    }
    status = check_names(&l);
    for (size_t i = 0; status == VN_OK && i < m->config.count; i++) {
        vn_iv_unit *u = &m->units[i];
        vn_iv_params *p = u->params;
        if (!p || u->owner != i) continue;
        if (p->has_rotation) status = load_rotation(&l, u);
        if (status == VN_OK && p->boundaries)
            status = load_small(&l, u, p->boundaries, "intervention_boundaries", NULL);
        if (status == VN_OK && p->temperature) status = load_small(&l, u, p->temperature, "temperature", NULL);
        if (status == VN_OK && p->temperature && p->temperature->value.data[0] == 0)
            status = vn_context_fail(ctx, VN_EINVAL, "%s: temperature 0", u->key);
        if (status == VN_OK && p->masks) status = load_small(&l, u, p->masks, "masks", "mask");
    }
    return finish(ctx, mark, "interventions.safetensors");
}

/* ---- data files ----------------------------------------------------------------------------- */

typedef struct data_parser {
    vn_arena *arena;
    char *err;
    size_t err_size;
    size_t batch;
} data_parser;

static void *data_alloc(data_parser *p, size_t count, size_t size) {
    size_t bytes;
    if (!vn_size_mul(count ? count : 1, size, &bytes)) return NULL;
    return vn_arena_alloc(p->arena, bytes, 0);
}

static vn_status oom(data_parser *p) { return vn_message(p->err, p->err_size, VN_ENOMEM, "data file: out of memory"); }

/* B lists of integers from a JSON array of B arrays (or null: not given). */
static vn_status read_lists(data_parser *p, const vn_json_value *v, const char *what, size_t rep,
                            vn_iv_lists *out) {
    out->offsets = NULL;
    out->values = NULL;
    if (!v || v->type == VN_JSON_NULL) return VN_OK;
    if (v->type != VN_JSON_ARRAY)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] must be null or a list over the "
                          "examples, found %s", what, rep, vn_json_type_name(v->type));
    if (vn_json_length(v) != p->batch)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] lists %zu examples, the batch has %zu",
                          what, rep, vn_json_length(v), p->batch);
    size_t total = 0;
    for (size_t b = 0; b < p->batch; b++) {
        const vn_json_value *list = vn_json_at(v, b);
        if (list->type != VN_JSON_ARRAY)
            return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu][%zu] must be a list of integers, "
                              "found %s", what, rep, b, vn_json_type_name(list->type));
        total += vn_json_length(list);
    }
    int64_t *offsets = data_alloc(p, p->batch + 1, sizeof *offsets), *values = data_alloc(p, total, sizeof *values);
    if (!offsets || !values) return oom(p);
    size_t at = 0;
    for (size_t b = 0; b < p->batch; b++) {
        const vn_json_value *list = vn_json_at(v, b);
        offsets[b] = (int64_t)at;
        for (size_t j = 0; j < vn_json_length(list); j++) {
            char detail[160];
            if (vn_json_get_int64(vn_json_at(list, j), "an index", &values[at++], detail, sizeof detail) != VN_OK)
                return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu][%zu][%zu]: %s", what, rep, b,
                                  j, detail);
        }
    }
    offsets[p->batch] = (int64_t)at;
    out->offsets = offsets;
    out->values = values;
    return VN_OK;
}

/* A per-representation list of B lists: [representation][example][...]. */
static vn_status read_nested(data_parser *p, const vn_json_value *v, const char *what, size_t n_reps,
                             vn_iv_lists *out) {
    if (!v || v->type == VN_JSON_NULL) return VN_OK;
    if (v->type != VN_JSON_ARRAY || vn_json_length(v) != n_reps)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s must be a list with one entry per "
                          "representation (%zu), found %s of length %zu", what, n_reps, vn_json_type_name(v->type),
                          vn_json_length(v));
    for (size_t i = 0; i < n_reps; i++) {
        vn_status status = read_lists(p, vn_json_at(v, i), what, i, &out[i]);
        if (status != VN_OK) return status;
    }
    return VN_OK;
}

/* Parses the whole value of a metadata entry (value_length bytes: a NUL
 * from "\u0000" inside is part of the text, and not valid JSON there). */
static vn_status parse_json_meta(data_parser *p, const vn_safetensors_metadata *meta, const char *what,
                                 const vn_json_value **out) {
    char detail[240];
    vn_status status = vn_json_parse(meta->value, meta->value_length, p->arena, out, detail, sizeof detail);
    if (status != VN_OK) return vn_message(p->err, p->err_size, status, "data file: metadata \"%s\": %s", what, detail);
    return VN_OK;
}

static vn_status read_metadata(data_parser *p, const vn_safetensors *st, size_t n_reps, vn_iv_batch *out) {
    const vn_safetensors_metadata *meta = vn_safetensors_metadata_find(st, "unit_locations");
    const vn_json_value *v;
    vn_status status;
    if (meta) {
        if ((status = parse_json_meta(p, meta, "unit_locations", &v)) != VN_OK) return status;
        const vn_json_value *pair = v->type == VN_JSON_OBJECT ? vn_json_get(v, "sources->base") : NULL;
        if (!pair || vn_json_length(v) != 1 || pair->type != VN_JSON_ARRAY || vn_json_length(pair) != 2)
            return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: unit_locations must be {\"sources->base\": "
                              "[source_locations, base_locations]} (pyvene's parallel mode)");
        if ((status = read_nested(p, vn_json_at(pair, 0), "unit_locations source", n_reps,
                                  out->source_locations)) != VN_OK ||
            (status = read_nested(p, vn_json_at(pair, 1), "unit_locations base", n_reps,
                                  out->base_locations)) != VN_OK)
            return status;
    }
    meta = vn_safetensors_metadata_find(st, "subspaces");
    if (meta) {
        if ((status = parse_json_meta(p, meta, "subspaces", &v)) != VN_OK) return status;
        if ((status = read_nested(p, v, "subspaces", n_reps, out->subspaces)) != VN_OK) return status;
    }
    return VN_OK;
}

/* A real tensor (B, S, h) into new memory. */
static vn_status read_embeds(data_parser *p, const vn_safetensors_entry *e, size_t h, size_t batch,
                             size_t *seq, vn_real **out) {
    if (e->ndim != 3 || e->shape[2] != h || e->shape[1] == 0 || (batch != (size_t)-1 && e->shape[0] != batch)) {
        char shape[80];
        dims_string(e->shape, e->ndim, shape, sizeof shape);
        if (batch != (size_t)-1 && e->ndim == 3 && e->shape[2] == h && e->shape[1] > 0)
            return vn_message(p->err, p->err_size, VN_ESHAPE, "data file: %s has %zu examples, base has %zu (batch "
                              "mismatch)", e->name, e->shape[0], batch);
        return vn_message(p->err, p->err_size, VN_ESHAPE,
                          "data file: %s has shape %s, expected (B, S, %zu) with S >= 1",
                          e->name, shape, h);
    }
    *seq = e->shape[1];
    *out = data_alloc(p, e->numel, sizeof(vn_real));
    if (!*out) return oom(p);
    char detail[240];
    if (vn_safetensors_read_real(e, *out, e->numel, detail, sizeof detail) != VN_OK)
        return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s", detail);
    return VN_OK;
}

/* A (B,) integer (or 0/1 real) vector into int64 values. */
static vn_status read_ints(data_parser *p, const vn_safetensors_entry *e, int64_t **out) {
    if (e->ndim != 1 || e->shape[0] != p->batch)
        return vn_message(p->err, p->err_size, VN_ESHAPE,
                          "data file: %s must have shape (%zu,) (one value per example)",
                          e->name, p->batch);
    int64_t *v = data_alloc(p, p->batch, sizeof *v);
    if (!v) return oom(p);
    char detail[240];
    if (e->dtype == VN_ST_F32 || e->dtype == VN_ST_F64) {
        vn_real *r = data_alloc(p, p->batch, sizeof *r);
        if (!r) return oom(p);
        if (vn_safetensors_read_real(e, r, p->batch, detail, sizeof detail) != VN_OK)
            return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s", detail);
        for (size_t b = 0; b < p->batch; b++) {
            /* Checked before the cast, which is undefined for NaN, infinities
             * and values outside int64's range [-2^63, 2^63). */
            double x = (double)r[b];
            if (!vn_isfinite(r[b]))
                return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] is %s, not an integer",
                                  e->name, b, x != x ? "NaN" : x > 0 ? "+infinity" : "-infinity");
            if (!(x >= -9223372036854775808.0 && x < 9223372036854775808.0))
                return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] = %g is outside the range "
                                  "of 64-bit integers", e->name, b, x);
            v[b] = (int64_t)x;
            if ((double)v[b] != x)
                return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] = %g is not an integer", e->name,
                                  b, x);
        }
    } else if (vn_safetensors_read_int64(e, v, p->batch, detail, sizeof detail) != VN_OK) {
        return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s", detail);
    }
    *out = v;
    return VN_OK;
}

/* "source.7" / "active.7" (the whole name, `length` bytes): the group
 * number, or false. */
static bool group_suffix(const char *name, size_t length, const char *prefix, size_t *group) {
    size_t n = vn_strlen(prefix);
    if (length <= n || !vn_str_equal_n(name, n, prefix)) return false;
    const char *d = name + n;
    size_t digits = length - n;
    if (d[0] == '0' && digits > 1) return false;
    size_t g = 0;
    for (size_t i = 0; i < digits; i++) {
        if (d[i] < '0' || d[i] > '9' || g > 1000000) return false;
        g = g * 10 + (size_t)(d[i] - '0');
    }
    *group = g;
    return true;
}

static vn_status parse_data(data_parser *p, const void *bytes, size_t size, const vn_iv_model *model, size_t h,
                            int64_t num_classes, vn_iv_batch *out) {
    vn_safetensors st;
    char detail[240];
    vn_status status = vn_safetensors_open(&st, bytes, size, p->arena, detail, sizeof detail);
    if (status != VN_OK) return vn_message(p->err, p->err_size, status, "data file: %s", detail);
    const vn_safetensors_entry *base = vn_safetensors_find(&st, "base");
    if (!base) return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: no tensor \"base\" (B, S, %zu)", h);
    if ((status = read_embeds(p, base, h, (size_t)-1, &out->seq, &out->base)) != VN_OK) return status;
    out->batch = p->batch = base->shape[0];
    out->h = h;
    out->n_groups = model ? model->n_groups : 0;
    out->n_reps = model ? model->config.count : 0;
    for (size_t k = 0; k < st.count; k++) {
        const vn_safetensors_entry *e = &st.entries[k];
        size_t g;
        if (e == base) continue;
        if (vn_str_equal_n(e->name, e->name_length, "labels")) {
            if ((status = read_ints(p, e, &out->labels)) != VN_OK) return status;
            for (size_t b = 0; b < p->batch; b++)
                if (out->labels[b] < 0 || out->labels[b] >= num_classes)
                    return vn_message(p->err, p->err_size, VN_ERANGE, "data file: labels[%zu] = %lld is not a class of "
                                      "this model (0 .. %lld)", b, (long long)out->labels[b],
                                      (long long)num_classes - 1);
        } else if (group_suffix(e->name, e->name_length, "source.", &g) ||
                   group_suffix(e->name, e->name_length, "active.", &g)) {
            if (!model) continue;
            if (g >= out->n_groups)
                return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s: the intervention has %zu group%s "
                                  "(0 .. %zu)", e->name, out->n_groups, out->n_groups == 1 ? "" : "s",
                                  out->n_groups - 1);
            if (e->name[0] == 's') {
                if ((status = read_embeds(p, e, h, p->batch, &out->source_seq[g], &out->sources[g])) != VN_OK)
                    return status;
                continue;
            }
            int64_t *flags;
            if ((status = read_ints(p, e, &flags)) != VN_OK) return status;
            out->active[g] = data_alloc(p, p->batch, 1);
            if (!out->active[g]) return oom(p);
            for (size_t b = 0; b < p->batch; b++) {
                if (flags[b] != 0 && flags[b] != 1)
                    return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: %s[%zu] = %lld; active flags are 0 "
                                      "or 1", e->name, b, (long long)flags[b]);
                out->active[g][b] = (uint8_t)flags[b];
            }
        } else {
            return vn_message(p->err, p->err_size, VN_EFORMAT, "data file: unknown tensor \"%.80s%s\" (expected base, "
                              "source.{g}, active.{g}, labels)", e->name,
                              vn_strlen(e->name) < e->name_length ? "\\u0000..." : "");
        }
    }
    return model ? read_metadata(p, &st, out->n_reps, out) : VN_OK;
}

vn_status vn_iv_data_parse(const void *bytes, size_t size, const vn_iv_model *model, size_t h,
                           int64_t num_classes, vn_arena *arena, vn_iv_batch *out, char *err,
                           size_t err_size) {
    if (!bytes || !arena || !out) return vn_message(err, err_size, VN_EINVAL, "data file: NULL argument");
    *out = (vn_iv_batch){0};
    data_parser p = {arena, err, err_size, 0};
    vn_arena_mark mark = vn_arena_get_mark(arena);
    vn_status status = parse_data(&p, bytes, size, model, h, num_classes, out);
    if (status != VN_OK) {
        vn_arena_rewind(arena, mark);
        *out = (vn_iv_batch){0};
    }
    return status;
}

/* ---- batches --------------------------------------------------------------------------------- */

static vn_iv_lists slice_lists(vn_iv_lists l, size_t start) {
    if (l.offsets) l.offsets += start;
    return l;
}

void vn_iv_batch_slice(const vn_iv_batch *b, size_t start, size_t count, vn_iv_batch *out) {
    *out = *b;
    out->batch = count;
    out->base = b->base + start * b->seq * b->h;
    for (size_t g = 0; g < b->n_groups; g++) {
        if (b->sources[g]) out->sources[g] = b->sources[g] + start * b->source_seq[g] * b->h;
        if (b->active[g]) out->active[g] = b->active[g] + start;
    }
    if (b->labels) out->labels = b->labels + start;
    for (size_t i = 0; i < b->n_reps; i++) {
        out->source_locations[i] = slice_lists(b->source_locations[i], start);
        out->base_locations[i] = slice_lists(b->base_locations[i], start);
        out->subspaces[i] = slice_lists(b->subspaces[i], start);
    }
}

static vn_status gather_lists(const vn_iv_lists *in, const size_t *index, size_t count, vn_arena *arena,
                              vn_iv_lists *out) {
    *out = *in;
    if (!in->offsets) return VN_OK;
    size_t total = 0;
    for (size_t a = 0; a < count; a++) total += (size_t)(in->offsets[index[a] + 1] - in->offsets[index[a]]);
    int64_t *offsets = vn_arena_alloc(arena, (count + 1) * sizeof *offsets, 0);
    int64_t *values = vn_arena_alloc(arena, (total + 1) * sizeof *values, 0);
    if (!offsets || !values) return VN_ENOMEM;
    size_t at = 0;
    for (size_t a = 0; a < count; a++) {
        offsets[a] = (int64_t)at;
        for (int64_t e = in->offsets[index[a]]; e < in->offsets[index[a] + 1]; e++) values[at++] = in->values[e];
    }
    offsets[count] = (int64_t)at;
    out->offsets = offsets;
    out->values = values;
    return VN_OK;
}

static vn_real *gather_rows(const vn_real *src, size_t row, const size_t *index, size_t count, vn_arena *arena) {
    vn_real *dst = vn_arena_alloc(arena, (count * row + 1) * sizeof *dst, 0);
    if (dst) vn_gather_rows(dst, src, index, count, row);
    return dst;
}

vn_status vn_iv_batch_gather(const vn_iv_batch *b, const size_t *index, size_t count, vn_arena *arena,
                             vn_iv_batch *out) {
    *out = *b;
    out->batch = count;
    if (!(out->base = gather_rows(b->base, b->seq * b->h, index, count, arena))) return VN_ENOMEM;
    for (size_t g = 0; g < b->n_groups; g++) {
        if (b->sources[g] && !(out->sources[g] = gather_rows(b->sources[g], b->source_seq[g] * b->h, index,
                                                             count, arena)))
            return VN_ENOMEM;
        if (b->active[g]) {
            if (!(out->active[g] = vn_arena_alloc(arena, count + 1, 0))) return VN_ENOMEM;
            for (size_t a = 0; a < count; a++) out->active[g][a] = b->active[g][index[a]];
        }
    }
    if (b->labels) {
        if (!(out->labels = vn_arena_alloc(arena, (count + 1) * sizeof *out->labels, 0))) return VN_ENOMEM;
        for (size_t a = 0; a < count; a++) out->labels[a] = b->labels[index[a]];
    }
    for (size_t i = 0; i < b->n_reps; i++) {
        if (gather_lists(&b->source_locations[i], index, count, arena, &out->source_locations[i]) != VN_OK ||
            gather_lists(&b->base_locations[i], index, count, arena, &out->base_locations[i]) != VN_OK ||
            gather_lists(&b->subspaces[i], index, count, arena, &out->subspaces[i]) != VN_OK)
            return VN_ENOMEM;
    }
    return VN_OK;
}

vn_status vn_iv_batch_inputs(const vn_iv_batch *b, vn_context *ctx, vn_iv_batch_nodes *nodes,
                             vn_iv_inputs *in) {
    size_t shape[3] = {b->batch, b->seq, b->h};
    *in = (vn_iv_inputs){0};
    nodes->base = vn_leaf_wrap(ctx, b->base, 3, shape, VN_NODE_INPUT);
    for (size_t g = 0; g < b->n_groups; g++) {
        nodes->sources[g] = NULL;
        if (!b->sources[g]) continue;
        size_t s_shape[3] = {b->batch, b->source_seq[g], b->h};
        nodes->sources[g] = vn_leaf_wrap(ctx, b->sources[g], 3, s_shape, VN_NODE_INPUT);
        if (!nodes->sources[g]) return ctx->status;
    }
    if (!nodes->base) return ctx->status;
    in->base = nodes->base;
    in->n_sources = b->n_groups;
    in->sources = b->n_groups ? nodes->sources : NULL; /* no groups: a plain forward */
    in->active = (const uint8_t *const *)b->active;
    in->source_locations = b->source_locations;
    in->base_locations = b->base_locations;
    in->subspaces = b->subspaces;
    return VN_OK;
}
