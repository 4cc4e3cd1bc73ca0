/* svg_plot.h — line charts as a standalone SVG file, written by hand (no
 * libraries): panels stacked vertically that share the x axis, each with
 * its own y range, ticks, grid and legend. Hosted code. */
#ifndef SVG_PLOT_H
#define SVG_PLOT_H

#include <stdbool.h>
#include <stddef.h>

#include "vn_base.h"

typedef struct svg_series {
    const char *label;  /* legend text */
    const char *color;  /* an SVG colour: "#1f77b4" */
    const double *x, *y;
    size_t n;
    bool points;        /* draw dots at the points (else a line) */
} svg_series;

typedef struct svg_panel {
    const char *title;  /* "loss", "IIA" */
    double y_min, y_max; /* fixed range when y_min < y_max, else from the data */
    const svg_series *series;
    size_t n_series;
} svg_panel;

/* Writes the chart through `write`. Non-finite points are skipped.
 * Returns VN_OK or VN_EIO. */
vn_status svg_plot_write(vn_write_fn write, void *user, const char *title, const char *x_label,
                         const svg_panel *panels, size_t n_panels);

#endif
