/* test_nn.c — pyvene's MLP, its hooks and losses, the initialisers and the
 * optimizers, against PyTorch reference cases in data/nn/ (made by
 * tools/gen_nn_reference.py) and against finite differences. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "test_support.h"
#include "vn_gradcheck.h"
#include "vn_nn.h"
#include "vn_ops.h"
#include "vn_optim.h"
#include "vn_safetensors.h"

/* Tolerances against PyTorch (see tools/gen_nn_reference.py). */
#define LOGIT_TOL 1e-5      /* absolute */
#define GRAD_REL_TOL 1e-4   /* relative to the tensor's max |value| ... */
#define GRAD_ABS_TOL 1e-5   /* ... plus this */
#define OPTIM_TOL 1e-6      /* absolute, per optimizer step */

/* ---- reference files ------------------------------------------------------------- */

/* The shared reader (test_support.h), for data/nn/. */
static bool ref_has(const ref_file *r, const char *name) { return vn_safetensors_find(&r->st, name) != NULL; }

/* A leaf with the tensor's shape and values. */
static vn_node *ref_leaf(const ref_file *r, const char *name, unsigned flags) {
    const vn_safetensors_entry *e = ref_entry(r, name);
    ck_assert_int_le(e->ndim, VN_MAX_DIMS);
    vn_node *node = vn_leaf(&ctx, e->ndim, e->shape, flags);
    CHECK_CTX(node != NULL);
    ref_read(r, name, node->value.data, node->value.numel);
    return node;
}

/* Asserts that `t` has the shape of tensor `name`. */
static void ref_same_shape(const ref_file *r, const char *name, const vn_tensor *t) {
    const vn_safetensors_entry *e = ref_entry(r, name);
    bool same = e->ndim == t->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = e->shape[d] == t->shape[d];
    char shape[64];
    ck_assert_msg(same, "%s: %s has %d dims, cvene's tensor is %s", r->path, name, e->ndim,
                  vn_shape_string(t, shape, sizeof shape));
}

/* max |a − reference| over tensor `name`; *scale (may be NULL) gets max |reference|. */
static double ref_max_error(const ref_file *r, const char *name, const vn_real *a, size_t n,
                            double *scale) {
    vn_real *want = malloc(n * sizeof *want + 1);
    ref_read(r, name, want, n);
    double worst = 0, biggest = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)want[i]);
        if (!(d <= worst)) worst = d; /* NaN propagates */
        if (fabs((double)want[i]) > biggest) biggest = fabs((double)want[i]);
    }
    free(want);
    if (scale) *scale = biggest;
    return worst;
}

static bool meta_bool(const ref_file *r, const char *key) { return strcmp(ref_meta(r, key), "true") == 0; }
static double meta_double(const ref_file *r, const char *key) { return strtod(ref_meta(r, key), NULL); }
static long long meta_int(const ref_file *r, const char *key) { return strtoll(ref_meta(r, key), NULL, 10); }

/* ---- helpers ----------------------------------------------------------------------- */

static vn_node *random_leaf(vn_rng *rng, int ndim, const size_t *shape, unsigned flags, double lo,
                            double hi) {
    vn_node *n = vn_leaf(&ctx, ndim, shape, flags);
    CHECK_CTX(n != NULL);
    vn_rng_fill_uniform(rng, n->value.data, n->value.numel, lo, hi);
    return n;
}

static vn_mlp_config small_config(int64_t h, int64_t layers, int64_t classes, const char *act,
                                  double pdrop) {
    vn_mlp_config c = vn_mlp_config_default();
    c.h_dim = h;
    c.n_layer = layers;
    c.num_classes = classes;
    strcpy(c.activation_function, act);
    c.pdrop = pdrop;
    return c;
}

static bool same_values(const vn_node *a, const vn_node *b) {
    return vn_tensor_same_shape(&a->value, &b->value) &&
           memcmp(a->value.data, b->value.data, a->value.numel * sizeof(vn_real)) == 0;
}

/* ---- MLP parity with PyTorch --------------------------------------------------------- */

static vn_mlp_config case_config(const ref_file *r) {
    vn_mlp_config c = vn_mlp_config_default();
    c.h_dim = meta_int(r, "h_dim");
    c.n_layer = meta_int(r, "n_layer");
    c.num_classes = meta_int(r, "num_classes");
    snprintf(c.activation_function, sizeof c.activation_function, "%s", ref_meta(r, "activation_function"));
    c.pdrop = meta_double(r, "pdrop");
    c.include_bias = meta_bool(r, "include_bias");
    c.squeeze_output = meta_bool(r, "squeeze_output");
    return c;
}

static double worst_logit_error, worst_grad_error;

/* Builds the case's model with PyTorch's weights, runs it in eval mode, and
 * compares logits and the gradients of sum(logits · w). */
static void check_mlp_case(const char *name) {
    ref_file r;
    ref_open(&r, "data/nn", name);
    vn_mlp_config config = case_config(&r);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &config, NULL) == VN_OK);
    vn_mlp_set_training(&m, false);
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&m, &count);
    size_t in_file = 0;
    for (size_t i = 0; i < r.st.count; i++)
        in_file += strncmp(r.st.entries[i].name, "mlp.", 4) == 0 || strncmp(r.st.entries[i].name, "score.", 6) == 0;
    ck_assert_uint_eq(count, in_file);
    for (size_t i = 0; i < count; i++) {
        ref_same_shape(&r, params[i].name, &params[i].node->value);
        ref_read(&r, params[i].name, params[i].node->value.data, params[i].node->value.numel);
    }
    vn_node *x = ref_leaf(&r, "inputs", VN_NODE_PARAM);
    vn_node *logits = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(logits != NULL);
    ref_same_shape(&r, "logits", &logits->value);
    double err = ref_max_error(&r, "logits", logits->value.data, logits->value.numel, NULL);
    ck_assert_msg(err <= LOGIT_TOL, "%s: logits off by %g", name, err);
    if (err > worst_logit_error) worst_logit_error = err;

    vn_real *w = malloc(logits->value.numel * sizeof *w);
    ref_read(&r, "w", w, logits->value.numel);
    CHECK_CTX(vn_backward_with(&ctx, logits, w) == VN_OK);
    free(w);
    char gname[96];
    for (size_t i = 0; i <= count; i++) {
        vn_node *node = i < count ? params[i].node : x;
        snprintf(gname, sizeof gname, "grad.%s", i < count ? params[i].name : "inputs");
        double scale;
        err = ref_max_error(&r, gname, node->grad.data, node->value.numel, &scale);
        ck_assert_msg(err <= GRAD_REL_TOL * scale + GRAD_ABS_TOL, "%s: %s off by %g (max |grad| %g)",
                      name, gname, err, scale);
        if (err / (scale > 0 ? scale : 1) > worst_grad_error) worst_grad_error = err / (scale > 0 ? scale : 1);
    }

    /* pyvene's loss with problem_type None: inferred from C and the labels' kind, then stored */
    if (ref_has(&r, "loss.single_label")) {
        const vn_safetensors_entry *e = ref_entry(&r, "labels");
        int64_t labels[16];
        char errbuf[256];
        ck_assert_int_eq(vn_safetensors_read_int64(e, labels, e->numel, errbuf, sizeof errbuf), VN_OK);
        vn_nn_labels ids = {labels, e->numel, NULL};
        ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_NONE);
        vn_node *loss = vn_mlp_loss(&m, &ctx, logits, &ids);
        CHECK_CTX(loss != NULL);
        ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_SINGLE_LABEL);
        ck_assert(ref_max_error(&r, "loss.single_label", loss->value.data, 1, NULL) <= LOGIT_TOL);
        m.config.problem_type = VN_PROBLEM_NONE;
        vn_nn_labels targets = {NULL, 0, ref_leaf(&r, "targets", VN_NODE_CONST)};
        loss = vn_mlp_loss(&m, &ctx, logits, &targets);
        CHECK_CTX(loss != NULL);
        ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_MULTI_LABEL);
        ck_assert(ref_max_error(&r, "loss.multi_label", loss->value.data, 1, NULL) <= LOGIT_TOL);
    }
    if (ref_has(&r, "loss.regression")) {
        vn_nn_labels targets = {NULL, 0, ref_leaf(&r, "targets", VN_NODE_CONST)};
        vn_node *loss = vn_mlp_loss(&m, &ctx, logits, &targets);
        CHECK_CTX(loss != NULL);
        ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_REGRESSION);
        ck_assert(ref_max_error(&r, "loss.regression", loss->value.data, 1, NULL) <= LOGIT_TOL);
    }
    ref_close(&r);
}

