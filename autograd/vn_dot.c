/* vn_dot.c — the DOT writer (see vn_dot.h for what a picture shows).
 *
 * The writer works in three passes over the context's nodes, indexed by
 * their topological index:
 *   1. select the nodes to draw (what the root depends on, a list, or one
 *      hop around a focus) and fold single-use constants;
 *   2. place every drawn node: its run (by data flow from the runs' input
 *      leaves) and its cluster (run × scope);
 *   3. write the graph's label (title and legend), the clusters and their
 *      nodes in index order, then the edges.
 * Quoted strings go through one escaper, which knows Graphviz's two levels
 * of quoting: the DOT string (only \" is special to the lexer) and the
 * record label inside it ({ } | < > and spaces are structure; a backslash
 * escapes; \n breaks the line). */
#include "vn_dot.h"

/* ---- roles and their looks ---------------------------------------------------- */

typedef enum role {
    ROLE_OP,
    ROLE_INTERVENTION,
    ROLE_LOSS_OP,
    ROLE_LOSS,
    ROLE_PARAM,
    ROLE_FROZEN,
    ROLE_INPUT,
    ROLE_CONST,
    ROLE_LEAF,
    ROLE_COUNT
} role;

typedef struct role_look {
    const char *legend; /* the legend's text */
    const char *fill, *border;
    const char *extra;  /* more node attributes (after fill and border) */
} role_look;

static const role_look LOOKS[ROLE_COUNT] = {
    [ROLE_OP] = {"op", "#ffffff", "#6b6b6b", ""},
    [ROLE_INTERVENTION] = {"intervention op", "#fdd0a2", "#d94801", ", penwidth=2.2"},
    [ROLE_LOSS_OP] = {"loss op", "#fde0dd", "#c51b8a", ""},
    [ROLE_LOSS] = {"loss: backward starts here", "#fcbba1", "#a50f15", ", penwidth=2.2"},
    [ROLE_PARAM] = {"trainable parameter", "#c6dbef", "#2171b5", ""},
    [ROLE_FROZEN] = {"frozen parameter", "#eef3f8", "#7a9cc6",
                     ", style=\"rounded,filled,dashed\", fontcolor=\"#4a5a6a\""},
    [ROLE_INPUT] = {"input", "#c7e9c0", "#238b45", ""},
    [ROLE_CONST] = {"constant", "#f0f0f0", "#a0a0a0", ", fontsize=8, fontcolor=\"#505050\""},
    [ROLE_LEAF] = {"leaf", "#f7f7f7", "#a0a0a0", ", style=\"rounded,filled,dashed\""},
};

static role node_role(const vn_node *node) {
    if (node->flags & VN_NODE_LOSS) return ROLE_LOSS;
    if (node->op) {
        if (node->op->role == VN_ROLE_INTERVENTION) return ROLE_INTERVENTION;
        if (node->op->role == VN_ROLE_LOSS_OP) return ROLE_LOSS_OP;
        return ROLE_OP;
    }
    if (node->flags & VN_NODE_PARAM) return (node->flags & VN_NODE_FROZEN) ? ROLE_FROZEN : ROLE_PARAM;
    if (node->flags & VN_NODE_INPUT) return ROLE_INPUT;
    if (node->flags & VN_NODE_CONST) return ROLE_CONST;
    return ROLE_LEAF;
}

const char *vn_dot_kind(const vn_node *node) {
    if (!node) return "?";
    if (node->op) return node->op->name ? node->op->name : "op";
    if (node->flags & VN_NODE_PARAM) return (node->flags & VN_NODE_FROZEN) ? "param (frozen)" : "param";
    if (node->flags & VN_NODE_INPUT) return "input";
    if (node->flags & VN_NODE_CONST) return "const";
    return "leaf";
}

/* ---- summaries ------------------------------------------------------------------- */

#define LIST_MAX 8

static bool finite(double v) { return v == v && v - v == 0; }

