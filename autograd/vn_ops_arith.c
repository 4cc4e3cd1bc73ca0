/* vn_ops_arith.c — add, sub, mul, div, matmul, reshape, slice, concat,
 * mask_mix. Each op's shape rule, forward and backward sit together. */
#include "vn_ops.h"
#include "vn_op_util.h"

/* ---- binary family: y = a (op) b, b broadcasting ------------------------- */

typedef struct binary_info {
    vn_binary_kind kind;
    double b_low, b_high; /* range of b in gradcheck examples */
} binary_info;

static vn_status binary_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *a = &out->inputs[0]->value, *b = &out->inputs[1]->value;
    if (!vn_broadcasts(a, b)) return vn_fail_shapes(ctx, out->op->name, "does not broadcast to", a, b);
    return vn_infer_like(ctx, out, a);
}

static void binary_forward(vn_node *out) {
    const binary_info *info = out->op->data;
    vn_binary(out->value.data, vn_input_value(out, 0), vn_input_value(out, 1),
              out->value.numel, out->inputs[1]->value.numel, info->kind);
}

static vn_status binary_backward(vn_context *ctx, vn_node *out) {
    (void)ctx;
    const binary_info *info = out->op->data;
    const vn_real *g = out->grad.data, *a = vn_input_value(out, 0), *b = vn_input_value(out, 1);
    vn_real *da = vn_input_grad(out, 0), *db = vn_input_grad(out, 1);
    size_t n = out->value.numel, bn = out->inputs[1]->value.numel;
    /* One loop per kind and operand, so each inner loop is branch-free. */
    switch (info->kind) {
    case VN_BINARY_ADD: /* dA = G, dB = Σ G */
    case VN_BINARY_SUB: /* dA = G, dB = −Σ G */
        if (da) vn_axpy(da, g, n, 1);
        if (db && info->kind == VN_BINARY_ADD) vn_reduce_broadcast(db, g, n, bn);
        if (db && info->kind == VN_BINARY_SUB)
            for (size_t base = 0; base < n; base += bn)
                for (size_t j = 0; j < bn; j++) db[j] -= g[base + j];
        break;
    case VN_BINARY_MUL: /* dA = G ⊙ B, dB = Σ G ⊙ A */
        for (size_t base = 0; da && base < n; base += bn)
            for (size_t j = 0; j < bn; j++) da[base + j] += g[base + j] * b[j];
        for (size_t base = 0; db && base < n; base += bn)
            for (size_t j = 0; j < bn; j++) db[j] += g[base + j] * a[base + j];
        break;
    case VN_BINARY_DIV: /* dA = G ⊘ B, dB = −Σ G ⊙ A ⊘ B² */
        for (size_t base = 0; da && base < n; base += bn)
            for (size_t j = 0; j < bn; j++) da[base + j] += g[base + j] / b[j];
        for (size_t base = 0; db && base < n; base += bn)
            for (size_t j = 0; j < bn; j++) db[j] -= g[base + j] * a[base + j] / (b[j] * b[j]);
        break;
    case VN_BINARY_COUNT: VN_ASSERT(0); break;
    }
    return VN_OK;
}

/* Cases: equal shapes, a trailing row, a 0-d scalar, a trailing matrix. */
static vn_node *binary_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    static const size_t a_shapes[4][3] = {{3, 4}, {2, 3, 5}, {3, 4}, {2, 3, 5}};
    static const int a_ndims[4] = {2, 3, 2, 3};
    static const size_t b_shapes[4][2] = {{3, 4}, {5}, {1}, {3, 5}};
    static const int b_ndims[4] = {2, 1, 0, 2};
    if (index < 0 || index >= 4) return NULL;
    const binary_info *info = op->data;
    vn_node *inputs[2];
    inputs[0] = vn_example_param(ctx, rng, a_ndims[index], a_shapes[index], -2, 2);
    inputs[1] = vn_example_param(ctx, rng, b_ndims[index], b_shapes[index], info->b_low, info->b_high);
    return vn_apply(ctx, op, inputs, 2, NULL);
}