START_TEST(mlp_matches_pytorch) {
    char name[64];
    for (int a = 0; a < VN_ACT_COUNT; a++) {
        snprintf(name, sizeof name, "mlp_%s", vn_activation_name((vn_activation)a));
        check_mlp_case(name);
    }
    const char *variants[] = {"mlp_seq3", "mlp_nobias_n3", "mlp_nosqueeze", "mlp_n0", "mlp_c1_regression"};
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) check_mlp_case(variants[i]);
    printf("mlp parity (%s): max |logit error| %.3g, max grad error / max|grad| %.3g\n", VN_REAL_NAME,
           worst_logit_error, worst_grad_error);
}
END_TEST

/* ---- whole-model finite differences ------------------------------------------------- */

/* L = Σ w ⊙ logits, in double, with the dropout pass fixed so every
 * evaluation uses the same masks. */
static double mlp_objective(vn_mlp *m, vn_node *x, const vn_real *w) {
    vn_context_mark mark = vn_context_mark_get(&ctx);
    m->dropout_pass = 0;
    vn_node *logits = vn_mlp_forward(m, &ctx, x);
    CHECK_CTX(logits != NULL);
    double total = 0;
    for (size_t i = 0; i < logits->value.numel; i++) total += (double)w[i] * (double)logits->value.data[i];
    vn_context_rewind(&ctx, mark);
    return total;
}

static void finite_difference_check(const char *activation, bool training) {
    vn_gradcheck_options options = vn_gradcheck_defaults();
    vn_rng rng;
    vn_rng_seed(&rng, 11, 3);
    vn_mlp_config c = small_config(5, 2, 3, activation, 0.25);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    vn_mlp_set_training(&m, training);
    vn_mlp_set_dropout_seed(&m, 99);
    size_t xs[3] = {3, 2, 5};
    vn_node *x = random_leaf(&rng, 3, xs, VN_NODE_PARAM, -1.5, 1.5);
    vn_real w[18];
    vn_rng_fill_uniform(&rng, w, 18, -1, 1);
    m.dropout_pass = 0;
    vn_node *logits = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(logits != NULL);
    ck_assert_uint_eq(logits->value.numel, 18);
    CHECK_CTX(vn_backward_with(&ctx, logits, w) == VN_OK);
    size_t count, checked = 0;
    const vn_nn_param *params = vn_mlp_params(&m, &count);
    for (size_t k = 0; k <= count; k++) {
        vn_node *node = k < count ? params[k].node : x;
        for (size_t i = 0; i < node->value.numel; i++) {
            vn_real original = node->value.data[i];
            vn_real up = original + (vn_real)options.eps, down = original - (vn_real)options.eps;
            node->value.data[i] = up;
            double f_up = mlp_objective(&m, x, w);
            node->value.data[i] = down;
            double f_down = mlp_objective(&m, x, w);
            node->value.data[i] = original;
            double numeric = (f_up - f_down) / ((double)up - (double)down);
            double analytic = node->grad.data[i];
            ck_assert_msg(fabs(analytic - numeric) <= options.atol + options.rtol * fabs(numeric),
                          "%s (%s): d/d%s[%zu]: analytic %.9g, numeric %.9g", activation,
                          training ? "train" : "eval", k < count ? params[k].name : "inputs", i,
                          analytic, numeric);
            checked++;
        }
    }
    ck_assert_uint_eq(checked, 25 + 5 + 25 + 5 + 15 + 3 + 30);
}

START_TEST(mlp_gradients_match_finite_differences) {
    finite_difference_check("gelu", false);
    finite_difference_check("tanh", true); /* dropout on, masks fixed by the pass number */
    finite_difference_check("quick_gelu", true);
}
END_TEST

/* ---- construction, names, initialisation -------------------------------------------- */

START_TEST(mlp_parameters_names_and_init) {
    vn_rng rng;
    vn_rng_seed(&rng, 1, 0);
    vn_mlp_config c = small_config(16, 2, 3, "relu", 0.3);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    size_t count;
    const vn_nn_param *p = vn_mlp_params(&m, &count);
    const char *names[] = {"mlp.h.0.ff1.weight", "mlp.h.0.ff1.bias", "mlp.h.1.ff1.weight",
                           "mlp.h.1.ff1.bias", "score.weight", "score.bias"};
    size_t sizes[][2] = {{16, 16}, {16, 0}, {16, 16}, {16, 0}, {3, 16}, {3, 0}};
    ck_assert_uint_eq(count, 6);
    vn_rng replay;
    vn_rng_seed(&replay, 1, 0);
    double bound = 0.25;
    for (size_t i = 0; i < count; i++) {
        ck_assert_str_eq(p[i].name, names[i]);
        ck_assert_str_eq(p[i].node->name, names[i]);
        ck_assert_ptr_eq(vn_mlp_param_find(&m, names[i]), p[i].node);
        ck_assert(p[i].node->flags & VN_NODE_PARAM);
        ck_assert_int_eq(p[i].node->value.ndim, sizes[i][1] ? 2 : 1);
        ck_assert_uint_eq(p[i].node->value.shape[0], sizes[i][0]);
        if (sizes[i][1]) ck_assert_uint_eq(p[i].node->value.shape[1], sizes[i][1]);
        /* construction order: each tensor is the next run of U(-1/sqrt(16), 1/sqrt(16)) draws */
        size_t n = p[i].node->value.numel;
        vn_real *expect = malloc(n * sizeof *expect);
        vn_rng_fill_uniform(&replay, expect, n, -bound, bound);
        ck_assert_mem_eq(expect, p[i].node->value.data, n * sizeof *expect);
        free(expect);
        double biggest = 0, mean = 0;
        for (size_t k = 0; k < n; k++) {
            double v = p[i].node->value.data[k];
            ck_assert(fabs(v) <= bound);
            if (fabs(v) > biggest) biggest = fabs(v);
            mean += v / (double)n;
        }
        if (n >= 256) {
            ck_assert(biggest > 0.9 * bound);
            ck_assert(fabs(mean) < 0.05);
        }
    }
    ck_assert_ptr_eq(m.blocks[1].weight, p[2].node);
    ck_assert_ptr_eq(m.score.bias, p[5].node);
    ck_assert_ptr_null(vn_mlp_param_find(&m, "mlp.h.2.ff1.weight"));
    ck_assert_ptr_null(vn_mlp_param_find(&m, NULL));
    ck_assert(m.training);

    /* without biases; no rng leaves zeros */
    c.include_bias = false;
    c.n_layer = 3;
    vn_mlp nb;
    CHECK_CTX(vn_mlp_init(&nb, &ctx, &c, NULL) == VN_OK);
    p = vn_mlp_params(&nb, &count);
    ck_assert_uint_eq(count, 4);
    ck_assert_str_eq(p[2].name, "mlp.h.2.ff1.weight");
    ck_assert_str_eq(p[3].name, "score.weight");
    ck_assert_ptr_null(vn_mlp_param_find(&nb, "score.bias"));
    ck_assert_ptr_null(nb.blocks[0].bias);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < p[i].node->value.numel; k++) ck_assert(p[i].node->value.data[k] == 0);

    /* n_layer 0: just the head */
    c.n_layer = 0;
    c.include_bias = true;
    vn_mlp head;
    CHECK_CTX(vn_mlp_init(&head, &ctx, &c, &rng) == VN_OK);
    p = vn_mlp_params(&head, &count);
    ck_assert_uint_eq(count, 2);
    ck_assert_str_eq(p[0].name, "score.weight");
}
END_TEST

START_TEST(mlp_freezing) {
    vn_rng rng;
    vn_rng_seed(&rng, 2, 0);
    vn_mlp_config c = small_config(4, 2, 2, "gelu", 0);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    vn_mlp_set_trainable(&m, false);
    size_t count, xs[3] = {2, 1, 4};
    const vn_nn_param *p = vn_mlp_params(&m, &count);
    for (size_t i = 0; i < count; i++) ck_assert(p[i].node->flags & VN_NODE_FROZEN);
    vn_node *x = random_leaf(&rng, 3, xs, VN_NODE_PARAM, -1, 1);
    vn_node *loss = vn_sum(&ctx, vn_mlp_forward(&m, &ctx, x));
    CHECK_CTX(vn_backward(&ctx, loss) == VN_OK);
    for (size_t i = 0; i < count; i++)
        for (size_t k = 0; k < p[i].node->value.numel; k++) ck_assert(p[i].node->grad.data[k] == 0);
    double total = 0;
    for (size_t k = 0; k < x->value.numel; k++) total += fabs(x->grad.data[k]);
    ck_assert(total > 0);
    /* an optimizer skips frozen parameters */
    vn_node *nodes[6];
    for (size_t i = 0; i < count; i++) nodes[i] = p[i].node;
    vn_real before = nodes[0]->value.data[0];
    vn_optim opt;
    vn_optim_options o = vn_optim_defaults(VN_OPTIM_ADAMW);
    CHECK_CTX(vn_optim_init(&opt, &ctx, &arena, &o, nodes, count) == VN_OK);
    ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
    ck_assert(nodes[0]->value.data[0] == before); /* not even weight decay */
    ck_assert_int_eq(opt.state[0].steps, 0);
    vn_mlp_set_trainable(&m, true);
    for (size_t i = 0; i < count; i++) ck_assert(vn_node_requires_grad(p[i].node));
    ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
    ck_assert(nodes[0]->value.data[0] != before);
    ck_assert_int_eq(opt.state[0].steps, 1);
}
END_TEST

