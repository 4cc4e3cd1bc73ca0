/* vn_iv_model.c — the intervenable model: parameters, the forward pass with
 * getter and setter hooks, and per-example unit locations and subspaces. */
#include "vn_iv_model.h"
#include "vn_iv_type_internal.h"
#include "vn_iv_units.h"
#include "vn_kernels.h"
#include "vn_ops.h"

enum { PHASE_NONE, PHASE_SOURCE, PHASE_BASE };

/* The forward pass's outputs, reachable from the hook. */
typedef struct pass_state {
    vn_iv_model *model;
    vn_iv_outputs *out;
} pass_state;

/* ---- building the model ------------------------------------------------------------ */

static vn_iv_partition_entry *copy_partition(vn_context *ctx, const vn_iv_representation *r) {
    vn_iv_partition_entry *entries = vn_context_scratch(ctx, (r->n_partitions + 1) * sizeof *entries);
    if (!entries) return NULL;
    for (size_t e = 0; e < r->n_partitions; e++) {
        int64_t *values = vn_context_scratch(ctx, (r->partition[e].count + 1) * sizeof *values);
        if (!values) return NULL;
        for (size_t k = 0; k < r->partition[e].count; k++) values[k] = r->partition[e].values[k];
        entries[e] = r->partition[e];
        entries[e].values = values;
    }
    return entries;
}

/* Expands the partition into coordinate lists: a pair [s, e) is s … e−1. */
static vn_status expand_partition(vn_context *ctx, vn_iv_unit *u) {
    const vn_iv_representation *r = u->rep;
    size_t total = 0;
    for (size_t e = 0; e < r->n_partitions; e++) {
        const vn_iv_partition_entry *p = &r->partition[e];
        total += p->is_pair ? (size_t)(p->values[1] - p->values[0]) : p->count;
    }
    size_t *offsets = vn_context_scratch(ctx, (r->n_partitions + 1) * sizeof *offsets);
    size_t *coords = vn_context_scratch(ctx, (total + 1) * sizeof *coords);
    if (!offsets || !coords) return ctx->status;
    size_t at = 0;
    for (size_t e = 0; e < r->n_partitions; e++) {
        const vn_iv_partition_entry *p = &r->partition[e];
        offsets[e] = at;
        if (p->is_pair)
            for (int64_t v = p->values[0]; v < p->values[1]; v++) coords[at++] = (size_t)v;
        else
            for (size_t k = 0; k < p->count; k++) coords[at++] = (size_t)p->values[k];
    }
    offsets[r->n_partitions] = at;
    u->n_parts = r->n_partitions;
    u->part_offsets = offsets;
    u->part_coords = coords;
    return VN_OK;
}

/* A named leaf for an intervention tensor, "<key>.<name>". */
static vn_node *named(vn_context *ctx, vn_node *node, const char *key, const char *name) {
    char full[VN_IV_KEY_MAX + 64];
    vn_format(full, sizeof full, "%s.%s", key, name);
    return vn_node_set_name(ctx, node, full);
}

static vn_status create_params(vn_iv_model *m, vn_context *ctx, size_t i, vn_rng *rng) {
    vn_iv_unit *u = &m->units[i];
    const vn_iv_type *t = u->type;
    vn_iv_params *p = vn_context_scratch(ctx, sizeof *p);
    if (!p) return ctx->status;
    *p = (vn_iv_params){0};
    size_t one = 1;
    if (t->tensors & VN_IV_TENSOR_ROTATION) {
        size_t n = m->h * u->units, cols = t->rotation == VN_IV_ROTATION_LOW_RANK ? u->coords : n;
        vn_status status = vn_iv_rotation_init(&p->rotation, ctx, n, cols,
                                               vn_iv_config_orth_map(&m->config, i, m->h), rng);
        if (status != VN_OK) return vn_context_fail(ctx, status, "%s: cannot create its rotation", u->key);
        p->has_rotation = true;
    }
    if (t->tensors & VN_IV_TENSOR_BOUNDARIES) {
        p->boundaries = named(ctx, vn_param(ctx, 1, &one), u->key, "intervention_boundaries");
        if (!p->boundaries) return ctx->status;
        p->boundaries->value.data[0] = (vn_real)t->boundaries_init;
    }
    if (t->tensors & VN_IV_TENSOR_TEMPERATURE) {
        p->temperature = named(ctx, vn_scalar(ctx, (vn_real)t->temperature_init), u->key, "temperature");
        if (!p->temperature) return ctx->status;
    }
    if (t->tensors & VN_IV_TENSOR_MASKS) {
        p->masks = named(ctx, vn_param(ctx, 1, &u->width), u->key, "masks");
        if (!p->masks) return ctx->status;
        for (size_t j = 0; j < u->width; j++) p->masks->value.data[j] = (vn_real)t->masks_init;
    }
    u->params = p;
    return VN_OK;
}

