/* vn_iv_units.c — the unit gather and scatter ops (see vn_iv_units.h).
 * attrs: p[0] = index (size_t array), i[0] = count; gather also i[1] = ndim
 * and i[2 + d] = the output's size d. */
#include "vn_iv_units.h"
#include "vn_op_util.h"

static vn_status check_index(vn_context *ctx, vn_node *out, const vn_tensor *x) {
    const size_t *index = out->attrs.p[0];
    size_t count = (size_t)out->attrs.i[0], rows = vn_tensor_rows(x);
    if (out->attrs.i[0] < 0 || (count && !index) || x->ndim < 1)
        return vn_context_fail(ctx, VN_EINVAL, "%s: bad index list", out->op->name);
    for (size_t r = 0; r < count; r++)
        if (index[r] >= rows)
            return vn_context_fail(ctx, VN_ERANGE, "%s: row %zu is past the %zu rows of the site",
                                   out->op->name, index[r], rows);
    return VN_OK;
}

/* ---- gather ------------------------------------------------------------------------ */

static vn_status gather_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    vn_status status = check_index(ctx, out, x);
    if (status != VN_OK) return status;
    int ndim = (int)out->attrs.i[1];
    size_t shape[VN_MAX_DIMS], numel;
    if (ndim < 1 || ndim > VN_MAX_DIMS)
        return vn_context_fail(ctx, VN_EINVAL, "%s: %d output dimensions", out->op->name, ndim);
    for (int d = 0; d < ndim; d++) {
        if (out->attrs.i[2 + d] < 0) return vn_context_fail(ctx, VN_EINVAL, "%s: negative size", out->op->name);
        shape[d] = (size_t)out->attrs.i[2 + d];
    }
    vn_tensor t;
    if ((status = vn_tensor_set_shape(&t, ndim, shape)) != VN_OK)
        return vn_context_fail(ctx, status, "%s: shape overflow", out->op->name);
    if (!vn_size_mul((size_t)out->attrs.i[0], vn_tensor_cols(x), &numel) || numel != t.numel) {
        char st[64];
        return vn_context_fail(ctx, VN_ESHAPE, "%s: %lld rows of %zu do not fill shape %s", out->op->name,
                               (long long)out->attrs.i[0], vn_tensor_cols(x), vn_shape_string(&t, st, sizeof st));
    }
    return vn_infer_like(ctx, out, &t);
}

static void gather_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    vn_gather_rows(out->value.data, x->data, out->attrs.p[0], (size_t)out->attrs.i[0], vn_tensor_cols(x));
}

static vn_status gather_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dx[index[r]] += dy[r] */
    const vn_tensor *x = &out->inputs[0]->value;
    vn_scatter_add_rows(vn_input_grad(out, 0), out->grad.data, out->attrs.p[0], (size_t)out->attrs.i[0],
                        vn_tensor_cols(x));
    return VN_OK;
}

/* Cases: 3 of 6 rows of (2, 3, 4) (one repeated) as (3, 4); 4 rows of a
 * (5, 2) matrix as (2, 2, 2). */
static vn_node *gather_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t idx0[3] = {4, 1, 4}, idx1[4] = {0, 3, 2, 4};
    if (index == 0) {
        size_t xs[3] = {2, 3, 4}, ys[2] = {3, 4};
        vn_node *x = vn_example_param(ctx, rng, 3, xs, -1, 1);
        return vn_iv_gather_units(ctx, x, idx0, 3, 2, ys);
    }
    if (index == 1) {
        size_t xs[2] = {5, 2}, ys[3] = {2, 2, 2};
        vn_node *x = vn_example_param(ctx, rng, 2, xs, -1, 1);
        return vn_iv_gather_units(ctx, x, idx1, 4, 3, ys);
    }
    return NULL;
}

const vn_op vn_iv_op_gather_units = {
    .name = "iv_gather_units",
    .min_inputs = 1,
    .max_inputs = 1,
    .infer = gather_infer,
    .forward = gather_forward,
    .backward = gather_backward,
    .example = gather_example,
    .summary = "rows of the site at the unit locations",
};

vn_node *vn_iv_gather_units(vn_context *ctx, vn_node *x, const size_t *index, size_t count, int ndim,
                            const size_t *shape) {
    if (ctx->status != VN_OK) return NULL;
    if (ndim < 1 || ndim > VN_MAX_DIMS || !shape || count > (size_t)INT64_MAX) {
        vn_context_fail(ctx, VN_EINVAL, "iv_gather_units: bad output shape");
        return NULL;
    }
    vn_attrs attrs = {0};
    attrs.p[0] = index;
    attrs.i[0] = (int64_t)count;
    attrs.i[1] = ndim;
    for (int d = 0; d < ndim; d++) attrs.i[2 + d] = shape[d] > (size_t)INT64_MAX ? -1 : (int64_t)shape[d];
    return vn_apply(ctx, &vn_iv_op_gather_units, &x, 1, &attrs);
}

/* ---- scatter ------------------------------------------------------------------------ */

