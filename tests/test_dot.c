/* test_dot.c — graph pictures: the DOT writer (vn_dot.h), its golden files,
 * parsing of everything it writes by Graphviz's cgraph, rendering through
 * libgvc, and the `cvene dot` command.
 *
 *   test_dot [CVENE]             the writer, the golden files (and, given
 *                                the cvene program, that `cvene dot` writes
 *                                them byte for byte)
 *   test_dot --graphviz          what needs Graphviz: every DOT text parsed
 *                                by agmemread (node and edge counts,
 *                                clusters, role attributes, hostile names
 *                                round-tripping through the escaping) and
 *                                SVG / PNG rendering. Exit status 77 (meson's
 *                                "skipped") when built without cgraph or gvc.
 *
 * Golden files (run from the repository root after changing the writer):
 *   build/tools/cvene dot -o tests/data/dot/seed_forward.dot
 *   build/tools/cvene dot --grad --digits 0 -o tests/data/dot/seed_backward.dot
 * They hold no numbers, so the float and double builds write the same text. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render.h"
#include "test_support.h"
#include "vn_ops.h"

#ifdef CVENE_HAVE_CGRAPH
#include <cgraph.h>
#endif

static const char *cvene_path;

/* ---- helpers ------------------------------------------------------------------------- */

/* DOT text of a graph into a NUL-terminated malloc'd string. */
static char *dot_text(vn_context *ctx, const vn_node *root, const vn_dot_options *o) {
    vn_host_buffer b = {0};
    vn_status status = vn_dot_write(ctx, root, o, vn_host_buffer_write, &b);
    ck_assert_msg(status == VN_OK, "vn_dot_write: %s", vn_context_message(ctx));
    ck_assert(!b.failed);
    vn_host_buffer_write(&b, "", 1);
    return (char *)b.data;
}

static vn_dot_options seed_options(const render_graph *g, bool backward) {
    vn_dot_options o = vn_dot_defaults();
    o.runs = g->runs;
    o.n_runs = g->n_runs;
    o.title = g->title;
    if (backward) {
        o.flags |= VN_DOT_GRADS;
        o.digits = 0;
    }
    return o;
}

static render_graph *seed(bool backward) {
    render_graph *g = malloc(sizeof *g);
    ck_assert_ptr_nonnull(g);
    render_graph_init(g);
    char err[VN_HOST_ERR];
    ck_assert_msg(render_seed_graph(g, backward, err), "%s", err);
    return g;
}

static void seed_free(render_graph *g) {
    render_graph_free(g);
    free(g);
}

static const vn_node *node_at(const vn_context *ctx, int index) {
    for (const vn_node *p = ctx->last; p; p = p->prev)
        if (p->index == index) return p;
    return NULL;
}

/* The seed graph's landmarks, found from its structure (the intervention
 * op's inputs are base, source, subspace mask and rotation, vn_iv_types.h),
 * as DOT node IDs "n<index>". */
typedef struct landmarks {
    char iv[16], rotation[16], original[16], base_act[16], source_act[16], mask[16], head[16], loss[16],
        base_in[16], source_in[16], frozen[16], source_add[16], source_matmul[16];
    int iv_index, mask_index, source_add_index, source_matmul_index;
    char source_run[32], base_run[32];
} landmarks;