vn_status vn_iv_model_init(vn_iv_model *m, vn_context *ctx, vn_mlp *mlp, const vn_iv_config *config,
                           const vn_iv_model_options *options) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!m || !mlp || !config) return vn_context_fail(ctx, VN_EINVAL, "intervenable model: NULL argument");
    char err[sizeof ctx->message];
    vn_status status = vn_iv_config_check(config, &mlp->config, err, sizeof err);
    if (status != VN_OK) return vn_context_fail(ctx, status, "%s", err);
    vn_iv_model_options defaults = {0};
    if (!options) options = &defaults;
    *m = (vn_iv_model){0};
    m->mlp = mlp;
    m->h = (size_t)mlp->config.h_dim;
    m->config = *config;
    size_t count = config->count;
    vn_iv_representation *reps = vn_context_scratch(ctx, count * sizeof *reps);
    m->units = vn_context_scratch(ctx, count * sizeof *m->units);
    size_t *groups = vn_context_scratch(ctx, count * sizeof *groups);
    if (!reps || !m->units || !groups) return ctx->status;
    m->config.representations = reps;
    if ((status = vn_iv_config_groups(config, groups, &m->n_groups, err, sizeof err)) != VN_OK)
        return vn_context_fail(ctx, status, "%s", err);
    for (size_t i = 0; i < count; i++) {
        reps[i] = config->representations[i];
        if (reps[i].partition && !(reps[i].partition = copy_partition(ctx, &config->representations[i])))
            return ctx->status;
        vn_iv_unit *u = &m->units[i];
        *u = (vn_iv_unit){0};
        u->rep = &reps[i];
        u->type = reps[i].type;
        vn_iv_config_key(&m->config, i, u->key, sizeof u->key);
        u->units = (size_t)reps[i].max_number_of_units;
        u->width = vn_iv_representation_width(&reps[i], m->h);
        u->coords = vn_iv_representation_coords(&reps[i], m->h);
        u->group = groups[i];
        u->owner = i;
        for (size_t j = 0; reps[i].has_link_key && j < i; j++) {
            if (reps[j].has_link_key && reps[j].link_key == reps[i].link_key) {
                u->owner = j;
                break;
            }
        }
        if ((status = expand_partition(ctx, u)) != VN_OK) return status;
        if (u->type->tensors) {
            if (u->owner == i) {
                if ((status = create_params(m, ctx, i, options->rng)) != VN_OK) return status;
            } else {
                u->params = m->units[u->owner].params;
            }
        }
    }
    vn_mlp_set_training(mlp, options->model_training);
    vn_mlp_set_trainable(mlp, options->model_trainable);
    return VN_OK;
}

size_t vn_iv_model_trainable(const vn_iv_model *m, vn_node **out, size_t max) {
    size_t n = 0;
    for (size_t i = 0; i < m->config.count; i++) {
        const vn_iv_unit *u = &m->units[i];
        if (!u->params || u->owner != i) continue;
        vn_node *leaves[3] = {u->params->has_rotation ? u->params->rotation.original : NULL,
                              u->params->boundaries, u->params->masks};
        for (int k = 0; k < 3; k++) {
            if (!leaves[k]) continue;
            if (n < max) out[n] = leaves[k];
            n++;
        }
    }
    return n;
}

