/* vn_model_dir.c — the model directory's config.json and model.safetensors. */
#include "vn_model_dir.h"
#include "vn_json.h"
#include "vn_safetensors.h"

typedef enum field_kind { K_INT, K_NUMBER, K_BOOL, K_STRING, K_PROBLEM, K_MODEL_TYPE } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    size_t offset;
} field;

#define FIELD(name, kind) {#name, kind, offsetof(vn_mlp_config, name)}
static const field fields[] = {
    {"model_type", K_MODEL_TYPE, 0},
    FIELD(h_dim, K_INT),
    FIELD(n_layer, K_INT),
    FIELD(num_classes, K_INT),
    FIELD(activation_function, K_STRING),
    FIELD(pdrop, K_NUMBER),
    FIELD(include_bias, K_BOOL),
    FIELD(squeeze_output, K_BOOL),
    FIELD(include_emb, K_BOOL),
    FIELD(vocab_size, K_INT),
    FIELD(max_position_embeddings, K_INT),
    FIELD(problem_type, K_PROBLEM),
};

static vn_status read_field(const field *f, const vn_json_value *v, vn_mlp_config *c, char *err,
                            size_t err_size) {
    char detail[240], what[48];
    vn_format(what, sizeof what, "\"%s\"", f->name);
    unsigned char *at = (unsigned char *)c + f->offset;
    vn_status status = VN_OK;
    const char *s;
    size_t length;
    switch (f->kind) {
    case K_INT: status = vn_json_get_int64(v, what, (int64_t *)(void *)at, detail, sizeof detail); break;
    case K_NUMBER: status = vn_json_get_number(v, what, (double *)(void *)at, detail, sizeof detail); break;
    case K_BOOL: status = vn_json_get_bool(v, what, (bool *)(void *)at, detail, sizeof detail); break;
    case K_STRING:
        status = vn_json_get_string(v, what, &s, &length, detail, sizeof detail);
        if (status == VN_OK && length >= sizeof c->activation_function)
            return vn_message(err, err_size, VN_EFORMAT, "model config: %s is too long", what);
        if (status == VN_OK) vn_strlcpy((char *)at, s, sizeof c->activation_function);
        break;
    case K_PROBLEM:
        if (v->type == VN_JSON_NULL) {
            c->problem_type = VN_PROBLEM_NONE;
            break;
        }
        status = vn_json_get_string(v, what, &s, NULL, detail, sizeof detail);
        if (status == VN_OK && vn_problem_type_lookup(s, &c->problem_type, detail, sizeof detail) != VN_OK)
            status = VN_EFORMAT;
        break;
    case K_MODEL_TYPE:
        status = vn_json_get_string(v, what, &s, NULL, detail, sizeof detail);
        if (status == VN_OK && vn_strcmp(s, "mlp") != 0)
            return vn_message(err, err_size, VN_EFORMAT, "model config: model_type \"%.40s\" is not supported "
                          "(only \"mlp\")", s);
        break;
    }
    if (status != VN_OK) return vn_message(err, err_size, VN_EFORMAT, "model config: %s", detail);
    return VN_OK;
}

static vn_status parse_config(const void *bytes, size_t size, vn_arena *scratch, vn_mlp_config *out,
                              vn_write_fn warn, void *warn_user, char *err, size_t err_size) {
    const vn_json_value *root;
    char detail[240];
    vn_status status = vn_json_parse(bytes, size, scratch, &root, detail, sizeof detail);
    if (status != VN_OK) return vn_message(err, err_size, status, "model config: %s", detail);
    if (root->type != VN_JSON_OBJECT)
        return vn_message(err, err_size, VN_EFORMAT, "model config: expected a JSON object, found %s",
                      vn_json_type_name(root->type));
    vn_mlp_config c = vn_mlp_config_default();
    for (size_t k = 0; k < vn_json_length(root); k++) {
        const vn_json_member *m = vn_json_member_at(root, k);
        const field *f = NULL;
        /* Compared with the key's length: "h_dim\u0000" is not "h_dim". */
        for (size_t j = 0; j < VN_ARRAY_COUNT(fields) && !f; j++)
            if (vn_str_equal_n(m->key, m->key_length, fields[j].name)) f = &fields[j];
        if (!f) {
            if (warn) {
                char line[160];
                size_t n = vn_format(line, sizeof line, "model config: ignoring unknown key \"%.80s%s\"\n", m->key,
                                     vn_strlen(m->key) < m->key_length ? "\\u0000..." : "");
                warn(warn_user, line, n < sizeof line ? n : sizeof line - 1);
            }
            continue;
        }
        if ((status = read_field(f, m->value, &c, err, err_size)) != VN_OK) return status;
    }
    if ((status = vn_mlp_config_check(&c, detail, sizeof detail)) != VN_OK)
        return vn_message(err, err_size, status, "%s", detail);
    *out = c;
    return VN_OK;
}

vn_status vn_model_config_parse(const void *bytes, size_t size, vn_arena *scratch, vn_mlp_config *out,
                                vn_write_fn warn, void *warn_user, char *err, size_t err_size) {
    if (!bytes || !scratch || !out) return vn_message(err, err_size, VN_EINVAL, "model config: NULL argument");
    vn_arena_mark mark = vn_arena_get_mark(scratch);
    vn_status status = parse_config(bytes, size, scratch, out, warn, warn_user, err, err_size);
    vn_arena_rewind(scratch, mark);
    return status;
}