#define BINARY_OP(var, opname, kind_, low, high, text)                                      \
    static const binary_info var##_info = {kind_, low, high};                              \
    const vn_op var = {.name = opname, .min_inputs = 2, .max_inputs = 2,                    \
                       .infer = binary_infer, .forward = binary_forward,                   \
                       .backward = binary_backward, .example = binary_example,             \
                       .overwrites = true, .data = &var##_info, .summary = text}

BINARY_OP(vn_op_add, "add", VN_BINARY_ADD, -2, 2, "y = a + b (b broadcasts)");
BINARY_OP(vn_op_sub, "sub", VN_BINARY_SUB, -2, 2, "y = a - b (b broadcasts)");
BINARY_OP(vn_op_mul, "mul", VN_BINARY_MUL, -2, 2, "y = a * b (b broadcasts)");
BINARY_OP(vn_op_div, "div", VN_BINARY_DIV, 0.5, 2, "y = a / b (b broadcasts)");

static vn_node *apply2(vn_context *ctx, const vn_op *op, vn_node *a, vn_node *b) {
    vn_node *inputs[2] = {a, b};
    return vn_apply(ctx, op, inputs, 2, NULL);
}

vn_node *vn_add(vn_context *ctx, vn_node *a, vn_node *b) { return apply2(ctx, &vn_op_add, a, b); }
vn_node *vn_sub(vn_context *ctx, vn_node *a, vn_node *b) { return apply2(ctx, &vn_op_sub, a, b); }
vn_node *vn_mul(vn_context *ctx, vn_node *a, vn_node *b) { return apply2(ctx, &vn_op_mul, a, b); }
vn_node *vn_div(vn_context *ctx, vn_node *a, vn_node *b) { return apply2(ctx, &vn_op_div, a, b); }

/* ---- matmul: Y = op(A) · op(B) --------------------------------------------
 * attrs.i[0] = trans_a, attrs.i[1] = trans_b. */

typedef struct matmul_dims {
    size_t m, n, k;
    bool trans_a, trans_b;
} matmul_dims;

static matmul_dims matmul_read(const vn_node *out) {
    const vn_tensor *a = &out->inputs[0]->value, *b = &out->inputs[1]->value;
    matmul_dims d;
    d.trans_a = out->attrs.i[0] != 0;
    d.trans_b = out->attrs.i[1] != 0;
    d.k = d.trans_a ? a->shape[0] : vn_tensor_cols(a);
    d.m = d.trans_a ? a->shape[1] : vn_tensor_rows(a);
    d.n = d.trans_b ? b->shape[0] : b->shape[1];
    return d;
}

static vn_status matmul_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *a = &out->inputs[0]->value, *b = &out->inputs[1]->value;
    bool trans_a = out->attrs.i[0] != 0, trans_b = out->attrs.i[1] != 0;
    if (b->ndim != 2) return vn_fail_shapes(ctx, "matmul", "(B) must be 2-D; A is", a, b);
    if (a->ndim < 1 || (trans_a && a->ndim != 2))
        return vn_fail_shapes(ctx, "matmul", trans_a ? "needs a 2-D A; A is" : "needs A with at least 1 dim; A is", a, b);
    size_t k_a = trans_a ? a->shape[0] : vn_tensor_cols(a);
    size_t k_b = trans_b ? b->shape[1] : b->shape[0];
    if (k_a != k_b) return vn_fail_shapes(ctx, "matmul", "(B) has inner size unlike A", a, b);
    vn_tensor shape = *a;
    size_t n = trans_b ? b->shape[0] : b->shape[1];
    if (trans_a) {
        shape.shape[0] = a->shape[1];
        shape.shape[1] = n;
    } else {
        shape.shape[a->ndim - 1] = n;
    }
    return vn_infer_like(ctx, out, &shape);
}

