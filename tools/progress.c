/* progress.c — the terminal progress bar (see progress.h). */
#include "progress.h"

#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "host.h"

void progress_start(progress *p, bool allow, const char *label, const char *unit, size_t total) {
    memset(p, 0, sizeof *p);
    p->enabled = allow && cli_show_progress();
    p->label = label;
    p->unit = unit;
    p->total = total;
    p->start = vn_host_seconds();
    p->last_draw = -1;
}

static void format_duration(char *buf, size_t size, double seconds) {
    if (!(seconds >= 0) || seconds > 359999) {
        snprintf(buf, size, "--:--");
        return;
    }
    unsigned long s = (unsigned long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, size, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else snprintf(buf, size, "%lu:%02lu", s / 60, s % 60);
}

void progress_update(progress *p, size_t done, const char *note) {
    if (!p->enabled) return;
    double now = vn_host_seconds();
    if (done < p->total && p->last_draw >= 0 && now - p->last_draw < 0.1) return;
    p->last_draw = now;
    enum { WIDTH = 24 };
    char bar[WIDTH + 1], eta[32], elapsed[32];
    size_t filled = p->total ? (size_t)((double)WIDTH * (double)done / (double)p->total) : WIDTH;
    if (filled > WIDTH) filled = WIDTH;
    for (size_t i = 0; i < WIDTH; i++) bar[i] = i < filled ? '#' : '.';
    bar[WIDTH] = '\0';
    double spent = now - p->start, rate = spent > 0 ? (double)done / spent : 0;
    format_duration(elapsed, sizeof elapsed, spent);
    format_duration(eta, sizeof eta, rate > 0 ? (double)(p->total - (done < p->total ? done : p->total)) / rate : -1);
    fprintf(stderr, "\r\033[K%s [%s] %zu/%zu %s  %.1f/s  %s elapsed, ETA %s%s%s", p->label, bar, done, p->total,
            p->unit, rate, elapsed, eta, note && *note ? "  " : "", note ? note : "");
    fflush(stderr);
    p->drawn = true;
}

void progress_clear(progress *p) {
    if (!p->enabled || !p->drawn) return;
    fprintf(stderr, "\r\033[K");
    fflush(stderr);
    p->drawn = false;
}