/* ---- modes and dropout ------------------------------------------------------------------ */

typedef struct recorder {
    int count;
    vn_nn_site sites[64];
    vn_node *nodes[64];
    /* optional replacement */
    bool replace;
    vn_nn_site target;
    vn_node *with;
    bool return_null, wrong_shape;
} recorder;

static vn_node *record_hook(void *user, vn_context *c, vn_nn_site site, vn_node *node) {
    recorder *r = user;
    ck_assert_ptr_eq(c, &ctx);
    ck_assert_int_lt(r->count, 64);
    if (r->replace && site.component == r->target.component && site.layer == r->target.layer) {
        if (r->return_null) return NULL;
        if (r->wrong_shape) {
            size_t s[1] = {3};
            return vn_constant(c, 1, s);
        }
        node = r->with;
    }
    r->sites[r->count] = site;
    r->nodes[r->count] = node;
    r->count++;
    return node;
}

START_TEST(dropout_only_in_training) {
    vn_rng rng;
    vn_rng_seed(&rng, 5, 0);
    vn_mlp_config c = small_config(16, 2, 3, "relu", 0.5);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    size_t xs[3] = {8, 1, 16};
    vn_node *x = random_leaf(&rng, 3, xs, VN_NODE_INPUT, -2, 2);
    vn_mlp_set_training(&m, false);
    recorder rec = {0};
    vn_mlp_set_hook(&m, record_hook, &rec);
    vn_node *e1 = vn_mlp_forward(&m, &ctx, x);
    vn_node *e2 = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(e1 && e2);
    ck_assert(same_values(e1, e2));
    ck_assert_uint_eq(m.dropout_pass, 0); /* eval passes do not count */
    /* eval: dropout adds no node: the input and the activations pass through */
    ck_assert_ptr_eq(rec.nodes[0], x);
    ck_assert_ptr_eq(rec.nodes[1], rec.nodes[2]);

    vn_mlp_set_training(&m, true);
    vn_mlp_set_dropout_seed(&m, 7);
    rec.count = 0;
    vn_node *t0 = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(t0 != NULL);
    ck_assert_uint_eq(m.dropout_pass, 1);
    ck_assert(!same_values(t0, e1));
    /* the documented derivation: pass 0, site 0 (input dropout) */
    vn_node *input_dropped = vn_dropout(&ctx, x, 0.5, true, vn_nn_dropout_seed(7, 0), 0);
    ck_assert(same_values(rec.nodes[0], input_dropped));
    /* block 0's dropout is site 1: zero or 2·activation, about half zero */
    vn_node *act = rec.nodes[1], *out = rec.nodes[2];
    ck_assert_ptr_ne(act, out);
    vn_node *block_dropped = vn_dropout(&ctx, act, 0.5, true, vn_nn_dropout_seed(7, 0), 1);
    ck_assert(same_values(out, block_dropped));
    size_t zeros = 0, nonzero_act = 0;
    for (size_t i = 0; i < out->value.numel; i++) {
        vn_real a = act->value.data[i], o = out->value.data[i];
        ck_assert(o == 0 || fabs(o - 2 * a) <= 1e-6 * (1 + fabs(a)));
        if (a != 0) {
            nonzero_act++;
            zeros += o == 0;
        }
    }
    ck_assert_uint_gt(zeros, nonzero_act / 5);
    ck_assert_uint_lt(zeros, nonzero_act * 4 / 5);
    vn_node *t1 = vn_mlp_forward(&m, &ctx, x);
    ck_assert(!same_values(t0, t1)); /* a new pass, new masks */
    vn_mlp_set_dropout_seed(&m, 7);
    vn_node *again = vn_mlp_forward(&m, &ctx, x);
    ck_assert(same_values(t0, again)); /* reproducible from (seed, pass) */
    vn_mlp_set_dropout_seed(&m, 8);
    ck_assert(!same_values(t0, vn_mlp_forward(&m, &ctx, x)));

    /* pdrop 0 in training equals eval exactly, with no dropout nodes */
    m.config.pdrop = 0;
    rec.count = 0;
    vn_node *t_nodrop = vn_mlp_forward(&m, &ctx, x);
    ck_assert(same_values(t_nodrop, e1));
    ck_assert_ptr_eq(rec.nodes[0], x);
}
END_TEST

/* ---- hooks --------------------------------------------------------------------------------- */

START_TEST(hooks_called_in_order_with_the_site_values) {
    vn_rng rng;
    vn_rng_seed(&rng, 6, 0);
    vn_mlp_config c = small_config(6, 3, 4, "tanh", 0.3);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    vn_mlp_set_training(&m, false);
    size_t xs[3] = {2, 1, 6};
    vn_node *x = random_leaf(&rng, 3, xs, VN_NODE_INPUT, -2, 2);
    vn_node *plain = vn_mlp_forward(&m, &ctx, x);
    recorder rec = {0};
    vn_mlp_set_hook(&m, record_hook, &rec);
    ck_assert_ptr_eq(m.hook_user, &rec);
    vn_node *hooked = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(plain && hooked);
    ck_assert(same_values(plain, hooked));
    ck_assert_int_eq(rec.count, 9);
    for (int l = 0; l < 3; l++) {
        for (int k = 0; k < 3; k++) {
            ck_assert_int_eq(rec.sites[3 * l + k].component, (vn_nn_component)k);
            ck_assert_int_eq(rec.sites[3 * l + k].layer, l);
        }
        /* the values: mlp_activation = act(ff1(block_input)) */
        vn_node *want = vn_tanh_op(&ctx, vn_nn_linear(&ctx, rec.nodes[3 * l], m.blocks[l].weight, m.blocks[l].bias));
        ck_assert(same_values(rec.nodes[3 * l + 1], want));
        ck_assert_ptr_eq(rec.nodes[3 * l + 2], rec.nodes[3 * l + 1]); /* eval: the same tensor */
        if (l > 0) ck_assert_ptr_eq(rec.nodes[3 * l], rec.nodes[3 * l - 1]);
        ck_assert_int_eq(rec.nodes[3 * l]->value.ndim, 3);
    }
    ck_assert_ptr_eq(rec.nodes[0], x);

    /* replacing the last block_output with zeros leaves only the head's bias */
    size_t hs[3] = {2, 1, 6};
    rec = (recorder){0};
    rec.replace = true;
    rec.target = (vn_nn_site){VN_NN_BLOCK_OUTPUT, 2};
    rec.with = vn_constant(&ctx, 3, hs);
    vn_node *zeroed = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(zeroed != NULL);
    ck_assert_int_eq(zeroed->value.ndim, 2);
    for (size_t b = 0; b < 2; b++)
        for (size_t k = 0; k < 4; k++) ck_assert(zeroed->value.data[b * 4 + k] == m.score.bias->value.data[k]);

    /* replacing block_output of layer 0 with a parameter z: the rest runs on z,
     * and gradients reach z but not block 0 */
    vn_zero_grad(&ctx);
    vn_node *z = random_leaf(&rng, 3, hs, VN_NODE_PARAM, -1, 1);
    rec = (recorder){0};
    rec.replace = true;
    rec.target = (vn_nn_site){VN_NN_BLOCK_OUTPUT, 0};
    rec.with = z;
    vn_node *spliced = vn_mlp_forward(&m, &ctx, x);
    CHECK_CTX(spliced != NULL);
    ck_assert_ptr_eq(rec.nodes[3], z); /* block_input of layer 1 is the replacement */
    vn_node *h = z;
    for (int l = 1; l < 3; l++) h = vn_tanh_op(&ctx, vn_nn_linear(&ctx, h, m.blocks[l].weight, m.blocks[l].bias));
    vn_node *want = vn_reshape(&ctx, vn_nn_linear(&ctx, h, m.score.weight, m.score.bias), 2, (size_t[]){2, 4});
    ck_assert(same_values(spliced, want));
    CHECK_CTX(vn_backward(&ctx, vn_sum(&ctx, spliced)) == VN_OK);
    double zg = 0, b0 = 0, b1 = 0;
    for (size_t i = 0; i < z->value.numel; i++) zg += fabs(z->grad.data[i]);
    for (size_t i = 0; i < 36; i++) b0 += fabs(m.blocks[0].weight->grad.data[i]);
    for (size_t i = 0; i < 36; i++) b1 += fabs(m.blocks[1].weight->grad.data[i]);
    ck_assert(zg > 0 && b1 > 0);
    ck_assert(b0 == 0);

    /* replacing mlp_activation in eval mode: block_output sees the replacement */
    rec = (recorder){0};
    rec.replace = true;
    rec.target = (vn_nn_site){VN_NN_MLP_ACTIVATION, 1};
    rec.with = z;
    CHECK_CTX(vn_mlp_forward(&m, &ctx, x) != NULL);
    ck_assert_ptr_eq(rec.nodes[4], z);
    ck_assert_ptr_eq(rec.nodes[5], z);

    /* a hook that fails, or returns the wrong shape */
    rec = (recorder){0};
    rec.replace = true;
    rec.target = (vn_nn_site){VN_NN_BLOCK_OUTPUT, 1};
    rec.return_null = true;
    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, x));
    ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "hook at block_output of layer 1"));
    vn_context_clear_error(&ctx);
    rec = (recorder){0};
    rec.replace = true;
    rec.target = (vn_nn_site){VN_NN_BLOCK_INPUT, 2};
    rec.wrong_shape = true;
    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, x));
    ck_assert_int_eq(vn_context_status(&ctx), VN_ESHAPE);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "block_input of layer 2 returned shape (3)"));
    vn_context_clear_error(&ctx);

    /* removing the hook */
    vn_mlp_set_hook(&m, NULL, NULL);
    rec = (recorder){0};
    ck_assert(same_values(vn_mlp_forward(&m, &ctx, x), plain));
    ck_assert_int_eq(rec.count, 0);
}
END_TEST