/* Saved: last[rows] (the last r writing each row, valid for written rows),
 * replaced[rows] and won[count] flags. */
typedef struct scatter_saved {
    size_t *last;
    unsigned char *replaced, *won;
} scatter_saved;

static scatter_saved scatter_layout(void *saved, size_t rows) {
    scatter_saved s;
    s.last = saved;
    s.replaced = (unsigned char *)(s.last + rows);
    s.won = s.replaced + rows;
    return s;
}

static vn_status scatter_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value, *z = &out->inputs[1]->value;
    vn_status status = check_index(ctx, out, x);
    if (status != VN_OK) return status;
    size_t count = (size_t)out->attrs.i[0], rows = vn_tensor_rows(x), numel, bytes;
    if (!vn_size_mul(count, vn_tensor_cols(x), &numel) || numel != z->numel) {
        char sz[64];
        return vn_context_fail(ctx, VN_ESHAPE, "%s: %zu rows of %zu do not match the values of shape %s",
                               out->op->name, count, vn_tensor_cols(x), vn_shape_string(z, sz, sizeof sz));
    }
    if (!vn_size_mul(rows, sizeof(size_t) + 1, &bytes) || !vn_size_add(bytes, count, &bytes))
        return vn_context_fail(ctx, VN_EOVERFLOW, "%s: size overflow", out->op->name);
    out->saved_bytes = bytes;
    return vn_infer_like(ctx, out, x);
}

static void scatter_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    const size_t *index = out->attrs.p[0];
    size_t count = (size_t)out->attrs.i[0], rows = vn_tensor_rows(x), h = vn_tensor_cols(x);
    scatter_saved s = scatter_layout(out->saved, rows);
    for (size_t i = 0; i < rows; i++) s.replaced[i] = 0;
    for (size_t r = 0; r < count; r++) {
        s.last[index[r]] = r;
        s.replaced[index[r]] = 1;
    }
    for (size_t r = 0; r < count; r++) s.won[r] = s.last[index[r]] == r;
    vn_copy(out->value.data, x->data, x->numel);
    for (size_t r = 0; r < count; r++)
        if (s.won[r]) vn_copy(out->value.data + index[r] * h, vn_input_value(out, 1) + r * h, h);
}

static vn_status scatter_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dx = dy off the replaced rows;  dz[r] = dy[index[r]] for the winners */
    const vn_tensor *x = &out->inputs[0]->value;
    const size_t *index = out->attrs.p[0];
    size_t count = (size_t)out->attrs.i[0], rows = vn_tensor_rows(x), h = vn_tensor_cols(x);
    scatter_saved s = scatter_layout(out->saved, rows);
    vn_real *dx = vn_input_grad(out, 0), *dz = vn_input_grad(out, 1);
    if (dx)
        for (size_t i = 0; i < rows; i++)
            if (!s.replaced[i]) vn_axpy(dx + i * h, out->grad.data + i * h, h, 1);
    if (dz)
        for (size_t r = 0; r < count; r++)
            if (s.won[r]) vn_axpy(dz + r * h, out->grad.data + index[r] * h, h, 1);
    return VN_OK;
}

/* Cases: 2 of 6 rows of (2, 3, 4) replaced; 3 writes into (4, 3) with one
 * row written twice (the last wins). */
static vn_node *scatter_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t idx0[2] = {5, 1}, idx1[3] = {2, 0, 2};
    if (index == 0) {
        size_t xs[3] = {2, 3, 4}, zs[3] = {2, 1, 4};
        vn_node *x = vn_example_param(ctx, rng, 3, xs, -1, 1);
        vn_node *z = vn_example_param(ctx, rng, 3, zs, -1, 1);
        return vn_iv_scatter_units(ctx, x, z, idx0, 2);
    }
    if (index == 1) {
        size_t xs[2] = {4, 3}, zs[2] = {3, 3};
        vn_node *x = vn_example_param(ctx, rng, 2, xs, -1, 1);
        vn_node *z = vn_example_param(ctx, rng, 2, zs, -1, 1);
        return vn_iv_scatter_units(ctx, x, z, idx1, 3);
    }
    return NULL;
}

const vn_op vn_iv_op_scatter_units = {
    .name = "iv_scatter_units",
    .min_inputs = 2,
    .max_inputs = 2,
    .infer = scatter_infer,
    .forward = scatter_forward,
    .backward = scatter_backward,
    .example = scatter_example,
    .summary = "the site with rows at the unit locations replaced (out of place)",
};

vn_node *vn_iv_scatter_units(vn_context *ctx, vn_node *x, vn_node *z, const size_t *index,
                             size_t count) {
    if (ctx->status != VN_OK) return NULL;
    if (count > (size_t)INT64_MAX) {
        vn_context_fail(ctx, VN_EINVAL, "iv_scatter_units: bad index count");
        return NULL;
    }
    vn_attrs attrs = {0};
    attrs.p[0] = index;
    attrs.i[0] = (int64_t)count;
    vn_node *inputs[2] = {x, z};
    return vn_apply(ctx, &vn_iv_op_scatter_units, inputs, 2, &attrs);
}