static void matmul_forward(vn_node *out) {
    matmul_dims d = matmul_read(out);
    vn_gemm(out->value.data, vn_input_value(out, 0), vn_input_value(out, 1), d.m, d.n, d.k,
            d.trans_a, d.trans_b, false);
}

static vn_status matmul_backward(vn_context *ctx, vn_node *out) {
    (void)ctx;
    matmul_dims d = matmul_read(out);
    const vn_real *g = out->grad.data, *a = vn_input_value(out, 0), *b = vn_input_value(out, 1);
    vn_real *da = vn_input_grad(out, 0), *db = vn_input_grad(out, 1);
    /* With op(A) m×k, op(B) k×n, G m×n:  d op(A) = G · op(B)ᵀ,  d op(B) = op(A)ᵀ · G.
     * Stored transposed operands take the transpose of those. */
    if (da) {
        if (!d.trans_a) /* dA (m×k) = G · op(B)ᵀ */
            vn_gemm(da, g, b, d.m, d.k, d.n, false, !d.trans_b, true);
        else            /* dA (k×m) = op(B) · Gᵀ */
            vn_gemm(da, b, g, d.k, d.m, d.n, d.trans_b, true, true);
    }
    if (db) {
        if (!d.trans_b) /* dB (k×n) = op(A)ᵀ · G */
            vn_gemm(db, a, g, d.k, d.n, d.m, !d.trans_a, false, true);
        else            /* dB (n×k) = Gᵀ · op(A) */
            vn_gemm(db, g, a, d.n, d.k, d.m, true, d.trans_a, true);
    }
    return VN_OK;
}

/* Cases: NN, a batched Linear (NT), TN, TT. */
static vn_node *matmul_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t a_shapes[4][3] = {{3, 4}, {2, 3, 4}, {4, 3}, {4, 3}};
    static const int a_ndims[4] = {2, 3, 2, 2};
    static const size_t b_shapes[4][2] = {{4, 5}, {5, 4}, {4, 5}, {5, 4}};
    static const bool ta[4] = {false, false, true, true}, tb[4] = {false, true, false, true};
    if (index < 0 || index >= 4) return NULL;
    vn_node *a = vn_example_param(ctx, rng, a_ndims[index], a_shapes[index], -1, 1);
    vn_node *b = vn_example_param(ctx, rng, 2, b_shapes[index], -1, 1);
    return vn_matmul(ctx, a, b, ta[index], tb[index]);
}

const vn_op vn_op_matmul = {.name = "matmul", .min_inputs = 2, .max_inputs = 2,
                            .infer = matmul_infer, .forward = matmul_forward,
                            .backward = matmul_backward, .example = matmul_example,
                            .overwrites = true,
                            .summary = "Y = op(A) . op(B), either operand transposed"};

vn_node *vn_matmul(vn_context *ctx, vn_node *a, vn_node *b, bool trans_a, bool trans_b) {
    vn_attrs attrs = {0};
    attrs.i[0] = trans_a;
    attrs.i[1] = trans_b;
    vn_node *inputs[2] = {a, b};
    return vn_apply(ctx, &vn_op_matmul, inputs, 2, &attrs);
}

/* ---- reshape: same elements, new shape --------------------------------------
 * attrs.i[0] = ndim, attrs.i[1 + d] = size of dimension d. */

static vn_status reshape_infer(vn_context *ctx, vn_node *out) {
    int ndim = (int)out->attrs.i[0];
    size_t shape[VN_MAX_DIMS];
    if (ndim < 0 || ndim > VN_MAX_DIMS)
        return vn_context_fail(ctx, VN_EINVAL, "reshape: %d dimensions (at most %d)", ndim, VN_MAX_DIMS);
    for (int d = 0; d < ndim; d++) {
        if (out->attrs.i[1 + d] < 0) return vn_context_fail(ctx, VN_EINVAL, "reshape: negative size");
        shape[d] = (size_t)out->attrs.i[1 + d];
    }
    vn_tensor t;
    vn_status status = vn_tensor_set_shape(&t, ndim, shape);
    if (status != VN_OK) return vn_context_fail(ctx, status, "reshape: shape overflows");
    if (t.numel != out->inputs[0]->value.numel)
        return vn_fail_shapes(ctx, "reshape", "has a different element count than", &out->inputs[0]->value, &t);
    return vn_infer_like(ctx, out, &t);
}