START_TEST(forward_blocks_stops_early) {
    vn_rng rng;
    vn_rng_seed(&rng, 9, 0);
    vn_mlp_config c = small_config(6, 3, 4, "relu", 0.0);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    vn_mlp_set_training(&m, false);
    size_t xs[3] = {2, 1, 6};
    vn_node *x = random_leaf(&rng, 3, xs, VN_NODE_INPUT, -2, 2);
    recorder rec = {0};
    vn_mlp_set_hook(&m, record_hook, &rec);
    CHECK_CTX(vn_mlp_forward(&m, &ctx, x) != NULL);
    vn_node *full_layer1 = rec.nodes[3 * 1 + 2];
    rec = (recorder){0};
    int before = ctx.n_nodes;
    vn_node *partial = vn_mlp_forward_blocks(&m, &ctx, x, 1);
    CHECK_CTX(partial != NULL);
    ck_assert(same_values(partial, full_layer1));
    ck_assert_int_eq(rec.count, 6); /* two layers' sites, nothing after */
    ck_assert_int_eq(ctx.n_nodes - before, 6); /* matmul, bias, relu for each of 2 blocks */
    vn_mlp_set_hook(&m, NULL, NULL);
    ck_assert_ptr_null(vn_mlp_forward_blocks(&m, &ctx, x, 3));
    ck_assert_int_eq(vn_context_status(&ctx), VN_ERANGE);
    vn_context_clear_error(&ctx);
    ck_assert_ptr_null(vn_mlp_forward_blocks(&m, &ctx, x, -1));
    ck_assert_int_eq(vn_context_status(&ctx), VN_ERANGE);
    vn_context_clear_error(&ctx);
}
END_TEST

START_TEST(forward_shapes_and_errors) {
    vn_rng rng;
    vn_rng_seed(&rng, 8, 0);
    vn_mlp_config c = small_config(8, 2, 3, "gelu", 0.3);
    vn_mlp m;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, &rng) == VN_OK);
    vn_mlp_set_training(&m, false);
    size_t s3[3] = {4, 1, 8}, s2[2] = {4, 8}, bad[3] = {4, 1, 7}, s1[1] = {8}, seq[3] = {2, 3, 8};
    vn_node *x3 = random_leaf(&rng, 3, s3, VN_NODE_INPUT, -1, 1);
    vn_node *x2 = vn_leaf_wrap(&ctx, x3->value.data, 2, s2, VN_NODE_INPUT);
    vn_node *l3 = vn_mlp_forward(&m, &ctx, x3), *l2 = vn_mlp_forward(&m, &ctx, x2);
    CHECK_CTX(l3 && l2);
    ck_assert_int_eq(l3->value.ndim, 2); /* squeezed (4, 1, 3) */
    ck_assert(same_values(l3, l2));      /* (B, h) runs as S = 1 */
    vn_node *ls = vn_mlp_forward(&m, &ctx, random_leaf(&rng, 3, seq, VN_NODE_INPUT, -1, 1));
    ck_assert_int_eq(ls->value.ndim, 3); /* squeeze(1) does nothing for S = 3 */
    ck_assert_uint_eq(ls->value.shape[1], 3);
    m.config.squeeze_output = false;
    vn_node *unsqueezed = vn_mlp_forward(&m, &ctx, x3);
    ck_assert_int_eq(unsqueezed->value.ndim, 3);
    ck_assert_uint_eq(unsqueezed->value.shape[1], 1);

    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, vn_input(&ctx, 3, bad)));
    ck_assert_int_eq(vn_context_status(&ctx), VN_ESHAPE);
    ck_assert_str_eq(vn_context_message(&ctx), "mlp forward: inputs_embeds must be (B, S, 8) or (B, 8), got (4, 1, 7)");
    vn_context_clear_error(&ctx);
    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, vn_input(&ctx, 1, s1)));
    ck_assert_int_eq(vn_context_status(&ctx), VN_ESHAPE);
    vn_context_clear_error(&ctx);
    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, NULL));
    ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
    /* sticky: nothing runs after an error */
    ck_assert_ptr_null(vn_mlp_forward(&m, &ctx, x3));
    vn_context_clear_error(&ctx);
}
END_TEST

/* ---- names and configuration ------------------------------------------------------------------ */

START_TEST(activation_and_component_names) {
    char msg[256];
    for (int a = 0; a < VN_ACT_COUNT; a++) {
        vn_activation got;
        ck_assert_int_eq(vn_activation_lookup(vn_activation_name((vn_activation)a), &got, msg, sizeof msg), VN_OK);
        ck_assert_int_eq(got, a);
    }
    ck_assert_str_eq(vn_activation_name(VN_ACT_SWISH), "swish");
    ck_assert_str_eq(vn_activation_name(VN_ACT_COUNT), "?");
    ck_assert_int_eq(vn_activation_lookup("gelu_fast", NULL, msg, sizeof msg), VN_EINVAL);
    ck_assert_str_eq(msg, "unknown activation_function \"gelu_fast\"; valid names: gelu, gelu_new, "
                          "gelu_pytorch_tanh, relu, tanh, sigmoid, silu, swish, relu6, leaky_relu, "
                          "quick_gelu, linear");
    ck_assert_int_eq(vn_activation_lookup("GELU", NULL, NULL, 0), VN_EINVAL);
    ck_assert_int_eq(vn_activation_lookup(NULL, NULL, msg, sizeof msg), VN_EINVAL);

    vn_nn_component comp;
    ck_assert_int_eq(vn_nn_component_lookup("mlp_activation", &comp, msg, sizeof msg), VN_OK);
    ck_assert_int_eq(comp, VN_NN_MLP_ACTIVATION);
    ck_assert_str_eq(vn_nn_component_name(VN_NN_BLOCK_OUTPUT), "block_output");
    ck_assert_int_eq(vn_nn_component_lookup("mlp_output", &comp, msg, sizeof msg), VN_EINVAL);
    ck_assert_str_eq(msg, "unknown component \"mlp_output\"; valid names: block_input, mlp_activation, block_output");

    vn_problem_type type;
    ck_assert_int_eq(vn_problem_type_lookup("multi_label_classification", &type, msg, sizeof msg), VN_OK);
    ck_assert_int_eq(type, VN_PROBLEM_MULTI_LABEL);
    ck_assert_int_eq(vn_problem_type_lookup("none", &type, msg, sizeof msg), VN_EINVAL);
    ck_assert_ptr_nonnull(strstr(msg, "regression, single_label_classification, multi_label_classification"));
    ck_assert_str_eq(vn_problem_type_name(VN_PROBLEM_SINGLE_LABEL), "single_label_classification");

    /* an activation enum out of range is an error on the context */
    size_t s[1] = {2};
    ck_assert_ptr_null(vn_nn_activation(&ctx, VN_ACT_COUNT, vn_input(&ctx, 1, s)));
    ck_assert_int_eq(vn_context_status(&ctx), VN_EINVAL);
    vn_context_clear_error(&ctx);
    vn_node *x = vn_input(&ctx, 1, s);
    ck_assert_ptr_eq(vn_nn_activation(&ctx, VN_ACT_LINEAR, x), x); /* no node */
}
END_TEST

static void expect_config_error(const vn_mlp_config *c, const char *fragment) {
    char msg[256];
    ck_assert_int_eq(vn_mlp_config_check(c, msg, sizeof msg), VN_EINVAL);
    ck_assert_msg(strstr(msg, fragment) != NULL, "message '%s' lacks '%s'", msg, fragment);
}

