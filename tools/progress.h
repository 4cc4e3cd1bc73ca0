/* progress.h — a one-line progress bar for long runs: done/total, a bar,
 * the rate, the time left and a caller's note ("loss 0.1234"). Drawn on
 * stderr only when stderr is a terminal (cli_show_progress), redrawn at
 * most ten times a second, and erased when the run ends, so pipes and logs
 * never see it. Hosted code. */
#ifndef PROGRESS_H
#define PROGRESS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct progress {
    bool enabled;       /* drawing at all (a terminal) */
    const char *label;  /* "training", "alignment", ... (not copied) */
    const char *unit;   /* "steps" */
    size_t total;
    double start, last_draw;
    bool drawn;         /* a line is on the screen */
} progress;

/* Starts a bar of `total` units. enabled = stderr is a terminal and `allow`. */
void progress_start(progress *p, bool allow, const char *label, const char *unit, size_t total);

/* Redraws the bar for `done` units (throttled), with an optional note. */
void progress_update(progress *p, size_t done, const char *note);

/* Erases the line (if drawn). */
void progress_clear(progress *p);

#endif