static landmarks find_landmarks(const render_graph *g) {
    landmarks l;
    memset(&l, 0, sizeof l);
    const vn_node *ivs[2];
    ck_assert_uint_eq(render_interventions(g, ivs, 2), 1);
    const vn_node *iv = ivs[0], *rotation = iv->inputs[3], *head = NULL;
    for (const vn_node *p = g->ctx.last; p; p = p->prev)
        if (p->n_inputs > 0 && p->inputs[0] == iv) head = p;
    ck_assert_ptr_nonnull(head);
    ck_assert_uint_eq(g->n_runs, 2);
    const vn_node *source_add = iv->inputs[1]->inputs[0], *source_matmul = source_add->inputs[0];
    snprintf(l.iv, sizeof l.iv, "n%d", iv->index);
    snprintf(l.rotation, sizeof l.rotation, "n%d", rotation->index);
    snprintf(l.original, sizeof l.original, "n%d", rotation->inputs[0]->index);
    snprintf(l.base_act, sizeof l.base_act, "n%d", iv->inputs[0]->index);
    snprintf(l.source_act, sizeof l.source_act, "n%d", iv->inputs[1]->index);
    snprintf(l.mask, sizeof l.mask, "n%d", iv->inputs[2]->index);
    snprintf(l.head, sizeof l.head, "n%d", head->index);
    snprintf(l.loss, sizeof l.loss, "n%d", g->loss ? g->loss->index : -1);
    snprintf(l.source_in, sizeof l.source_in, "n%d", g->runs[0].input->index);
    snprintf(l.base_in, sizeof l.base_in, "n%d", g->runs[1].input->index);
    snprintf(l.frozen, sizeof l.frozen, "n%d", g->mlp.params[0].node->index);
    snprintf(l.source_add, sizeof l.source_add, "n%d", source_add->index);
    snprintf(l.source_matmul, sizeof l.source_matmul, "n%d", source_matmul->index);
    snprintf(l.source_run, sizeof l.source_run, "cluster_run%d", g->runs[0].input->index);
    snprintf(l.base_run, sizeof l.base_run, "cluster_run%d", g->runs[1].input->index);
    l.iv_index = iv->index;
    l.mask_index = iv->inputs[2]->index;
    l.source_add_index = source_add->index;
    l.source_matmul_index = source_matmul->index;
    return l;
}

/* What the writer should draw from `root`, counted independently: the nodes
 * root depends on, minus constant leaves with exactly one consumer edge
 * (folded), and the edges between the rest. */
static void expected_counts(const vn_context *ctx, const vn_node *root, bool fold, const vn_dot_options *o,
                            int *nodes, int *edges) {
    int n = ctx->n_nodes;
    unsigned char *reached = calloc((size_t)n + 1, 1), *folded = calloc((size_t)n + 1, 1);
    int *uses = calloc((size_t)n + 1, sizeof *uses);
    ck_assert(reached && folded && uses);
    reached[root->index] = 1;
    for (int i = root->index; i >= 0; i--) {
        const vn_node *node = node_at(ctx, i);
        if (!reached[i]) continue;
        for (int k = 0; k < node->n_inputs; k++) {
            reached[node->inputs[k]->index] = 1;
            uses[node->inputs[k]->index]++;
        }
    }
    *nodes = *edges = 0;
    for (int i = 0; i < n; i++) {
        const vn_node *node = node_at(ctx, i);
        bool run_input = false;
        for (size_t r = 0; r < o->n_runs; r++) run_input |= o->runs[r].input == node;
        folded[i] = fold && reached[i] && !node->op && (node->flags & VN_NODE_CONST) && uses[i] == 1 &&
                    node != root && !run_input;
        *nodes += reached[i] && !folded[i];
    }
    for (int j = 0; j < n; j++) {
        const vn_node *node = node_at(ctx, j);
        if (!reached[j] || folded[j]) continue;
        for (int k = 0; k < node->n_inputs; k++) *edges += !folded[node->inputs[k]->index];
    }
    free(reached);
    free(folded);
    free(uses);
}

static size_t count_of(const char *text, const char *needle) {
    size_t n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
    return n;
}

/* A writer that fails after `budget` bytes. */
typedef struct failing {
    size_t budget, written;
} failing;
static int failing_write(void *user, const char *bytes, size_t length) {
    failing *f = user;
    (void)bytes;
    if (f->written + length > f->budget) return -1;
    f->written += length;
    return 0;
}

/* ---- the writer (no Graphviz needed) -------------------------------------------------- */

START_TEST(summaries) {
    char buf[128];
    vn_real few[2] = {(vn_real)1.5, -2}, one[1] = {(vn_real)0.25};
    vn_dot_summary(buf, sizeof buf, few, 2, 4);
    ck_assert_str_eq(buf, "[1.5, -2]");
    vn_dot_summary(buf, sizeof buf, one, 1, 4);
    ck_assert_str_eq(buf, "0.25");
    vn_dot_summary(buf, sizeof buf, NULL, 0, 4);
    ck_assert_str_eq(buf, "empty");
    vn_real many[10];
    for (int i = 0; i < 10; i++) many[i] = (vn_real)i;
    vn_dot_summary(buf, sizeof buf, many, 10, 3);
    ck_assert_str_eq(buf, "min 0 max 9 mean 4.5");
    many[3] = (vn_real)(1.0 / 0.0);
    many[4] = (vn_real)(0.0 / 0.0);
    vn_dot_summary(buf, sizeof buf, many, 10, 3);
    ck_assert_str_eq(buf, "min 0 max 9 mean 4.75, 2 non-finite");
    /* Truncation still reports the full length and terminates. */
    size_t full = vn_dot_summary(buf, 5, many, 10, 3);
    ck_assert_uint_eq(full, strlen("min 0 max 9 mean 4.75, 2 non-finite"));
    ck_assert_uint_eq(strlen(buf), 4);
}
END_TEST