static void reshape_forward(vn_node *out) {
    vn_copy(out->value.data, vn_input_value(out, 0), out->value.numel);
}

static vn_status reshape_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX = reshape(G) */
    vn_axpy(vn_input_grad(out, 0), out->grad.data, out->value.numel, 1);
    return VN_OK;
}

static vn_node *reshape_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t from[2][3] = {{2, 3, 4}, {3, 4}};
    static const int from_ndim[2] = {3, 2};
    static const size_t to[2][2] = {{6, 4}, {12}};
    static const int to_ndim[2] = {2, 1};
    if (index < 0 || index >= 2) return NULL;
    vn_node *x = vn_example_param(ctx, rng, from_ndim[index], from[index], -1, 1);
    return vn_reshape(ctx, x, to_ndim[index], to[index]);
}

const vn_op vn_op_reshape = {.name = "reshape", .min_inputs = 1, .max_inputs = 1,
                             .infer = reshape_infer, .forward = reshape_forward,
                             .backward = reshape_backward, .example = reshape_example,
                             .summary = "same elements, new shape"};

vn_node *vn_reshape(vn_context *ctx, vn_node *a, int ndim, const size_t *shape) {
    vn_attrs attrs = {0};
    if (ndim < 0 || ndim > VN_MAX_DIMS || (ndim > 0 && !shape)) {
        if (ctx->status == VN_OK) vn_context_fail(ctx, VN_EINVAL, "reshape: %d dimensions (at most %d)", ndim, VN_MAX_DIMS);
        return NULL;
    }
    attrs.i[0] = ndim;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] > (size_t)INT64_MAX) {
            if (ctx->status == VN_OK) vn_context_fail(ctx, VN_EOVERFLOW, "reshape: size too large");
            return NULL;
        }
        attrs.i[1 + d] = (int64_t)shape[d];
    }
    return vn_apply(ctx, &vn_op_reshape, &a, 1, &attrs);
}

/* ---- slice of the last axis -------------------------------------------------
 * attrs.i[0] = start, attrs.i[1] = length. */

static vn_status slice_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    int64_t start = out->attrs.i[0], length = out->attrs.i[1];
    size_t cols = vn_tensor_cols(x);
    if (x->ndim < 1 || start < 0 || length < 0 || (uint64_t)start > cols ||
        (uint64_t)length > cols - (size_t)start) {
        char s[64];
        return vn_context_fail(ctx, VN_ERANGE, "slice: columns [%lld, %lld + %lld) outside a last axis of %zu (shape %s)",
                               (long long)start, (long long)start, (long long)length, cols,
                               vn_shape_string(x, s, sizeof s));
    }
    vn_tensor shape = *x;
    shape.shape[x->ndim - 1] = (size_t)length;
    return vn_infer_like(ctx, out, &shape);
}

static void slice_forward(vn_node *out) {
    const vn_tensor *x = &out->inputs[0]->value;
    size_t width = vn_tensor_cols(&out->value);
    vn_copy_cols(out->value.data, width, 0, x->data, vn_tensor_cols(x), (size_t)out->attrs.i[0],
                 vn_tensor_rows(x), width, false);
}

static vn_status slice_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX[:, start:start+len] += G */
    const vn_tensor *x = &out->inputs[0]->value;
    size_t width = vn_tensor_cols(&out->value);
    vn_copy_cols(vn_input_grad(out, 0), vn_tensor_cols(x), (size_t)out->attrs.i[0], out->grad.data,
                 width, 0, vn_tensor_rows(x), width, true);
    return VN_OK;
}

