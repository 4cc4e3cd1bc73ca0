/* svg_plot.c — stacked line charts as SVG (see svg_plot.h). */
#include "svg_plot.h"

#include <math.h>
#include <stdio.h>

enum { WIDTH = 760, PANEL_HEIGHT = 240, MARGIN_LEFT = 70, MARGIN_RIGHT = 150, MARGIN_TOP = 40,
       PANEL_GAP = 50, MARGIN_BOTTOM = 50 };

typedef struct svg_out {
    vn_write_fn write;
    void *user;
    vn_status status;
} svg_out;

static void out(svg_out *o, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void out(svg_out *o, const char *fmt, ...) {
    if (o->status != VN_OK) return;
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    if (o->write(o->user, buf, (size_t)n) != 0) o->status = VN_EIO;
}

/* XML-escapes text (labels are the program's own, but keep the file valid). */
static void out_text(svg_out *o, const char *s) {
    for (; s && *s; s++) {
        if (*s == '<') out(o, "&lt;");
        else if (*s == '>') out(o, "&gt;");
        else if (*s == '&') out(o, "&amp;");
        else out(o, "%c", *s);
    }
}

/* A "nice" tick step (1, 2 or 5 times a power of ten) for about n ticks. */
static double nice_step(double span, int n) {
    if (!(span > 0)) return 1;
    double raw = span / n, p = pow(10, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

static void data_range(const svg_series *s, size_t n, bool want_x, double *lo, double *hi) {
    *lo = INFINITY;
    *hi = -INFINITY;
    for (size_t k = 0; k < n; k++)
        for (size_t i = 0; i < s[k].n; i++) {
            double v = want_x ? s[k].x[i] : s[k].y[i];
            if (!isfinite(s[k].x[i]) || !isfinite(s[k].y[i])) continue;
            if (v < *lo) *lo = v;
            if (v > *hi) *hi = v;
        }
    if (!(*lo <= *hi)) *lo = 0, *hi = 1;
    if (*lo == *hi) *lo -= 0.5, *hi += 0.5;
}

vn_status svg_plot_write(vn_write_fn write, void *user, const char *title, const char *x_label,
                         const svg_panel *panels, size_t n_panels) {
    svg_out o = {write, user, VN_OK};
    double x_lo = INFINITY, x_hi = -INFINITY;
    for (size_t p = 0; p < n_panels; p++) {
        double lo, hi;
        data_range(panels[p].series, panels[p].n_series, true, &lo, &hi);
        if (lo < x_lo) x_lo = lo;
        if (hi > x_hi) x_hi = hi;
    }
    if (!(x_lo < x_hi)) x_lo = 0, x_hi = 1;
    int height = MARGIN_TOP + (int)n_panels * PANEL_HEIGHT + (int)(n_panels ? n_panels - 1 : 0) * PANEL_GAP +
                 MARGIN_BOTTOM;
    int plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    out(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
        WIDTH, height, WIDTH, height);
    out(&o, "<text x=\"%d\" y=\"24\" font-size=\"15\" font-weight=\"bold\">", MARGIN_LEFT);
    out_text(&o, title);
    out(&o, "</text>\n");
    double x_step = nice_step(x_hi - x_lo, 8);
    for (size_t p = 0; p < n_panels; p++) {
        const svg_panel *panel = &panels[p];
        int top = MARGIN_TOP + (int)p * (PANEL_HEIGHT + PANEL_GAP);
        double y_lo = panel->y_min, y_hi = panel->y_max;
        if (!(y_lo < y_hi)) {
            data_range(panel->series, panel->n_series, false, &y_lo, &y_hi);
            double pad = 0.05 * (y_hi - y_lo);
            y_lo -= pad;
            y_hi += pad;
        }
        double y_step = nice_step(y_hi - y_lo, 5);
#define PX(x) (MARGIN_LEFT + ((x) - x_lo) / (x_hi - x_lo) * plot_w)
#define PY(y) (top + PANEL_HEIGHT - ((y) - y_lo) / (y_hi - y_lo) * PANEL_HEIGHT)
        out(&o, "<g>\n<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#444\"/>\n",
            MARGIN_LEFT, top, plot_w, PANEL_HEIGHT);
        for (double t = ceil(y_lo / y_step) * y_step; t <= y_hi + 1e-12 * y_step; t += y_step) {
            double y = PY(t);
            out(&o, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                MARGIN_LEFT, y, MARGIN_LEFT + plot_w, y, MARGIN_LEFT - 6, y + 4, fabs(t) < 1e-12 * y_step ? 0.0 : t);
        }
        for (double t = ceil(x_lo / x_step) * x_step; t <= x_hi + 1e-12 * x_step; t += x_step) {
            double x = PX(t);
            out(&o, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#eee\"/>"
                    "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n",
                x, top, x, top + PANEL_HEIGHT, x, top + PANEL_HEIGHT + 16, t);
        }
        out(&o, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", MARGIN_LEFT + 6, top + 16);
        out_text(&o, panel->title);
        out(&o, "</text>\n");
        for (size_t k = 0; k < panel->n_series; k++) {
            const svg_series *s = &panel->series[k];
            if (s->points) {
                for (size_t i = 0; i < s->n; i++)
                    if (isfinite(s->x[i]) && isfinite(s->y[i]))
                        out(&o, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n", PX(s->x[i]), PY(s->y[i]),
                            s->color);
            } else {
                out(&o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.2\" points=\"", s->color);
                for (size_t i = 0; i < s->n; i++)
                    if (isfinite(s->x[i]) && isfinite(s->y[i]))
                        out(&o, "%.1f,%.1f ", PX(s->x[i]), PY(s->y[i]));
                out(&o, "\"/>\n");
            }
            int ly = top + 20 + 18 * (int)k;
            out(&o, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"4\" fill=\"%s\"/><text x=\"%d\" y=\"%d\">",
                MARGIN_LEFT + plot_w + 10, ly - 4, s->color, MARGIN_LEFT + plot_w + 30, ly + 1);
            out_text(&o, s->label);
            out(&o, "</text>\n");
        }
        out(&o, "</g>\n");
#undef PX
#undef PY
    }
    out(&o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", MARGIN_LEFT + plot_w / 2, height - 14);
    out_text(&o, x_label);
    out(&o, "</text>\n</svg>\n");
    return o.status;
}