vn_status vn_model_config_write(const vn_mlp_config *c, vn_write_fn write, void *user) {
    vn_json_writer w;
    vn_json_writer_init(&w, write, user, 1);
    vn_json_begin_object(&w);
    vn_json_key(&w, "model_type");
    vn_json_string(&w, "mlp");
    vn_json_key(&w, "h_dim");
    vn_json_integer(&w, c->h_dim);
    vn_json_key(&w, "n_layer");
    vn_json_integer(&w, c->n_layer);
    vn_json_key(&w, "num_classes");
    vn_json_integer(&w, c->num_classes);
    vn_json_key(&w, "activation_function");
    vn_json_string(&w, c->activation_function);
    vn_json_key(&w, "pdrop");
    vn_json_number(&w, c->pdrop);
    vn_json_key(&w, "include_bias");
    vn_json_bool(&w, c->include_bias);
    vn_json_key(&w, "squeeze_output");
    vn_json_bool(&w, c->squeeze_output);
    vn_json_key(&w, "include_emb");
    vn_json_bool(&w, c->include_emb);
    vn_json_key(&w, "vocab_size");
    vn_json_integer(&w, c->vocab_size);
    vn_json_key(&w, "max_position_embeddings");
    vn_json_integer(&w, c->max_position_embeddings);
    vn_json_key(&w, "problem_type");
    if (c->problem_type == VN_PROBLEM_NONE) vn_json_null(&w);
    else vn_json_string(&w, vn_problem_type_name(c->problem_type));
    vn_json_end_object(&w);
    vn_status status = vn_json_writer_finish(&w);
    if (status == VN_OK && write(user, "\n", 1) != 0) status = VN_EIO;
    return status;
}

static vn_status load_params(vn_mlp *model, const void *bytes, size_t size, vn_arena *scratch, char *err,
                             size_t err_size) {
    vn_safetensors st;
    char detail[240];
    vn_status status = vn_safetensors_open(&st, bytes, size, scratch, detail, sizeof detail);
    if (status != VN_OK) return vn_message(err, err_size, status, "model weights: %s", detail);
    size_t count;
    const vn_nn_param *params = vn_mlp_params(model, &count);
    for (size_t i = 0; i < st.count; i++) {
        /* A name with a NUL inside ("score.bias\u0000x") is no parameter's. */
        const vn_safetensors_entry *e = &st.entries[i];
        bool nul = vn_strlen(e->name) != e->name_length;
        if (nul || !vn_mlp_param_find(model, e->name))
            return vn_message(err, err_size, VN_EFORMAT, "model weights: tensor \"%.80s%s\" is not a parameter of "
                          "this model (config: %lld layers, include_bias %s)", e->name, nul ? "\\u0000..." : "",
                          (long long)model->config.n_layer, model->config.include_bias ? "true" : "false");
    }
    for (size_t i = 0; i < count; i++) {
        const vn_safetensors_entry *e = vn_safetensors_find(&st, params[i].name);
        const vn_tensor *want = &params[i].node->value;
        if (!e) return vn_message(err, err_size, VN_EFORMAT, "model weights: missing tensor \"%s\"", params[i].name);
        bool same = e->ndim == want->ndim;
        for (int d = 0; same && d < e->ndim; d++) same = e->shape[d] == want->shape[d];
        if (!same) {
            char shape[64];
            return vn_message(err, err_size, VN_ESHAPE, "model weights: tensor \"%s\" has %d dimension%s where the "
                          "config expects shape %s", params[i].name, e->ndim, e->ndim == 1 ? "" : "s",
                          vn_shape_string(want, shape, sizeof shape));
        }
        if ((status = vn_safetensors_read_real(e, want->data, want->numel, detail, sizeof detail)) != VN_OK)
            return vn_message(err, err_size, status, "model weights: %s", detail);
    }
    return VN_OK;
}

vn_status vn_model_load_params(vn_mlp *model, const void *bytes, size_t size, vn_arena *scratch,
                               char *err, size_t err_size) {
    if (!model || !bytes || !scratch) return vn_message(err, err_size, VN_EINVAL, "model weights: NULL argument");
    vn_arena_mark mark = vn_arena_get_mark(scratch);
    vn_status status = load_params(model, bytes, size, scratch, err, err_size);
    vn_arena_rewind(scratch, mark);
    return status;
}

vn_status vn_model_save_params(const vn_mlp *model, vn_arena *scratch, vn_write_fn write, void *user,
                               char *err, size_t err_size) {
    if (!model || !scratch) return vn_message(err, err_size, VN_EINVAL, "model weights: NULL argument");
    size_t count;
    const vn_nn_param *params = vn_mlp_params(model, &count);
    vn_arena_mark mark = vn_arena_get_mark(scratch);
    vn_safetensors_item *items = vn_arena_alloc(scratch, (count + 1) * sizeof *items, 0);
    if (!items) return vn_message(err, err_size, VN_ENOMEM, "model weights: out of memory");
    for (size_t i = 0; i < count; i++)
        items[i] = vn_safetensors_item_real(params[i].name, &params[i].node->value, VN_ST_REAL);
    vn_status status = vn_safetensors_write(write, user, items, count, NULL, 0, err, err_size);
    vn_arena_rewind(scratch, mark);
    return status;
}