START_TEST(golden_files) {
    for (int backward = 0; backward < 2; backward++) {
        render_graph *g = seed(backward);
        vn_dot_options o = seed_options(g, backward);
        char *text = dot_text(&g->ctx, backward ? g->loss : g->output, &o);
        const char *path = backward ? "data/dot/seed_backward.dot" : "data/dot/seed_forward.dot";
        unsigned char *want;
        size_t size;
        char err[VN_HOST_ERR];
        ck_assert_msg(vn_host_read_file(path, &want, &size, err), "%s", err);
        bool same = size == strlen(text) && memcmp(want, text, size) == 0;
        if (!same) {
            FILE *f = fopen(backward ? "/tmp/cvene_seed_backward.dot" : "/tmp/cvene_seed_forward.dot", "w");
            if (f) fputs(text, f), fclose(f);
        }
        ck_assert_msg(same, "%s differs from the writer's output (written to /tmp/cvene_seed_%s.dot); if the "
                      "change is intended, regenerate it (see the top of tests/test_dot.c)",
                      path, backward ? "backward" : "forward");
        free(want);
        free(text);
        seed_free(g);
    }
}
END_TEST

/* Runs `cvene dot ARGS... -o OUT` and compares OUT with a golden file. */
static void cli_matches(const char *golden, const char *const *args) {
    char out[] = "/tmp/cvene_dot_XXXXXX";
    int fd = mkstemp(out);
    ck_assert(fd >= 0);
    close(fd);
    char path[64];
    snprintf(path, sizeof path, "%s.dot", out);
    const char *argv[12] = {cvene_path, "dot"};
    int argc = 2;
    for (int k = 0; args[k] && argc < 8; k++) argv[argc++] = args[k];
    argv[argc++] = "-o";
    argv[argc++] = path;
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stdout)) _exit(126);
        execv(cvene_path, (char *const *)argv);
        _exit(127);
    }
    int status;
    ck_assert(waitpid(pid, &status, 0) == pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "cvene dot failed");
    unsigned char *got, *want;
    size_t got_size, want_size;
    char err[VN_HOST_ERR];
    ck_assert_msg(vn_host_read_file(path, &got, &got_size, err), "%s", err);
    ck_assert_msg(vn_host_read_file(golden, &want, &want_size, err), "%s", err);
    ck_assert_msg(got_size == want_size && memcmp(got, want, got_size) == 0,
                  "`cvene dot` no longer writes %s byte for byte", golden);
    free(got);
    free(want);
    unlink(path);
    unlink(out);
}

START_TEST(cli_writes_the_golden_files) {
    if (!cvene_path) return; /* run without the program: nothing to check */
    const char *forward[] = {NULL}, *backward[] = {"--grad", "--digits", "0", NULL};
    cli_matches("data/dot/seed_forward.dot", forward);
    cli_matches("data/dot/seed_backward.dot", backward);
}
END_TEST

START_TEST(deterministic_and_complete) {
    render_graph *g = seed(true);
    vn_dot_options o = seed_options(g, true);
    o.digits = 4;
    o.flags |= VN_DOT_VALUES;
    char *a = dot_text(&g->ctx, g->loss, &o), *b = dot_text(&g->ctx, g->loss, &o);
    ck_assert_str_eq(a, b);
    /* Every drawn node once, with the topological index as its ID. */
    int nodes, edges;
    expected_counts(&g->ctx, g->loss, true, &o, &nodes, &edges);
    ck_assert_int_eq((int)count_of(a, "[label=\"{"), nodes);
    ck_assert_int_eq((int)count_of(a, " -> "), edges);
    landmarks l = find_landmarks(g);
    char want[128];
    snprintf(want, sizeof want, "%s [label=\"{iv_rotated_space #%d|(1, 1, 32)|= min ", l.iv, l.iv_index);
    ck_assert_ptr_nonnull(strstr(a, want));
    ck_assert_ptr_nonnull(strstr(a, "|in 2: const (1, 32) = min 1 max 1 mean 1}"));
    snprintf(want, sizeof want, "subgraph %s {", l.source_run);
    ck_assert_ptr_nonnull(strstr(a, want));
    ck_assert_ptr_nonnull(strstr(a, "label=\"intervention layer_0_comp_block_output_unit_pos_nunit_1#0\""));
    /* No pointer values anywhere. */
    ck_assert_ptr_null(strstr(a, "0x"));
    free(a);
    free(b);
    /* The arena is left as it was. */
    size_t in_use = g->arena.in_use;
    char *c = dot_text(&g->ctx, g->loss, &o);
    ck_assert_uint_eq(g->arena.in_use, in_use);
    free(c);
    seed_free(g);
}
END_TEST