bool vn_iv_model_has_temperature(const vn_iv_model *m) {
    for (size_t i = 0; i < m->config.count; i++)
        if (m->units[i].params && m->units[i].params->temperature) return true;
    return false;
}

vn_status vn_iv_model_set_temperature(vn_iv_model *m, double t) {
    if (!ivt_temperature_ok(t)) return VN_EINVAL;
    for (size_t i = 0; i < m->config.count; i++)
        if (m->units[i].params && m->units[i].params->temperature)
            m->units[i].params->temperature->value.data[0] = (vn_real)t;
    return VN_OK;
}

/* ---- preparing a pass ------------------------------------------------------------------ */

static const char *side_name(bool source) { return source ? "source" : "base"; }

/* Row indices of the unit locations of the active examples on one side
 * (b·S + position), or NULL when they are the identity (every example
 * active, S = units, positions 0 … units−1 in order). Checks every
 * example's locations. */
static vn_status unit_rows(vn_context *ctx, vn_iv_unit *u, size_t index, const vn_iv_lists *lists,
                           size_t batch, size_t seq, bool source, const size_t **rows_out) {
    size_t k = u->units;
    bool given = lists && lists->offsets;
    *rows_out = NULL;
    if (!given && k > seq)
        return vn_context_fail(ctx, VN_ERANGE, "representation %zu (%s): max_number_of_units %zu exceeds the "
                               "%zu position%s of the %s; give its %s unit locations", index, u->key, k, seq,
                               seq == 1 ? "" : "s", side_name(source), side_name(source));
    bool identity = u->n_active == batch && seq == k;
    if (given) {
        for (size_t b = 0; b < batch; b++) {
            int64_t begin = lists->offsets[b], end = lists->offsets[b + 1];
            if (end - begin != (int64_t)k)
                return vn_context_fail(ctx, VN_EINVAL, "representation %zu (%s): example %zu has %lld %s unit "
                                       "location%s; max_number_of_units is %zu", index, u->key, b,
                                       (long long)(end - begin), side_name(source), end - begin == 1 ? "" : "s", k);
            for (size_t j = 0; j < k; j++) {
                int64_t p = lists->values[begin + (int64_t)j];
                if (p < 0 || (uint64_t)p >= seq)
                    return vn_context_fail(ctx, VN_ERANGE, "representation %zu (%s): example %zu: %s unit location "
                                           "%lld is out of range (the %s has %zu position%s)", index, u->key, b,
                                           side_name(source), (long long)p, side_name(source), seq,
                                           seq == 1 ? "" : "s");
                identity &= (size_t)p == j;
            }
        }
    }
    if (identity) return VN_OK;
    size_t *rows = vn_context_scratch(ctx, (u->n_active * k + 1) * sizeof *rows);
    if (!rows) return ctx->status;
    for (size_t a = 0; a < u->n_active; a++) {
        size_t b = u->active[a];
        for (size_t j = 0; j < k; j++) {
            size_t p = given ? (size_t)lists->values[lists->offsets[b] + (int64_t)j] : j;
            rows[a * k + j] = b * seq + p;
        }
    }
    *rows_out = rows;
    return VN_OK;
}

/* Sets the coordinates selected by example b's subspace list in row[0..c). */
static void select_coords(const vn_iv_unit *u, const vn_iv_lists *s, size_t b, vn_real *row) {
    for (int64_t e = s->offsets[b]; e < s->offsets[b + 1]; e++) {
        size_t id = (size_t)s->values[e];
        if (!u->rep->partition) {
            row[id] = 1;
            continue;
        }
        for (size_t q = u->part_offsets[id]; q < u->part_offsets[id + 1]; q++) row[u->part_coords[q]] = 1;
    }
}

/* The CONST 0/1 mask over the type's coordinates: one row shared by all
 * (no subspaces, or the same list for every active example) or one row per
 * row the op sees (per example, repeated over units for unit-wise types). */