START_TEST(config_defaults_and_validation) {
    vn_mlp_config d = vn_mlp_config_default();
    ck_assert_int_eq(d.h_dim, 512);
    ck_assert_int_eq(d.n_layer, 2);
    ck_assert_int_eq(d.num_classes, 2);
    ck_assert_str_eq(d.activation_function, "gelu");
    ck_assert(d.pdrop == 0.3);
    ck_assert(d.include_bias && d.squeeze_output && !d.include_emb);
    ck_assert_int_eq(d.vocab_size, 50257);
    ck_assert_int_eq(d.max_position_embeddings, 512);
    ck_assert_int_eq(d.problem_type, VN_PROBLEM_NONE);
    ck_assert_int_eq(vn_mlp_config_check(&d, NULL, 0), VN_OK);

    vn_mlp_config c = d;
    c.h_dim = 0;
    expect_config_error(&c, "h_dim must be in [1, 2147483647], got 0");
    c = d;
    c.n_layer = -1;
    expect_config_error(&c, "n_layer");
    c.n_layer = VN_MLP_MAX_LAYERS + 1;
    expect_config_error(&c, "n_layer");
    c = d;
    c.num_classes = 0;
    expect_config_error(&c, "num_classes");
    c = d;
    strcpy(c.activation_function, "softplus");
    expect_config_error(&c, "unknown activation_function \"softplus\"; valid names: gelu,");
    memset(c.activation_function, 'a', sizeof c.activation_function);
    expect_config_error(&c, "activation_function is not terminated");
    c = d;
    c.pdrop = 1.5;
    expect_config_error(&c, "pdrop must be in [0, 1], got 1.5");
    c.pdrop = NAN;
    expect_config_error(&c, "pdrop");
    c = d;
    c.include_emb = true;
    expect_config_error(&c, "include_emb is not supported");
    c = d;
    c.vocab_size = -1;
    expect_config_error(&c, "vocab_size");
    c = d;
    c.max_position_embeddings = -5;
    expect_config_error(&c, "max_position_embeddings");
    c = d;
    c.problem_type = (vn_problem_type)9;
    expect_config_error(&c, "problem_type");
    c = d;
    c.pdrop = 1; /* the bounds are allowed */
    c.n_layer = 0;
    ck_assert_int_eq(vn_mlp_config_check(&c, NULL, 0), VN_OK);

    /* init reports the check on the context, and errors are sticky */
    c = d;
    c.h_dim = -4;
    vn_mlp m;
    ck_assert_int_eq(vn_mlp_init(&m, &ctx, &c, NULL), VN_EINVAL);
    ck_assert_str_eq(vn_context_message(&ctx), "mlp config: h_dim must be in [1, 2147483647], got -4");
    ck_assert_int_eq(vn_mlp_init(&m, &ctx, &d, NULL), VN_EINVAL);
    vn_context_clear_error(&ctx);
}
END_TEST

/* ---- losses ------------------------------------------------------------------------------------ */

static void check_loss_grad(const ref_file *r, const char *name, const vn_node *node) {
    double scale, err = ref_max_error(r, name, node->grad.data, node->value.numel, &scale);
    ck_assert_msg(err <= GRAD_REL_TOL * scale + GRAD_ABS_TOL, "%s off by %g", name, err);
}

START_TEST(losses_match_pytorch) {
    ref_file r;
    ref_open(&r, "data/nn", "losses");
    vn_node *logits = ref_leaf(&r, "ce.logits", VN_NODE_PARAM);
    const vn_safetensors_entry *e = ref_entry(&r, "ce.labels");
    int64_t labels[5];
    char err[256];
    ck_assert_int_eq(vn_safetensors_read_int64(e, labels, 5, err, sizeof err), VN_OK);
    vn_nn_labels ids = {labels, 5, NULL};
    vn_node *loss = vn_nn_loss(&ctx, VN_PROBLEM_SINGLE_LABEL, logits, &ids);
    CHECK_CTX(loss != NULL);
    ck_assert(ref_max_error(&r, "ce.loss", loss->value.data, 1, NULL) <= LOGIT_TOL);
    CHECK_CTX(vn_backward(&ctx, loss) == VN_OK);
    check_loss_grad(&r, "ce.grad", logits);

    logits = ref_leaf(&r, "bce.logits", VN_NODE_PARAM);
    vn_node *targets = ref_leaf(&r, "bce.targets", VN_NODE_PARAM);
    vn_nn_labels t = {NULL, 0, targets};
    loss = vn_nn_loss(&ctx, VN_PROBLEM_MULTI_LABEL, logits, &t);
    CHECK_CTX(loss != NULL);
    ck_assert(ref_max_error(&r, "bce.loss", loss->value.data, 1, NULL) <= LOGIT_TOL);
    CHECK_CTX(vn_backward(&ctx, loss) == VN_OK);
    check_loss_grad(&r, "bce.grad.logits", logits);
    check_loss_grad(&r, "bce.grad.targets", targets);

    vn_node *input = ref_leaf(&r, "mse.input", VN_NODE_PARAM);
    vn_node *target = ref_leaf(&r, "mse.target", VN_NODE_PARAM);
    vn_nn_labels mt = {NULL, 0, target};
    loss = vn_nn_loss(&ctx, VN_PROBLEM_REGRESSION, input, &mt);
    CHECK_CTX(loss != NULL);
    ck_assert(ref_max_error(&r, "mse.loss", loss->value.data, 1, NULL) <= LOGIT_TOL);
    CHECK_CTX(vn_backward(&ctx, loss) == VN_OK);
    check_loss_grad(&r, "mse.grad.input", input);
    check_loss_grad(&r, "mse.grad.target", target);
    ref_close(&r);
}
END_TEST

static void expect_ctx_error(vn_node *result, vn_status status, const char *fragment) {
    ck_assert_ptr_null(result);
    ck_assert_int_eq(vn_context_status(&ctx), status);
    ck_assert_msg(strstr(vn_context_message(&ctx), fragment) != NULL, "message '%s' lacks '%s'",
                  vn_context_message(&ctx), fragment);
    vn_context_clear_error(&ctx);
}

START_TEST(problem_type_rule_and_loss_errors) {
    ck_assert_int_eq(vn_problem_type_infer(1, true), VN_PROBLEM_REGRESSION);
    ck_assert_int_eq(vn_problem_type_infer(1, false), VN_PROBLEM_REGRESSION);
    ck_assert_int_eq(vn_problem_type_infer(2, true), VN_PROBLEM_SINGLE_LABEL);
    ck_assert_int_eq(vn_problem_type_infer(5, false), VN_PROBLEM_MULTI_LABEL);

    size_t s[2] = {2, 3}, s6[1] = {6}, s4[1] = {4};
    vn_node *logits = vn_param(&ctx, 2, s);
    int64_t ids[2] = {0, 2};
    vn_nn_labels classes = {ids, 2, NULL};
    vn_nn_labels floats = {NULL, 0, vn_constant(&ctx, 2, s)};
    vn_nn_labels both = {ids, 2, floats.targets}, none = {NULL, 0, NULL};
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_SINGLE_LABEL, logits, &floats), VN_EINVAL,
                     "single_label_classification needs integer (class id) labels");
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_MULTI_LABEL, logits, &classes), VN_EINVAL,
                     "multi_label_classification needs float labels");
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_MULTI_LABEL, logits, &both), VN_EINVAL, "exactly one");
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_MULTI_LABEL, logits, &none), VN_EINVAL, "exactly one");
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_NONE, logits, &classes), VN_EINVAL, "got none");
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_REGRESSION, logits, &classes), VN_ESHAPE,
                     "2 labels for 6 logits");
    vn_nn_labels four = {NULL, 0, vn_constant(&ctx, 1, s4)};
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_REGRESSION, logits, &four), VN_ESHAPE, "4 labels for 6");
    /* regression reads labels in the logits' shape; integer labels become reals */
    vn_nn_labels flat = {NULL, 0, vn_constant(&ctx, 1, s6)};
    for (int i = 0; i < 6; i++) flat.targets->value.data[i] = (vn_real)i;
    for (int i = 0; i < 6; i++) logits->value.data[i] = (vn_real)(i + 1);
    vn_node *mse = vn_nn_loss(&ctx, VN_PROBLEM_REGRESSION, logits, &flat);
    CHECK_CTX(mse != NULL);
    ck_assert(mse->value.data[0] == 1);
    int64_t six[6] = {1, 2, 3, 4, 5, 7};
    vn_nn_labels ints = {six, 6, NULL};
    mse = vn_nn_loss(&ctx, VN_PROBLEM_REGRESSION, logits, &ints);
    CHECK_CTX(mse != NULL);
    ck_assert_double_eq_tol(mse->value.data[0], 1.0 / 6, 1e-6);
    expect_ctx_error(vn_nn_loss(&ctx, VN_PROBLEM_SINGLE_LABEL, NULL, &classes), VN_EINVAL, "NULL logits");

    /* a configured problem_type is used as is */
    vn_mlp m;
    vn_mlp_config c = small_config(3, 1, 3, "relu", 0);
    c.problem_type = VN_PROBLEM_MULTI_LABEL;
    CHECK_CTX(vn_mlp_init(&m, &ctx, &c, NULL) == VN_OK);
    expect_ctx_error(vn_mlp_loss(&m, &ctx, logits, &classes), VN_EINVAL, "needs float labels");
    ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_MULTI_LABEL);
    /* bad labels leave an unset problem_type unset */
    m.config.problem_type = VN_PROBLEM_NONE;
    expect_ctx_error(vn_mlp_loss(&m, &ctx, logits, &none), VN_EINVAL, "exactly one");
    expect_ctx_error(vn_mlp_loss(&m, &ctx, NULL, &classes), VN_EINVAL, "NULL logits");
    ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_NONE);
}
END_TEST