START_TEST(zoom_is_one_hop) {
    render_graph *g = seed(false);
    const vn_node *ivs[4];
    ck_assert_uint_eq(render_interventions(g, ivs, 4), 1);
    vn_dot_options o = seed_options(g, false);
    o.focus = ivs[0];
    char *text = dot_text(&g->ctx, g->output, &o);
    /* The op, its 4 inputs (the mask drawn, not folded), its one consumer. */
    ck_assert_int_eq((int)count_of(text, "[label=\"{"), 6);
    ck_assert_int_eq((int)count_of(text, " -> "), 5);
    landmarks l = find_landmarks(g);
    char want[64];
    snprintf(want, sizeof want, "%s [label=\"{const #%d|(1, 32)}\"", l.mask, l.mask_index);
    ck_assert_ptr_nonnull(strstr(text, want));
    free(text);
    seed_free(g);
}
END_TEST

START_TEST(errors_are_reported) {
    render_graph *g = seed(false);
    vn_dot_options o = seed_options(g, false);
    /* A failing writer: VN_EIO, and the arena is left as it was. */
    size_t in_use = g->arena.in_use;
    failing f = {100, 0};
    ck_assert_int_eq(vn_dot_write(&g->ctx, g->output, &o, failing_write, &f), VN_EIO);
    ck_assert_uint_eq(g->arena.in_use, in_use);
    vn_context_clear_error(&g->ctx);
    /* A node from another context. */
    vn_arena other_arena;
    vn_host_arena(&other_arena, NULL);
    vn_context other;
    vn_context_init(&other, &other_arena);
    vn_node *stranger = vn_scalar(&other, 1);
    vn_host_buffer b = {0};
    ck_assert_int_eq(vn_dot_write(&g->ctx, stranger, &o, vn_host_buffer_write, &b), VN_EINVAL);
    vn_context_clear_error(&g->ctx);
    o.focus = stranger;
    ck_assert_int_eq(vn_dot_write(&g->ctx, NULL, &o, vn_host_buffer_write, &b), VN_EINVAL);
    vn_context_clear_error(&g->ctx);
    o.focus = NULL;
    const vn_node *list[1] = {stranger};
    ck_assert_int_eq(vn_dot_write_nodes(&g->ctx, list, 1, &o, vn_host_buffer_write, &b), VN_EINVAL);
    vn_context_clear_error(&g->ctx);
    o.digits = 18;
    ck_assert_int_eq(vn_dot_write(&g->ctx, NULL, &o, vn_host_buffer_write, &b), VN_EINVAL);
    vn_context_clear_error(&g->ctx);
    ck_assert_int_eq(vn_dot_write(&g->ctx, NULL, NULL, NULL, NULL), VN_EINVAL);
    vn_context_clear_error(&g->ctx);
    vn_host_buffer_free(&b);
    vn_arena_release(&other_arena);
    seed_free(g);
    /* An arena too small for the bookkeeping: VN_ENOMEM, no crash. */
    static unsigned char small[1 << 14];
    vn_arena fixed;
    vn_arena_init_buffer(&fixed, small, sizeof small);
    vn_context tiny;
    vn_context_init(&tiny, &fixed);
    vn_node *x = vn_scalar(&tiny, 1);
    while (vn_context_status(&tiny) == VN_OK && x) x = vn_neg(&tiny, x) ? tiny.last : NULL;
    vn_context_clear_error(&tiny);
    vn_host_buffer c = {0};
    ck_assert_int_eq(vn_dot_write(&tiny, NULL, NULL, vn_host_buffer_write, &c), VN_ENOMEM);
    vn_host_buffer_free(&c);
}
END_TEST