static vn_status build_mask(vn_context *ctx, vn_iv_unit *u, size_t index, const vn_iv_lists *s,
                            size_t batch) {
    size_t c = u->coords;
    bool given = s && s->offsets;
    if (given) {
        for (size_t b = 0; b < batch; b++) {
            if (s->offsets[b + 1] < s->offsets[b])
                return vn_context_fail(ctx, VN_EINVAL, "representation %zu (%s): example %zu: malformed subspace "
                                       "list", index, u->key, b);
            for (int64_t e = s->offsets[b]; e < s->offsets[b + 1]; e++) {
                int64_t id = s->values[e];
                size_t limit = u->rep->partition ? u->n_parts : c;
                if (id < 0 || (uint64_t)id >= limit)
                    return vn_context_fail(ctx, VN_ERANGE, "representation %zu (%s): example %zu: subspace %lld is "
                                           "out of range (%s %zu %s)", index, u->key, b, (long long)id,
                                           u->rep->partition ? "the partition has" : "no partition: raw coordinates of",
                                           limit, u->rep->partition ? "entries" : "coordinates");
            }
        }
    }
    bool uniform = true;
    if (given && u->n_active > 0) {
        size_t first = u->active[0];
        int64_t len = s->offsets[first + 1] - s->offsets[first];
        for (size_t a = 1; a < u->n_active && uniform; a++) {
            size_t b = u->active[a];
            uniform = s->offsets[b + 1] - s->offsets[b] == len;
            for (int64_t e = 0; uniform && e < len; e++)
                uniform = s->values[s->offsets[b] + e] == s->values[s->offsets[first] + e];
        }
    }
    size_t per_example = u->type->unitwise ? u->units : 1;
    size_t rows = uniform ? 1 : u->n_active * per_example;
    size_t shape[2] = {rows, c};
    u->mask = vn_constant(ctx, 2, shape);
    if (!u->mask) return ctx->status;
    vn_real *data = u->mask->value.data;
    if (!given) {
        for (size_t j = 0; j < c; j++) data[j] = 1;
        return VN_OK;
    }
    if (uniform) {
        select_coords(u, s, u->active[0], data);
        return VN_OK;
    }
    for (size_t a = 0; a < u->n_active; a++) {
        vn_real *row = data + a * per_example * c;
        select_coords(u, s, u->active[a], row);
        for (size_t j = 1; j < per_example; j++) vn_copy(row + j * c, row, c);
    }
    return VN_OK;
}

static vn_status prepare_unit(vn_iv_model *m, vn_context *ctx, const vn_iv_inputs *in, size_t i,
                              size_t batch, size_t seq) {
    vn_iv_unit *u = &m->units[i];
    u->applies = false;
    u->n_active = 0;
    u->active = NULL;
    u->base_rows = u->source_rows = NULL;
    u->mask = u->source = NULL;
    vn_node *source = in->sources[u->group];
    bool needs_source = u->type->source != VN_IV_SOURCE_NONE;
    if (needs_source && !source) return VN_OK;
    const uint8_t *flags = in->active ? in->active[u->group] : NULL;
    size_t *active = vn_context_scratch(ctx, (batch + 1) * sizeof *active);
    if (!active) return ctx->status;
    for (size_t b = 0; b < batch; b++)
        if (!flags || flags[b]) active[u->n_active++] = b;
    u->active = active;
    if (u->n_active == 0) return VN_OK;
    u->applies = true;
    vn_status status = unit_rows(ctx, u, i, in->base_locations ? &in->base_locations[i] : NULL, batch, seq,
                                 false, &u->base_rows);
    if (status == VN_OK && needs_source)
        status = unit_rows(ctx, u, i, in->source_locations ? &in->source_locations[i] : NULL, batch,
                           source->value.shape[1], true, &u->source_rows);
    if (status == VN_OK && u->type->uses_subspaces)
        status = build_mask(ctx, u, i, in->subspaces ? &in->subspaces[i] : NULL, batch);
    return status;
}

/* ---- the hooks ----------------------------------------------------------------------------- */

static bool at_site(const vn_iv_unit *u, vn_nn_site site) {
    return site.layer == u->rep->layer && site.component == u->rep->component;
}

/* Where a getter takes the unit's source: its site, or (Skip) the input of
 * its site's module, which for every supported component is the layer's
 * block_input. */