static vn_node *slice_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t shapes[2][3] = {{3, 6}, {2, 3, 5}};
    static const int ndims[2] = {2, 3};
    static const size_t starts[2] = {1, 0}, lengths[2] = {3, 2};
    if (index < 0 || index >= 2) return NULL;
    vn_node *x = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    return vn_slice(ctx, x, starts[index], lengths[index]);
}

const vn_op vn_op_slice = {.name = "slice", .min_inputs = 1, .max_inputs = 1,
                           .infer = slice_infer, .forward = slice_forward,
                           .backward = slice_backward, .example = slice_example,
                           .summary = "columns [start, start+length) of the last axis"};

vn_node *vn_slice(vn_context *ctx, vn_node *a, size_t start, size_t length) {
    vn_attrs attrs = {0};
    attrs.i[0] = start > (size_t)INT64_MAX ? -1 : (int64_t)start;
    attrs.i[1] = length > (size_t)INT64_MAX ? -1 : (int64_t)length;
    return vn_apply(ctx, &vn_op_slice, &a, 1, &attrs);
}

/* ---- concat of the last axis ------------------------------------------------ */

static vn_status concat_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *first = &out->inputs[0]->value;
    if (first->ndim < 1) return vn_context_fail(ctx, VN_ESHAPE, "concat: inputs need at least 1 dimension");
    vn_tensor shape = *first;
    size_t total = 0;
    for (int i = 0; i < out->n_inputs; i++) {
        const vn_tensor *x = &out->inputs[i]->value;
        bool ok = x->ndim == first->ndim;
        for (int d = 0; ok && d + 1 < x->ndim; d++) ok = x->shape[d] == first->shape[d];
        if (!ok) return vn_fail_shapes(ctx, "concat", "differs outside the last axis from", first, x);
        if (!vn_size_add(total, vn_tensor_cols(x), &total))
            return vn_context_fail(ctx, VN_EOVERFLOW, "concat: size overflow");
    }
    shape.shape[first->ndim - 1] = total;
    return vn_infer_like(ctx, out, &shape);
}

/* Copies each input's columns into (or, backward, adds each block of G to)
 * its place. */
static void concat_forward(vn_node *out) {
    size_t cols = vn_tensor_cols(&out->value), rows = vn_tensor_rows(&out->value), offset = 0;
    for (int i = 0; i < out->n_inputs; i++) {
        size_t width = vn_tensor_cols(&out->inputs[i]->value);
        vn_copy_cols(out->value.data, cols, offset, vn_input_value(out, i), width, 0, rows, width, false);
        offset += width;
    }
}

static vn_status concat_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dX_i += G[:, offset_i : offset_i + width_i] */
    size_t cols = vn_tensor_cols(&out->value), rows = vn_tensor_rows(&out->value), offset = 0;
    for (int i = 0; i < out->n_inputs; i++) {
        size_t width = vn_tensor_cols(&out->inputs[i]->value);
        if (vn_input_grad(out, i))
            vn_copy_cols(vn_input_grad(out, i), width, 0, out->grad.data, cols, offset, rows, width, true);
        offset += width;
    }
    return VN_OK;
}

static vn_node *concat_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    vn_node *parts[3];
    if (index == 0) {
        size_t s0[2] = {3, 2}, s1[2] = {3, 4};
        parts[0] = vn_example_param(ctx, rng, 2, s0, -1, 1);
        parts[1] = vn_example_param(ctx, rng, 2, s1, -1, 1);
        return vn_concat(ctx, parts, 2);
    }
    if (index == 1) {
        for (int i = 0; i < 3; i++) {
            size_t s[3] = {2, 3, (size_t)i + 1};
            parts[i] = vn_example_param(ctx, rng, 3, s, -1, 1);
        }
        return vn_concat(ctx, parts, 3);
    }
    return NULL;
}