START_TEST(node_lists) {
    render_graph *g = seed(false);
    vn_dot_options o = seed_options(g, false);
    landmarks l = find_landmarks(g);
    const vn_node *list[3] = {node_at(&g->ctx, l.source_matmul_index), node_at(&g->ctx, l.source_add_index),
                              node_at(&g->ctx, l.source_matmul_index)};
    vn_host_buffer b = {0};
    ck_assert_int_eq(vn_dot_write_nodes(&g->ctx, list, 3, &o, vn_host_buffer_write, &b), VN_OK);
    vn_host_buffer_write(&b, "", 1);
    const char *text = (const char *)b.data;
    ck_assert_int_eq((int)count_of(text, "[label=\"{"), 2);
    ck_assert_int_eq((int)count_of(text, " -> "), 1);
    char edge[48];
    snprintf(edge, sizeof edge, "%s -> %s", l.source_matmul, l.source_add);
    ck_assert_ptr_nonnull(strstr(text, edge));
    vn_host_buffer_free(&b);
    seed_free(g);
}
END_TEST

/* The trace recomputes what each op sends to its inputs; an input used
 * twice (y = x·x) gets both shares in one line, and the graph's gradients
 * are left as backward made them. */
START_TEST(trace_sends) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    vn_node *x = vn_node_set_name(&ctx, vn_param(&ctx, 0, NULL), "x");
    x->value.data[0] = 3;
    vn_node *c = vn_scalar(&ctx, 2);
    vn_node *y = vn_node_set_name(&ctx, vn_mul(&ctx, vn_mul(&ctx, x, x), c), "y");
    ck_assert_int_eq(vn_backward(&ctx, y), VN_OK);
    ck_assert(x->grad.data[0] == 12);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    render_trace_forward(f, &ctx, y, 4);
    ck_assert(render_trace_backward(f, &ctx, y, 4));
    long size = ftell(f);
    char *text = calloc((size_t)size + 1, 1);
    rewind(f);
    ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    ck_assert_msg(strstr(text, "sends to  #0 x scalar: 12\n"), "%s", text);
    ck_assert_msg(strstr(text, "sends to  #2 mul scalar: 2\n"), "%s", text);
    ck_assert_msg(strstr(text, "sends to  #1 const scalar: nothing (needs no gradient)\n"), "%s", text);
    ck_assert_msg(strstr(text, "#0   x: param, gradient scalar = 12\n"), "%s", text);
    ck_assert_msg(strstr(text, "out  scalar = 18\n"), "%s", text);
    ck_assert(x->grad.data[0] == 12); /* untouched by the trace */
    free(text);
    vn_arena_release(&arena);
}
END_TEST

/* ---- with Graphviz ------------------------------------------------------------------------- */

#ifdef CVENE_HAVE_CGRAPH

/* Graphviz's reading of a record label "{f0|f1|...}" (or "f0|f1|..." left to
 * right), field by field, as its record parser and label maker do it: a
 * backslash escapes the next byte (\n is a line break, "\ " a space that is
 * kept), spaces at the start of a field are dropped (escaped or not, which
 * is why the writer draws a name's leading spaces as no-break spaces), a
 * run of unescaped ones collapses to one, and trailing unescaped ones are
 * trimmed. */
static int record_fields(const char *label, char fields[][512], int max) {
    const char *p = label, *end = label + strlen(label);
    if (*p == '{' && end > p && end[-1] == '}') p++, end--;
    int n = 0;
    size_t len = 0, hard = 0; /* hard: length up to the last kept space */
    for (;; p++) {
        if (p == end || *p == '|') {
            while (len > hard && fields[n][len - 1] == ' ') len--;
            fields[n][len] = '\0';
            n++;
            len = hard = 0;
            if (p == end || n >= max) break;
            continue;
        }
        if (len >= 510) continue;
        if (*p == '\\' && p + 1 < end) {
            p++;
            if (*p == ' ' && len == 0) continue;
            fields[n][len++] = *p == 'n' ? '\n' : *p;
            if (*p == ' ') hard = len;
        } else if (*p == ' ') {
            if (len > 0 && fields[n][len - 1] != ' ') fields[n][len++] = ' ';
        } else {
            fields[n][len++] = *p;
        }
    }
    return n;
}

/* A plain (non-record) label: \\ and \n, and the space the writer adds after
 * a final backslash. */