size_t vn_dot_summary(char *buf, size_t size, const vn_real *data, size_t n, int digits) {
    if (digits < 1 || digits > 17) digits = 4;
    if (n == 0 || !data) return vn_format(buf, size, "empty");
    size_t len = 0;
#define APPEND(...) len += vn_format(len < size ? buf + len : NULL, len < size ? size - len : 0, __VA_ARGS__)
    if (size > 0) buf[0] = '\0';
    if (n == 1) return vn_format(buf, size, "%.*g", digits, (double)data[0]);
    if (n <= LIST_MAX) {
        APPEND("[");
        for (size_t i = 0; i < n; i++) APPEND("%s%.*g", i ? ", " : "", digits, (double)data[i]);
        APPEND("]");
        return len;
    }
    double lo = 0, hi = 0, sum = 0;
    size_t good = 0;
    for (size_t i = 0; i < n; i++) {
        double v = (double)data[i];
        if (!finite(v)) continue;
        if (good == 0 || v < lo) lo = v;
        if (good == 0 || v > hi) hi = v;
        sum += v;
        good++;
    }
    if (good > 0)
        APPEND("min %.*g max %.*g mean %.*g", digits, lo, digits, hi, digits, sum / (double)good);
    if (good < n) APPEND("%s%zu non-finite", good ? ", " : "", n - good);
#undef APPEND
    return len;
}

/* ---- output ---------------------------------------------------------------------------- */

enum { SELECTED = 1, FOLDED = 2 };

typedef struct cluster {
    int run;            /* -1: outside every run */
    const char *scope;  /* never NULL */
    bool intervention;  /* holds an intervention op */
} cluster;

typedef struct dot {
    vn_write_fn write;
    void *user;
    vn_status status;
    char last;                 /* last byte written inside the open quoted string */
    const vn_dot_options *o;
    int n;                     /* nodes in the context */
    const vn_node **node;      /* by index */
    unsigned char *mark;       /* SELECTED, FOLDED */
    int *run;                  /* data-flow run of every node (-1: none) */
    int *place_run;            /* run a drawn node is drawn in (-1: top level) */
    int *place_cluster;        /* cluster it is drawn in (-1: directly in its run) */
    int *uses;                 /* drawn edges out of each node */
    int *consumer;             /* the last drawn consumer of each node */
    cluster *clusters;
    int n_clusters;
    const vn_node **run_input; /* by run */
    const char **run_label;    /* by run; NULL: made from the input */
    int n_runs;
    unsigned roles;            /* roles drawn, for the legend */
    bool grad_edges;           /* some edge carries a gradient */
    bool splice_edges;         /* some edge goes from one run into another */
} dot;

static void put(dot *d, const char *bytes, size_t length) {
    if (d->status != VN_OK || length == 0) return;
    if (d->write(d->user, bytes, length) != 0) d->status = VN_EIO;
}

static void puts_(dot *d, const char *s) { put(d, s, vn_strlen(s)); }