static bool at_source_site(const vn_iv_unit *u, vn_nn_site site) {
    if (u->type->source == VN_IV_SOURCE_MODULE_INPUT)
        return site.layer == u->rep->layer && site.component == VN_NN_BLOCK_INPUT;
    return at_site(u, site);
}

/* The unit's rows of a site tensor: the tensor itself (identity) or a gather. */
static vn_node *gather(vn_context *ctx, const vn_iv_unit *u, vn_node *site, const size_t *rows,
                       size_t h) {
    if (!rows) return site;
    size_t shape[3] = {u->n_active, u->units, h};
    return vn_iv_gather_units(ctx, site, rows, u->n_active * u->units, 3, shape);
}

static vn_node *intervene(pass_state *ps, vn_context *ctx, size_t i, vn_node *node) {
    vn_iv_model *m = ps->model;
    vn_iv_unit *u = &m->units[i];
    if (u->type->source != VN_IV_SOURCE_NONE && !u->source) {
        vn_context_fail(ctx, VN_EINVAL, "representation %zu (%s): its source run did not reach its site",
                        i, u->key);
        return NULL;
    }
    const char *outer = ctx->scope;
    vn_context_set_scope(ctx, u->key);
    vn_iv_params *p = u->params;
    if (p && p->has_rotation && !p->weight) p->weight = vn_iv_rotation_weight(&p->rotation, ctx);
    vn_iv_apply_args args = {0};
    args.base = gather(ctx, u, node, u->base_rows, m->h);
    args.source = u->source;
    args.mask = u->mask;
    if (p) {
        args.rotation = p->weight;
        args.boundaries = p->boundaries;
        args.temperature = p->temperature;
        args.masks = p->masks;
    }
    vn_node *y = args.base && (!p || !p->has_rotation || p->weight) ? u->type->apply(ctx, &args) : NULL;
    if (y && u->type->collects) {
        ps->out->collected[i] = y;
        y = node;
    } else if (y && u->base_rows) {
        y = vn_iv_scatter_units(ctx, node, y, u->base_rows, u->n_active * u->units);
    }
    vn_context_set_scope(ctx, outer);
    return y;
}

static vn_node *hook(void *user, vn_context *ctx, vn_nn_site site, vn_node *node) {
    pass_state *ps = user;
    vn_iv_model *m = ps->model;
    for (size_t i = 0; i < m->config.count && node; i++) {
        vn_iv_unit *u = &m->units[i];
        if (!u->applies) continue;
        if (m->phase == PHASE_SOURCE) {
            if (u->group != m->phase_group || u->type->source == VN_IV_SOURCE_NONE || !at_source_site(u, site))
                continue;
            u->source = gather(ctx, u, node, u->source_rows, m->h);
            if (!u->source) return NULL;
        } else if (m->phase == PHASE_BASE && at_site(u, site)) {
            node = intervene(ps, ctx, i, node);
        }
    }
    return node;
}

/* ---- the pass ------------------------------------------------------------------------------ */

/* base (group == NONE) or source g: (B, S, h) with S ≥ 1 and, for a
 * source, the base's B. */
#define NONE ((size_t)-1)
static vn_status check_tensor(vn_context *ctx, const vn_node *x, size_t g, size_t h, size_t batch) {
    char shape[64], what[32];
    if (g == NONE) vn_format(what, sizeof what, "base");
    else vn_format(what, sizeof what, "source %zu", g);
    if (x->value.ndim != 3 || x->value.shape[2] != h || x->value.shape[1] == 0)
        return vn_context_fail(ctx, VN_ESHAPE, "%s: shape %s, expected (B, S, %zu) with S >= 1", what,
                               vn_shape_string(&x->value, shape, sizeof shape), h);
    if (batch != NONE && x->value.shape[0] != batch)
        return vn_context_fail(ctx, VN_ESHAPE, "batch mismatch: %s has %zu examples, the base has %zu", what,
                               x->value.shape[0], batch);
    return VN_OK;
}