const vn_op vn_op_concat = {.name = "concat", .min_inputs = 1, .max_inputs = VN_MAX_INPUTS,
                            .infer = concat_infer, .forward = concat_forward,
                            .backward = concat_backward, .example = concat_example,
                            .summary = "join along the last axis"};

vn_node *vn_concat(vn_context *ctx, vn_node *const *parts, int n) {
    return vn_apply(ctx, &vn_op_concat, parts, n, NULL);
}

/* ---- mask_mix: y = (1 − m) ⊙ a + m ⊙ b ---------------------------------------- */

static vn_status mask_mix_infer(vn_context *ctx, vn_node *out) {
    const vn_tensor *a = &out->inputs[0]->value, *b = &out->inputs[1]->value,
                    *m = &out->inputs[2]->value;
    if (!vn_tensor_same_shape(a, b)) return vn_fail_shapes(ctx, "mask_mix", "(source) differs from", a, b);
    if (!vn_broadcasts(a, m)) return vn_fail_shapes(ctx, "mask_mix", "(mask) does not broadcast to", a, m);
    return vn_infer_like(ctx, out, a);
}

static void mask_mix_forward(vn_node *out) {
    const vn_real *a = vn_input_value(out, 0), *b = vn_input_value(out, 1), *m = vn_input_value(out, 2);
    size_t n = out->value.numel, mn = out->inputs[2]->value.numel;
    vn_real *y = out->value.data;
    for (size_t base = 0; base < n; base += mn)
        for (size_t j = 0; j < mn; j++) y[base + j] = (1 - m[j]) * a[base + j] + m[j] * b[base + j];
}

static vn_status mask_mix_backward(vn_context *ctx, vn_node *out) {
    (void)ctx; /* dA = (1 − m) ⊙ G,  dB = m ⊙ G,  dm = Σ G ⊙ (b − a) */
    const vn_real *g = out->grad.data, *a = vn_input_value(out, 0), *b = vn_input_value(out, 1),
                  *m = vn_input_value(out, 2);
    vn_real *da = vn_input_grad(out, 0), *db = vn_input_grad(out, 1), *dm = vn_input_grad(out, 2);
    size_t n = out->value.numel, mn = out->inputs[2]->value.numel;
    for (size_t base = 0; base < n; base += mn) {
        for (size_t j = 0; j < mn; j++) {
            size_t i = base + j;
            if (da) da[i] += (1 - m[j]) * g[i];
            if (db) db[i] += m[j] * g[i];
            if (dm) dm[j] += g[i] * (b[i] - a[i]);
        }
    }
    return VN_OK;
}

static vn_node *mask_mix_example(vn_context *ctx, const vn_op *op, int index, vn_rng *rng) {
    (void)op;
    static const size_t shapes[2][3] = {{3, 4}, {2, 3, 5}};
    static const int ndims[2] = {2, 3};
    static const size_t m_shapes[2][2] = {{3, 4}, {5}};
    static const int m_ndims[2] = {2, 1};
    if (index < 0 || index >= 2) return NULL;
    vn_node *a = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    vn_node *b = vn_example_param(ctx, rng, ndims[index], shapes[index], -1, 1);
    vn_node *m = vn_example_param(ctx, rng, m_ndims[index], m_shapes[index], 0, 1);
    return vn_mask_mix(ctx, a, b, m);
}

const vn_op vn_op_mask_mix = {.name = "mask_mix", .min_inputs = 3, .max_inputs = 3,
                              .infer = mask_mix_infer, .forward = mask_mix_forward,
                              .backward = mask_mix_backward, .example = mask_mix_example,
                              .summary = "y = (1 - m) * a + m * b (m broadcasts)"};

vn_node *vn_mask_mix(vn_context *ctx, vn_node *a, vn_node *b, vn_node *m) {
    vn_node *inputs[3] = {a, b, m};
    return vn_apply(ctx, &vn_op_mask_mix, inputs, 3, NULL);
}