/* ---- orthogonal_ -------------------------------------------------------------------------------- */

static void check_orthogonal(size_t ndim, const size_t *shape, uint64_t seed) {
    vn_tensor t, u;
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, (int)ndim, shape), VN_OK);
    ck_assert_int_eq(vn_tensor_alloc(&u, &arena, (int)ndim, shape), VN_OK);
    vn_rng rng;
    vn_rng_seed(&rng, seed, 1);
    size_t used = arena.in_use;
    ck_assert_int_eq(vn_nn_init_orthogonal(&t, 1.0, &rng, &arena), VN_OK);
    ck_assert_uint_eq(arena.in_use, used); /* scratch given back */
    size_t rows = shape[0], cols = t.numel / rows;
    size_t n = rows < cols ? rows : cols, len = rows < cols ? cols : rows;
    /* Gram matrix of the short side: rows·rowsᵀ or colsᵀ·cols equals I */
    double worst = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double dot = 0;
            for (size_t k = 0; k < len; k++) {
                double a = rows < cols ? t.data[i * cols + k] : t.data[k * cols + i];
                double b = rows < cols ? t.data[j * cols + k] : t.data[k * cols + j];
                dot += a * b;
            }
            double d = fabs(dot - (i == j ? 1 : 0));
            if (d > worst) worst = d;
        }
    ck_assert_msg(worst <= 10 * (double)len * VN_REAL_EPSILON, "(%zu, %zu): |QtQ - I| = %g", rows, cols, worst);
    /* the sign convention: R = Qᵀ·A has a positive diagonal (A = the drawn
     * Gaussian, transposed when rows < cols) and is upper triangular */
    vn_rng_seed(&rng, seed, 1);
    double *g = malloc(t.numel * sizeof *g);
    for (size_t i = 0; i < t.numel; i++) g[i] = vn_rng_normal(&rng);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double rij = 0; /* (Qᵀ A)[i][j] with Q, A of size len × n */
            for (size_t k = 0; k < len; k++) {
                double q = rows < cols ? t.data[i * cols + k] : t.data[k * cols + i];
                double a = rows < cols ? g[j * cols + k] : g[k * cols + j];
                rij += q * a;
            }
            if (i == j) ck_assert_msg(rij > 0, "R[%zu][%zu] = %g", i, i, rij);
            if (i > j) ck_assert_msg(fabs(rij) < 1e-4, "R[%zu][%zu] = %g below the diagonal", i, j, rij);
        }
    free(g);
    /* deterministic from the rng; another seed differs; gain scales */
    vn_rng_seed(&rng, seed, 1);
    ck_assert_int_eq(vn_nn_init_orthogonal(&u, 1.0, &rng, &arena), VN_OK);
    ck_assert_mem_eq(t.data, u.data, t.numel * sizeof(vn_real));
    vn_rng_seed(&rng, seed, 1);
    ck_assert_int_eq(vn_nn_init_orthogonal(&u, 2.5, &rng, &arena), VN_OK);
    for (size_t i = 0; i < t.numel; i++) ck_assert(fabs(u.data[i] - 2.5 * t.data[i]) <= 4 * VN_REAL_EPSILON);
    vn_rng_seed(&rng, seed + 1, 1);
    ck_assert_int_eq(vn_nn_init_orthogonal(&u, 1.0, &rng, &arena), VN_OK);
    ck_assert(memcmp(t.data, u.data, t.numel * sizeof(vn_real)) != 0);
}

START_TEST(orthogonal_init) {
    check_orthogonal(2, (size_t[]){5, 5}, 1);
    check_orthogonal(2, (size_t[]){7, 3}, 2);
    check_orthogonal(2, (size_t[]){3, 7}, 3);
    check_orthogonal(3, (size_t[]){4, 2, 3}, 4);
    check_orthogonal(2, (size_t[]){64, 64}, 5);
    check_orthogonal(2, (size_t[]){1, 9}, 6);
    check_orthogonal(2, (size_t[]){40, 16}, 7);

    vn_tensor t;
    vn_rng rng;
    vn_rng_seed(&rng, 1, 1);
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 1, (size_t[]){4}), VN_OK);
    ck_assert_int_eq(vn_nn_init_orthogonal(&t, 1, &rng, &arena), VN_ESHAPE);
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 2, (size_t[]){0, 4}), VN_OK);
    ck_assert_int_eq(vn_nn_init_orthogonal(&t, 1, &rng, &arena), VN_OK);
    ck_assert_int_eq(vn_nn_init_orthogonal(NULL, 1, &rng, &arena), VN_EINVAL);
    static unsigned char small[2048];
    vn_arena tiny;
    vn_arena_init_buffer(&tiny, small, sizeof small);
    ck_assert_int_eq(vn_tensor_alloc(&t, &arena, 2, (size_t[]){16, 16}), VN_OK);
    ck_assert_int_eq(vn_nn_init_orthogonal(&t, 1, &rng, &tiny), VN_ENOMEM);
    ck_assert_uint_eq(tiny.in_use, 0);
}
END_TEST

/* ---- optimizers ---------------------------------------------------------------------------------- */

static double worst_optim_error;

static void check_optim_case(const char *name) {
    ref_file r;
    char file[96], key[64];
    snprintf(file, sizeof file, "optim_%s", name);
    ref_open(&r, "data/nn", file);
    const char *kind = ref_meta(&r, "kind");
    vn_optim_kind k = strcmp(kind, "sgd") == 0 ? VN_OPTIM_SGD : strcmp(kind, "adam") == 0 ? VN_OPTIM_ADAM : VN_OPTIM_ADAMW;
    vn_optim_options o = vn_optim_defaults(k);
    o.lr = meta_double(&r, "lr");
    o.weight_decay = meta_double(&r, "weight_decay");
    if (k == VN_OPTIM_SGD) {
        o.momentum = meta_double(&r, "momentum");
        o.dampening = meta_double(&r, "dampening");
        o.nesterov = meta_bool(&r, "nesterov");
    } else {
        ck_assert(o.beta1 == meta_double(&r, "beta1") && o.beta2 == meta_double(&r, "beta2"));
        ck_assert(o.eps == meta_double(&r, "eps"));
        o.amsgrad = meta_bool(&r, "amsgrad");
    }
    if (k == VN_OPTIM_ADAMW && strcmp(name, "adamw") == 0) { /* PyTorch's defaults, as stored */
        ck_assert(o.lr == 1e-3 && o.weight_decay == 1e-2);
    }
    int n_params = (int)meta_int(&r, "params"), steps = (int)meta_int(&r, "steps");
    vn_node *nodes[8];
    ck_assert_int_le(n_params, 8);
    for (int i = 0; i < n_params; i++) {
        snprintf(key, sizeof key, "param.%d.init", i);
        nodes[i] = ref_leaf(&r, key, VN_NODE_PARAM);
    }
    vn_optim opt;
    CHECK_CTX(vn_optim_init(&opt, &ctx, &arena, &o, nodes, (size_t)n_params) == VN_OK);
    long long warmup = meta_int(&r, "warmup"), total = meta_int(&r, "total");
    if (warmup >= 0) ck_assert_int_eq(vn_optim_set_linear_schedule(&opt, warmup, total), VN_OK);
    const char *clip = ref_meta(&r, "clip"), *skip = ref_meta(&r, "skip");
    int skip_param = -1;
    bool skip_step[16] = {false};
    if (strcmp(skip, "none") != 0) {
        char *end;
        skip_param = (int)strtol(skip, &end, 10);
        while (*end == ':' || *end == ',') skip_step[strtol(end + 1, &end, 10)] = true;
    }
    double case_worst = 0;
    for (int step = 0; step < steps; step++) {
        for (int i = 0; i < n_params; i++) {
            snprintf(key, sizeof key, "grad.%d.step%d", i, step);
            ref_read(&r, key, nodes[i]->grad.data, nodes[i]->value.numel);
            vn_node_set_trainable(nodes[i], !(i == skip_param && skip_step[step]));
        }
        if (strcmp(clip, "none") != 0) {
            double norm;
            ck_assert_int_eq(vn_clip_grad_norm(nodes, (size_t)n_params, strtod(clip, NULL), true, &norm), VN_OK);
            snprintf(key, sizeof key, "norm.step%d", step);
            vn_real got = (vn_real)norm;
            double want_scale, err = ref_max_error(&r, key, &got, 1, &want_scale);
            ck_assert_msg(err <= 1e-6 * want_scale, "%s: norm at step %d off by %g", name, step, err);
        }
        ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
        for (int i = 0; i < n_params; i++) {
            snprintf(key, sizeof key, "param.%d.step%d", i, step);
            double err = ref_max_error(&r, key, nodes[i]->value.data, nodes[i]->value.numel, NULL);
            ck_assert_msg(err <= OPTIM_TOL, "%s: param %d after step %d off by %g", name, i, step, err);
            if (err > case_worst) case_worst = err;
        }
    }
    ck_assert_int_eq(opt.step_count, steps);
    if (skip_param >= 0) ck_assert_int_lt(opt.state[skip_param].steps, steps);
    printf("optimizer %-26s max |param error| %.3g\n", name, case_worst);
    if (case_worst > worst_optim_error) worst_optim_error = case_worst;
    ref_close(&r);
}