/* Runs the MLP on x with the model's hook in the given phase. A source run
 * stops after the last layer where its group collects (nothing later can
 * reach the counterfactual) and returns that layer's output; the base run
 * returns the logits. */
static vn_node *run(vn_iv_model *m, vn_context *ctx, pass_state *ps, int phase, size_t group, vn_node *x) {
    m->phase = phase;
    m->phase_group = group;
    vn_mlp_set_hook(m->mlp, hook, ps);
    vn_node *out;
    if (phase == PHASE_SOURCE) {
        int64_t last = 0;
        for (size_t i = 0; i < m->config.count; i++)
            if (m->units[i].applies && m->units[i].group == group && m->units[i].rep->layer > last)
                last = m->units[i].rep->layer;
        out = vn_mlp_forward_blocks(m->mlp, ctx, x, last);
    } else {
        out = vn_mlp_forward(m->mlp, ctx, x);
    }
    m->phase = PHASE_NONE;
    return out;
}

vn_status vn_iv_forward(vn_iv_model *m, vn_context *ctx, const vn_iv_inputs *in, vn_iv_outputs *out) {
    if (ctx->status != VN_OK) return ctx->status;
    if (!m || !in || !out || !in->base)
        return vn_context_fail(ctx, VN_EINVAL, "intervenable forward: NULL %s",
                               !m ? "model" : !in ? "inputs" : !out ? "outputs" : "base");
    for (size_t i = 0; i < VN_IV_MAX_REPRESENTATIONS; i++) {
        out->collected[i] = NULL;
        out->applied[i] = 0;
    }
    out->base_logits = out->counterfactual_logits = NULL;
    for (size_t i = 0; i < m->config.count; i++) {
        m->units[i].applies = false;
        if (m->units[i].params) m->units[i].params->weight = NULL;
    }
    vn_status status = check_tensor(ctx, in->base, NONE, m->h, NONE);
    if (status != VN_OK) return status;
    size_t batch = in->base->value.shape[0], seq = in->base->value.shape[1];
    bool plain = in->sources == NULL;
    if (!plain && in->n_sources != m->n_groups)
        return vn_context_fail(ctx, VN_EINVAL, "wrong number of sources: %zu given for %zu group%s (one per "
                               "group, NULL for pyvene's None)", in->n_sources, m->n_groups,
                               m->n_groups == 1 ? "" : "s");
    for (size_t g = 0; !plain && g < m->n_groups; g++)
        if (in->sources[g] && (status = check_tensor(ctx, in->sources[g], g, m->h, batch)) != VN_OK)
            return status;
    vn_nn_hook_fn saved_hook = m->mlp->hook;
    void *saved_user = m->mlp->hook_user;
    if (plain || in->base_logits) {
        bool grad = vn_context_set_grad(ctx, false);
        vn_mlp_set_hook(m->mlp, NULL, NULL);
        out->base_logits = vn_mlp_forward(m->mlp, ctx, in->base);
        vn_context_set_grad(ctx, grad);
        vn_mlp_set_hook(m->mlp, saved_hook, saved_user);
        if (!out->base_logits) return ctx->status;
    }
    if (plain) return VN_OK;
    for (size_t i = 0; i < m->config.count; i++)
        if ((status = prepare_unit(m, ctx, in, i, batch, seq)) != VN_OK) return status;
    pass_state ps = {m, out};
    for (size_t g = 0; g < m->n_groups && ctx->status == VN_OK; g++) {
        bool needed = false;
        for (size_t i = 0; i < m->config.count; i++)
            needed |= m->units[i].applies && m->units[i].group == g &&
                      m->units[i].type->source != VN_IV_SOURCE_NONE;
        if (needed) run(m, ctx, &ps, PHASE_SOURCE, g, in->sources[g]);
    }
    if (ctx->status == VN_OK) out->counterfactual_logits = run(m, ctx, &ps, PHASE_BASE, 0, in->base);
    vn_mlp_set_hook(m->mlp, saved_hook, saved_user);
    for (size_t i = 0; i < m->config.count; i++) out->applied[i] = m->units[i].applies ? m->units[i].n_active : 0;
    return ctx->status;
}