static void putf(dot *d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void putf(dot *d, const char *fmt, ...) {
    char buf[512];
    va_list args;
    va_start(args, fmt);
    size_t n = vn_vformat(buf, sizeof buf, fmt, args);
    va_end(args);
    put(d, buf, n < sizeof buf ? n : sizeof buf - 1);
}

/* Quoted strings. */
static void q_open(dot *d) {
    puts_(d, "\"");
    d->last = '"';
}

/* Graphviz 2.43's lexer reads `\\"` as a backslash and an escaped quote, so a
 * string must not end in an escaped backslash: a space goes between. */
static void q_close(dot *d) {
    puts_(d, d->last == '\\' ? " \"" : "\"");
}

/* Structure inside a quoted string (record separators, generated text
 * without quotes or backslashes). */
static void q_raw(dot *d, const char *s) {
    size_t n = vn_strlen(s);
    put(d, s, n);
    if (n) d->last = s[n - 1];
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static int utf8_length(const unsigned char *s) {
    unsigned char c = s[0];
    int len;
    unsigned min;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, cp = c & 0x1fu, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef) len = 3, cp = c & 0x0fu, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, cp = c & 0x07u, min = 0x10000;
    else return 0;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

/* Writes user text inside a quoted string. In a record field, { } | < >
 * are escaped, and a space that Graphviz would drop becomes a hard space
 * "\ " (after another space, or at the end of the field) or, at the start
 * of the field, where Graphviz drops hard spaces too, a no-break space
 * (U+00A0). Everywhere: " and backslash are escaped, a newline becomes the
 * line break \n, other control bytes and invalid UTF-8 become '?'. */
static void q_text(dot *d, const char *text, bool record) {
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    char buf[256];
    size_t n = 0;
    bool after_space = false, at_start = true;
    while (*s) {
        if (n > sizeof buf - 8) {
            put(d, buf, n);
            d->last = buf[n - 1];
            n = 0;
        }
        unsigned char c = *s;
        int len = utf8_length(s);
        if (len == 0) {
            buf[n++] = '?';
            s++;
        } else if (len > 1) {
            for (int i = 0; i < len; i++) buf[n++] = (char)s[i];
            s += len;
        } else if (c == '\n') {
            buf[n++] = '\\';
            buf[n++] = 'n';
            s++;
        } else if (c < 0x20 || c == 0x7f) {
            buf[n++] = '?';
            s++;
        } else if (c == '"') {
            buf[n++] = '\\';
            buf[n++] = '"';
            s++;
        } else if (c == '\\') {
            buf[n++] = '\\';
            buf[n++] = '\\';
            s++;
        } else if (record && (c == '{' || c == '}' || c == '|' || c == '<' || c == '>')) {
            buf[n++] = '\\';
            buf[n++] = (char)c;
            s++;
        } else if (record && c == ' ' && at_start) {
            buf[n++] = (char)0xc2;
            buf[n++] = (char)0xa0;
            s++;
        } else if (record && c == ' ' && (after_space || s[1] == '\0')) {
            buf[n++] = '\\';
            buf[n++] = ' ';
            s++;
        } else {
            buf[n++] = (char)c;
            s++;
        }
        after_space = c == ' ' && !at_start;
        at_start = at_start && c == ' ';
    }
    if (n) {
        put(d, buf, n);
        d->last = buf[n - 1];
    }
}

/* ---- building the picture ------------------------------------------------------------ */

static bool drawn(const dot *d, int i) { return (d->mark[i] & (SELECTED | FOLDED)) == SELECTED; }

static int find_cluster(dot *d, int run, const char *scope) {
    for (int c = 0; c < d->n_clusters; c++)
        if (d->clusters[c].run == run && vn_strcmp(d->clusters[c].scope, scope) == 0) return c;
    d->clusters[d->n_clusters] = (cluster){run, scope, false};
    return d->n_clusters++;
}

/* The run an op node without one is drawn in: the run of the first drawn
 * node that shares its scope and has a run (a rotation computed from
 * parameters joins the intervention that uses it). */
static int adopted_run(const dot *d, int i) {
    const char *scope = d->node[i]->scope;
    if (!scope || d->n_runs == 0) return -1;
    for (int j = 0; j < d->n; j++)
        if (drawn(d, j) && d->run[j] >= 0 && d->node[j]->scope && vn_strcmp(d->node[j]->scope, scope) == 0)
            return d->run[j];
    return -1;
}

static bool is_run_input(const dot *d, int i) {
    for (int r = 0; r < d->n_runs; r++)
        if (d->run_input[r] == d->node[i]) return true;
    return false;
}

static void place_nodes(dot *d) {
    enum { UNSET = -2 };
    for (int i = 0; i < d->n; i++) d->place_run[i] = d->place_cluster[i] = -1;
    if (!(d->o->flags & VN_DOT_CLUSTERS)) return;
    /* Ops and run inputs: by run and scope (a run's input sits at its top). */
    for (int i = 0; i < d->n; i++) {
        if (!drawn(d, i)) continue;
        const vn_node *node = d->node[i];
        if (node->op) {
            int run = d->run[i] >= 0 ? d->run[i] : adopted_run(d, i);
            d->place_run[i] = run;
            if (node->scope) d->place_cluster[i] = find_cluster(d, run, node->scope);
        } else if (is_run_input(d, i)) {
            d->place_run[i] = d->run[i];
        } else if (d->uses[i] == 0) {
            if (node->scope) d->place_cluster[i] = find_cluster(d, -1, node->scope);
        } else {
            d->place_run[i] = d->place_cluster[i] = UNSET;
        }
    }
    for (int i = 0; i < d->n; i++)
        if (drawn(d, i) && d->place_cluster[i] >= 0 && node_role(d->node[i]) == ROLE_INTERVENTION)
            d->clusters[d->place_cluster[i]].intervention = true;
    /* Other leaves: in the run their consumers share (else at the top), and
     * inside an intervention's cluster when all their consumers are there.
     * Parameters of layers stay outside the layers' clusters: a cluster then
     * spans only its ops, and consecutive layers stack instead of staggering. */
    for (int j = 0; j < d->n; j++) {
        if (!drawn(d, j) || !d->node[j]->op) continue;
        for (int k = 0; k < d->node[j]->n_inputs; k++) {
            int i = d->node[j]->inputs[k]->index;
            if (!drawn(d, i) || d->node[i]->op || is_run_input(d, i)) continue;
            if (d->place_run[i] == UNSET) {
                d->place_run[i] = d->place_run[j];
                d->place_cluster[i] = d->place_cluster[j];
            } else if (d->place_cluster[i] != d->place_cluster[j] || d->place_run[i] != d->place_run[j]) {
                if (d->place_run[i] != d->place_run[j]) d->place_run[i] = -1;
                d->place_cluster[i] = -1;
            }
        }
    }
    for (int i = 0; i < d->n; i++) {
        if (d->place_run[i] == UNSET) d->place_run[i] = -1;
        if (d->place_cluster[i] == UNSET) d->place_cluster[i] = -1;
        if (!d->node[i]->op && d->place_cluster[i] >= 0 && !d->clusters[d->place_cluster[i]].intervention &&
            !(d->node[i]->scope && d->uses[i] == 0))
            d->place_cluster[i] = -1;
    }
}

/* ---- writing nodes ---------------------------------------------------------------------- */

static void shape_text(const vn_tensor *t, char *buf, size_t size) {
    if (t->ndim == 0) vn_strlcpy(buf, "scalar", size);
    else vn_shape_string(t, buf, size);
}

static bool has_grad(const vn_node *node) {
    return node->grad.data && (vn_node_requires_grad(node) || (node->flags & VN_NODE_LOSS));
}

/* One record field separator, and the row of a folded constant. */
static void write_folded_row(dot *d, int slot, const vn_node *c) {
    char buf[320], shape[64];
    q_raw(d, "|");
    vn_format(buf, sizeof buf, "in %d: ", slot);
    q_raw(d, buf);
    q_text(d, c->name ? c->name : "const", true);
    shape_text(&c->value, shape, sizeof shape);
    vn_format(buf, sizeof buf, "%s%s", c->name ? " const " : " ", shape);
    q_raw(d, buf);
    if ((d->o->flags & VN_DOT_VALUES) && d->o->digits > 0) {
        vn_dot_summary(buf, sizeof buf, c->value.data, c->value.numel, d->o->digits);
        q_raw(d, " = ");
        q_text(d, buf, true);
    }
}

static void write_node(dot *d, int i, const char *indent) {
    const vn_node *node = d->node[i];
    role r = node_role(node);
    bool lr = (d->o->flags & VN_DOT_LEFT_RIGHT) != 0;
    char buf[320], shape[64];
    putf(d, "%sn%d [label=", indent, i);
    q_open(d);
    if (!lr) q_raw(d, "{");
    const char *kind = vn_dot_kind(node);
    if (node->name) {
        q_text(d, node->name, true);
        q_raw(d, "|");
    }
    q_text(d, kind, true);
    vn_format(buf, sizeof buf, " #%d", i);
    q_raw(d, buf);
    bool values = (d->o->flags & VN_DOT_VALUES) && d->o->digits > 0;
    if (node->value.ndim > 0 || !values) { /* a scalar's value row says enough */
        shape_text(&node->value, shape, sizeof shape);
        q_raw(d, "|");
        q_raw(d, shape);
    }
    if (values) {
        vn_dot_summary(buf, sizeof buf, node->value.data, node->value.numel, d->o->digits);
        q_raw(d, "|= ");
        q_text(d, buf, true);
    }
    if ((d->o->flags & VN_DOT_GRADS) && has_grad(node)) {
        if (d->o->digits > 0) {
            vn_dot_summary(buf, sizeof buf, node->grad.data, node->grad.numel, d->o->digits);
            q_raw(d, "|grad ");
            q_text(d, buf, true);
        } else {
            q_raw(d, "|has grad");
        }
    }
    for (int k = 0; k < node->n_inputs; k++) {
        const vn_node *in = node->inputs[k];
        if ((d->mark[in->index] & FOLDED) && d->consumer[in->index] == i) write_folded_row(d, k, in);
    }
    if (!lr) q_raw(d, "}");
    q_close(d);
    putf(d, ", fillcolor=\"%s\", color=\"%s\"%s];\n", LOOKS[r].fill, LOOKS[r].border, LOOKS[r].extra);
}

static void write_nodes_at(dot *d, int run, int cl, const char *indent) {
    for (int i = 0; i < d->n; i++)
        if (drawn(d, i) && d->place_run[i] == run && d->place_cluster[i] == cl) write_node(d, i, indent);
}

static void write_cluster(dot *d, int c, const char *indent) {
    const cluster *cl = &d->clusters[c];
    int first = -1;
    for (int i = 0; i < d->n && first < 0; i++)
        if (drawn(d, i) && d->place_cluster[i] == c) first = i;
    if (first < 0) return;
    putf(d, "%ssubgraph cluster_%d_%d {\n", indent, cl->run + 1, first);
    putf(d, "%s  label=", indent);
    q_open(d);
    if (cl->intervention) q_raw(d, "intervention ");
    q_text(d, cl->scope, false);
    q_close(d);
    if (cl->intervention)
        putf(d, "; style=\"rounded,filled\"; fillcolor=\"#fff5eb\"; color=\"#f16913\"; penwidth=1.8;\n");
    else
        putf(d, "; style=\"rounded,dashed\"; color=\"#9e9e9e\"; fillcolor=none; penwidth=1;\n");
    char inner[16];
    vn_format(inner, sizeof inner, "%s  ", indent);
    write_nodes_at(d, cl->run, c, inner);
    putf(d, "%s}\n", indent);
}

static void write_run_label(dot *d, int r) {
    q_open(d);
    if (d->run_label[r]) {
        q_text(d, d->run_label[r], false);
    } else {
        const vn_node *in = d->run_input[r];
        q_raw(d, "run from ");
        if (in->name) {
            q_text(d, in->name, false);
        } else {
            char buf[32];
            vn_format(buf, sizeof buf, "input #%d", in->index);
            q_raw(d, buf);
        }
    }
    q_close(d);
}

/* Writes user text inside an HTML-like label: & < > " become entities, a
 * newline a left-aligned line break, control bytes and invalid UTF-8 '?'. */
static void h_text(dot *d, const char *text) {
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    while (*s) {
        int len = utf8_length(s);
        const char *rep = NULL;
        char one[2] = {(char)*s, '\0'};
        if (len == 0) rep = "?", len = 1;
        else if (*s == '&') rep = "&amp;";
        else if (*s == '<') rep = "&lt;";
        else if (*s == '>') rep = "&gt;";
        else if (*s == '"') rep = "&quot;";
        else if (*s == '\n') rep = "<br align=\"left\"/>";
        else if (*s < 0x20 || *s == 0x7f) rep = "?";
        else if (len == 1) rep = one;
        if (rep) puts_(d, rep);
        else put(d, (const char *)s, (size_t)len);
        s += len;
    }
}

/* How an edge is drawn: along a gradient, from another run, or plainly. */
typedef enum edge_kind { EDGE_PLAIN, EDGE_GRAD, EDGE_SPLICE } edge_kind;

static edge_kind edge_of(const dot *d, int j, int k) {
    const vn_node *node = d->node[j], *in = node->inputs[k];
    int from_run = d->run[in->index], to_run = d->run[j];
    if ((d->o->flags & VN_DOT_GRADS) && node->grad.data && vn_node_requires_grad(node) &&
        vn_node_requires_grad(in))
        return EDGE_GRAD;
    if (from_run >= 0 && to_run >= 0 && from_run != to_run) return EDGE_SPLICE;
    return EDGE_PLAIN;
}

/* The graph's label: the title, then a legend of the roles and edges
 * drawn. An HTML-like label, so the legend takes no room in the layout. */
static void write_graph_label(dot *d) {
    bool legend = (d->o->flags & VN_DOT_LEGEND) && d->roles;
    if (!d->o->title && !legend) return;
    puts_(d, "  label=<<table border=\"0\" cellspacing=\"2\" cellpadding=\"0\">");
    if (d->o->title) {
        puts_(d, "<tr><td align=\"left\" balign=\"left\"><font point-size=\"13\">");
        h_text(d, d->o->title);
        puts_(d, "</font></td></tr>");
    }
    if (legend) {
        /* One line of coloured swatches: cells would stretch to the title's width. */
        puts_(d, "<tr><td align=\"left\"><font point-size=\"10\"><font color=\"#606060\">legend:</font>");
        for (int r = 0; r < ROLE_COUNT; r++) {
            if (!(d->roles & (1u << r))) continue;
            putf(d, " &#160; <font color=\"%s\">&#9632;</font> %s", LOOKS[r].border, LOOKS[r].legend);
        }
        if (d->splice_edges) puts_(d, " &#160; <font color=\"#d94801\">&#10230;</font> from another run");
        if (d->grad_edges) puts_(d, " &#160; <font color=\"#cb181d\">&#10229;</font> gradient flows back");
        puts_(d, "</font></td></tr>");
    }
    puts_(d, "</table>>;\n");
}

static void write_edges(dot *d) {
    for (int j = 0; j < d->n; j++) {
        if (!drawn(d, j)) continue;
        const vn_node *node = d->node[j];
        for (int k = 0; k < node->n_inputs; k++) {
            int i = node->inputs[k]->index;
            if (!drawn(d, i)) continue;
            putf(d, "  n%d -> n%d", i, j);
            edge_kind kind = edge_of(d, j, k);
            const char *look = kind == EDGE_GRAD ? "color=\"#cb181d\", penwidth=1.6"
                             : kind == EDGE_SPLICE ? "color=\"#d94801\", penwidth=2.2" : NULL;
            bool slot = node->n_inputs > 1;
            if (look || slot) {
                putf(d, " [%s%s", look ? look : "", look && slot ? ", " : "");
                if (slot) putf(d, "headlabel=\"%d\"", k);
                puts_(d, "]");
            }
            puts_(d, ";\n");
        }
    }
}

static void write_graph(dot *d) {
    bool lr = (d->o->flags & VN_DOT_LEFT_RIGHT) != 0;
    /* What the legend lists. */
    for (int j = 0; j < d->n; j++) {
        if (!drawn(d, j)) continue;
        d->roles |= 1u << node_role(d->node[j]);
        for (int k = 0; k < d->node[j]->n_inputs; k++) {
            if (!drawn(d, d->node[j]->inputs[k]->index)) continue;
            edge_kind kind = edge_of(d, j, k);
            d->grad_edges |= kind == EDGE_GRAD;
            d->splice_edges |= kind == EDGE_SPLICE;
        }
    }
    puts_(d, "digraph cvene {\n");
    putf(d, "  graph [rankdir=%s, newrank=true, fontname=\"Helvetica\", fontsize=11, nodesep=0.25, "
            "ranksep=0.3, labeljust=l, labelloc=t];\n", lr ? "LR" : "TB");
    write_graph_label(d);
    puts_(d, "  node [shape=record, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, "
             "height=0.25, margin=\"0.08,0.03\"];\n"
             "  edge [color=\"#7a7a7a\", arrowsize=0.6, fontname=\"Helvetica\", fontsize=8, "
             "fontcolor=\"#8a8a8a\"];\n");
    /* Outside every run: loose nodes, then scope clusters. */
    write_nodes_at(d, -1, -1, "  ");
    for (int c = 0; c < d->n_clusters; c++)
        if (d->clusters[c].run < 0) write_cluster(d, c, "  ");
    /* Each run. */
    for (int r = 0; r < d->n_runs; r++) {
        bool any = false;
        for (int i = 0; i < d->n && !any; i++) any = drawn(d, i) && d->place_run[i] == r;
        if (!any) continue;
        putf(d, "  subgraph cluster_run%d {\n    label=", d->run_input[r]->index);
        write_run_label(d, r);
        puts_(d, "; style=\"rounded,filled\"; fillcolor=\"#f4f8fc\"; color=\"#6b9ac4\"; penwidth=1.4; "
                 "fontsize=12;\n");
        write_nodes_at(d, r, -1, "    ");
        for (int c = 0; c < d->n_clusters; c++)
            if (d->clusters[c].run == r) write_cluster(d, c, "    ");
        puts_(d, "  }\n");
    }
    write_edges(d);
    puts_(d, "}\n");
}

/* ---- entry points ------------------------------------------------------------------------- */

vn_dot_options vn_dot_defaults(void) {
    vn_dot_options o = {0};
    o.flags = VN_DOT_LEGEND | VN_DOT_CLUSTERS | VN_DOT_FOLD_CONSTANTS;
    o.digits = 4;
    return o;
}

static void *take(vn_context *ctx, size_t count, size_t size, bool *ok) {
    size_t bytes;
    if (!vn_size_mul(count + 1, size, &bytes)) {
        *ok = false;
        return NULL;
    }
    void *p = vn_arena_calloc(ctx->arena, bytes, 0);
    if (!p) *ok = false;
    return p;
}

static bool in_context(const dot *d, const vn_node *node) {
    return node && node->index >= 0 && node->index < d->n && d->node[node->index] == node;
}

enum { FROM_ROOT, FROM_LIST };

static vn_status draw(vn_context *ctx, int from, const vn_node *root, const vn_node *const *list, size_t count,
                      const vn_dot_options *options, vn_write_fn write, void *user) {
    vn_dot_options defaults = vn_dot_defaults();
    if (!options) options = &defaults;
    if (!write) return vn_context_fail(ctx, VN_EINVAL, "dot: NULL writer");
    if (options->digits < 0 || options->digits > 17)
        return vn_context_fail(ctx, VN_EINVAL, "dot: digits must be 0..17, got %d", options->digits);
    if (options->n_runs > 0 && !options->runs)
        return vn_context_fail(ctx, VN_EINVAL, "dot: %zu runs but NULL runs", options->n_runs);
    vn_arena_mark mark = vn_arena_get_mark(ctx->arena);
    dot d = {0};
    d.write = write;
    d.user = user;
    d.o = options;
    d.n = ctx->n_nodes;
    size_t n = (size_t)d.n;
    bool ok = true;
    d.node = take(ctx, n, sizeof *d.node, &ok);
    d.mark = take(ctx, n, 1, &ok);
    d.run = take(ctx, n, sizeof(int), &ok);
    d.place_run = take(ctx, n, sizeof(int), &ok);
    d.place_cluster = take(ctx, n, sizeof(int), &ok);
    d.uses = take(ctx, n, sizeof(int), &ok);
    d.consumer = take(ctx, n, sizeof(int), &ok);
    d.clusters = take(ctx, n, sizeof *d.clusters, &ok);
    size_t max_runs = options->runs ? options->n_runs : n;
    d.run_input = take(ctx, max_runs, sizeof *d.run_input, &ok);
    d.run_label = take(ctx, max_runs, sizeof *d.run_label, &ok);
    vn_status status = VN_OK;
    if (!ok) {
        vn_arena_rewind(ctx->arena, mark);
        return vn_context_fail(ctx, VN_ENOMEM, "dot: out of arena memory for %d nodes", d.n);
    }
    for (vn_node *p = ctx->last; p; p = p->prev) {
        if (p->index < 0 || p->index >= d.n || d.node[p->index]) {
            status = vn_context_fail(ctx, VN_EINVAL, "dot: the context's node list is inconsistent");
            goto done;
        }
        d.node[p->index] = p;
    }
    /* 1. Selection. */
    if (from == FROM_LIST) {
        for (size_t k = 0; k < count; k++) {
            if (!in_context(&d, list[k])) {
                status = vn_context_fail(ctx, VN_EINVAL, "dot: node %zu of the list is not in the context", k);
                goto done;
            }
            d.mark[list[k]->index] = SELECTED;
        }
    } else if (options->focus) {
        const vn_node *f = options->focus;
        if (!in_context(&d, f)) {
            status = vn_context_fail(ctx, VN_EINVAL, "dot: the focus node is not in the context");
            goto done;
        }
        d.mark[f->index] = SELECTED;
        for (int k = 0; k < f->n_inputs; k++) d.mark[f->inputs[k]->index] = SELECTED;
        for (int j = f->index + 1; j < d.n; j++)
            for (int k = 0; k < d.node[j]->n_inputs; k++)
                if (d.node[j]->inputs[k] == f) d.mark[j] = SELECTED;
    } else if (root) {
        if (!in_context(&d, root)) {
            status = vn_context_fail(ctx, VN_EINVAL, "dot: the root node is not in the context");
            goto done;
        }
        d.mark[root->index] = SELECTED;
        for (int i = root->index; i >= 0; i--)
            if (d.mark[i])
                for (int k = 0; k < d.node[i]->n_inputs; k++) d.mark[d.node[i]->inputs[k]->index] = SELECTED;
    } else {
        for (int i = 0; i < d.n; i++) d.mark[i] = SELECTED;
    }
    /* Edges between drawn nodes, and folding. */
    for (int j = 0; j < d.n; j++) {
        if (!d.mark[j]) continue;
        for (int k = 0; k < d.node[j]->n_inputs; k++) {
            int i = d.node[j]->inputs[k]->index;
            if (!d.mark[i]) continue;
            d.uses[i]++;
            d.consumer[i] = j;
        }
    }
    /* 2. Runs. */
    for (int i = 0; i < d.n; i++) d.run[i] = -1;
    if (options->runs) {
        for (size_t r = 0; r < options->n_runs; r++) {
            if (!in_context(&d, options->runs[r].input)) {
                status = vn_context_fail(ctx, VN_EINVAL, "dot: the input of run %zu is not in the context", r);
                goto done;
            }
            d.run_input[d.n_runs] = options->runs[r].input;
            d.run_label[d.n_runs] = options->runs[r].label;
            d.run[options->runs[r].input->index] = d.n_runs++;
        }
    } else {
        int inputs = 0;
        for (int i = 0; i < d.n; i++) inputs += d.mark[i] && !d.node[i]->op && (d.node[i]->flags & VN_NODE_INPUT);
        for (int i = 0; i < d.n && inputs >= 2; i++) {
            if (!d.mark[i] || d.node[i]->op || !(d.node[i]->flags & VN_NODE_INPUT)) continue;
            d.run_input[d.n_runs] = d.node[i];
            d.run[i] = d.n_runs++;
        }
    }
    for (int i = 0; i < d.n; i++) {
        if (d.run[i] >= 0 || !d.node[i]->op) continue;
        for (int k = 0; k < d.node[i]->n_inputs && d.run[i] < 0; k++) d.run[i] = d.run[d.node[i]->inputs[k]->index];
    }
    if ((options->flags & VN_DOT_FOLD_CONSTANTS) && (from == FROM_LIST || !options->focus)) {
        for (int i = 0; i < d.n; i++) {
            const vn_node *node = d.node[i];
            if (d.mark[i] && !node->op && (node->flags & VN_NODE_CONST) && d.uses[i] == 1 && node != root &&
                d.run[i] < 0)
                d.mark[i] |= FOLDED;
        }
    }
    place_nodes(&d);
    /* 3. Text. */
    write_graph(&d);
    if (d.status != VN_OK) status = vn_context_fail(ctx, d.status, "dot: the writer failed");
done:
    vn_arena_rewind(ctx->arena, mark);
    return status;
}

vn_status vn_dot_write(vn_context *ctx, const vn_node *root, const vn_dot_options *options, vn_write_fn write,
                       void *user) {
    if (!ctx) return VN_EINVAL;
    return draw(ctx, FROM_ROOT, root, NULL, 0, options, write, user);
}

vn_status vn_dot_write_nodes(vn_context *ctx, const vn_node *const *nodes, size_t count,
                             const vn_dot_options *options, vn_write_fn write, void *user) {
    if (!ctx) return VN_EINVAL;
    if (count > 0 && !nodes) return vn_context_fail(ctx, VN_EINVAL, "dot: NULL node list");
    return draw(ctx, FROM_LIST, NULL, nodes, count, options, write, user);
}