static void plain_label(const char *label, char *out, size_t size) {
    size_t len = 0;
    for (const char *p = label; *p && len + 1 < size; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            out[len++] = *p == 'n' ? '\n' : *p;
        } else {
            out[len++] = *p;
        }
    }
    if (len > 0 && out[len - 1] == ' ' && len > 1 && out[len - 2] == '\\') len--;
    out[len] = '\0';
}

static Agraph_t *parse(const char *text) {
    Agraph_t *g = agmemread(text);
    ck_assert_msg(g != NULL, "cgraph could not parse:\n%s", text);
    return g;
}

static Agraph_t *find_subgraph(Agraph_t *g, const char *name) {
    for (Agraph_t *s = agfstsubg(g); s; s = agnxtsubg(s)) {
        if (!strcmp(agnameof(s), name)) return s;
        Agraph_t *deeper = find_subgraph(s, name);
        if (deeper) return deeper;
    }
    return NULL;
}

/* The cluster (at any depth) whose label starts with `prefix`. */
static Agraph_t *find_labelled(Agraph_t *g, const char *prefix) {
    for (Agraph_t *s = agfstsubg(g); s; s = agnxtsubg(s)) {
        char *label = agget(s, "label");
        if (label && !strncmp(label, prefix, strlen(prefix)) && !strncmp(agnameof(s), "cluster", 7)) return s;
        Agraph_t *deeper = find_labelled(s, prefix);
        if (deeper) return deeper;
    }
    return NULL;
}

static const char *attr(void *obj, const char *name) {
    char *v = agget(obj, (char *)name);
    return v ? v : "";
}

static bool in_subgraph(Agraph_t *sub, Agraph_t *root, const char *node) {
    Agnode_t *n = agnode(root, (char *)node, 0);
    return n && agsubnode(sub, n, 0) != NULL;
}

START_TEST(seed_graphs_parse) {
    for (int mode = 0; mode < 4; mode++) {
        bool backward = mode & 1, fold = !(mode & 2);
        render_graph *g = seed(backward);
        vn_dot_options o = seed_options(g, backward);
        if (!fold) o.flags &= ~(unsigned)VN_DOT_FOLD_CONSTANTS;
        const vn_node *root = backward ? g->loss : g->output;
        char *text = dot_text(&g->ctx, root, &o);
        Agraph_t *dg = parse(text);
        int nodes, edges;
        expected_counts(&g->ctx, root, fold, &o, &nodes, &edges);
        ck_assert_int_eq(agnnodes(dg), nodes);
        ck_assert_int_eq(agnedges(dg), edges);
        /* Runs, layers, the intervention, each where it belongs. */
        landmarks l = find_landmarks(g);
        Agraph_t *source = find_subgraph(dg, l.source_run), *base = find_subgraph(dg, l.base_run);
        ck_assert_ptr_nonnull(source);
        ck_assert_ptr_nonnull(base);
        ck_assert_str_eq(attr(source, "label"), "source run (group 0)");
        ck_assert_str_eq(attr(base, "label"), "base run");
        Agraph_t *iv = find_labelled(base, "intervention layer_0_comp_block_output_unit_pos_nunit_1#0");
        ck_assert_ptr_nonnull(iv);
        ck_assert(in_subgraph(iv, dg, l.iv));
        ck_assert(in_subgraph(iv, dg, l.rotation));
        ck_assert(in_subgraph(iv, dg, l.original));
        ck_assert(!in_subgraph(source, dg, l.iv));
        ck_assert(in_subgraph(find_labelled(source, "mlp.h.0"), dg, l.source_act));
        ck_assert(in_subgraph(find_labelled(base, "mlp.h.0"), dg, l.base_act));
        ck_assert(in_subgraph(find_labelled(base, "score"), dg, l.head));
        ck_assert(in_subgraph(source, dg, l.source_in));
        ck_assert(in_subgraph(base, dg, l.base_in));
        /* Roles. */
        ck_assert_str_eq(attr(agnode(dg, l.iv, 0), "fillcolor"), "#fdd0a2");
        ck_assert_str_eq(attr(agnode(dg, l.original, 0), "fillcolor"), "#c6dbef");
        ck_assert_str_eq(attr(agnode(dg, l.base_in, 0), "fillcolor"), "#c7e9c0");
        ck_assert_ptr_nonnull(strstr(attr(agnode(dg, l.frozen, 0), "style"), "dashed"));
        ck_assert_str_eq(attr(agnode(dg, l.head, 0), "shape"), "record");
        ck_assert_int_eq(agnode(dg, l.mask, 0) == NULL, fold);
        if (backward) ck_assert_str_eq(attr(agnode(dg, l.loss, 0), "fillcolor"), "#fcbba1");
        /* The splice from the source run; gradient edges after backward. */
        Agedge_t *splice = agedge(dg, agnode(dg, l.source_act, 0), agnode(dg, l.iv, 0), NULL, 0);
        ck_assert_ptr_nonnull(splice);
        ck_assert_str_eq(attr(splice, "color"), "#d94801");
        if (backward) {
            Agedge_t *to_head = agedge(dg, agnode(dg, l.iv, 0), agnode(dg, l.head, 0), NULL, 0);
            ck_assert_ptr_nonnull(to_head);
            ck_assert_str_eq(attr(to_head, "color"), "#cb181d");
        }
        /* The legend is part of the graph's label. */
        ck_assert_ptr_nonnull(strstr(attr(dg, "label"), "intervention op"));
        agclose(dg);
        free(text);
        seed_free(g);
    }
}
END_TEST