START_TEST(optimizers_match_pytorch) {
    const char *cases[] = {"sgd", "sgd_momentum", "sgd_nesterov", "sgd_momentum_clip_sched", "adam",
                           "adam_wd_skip", "adam_amsgrad", "adam_clip_sched", "adamw",
                           "adamw_amsgrad_clip_sched"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_optim_case(cases[i]);
    printf("optimizer parity (%s): max |param error| over all steps %.3g\n", VN_REAL_NAME, worst_optim_error);
}
END_TEST

static void expect_options_error(vn_optim_options o, const char *fragment) {
    char msg[256];
    ck_assert_int_eq(vn_optim_options_check(&o, msg, sizeof msg), VN_EINVAL);
    ck_assert_msg(strstr(msg, fragment) != NULL, "message '%s' lacks '%s'", msg, fragment);
}

START_TEST(optimizer_options_and_init_errors) {
    vn_optim_options sgd = vn_optim_defaults(VN_OPTIM_SGD), adam = vn_optim_defaults(VN_OPTIM_ADAM);
    vn_optim_options adamw = vn_optim_defaults(VN_OPTIM_ADAMW);
    ck_assert(sgd.lr == 1e-3 && sgd.momentum == 0 && sgd.dampening == 0 && !sgd.nesterov && sgd.weight_decay == 0);
    ck_assert(adam.lr == 1e-3 && adam.beta1 == 0.9 && adam.beta2 == 0.999 && adam.eps == 1e-8);
    ck_assert(adam.weight_decay == 0 && !adam.amsgrad);
    ck_assert(adamw.weight_decay == 0.01 && adamw.lr == 1e-3);
    ck_assert_str_eq(vn_optim_kind_name(VN_OPTIM_ADAMW), "adamw");
    ck_assert_int_eq(vn_optim_options_check(&sgd, NULL, 0), VN_OK);

    vn_optim_options o = sgd;
    o.nesterov = true;
    expect_options_error(o, "nesterov momentum requires a momentum and zero dampening");
    o.momentum = 0.9;
    o.dampening = 0.1;
    expect_options_error(o, "nesterov");
    o.dampening = 0;
    ck_assert_int_eq(vn_optim_options_check(&o, NULL, 0), VN_OK);
    o = sgd;
    o.lr = -1;
    expect_options_error(o, "sgd: invalid lr -1");
    o = sgd;
    o.momentum = -0.5;
    expect_options_error(o, "momentum");
    o = adam;
    o.beta1 = 1.0;
    expect_options_error(o, "adam: invalid beta1 1");
    o = adam;
    o.beta2 = -0.1;
    expect_options_error(o, "beta2");
    o = adamw;
    o.eps = -1e-8;
    expect_options_error(o, "eps");
    o.eps = 1e-8;
    o.weight_decay = NAN;
    expect_options_error(o, "weight_decay");
    o.kind = (vn_optim_kind)7;
    expect_options_error(o, "unknown kind 7");

    size_t s[1] = {3};
    vn_node *p = vn_param(&ctx, 1, s), *c = vn_constant(&ctx, 1, s);
    vn_node *list[2] = {p, c};
    vn_optim opt;
    ck_assert_int_eq(vn_optim_init(&opt, &ctx, &arena, &adam, list, 2), VN_EINVAL);
    ck_assert_str_eq(vn_context_message(&ctx), "optimizer: parameter 1 is not a PARAM node");
    vn_context_clear_error(&ctx);
    list[1] = p;
    ck_assert_int_eq(vn_optim_init(&opt, &ctx, &arena, &adam, list, 2), VN_EINVAL);
    ck_assert_str_eq(vn_context_message(&ctx), "optimizer: parameter 1 repeats parameter 0");
    vn_context_clear_error(&ctx);
    o = adam;
    o.lr = -2;
    ck_assert_int_eq(vn_optim_init(&opt, &ctx, &arena, &o, list, 1), VN_EINVAL);
    ck_assert_str_eq(vn_context_message(&ctx), "adam: invalid lr -2 (must be finite and >= 0)");
    vn_context_clear_error(&ctx);
    /* state memory comes from the given arena; exhaustion is ENOMEM */
    static unsigned char small[128];
    vn_arena tiny;
    vn_arena_init_buffer(&tiny, small, sizeof small);
    ck_assert_int_eq(vn_optim_init(&opt, &ctx, &tiny, &adam, list, 1), VN_ENOMEM);
    ck_assert_ptr_nonnull(strstr(vn_context_message(&ctx), "out of arena memory"));
    vn_context_clear_error(&ctx);
    ck_assert_int_eq(vn_optim_step(NULL), VN_EINVAL);
    ck_assert_int_eq(vn_optim_init(&opt, &ctx, &arena, &sgd, NULL, 0), VN_OK);
    ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
}
END_TEST

START_TEST(clip_grad_norm_semantics) {
    size_t s2[1] = {2}, s1[1] = {1};
    vn_node *a = vn_param(&ctx, 1, s2), *b = vn_param(&ctx, 1, s1), *frozen = vn_param(&ctx, 1, s1);
    vn_node_set_trainable(frozen, false);
    vn_node *list[3] = {a, b, frozen};
    a->grad.data[0] = 3, a->grad.data[1] = 4, b->grad.data[0] = 12, frozen->grad.data[0] = 1000;
    double norm;
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 26, false, &norm), VN_OK);
    ck_assert_double_eq_tol(norm, 13, 1e-5);
    ck_assert(a->grad.data[0] == 3 && b->grad.data[0] == 12); /* coefficient ≥ 1: untouched */
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 6.5, false, &norm), VN_OK);
    vn_real coef = (vn_real)6.5 / ((vn_real)13 + (vn_real)1e-6);
    ck_assert(a->grad.data[0] == (vn_real)3 * coef && a->grad.data[1] == (vn_real)4 * coef);
    ck_assert(b->grad.data[0] == (vn_real)12 * coef);
    ck_assert(frozen->grad.data[0] == 1000); /* no gradient: not counted, not scaled */
    /* the gradient buffer of a parameter counts as its gradient even when zero */
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 1, false, &norm), VN_OK);
    ck_assert_double_eq_tol(norm, 6.5, 1e-5);
    /* non-finite norms */
    a->grad.data[0] = INFINITY;
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 1, true, &norm), VN_ENAN);
    ck_assert(isinf(norm));
    ck_assert(b->grad.data[0] != 0); /* untouched */
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 1, false, &norm), VN_OK);
    ck_assert(b->grad.data[0] == 0); /* scaled by max_norm / inf = 0, as PyTorch */
    a->grad.data[0] = NAN;
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, 1, false, &norm), VN_OK);
    ck_assert(isnan(b->grad.data[0]));
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, -1, false, &norm), VN_EINVAL);
    ck_assert_int_eq(vn_clip_grad_norm(list, 3, NAN, false, &norm), VN_EINVAL);
    ck_assert_int_eq(vn_clip_grad_norm(&frozen, 1, 1, true, &norm), VN_OK);
    ck_assert(norm == 0);
}
END_TEST