/* Names Graphviz would misread, and what a picture must show for each. */
static const char *const HOSTILE[][2] = {
    {"a{b}c|d<e>f\"g\\h", "a{b}c|d<e>f\"g\\h"},
    {"line1\nline2", "line1\nline2"},
    {"  two  leading, two  inside, two trailing  ", "\xc2\xa0\xc2\xa0two  leading, two  inside, two trailing  "},
    {"\\N \\G \\L \\n \\l", "\\N \\G \\L \\n \\l"},
    {"ends with a backslash\\", "ends with a backslash\\"},
    {"quote at the end\"", "quote at the end\""},
    {"backslash then quote \\\"", "backslash then quote \\\""},
    {"tab\there", "tab?here"},
    {"bad utf-8 \xff\xfe\xc3 ok", "bad utf-8 ??? ok"},
    {"ünïcødé ✓", "ünïcødé ✓"},
    {"", ""},
    {" ", "\xc2\xa0"},
    {"x ", "x "},
};

START_TEST(hostile_names_round_trip) {
    vn_arena arena;
    vn_host_arena(&arena, NULL);
    vn_context ctx;
    vn_context_init(&ctx, &arena);
    size_t n = sizeof HOSTILE / sizeof HOSTILE[0];
    vn_node *leaves[16], *ops[16];
    const char *scope = "sc{o}pe|\"x\"\n\\";
    for (size_t k = 0; k < n; k++) {
        leaves[k] = vn_node_set_name(&ctx, vn_param(&ctx, 0, NULL), HOSTILE[k][0]);
        vn_context_set_scope(&ctx, scope);
        ops[k] = vn_node_set_name(&ctx, vn_neg(&ctx, leaves[k]), HOSTILE[k][0]);
        vn_context_set_scope(&ctx, NULL);
    }
    ck_assert_int_eq(vn_context_status(&ctx), VN_OK);
    for (int lr = 0; lr < 2; lr++) {
        vn_dot_options o = vn_dot_defaults();
        o.title = "<b>title</b> & \"quotes\"\nsecond line";
        if (lr) o.flags |= VN_DOT_LEFT_RIGHT;
        char *text = dot_text(&ctx, NULL, &o);
        Agraph_t *dg = parse(text);
        ck_assert_int_eq(agnnodes(dg), (int)(2 * n));
        ck_assert_int_eq(agnedges(dg), (int)n);
        for (size_t k = 0; k < n; k++) {
            const vn_node *nodes[2] = {leaves[k], ops[k]};
            for (int which = 0; which < 2; which++) {
                char id[16], fields[8][512];
                snprintf(id, sizeof id, "n%d", nodes[which]->index);
                Agnode_t *node = agnode(dg, id, 0);
                ck_assert_ptr_nonnull(node);
                int count = record_fields(attr(node, "label"), fields, 8);
                ck_assert_int_ge(count, 3);
                ck_assert_msg(!strcmp(fields[0], HOSTILE[k][1]), "name %zu drawn as '%s', meant '%s' (label %s)",
                              k, fields[0], HOSTILE[k][1], attr(node, "label"));
            }
        }
        /* The scope's cluster label, and the HTML title. */
        bool found = false;
        for (Agraph_t *s = agfstsubg(dg); s; s = agnxtsubg(s)) {
            char shown[256];
            plain_label(attr(s, "label"), shown, sizeof shown);
            found |= !strcmp(shown, scope);
        }
        ck_assert_msg(found, "no cluster shows the scope '%s'", scope);
        ck_assert_ptr_nonnull(strstr(attr(dg, "label"), "&lt;b&gt;title&lt;/b&gt; &amp; &quot;quotes&quot;"));
        agclose(dg);
        /* Graphviz lays it out and renders it. */
        if (render_have_graphviz()) {
            char *svg, err[VN_HOST_ERR];
            size_t size;
            ck_assert_msg(render_to_memory(text, strlen(text), "svg", &svg, &size, err), "%s", err);
            ck_assert_ptr_nonnull(strstr(svg, "ünïcødé ✓"));
            free(svg);
        }
        free(text);
    }
    vn_arena_release(&arena);
}
END_TEST