START_TEST(params_finite_names_the_first) {
    size_t s3[1] = {3}, s2[2] = {2, 2};
    vn_node *a = vn_param(&ctx, 1, s3), *b = vn_param(&ctx, 2, s2), *frozen = vn_param(&ctx, 1, s3);
    vn_node_set_trainable(frozen, false);
    vn_node *list[3] = {a, frozen, b};
    vn_nonfinite found;
    ck_assert(vn_params_finite(list, 3, true, &found));
    ck_assert_int_eq(found.where, VN_NONFINITE_NONE);
    ck_assert(vn_params_finite(list, 3, false, &found));
    /* a frozen parameter has no gradient: its buffer is not looked at, its value is */
    frozen->grad.data[1] = (vn_real)NAN;
    ck_assert(vn_params_finite(list, 3, true, &found));
    frozen->value.data[2] = -(vn_real)INFINITY;
    ck_assert(!vn_params_finite(list, 3, false, &found));
    ck_assert_int_eq(found.where, VN_NONFINITE_VALUE);
    ck_assert_ptr_eq(found.node, frozen);
    ck_assert_uint_eq(found.param, 1);
    ck_assert_uint_eq(found.index, 2);
    ck_assert(isinf(found.value) && found.value < 0);
    ck_assert_str_eq(vn_nonfinite_name(found.value), "-inf");
    /* gradients: list order, then the first element */
    b->grad.data[3] = (vn_real)INFINITY;
    b->grad.data[1] = (vn_real)NAN;
    ck_assert(!vn_params_finite(list, 3, true, &found));
    ck_assert_int_eq(found.where, VN_NONFINITE_GRAD);
    ck_assert_ptr_eq(found.node, b);
    ck_assert_uint_eq(found.param, 2);
    ck_assert_uint_eq(found.index, 1);
    ck_assert_str_eq(vn_nonfinite_name(found.value), "NaN");
    a->grad.data[0] = (vn_real)INFINITY;
    ck_assert(!vn_params_finite(list, 3, true, &found));
    ck_assert_ptr_eq(found.node, a);
    ck_assert_uint_eq(found.index, 0);
    ck_assert_str_eq(vn_nonfinite_name(found.value), "inf");
    ck_assert_str_eq(vn_nonfinite_name(1.5), "finite");
    ck_assert(vn_params_finite(list, 0, true, &found));
}
END_TEST

START_TEST(linear_warmup_schedule) {
    double want[12] = {0, 0.5, 1, 7.0 / 8, 6.0 / 8, 5.0 / 8, 4.0 / 8, 3.0 / 8, 2.0 / 8, 1.0 / 8, 0, 0};
    for (int k = 0; k < 12; k++) ck_assert(vn_optim_linear_warmup_factor(k, 2, 10) == want[k]);
    ck_assert(vn_optim_linear_warmup_factor(0, 0, 4) == 1);
    ck_assert(vn_optim_linear_warmup_factor(3, 0, 4) == 0.25);
    ck_assert(vn_optim_linear_warmup_factor(1, 1, 1) == 0);
    /* the k-th step uses lr·factor(k): the first step of a warm-up has lr 0 */
    size_t s[1] = {1};
    vn_node *p = vn_param(&ctx, 1, s);
    p->value.data[0] = 1;
    p->grad.data[0] = 1;
    vn_optim opt;
    vn_optim_options o = vn_optim_defaults(VN_OPTIM_SGD);
    o.lr = 0.5;
    CHECK_CTX(vn_optim_init(&opt, &ctx, &arena, &o, &p, 1) == VN_OK);
    ck_assert_int_eq(vn_optim_set_linear_schedule(&opt, 2, 10), VN_OK);
    ck_assert_int_eq(vn_optim_set_linear_schedule(&opt, -1, 10), VN_EINVAL);
    double expect = 1;
    for (int k = 0; k < 12; k++) {
        ck_assert(vn_optim_current_lr(&opt) == 0.5 * want[k]);
        vn_optim_step(&opt);
        expect -= (double)(vn_real)(0.5 * want[k]);
        ck_assert_double_eq_tol(p->value.data[0], expect, 1e-6);
    }
}
END_TEST

/* ---- a training run ---------------------------------------------------------------------------------- */

START_TEST(training_converges_without_allocating) {
    vn_host_alloc_stats stats = {0};
    vn_arena counted;
    vn_host_arena(&counted, &stats);
    vn_context c;
    vn_context_init(&c, &counted);
    vn_rng rng;
    vn_rng_seed(&rng, 3, 0);
    vn_mlp_config config = small_config(8, 2, 2, "gelu", 0.1);
    vn_mlp m;
    ck_assert_int_eq(vn_mlp_init(&m, &c, &config, &rng), VN_OK);
    vn_mlp_set_dropout_seed(&m, 5);
    /* XOR of two signs in the first two coordinates, noise elsewhere */
    enum { N = 32 };
    size_t xs[3] = {N, 1, 8};
    vn_node *x = vn_input(&c, 3, xs);
    int64_t labels[N];
    for (int i = 0; i < N; i++) {
        int a = i & 1, b = (i >> 1) & 1;
        for (int k = 0; k < 8; k++) x->value.data[i * 8 + k] = (vn_real)(0.1 * (vn_rng_uniform(&rng) - 0.5));
        x->value.data[i * 8 + 0] += a ? 1 : -1;
        x->value.data[i * 8 + 1] += b ? 1 : -1;
        labels[i] = a ^ b;
    }
    size_t count;
    const vn_nn_param *params = vn_mlp_params(&m, &count);
    vn_node *nodes[8];
    for (size_t i = 0; i < count; i++) nodes[i] = params[i].node;
    vn_optim opt;
    vn_optim_options o = vn_optim_defaults(VN_OPTIM_ADAMW);
    o.lr = 1e-2;
    ck_assert_int_eq(vn_optim_init(&opt, &c, &counted, &o, nodes, count), VN_OK);
    ck_assert_int_eq(vn_optim_set_linear_schedule(&opt, 100, 2000), VN_OK);
    vn_nn_labels y = {labels, N, NULL};
    vn_context_mark mark = vn_context_mark_get(&c);
    size_t calls_after_warmup = 0;
    double first_loss = 0, last_loss = 0;
    for (int step = 0; step < 2000; step++) {
        vn_zero_grad(&c);
        vn_node *loss = vn_mlp_loss(&m, &c, vn_mlp_forward(&m, &c, x), &y);
        ck_assert_msg(loss != NULL, "%s", vn_context_message(&c));
        ck_assert_int_eq(vn_backward(&c, loss), VN_OK);
        ck_assert_int_eq(vn_clip_grad_norm(nodes, count, 1.0, true, NULL), VN_OK);
        size_t before = stats.calls;
        ck_assert_int_eq(vn_optim_step(&opt), VN_OK);
        ck_assert_uint_eq(stats.calls, before); /* the optimizer step allocates nothing */
        if (step == 0) first_loss = loss->value.data[0];
        last_loss = loss->value.data[0];
        vn_context_rewind(&c, mark);
        if (step == 10) calls_after_warmup = stats.calls;
    }
    ck_assert_uint_eq(stats.calls, calls_after_warmup); /* steady state: no allocator calls at all */
    ck_assert_int_eq(m.config.problem_type, VN_PROBLEM_SINGLE_LABEL);
    vn_mlp_set_training(&m, false);
    vn_node *logits = vn_mlp_forward(&m, &c, x);
    ck_assert_ptr_nonnull(logits);
    int correct = 0;
    for (int i = 0; i < N; i++)
        correct += (logits->value.data[2 * i + 1] > logits->value.data[2 * i]) == (labels[i] == 1);
    vn_node *eval_loss = vn_mlp_loss(&m, &c, logits, &y);
    printf("xor training: loss %.4f -> %.4f (train mode), eval loss %.4f, accuracy %d/%d\n", first_loss,
           last_loss, (double)eval_loss->value.data[0], correct, N);
    ck_assert_int_eq(correct, N);
    ck_assert(eval_loss->value.data[0] < 0.05);
    ck_assert(first_loss > 0.5);
    vn_arena_release(&counted);
}
END_TEST

int main(void) {
    Suite *s = suite_create("nn");
    TCase *tc = test_case(s, "nn", fixture_setup, fixture_teardown, 120);
    tcase_add_test(tc, mlp_matches_pytorch);
    tcase_add_test(tc, mlp_gradients_match_finite_differences);
    tcase_add_test(tc, mlp_parameters_names_and_init);
    tcase_add_test(tc, mlp_freezing);
    tcase_add_test(tc, dropout_only_in_training);
    tcase_add_test(tc, hooks_called_in_order_with_the_site_values);
    tcase_add_test(tc, forward_shapes_and_errors);
    tcase_add_test(tc, forward_blocks_stops_early);
    tcase_add_test(tc, activation_and_component_names);
    tcase_add_test(tc, config_defaults_and_validation);
    tcase_add_test(tc, losses_match_pytorch);
    tcase_add_test(tc, problem_type_rule_and_loss_errors);
    tcase_add_test(tc, orthogonal_init);
    tcase_add_test(tc, optimizers_match_pytorch);
    tcase_add_test(tc, optimizer_options_and_init_errors);
    tcase_add_test(tc, clip_grad_norm_semantics);
    tcase_add_test(tc, params_finite_names_the_first);
    tcase_add_test(tc, linear_warmup_schedule);
    tcase_add_test(tc, training_converges_without_allocating);
    return test_run(s);
}