START_TEST(seed_renders) {
    if (!render_have_graphviz()) return;
    render_graph *g = seed(true);
    vn_dot_options o = seed_options(g, true);
    o.flags |= VN_DOT_VALUES;
    o.digits = 4;
    char *text = dot_text(&g->ctx, g->loss, &o);
    const char *formats[2] = {"svg", "png"};
    for (int f = 0; f < 2; f++) {
        char *out, err[VN_HOST_ERR];
        size_t size;
        ck_assert_msg(render_to_memory(text, strlen(text), formats[f], &out, &size, err), "%s", err);
        ck_assert_uint_gt(size, 1000);
        if (f == 0) ck_assert_ptr_nonnull(strstr(out, "<svg"));
        else ck_assert(!memcmp(out, "\x89PNG", 4));
        free(out);
    }
    /* A file written through render_write, and a refused extension. */
    char path[] = "/tmp/cvene_render_XXXXXX";
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    close(fd);
    char svg_path[64], err[VN_HOST_ERR];
    snprintf(svg_path, sizeof svg_path, "%s.svg", path);
    ck_assert_msg(render_write(text, strlen(text), svg_path, err), "%s", err);
    ck_assert(!render_write(text, strlen(text), "/tmp/picture.jpeg", err));
    unlink(svg_path);
    unlink(path);
    free(text);
    seed_free(g);
}
END_TEST

START_TEST(zoom_parses) {
    render_graph *g = seed(false);
    const vn_node *ivs[1];
    render_interventions(g, ivs, 1);
    vn_dot_options o = seed_options(g, false);
    o.focus = ivs[0];
    o.flags |= VN_DOT_VALUES;
    char *text = dot_text(&g->ctx, NULL, &o);
    Agraph_t *dg = parse(text);
    ck_assert_int_eq(agnnodes(dg), 6);
    ck_assert_int_eq(agnedges(dg), 5);
    agclose(dg);
    free(text);
    seed_free(g);
}
END_TEST

#endif

int main(int argc, char **argv) {
    bool graphviz = argc > 1 && !strcmp(argv[1], "--graphviz");
    if (!graphviz && argc > 1) cvene_path = argv[1];
#ifndef CVENE_HAVE_CGRAPH
    if (graphviz) {
        fprintf(stderr, "test_dot: built without Graphviz's cgraph: skipped\n");
        return 77;
    }
#endif
    Suite *s = suite_create("dot");
    TCase *tc = test_case(s, graphviz ? "graphviz" : "writer", NULL, NULL, 120);
    if (graphviz) {
#ifdef CVENE_HAVE_CGRAPH
        tcase_add_test(tc, seed_graphs_parse);
        tcase_add_test(tc, hostile_names_round_trip);
        tcase_add_test(tc, seed_renders);
        tcase_add_test(tc, zoom_parses);
        if (!render_have_graphviz()) fprintf(stderr, "test_dot: built without libgvc: rendering is not tested\n");
#endif
    } else {
        tcase_add_test(tc, summaries);
        tcase_add_test(tc, golden_files);
        tcase_add_test(tc, cli_writes_the_golden_files);
        tcase_add_test(tc, deterministic_and_complete);
        tcase_add_test(tc, zoom_is_one_hop);
        tcase_add_test(tc, errors_are_reported);
        tcase_add_test(tc, node_lists);
        tcase_add_test(tc, trace_sends);
    }
    return test_run(s);
}
