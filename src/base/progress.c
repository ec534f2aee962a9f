/* Progress reporting: a redrawn bar on a terminal, periodic plain lines
 * otherwise, nothing in quiet mode. Writes only to the stream it is given. */
#include "internal.h"

#include <string.h>
#include <unistd.h>

struct sl_progress {
    FILE *out;
    sl_progress_mode mode;
    char label[32], unit[16];
    uint64_t total, done;
    double t0, last_draw;
    int drawn_width;
};

sl_status sl_progress_create(FILE *stream, sl_progress_mode mode, const char *label, uint64_t total,
                             const char *unit, sl_progress **out) {
    sl_progress *p = sl__calloc(1, sizeof *p);
    if (!p) return sl__fail(SL_ERR_NOMEM, "progress: out of memory");
    p->out = stream ? stream : stderr;
    if (mode == SL_PROGRESS_AUTO) mode = isatty(fileno(p->out)) ? SL_PROGRESS_BAR : SL_PROGRESS_LINES;
    p->mode = mode;
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "it");
    p->total = total;
    p->t0 = p->last_draw = sl_time_now();
    *out = p;
    return SL_OK;
}

static void fmt_duration(char *buf, size_t n, double s) {
    if (!(s >= 0) || s > 1e7) {
        snprintf(buf, n, "--:--");
        return;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, n, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
    else
        snprintf(buf, n, "%02ld:%02ld", t / 60, t % 60);
}

static void fmt_rate(char *buf, size_t n, double r) {
    if (r >= 1e6)
        snprintf(buf, n, "%.2fM", r / 1e6);
    else if (r >= 1e4)
        snprintf(buf, n, "%.1fk", r / 1e3);
    else
        snprintf(buf, n, "%.1f", r);
}

static void draw(sl_progress *p, const char *fields, bool final) {
    double now = sl_time_now(), el = now - p->t0;
    double rate = el > 0 ? (double)p->done / el : 0;
    char rbuf[32], ebuf[32], tbuf[32];
    fmt_rate(rbuf, sizeof rbuf, rate);
    fmt_duration(ebuf, sizeof ebuf, el);
    if (p->total && rate > 0)
        fmt_duration(tbuf, sizeof tbuf, (double)(p->total - SL__MIN(p->done, p->total)) / rate);
    else
        snprintf(tbuf, sizeof tbuf, "--:--");
    char line[512];
    int len;
    if (p->mode == SL_PROGRESS_BAR) {
        char bar[32];
        int w = 24, fill = p->total ? (int)((double)w * (double)SL__MIN(p->done, p->total) / (double)p->total) : 0;
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = '\0';
        if (p->total)
            len = snprintf(line, sizeof line, "\r%s [%s] %llu/%llu %s/s %s elapsed %s ETA %s %s", p->label, bar,
                           (unsigned long long)p->done, (unsigned long long)p->total, rbuf, p->unit, ebuf,
                           final ? "00:00" : tbuf, fields ? fields : "");
        else
            len = snprintf(line, sizeof line, "\r%s %llu %s/s %s elapsed %s %s", p->label,
                           (unsigned long long)p->done, rbuf, p->unit, ebuf, fields ? fields : "");
        if (len < 0) return;
        if (len > (int)sizeof line - 1) len = (int)sizeof line - 1;
        /* Blank out what is left of a longer previous line. */
        int pad = p->drawn_width > len ? p->drawn_width - len : 0;
        fprintf(p->out, "%s%*s%s", line, pad, "", final ? "\n" : "");
        p->drawn_width = len;
    } else {
        if (p->total)
            fprintf(p->out, "%s %llu/%llu (%.1f%%) %s %s/s elapsed %s ETA %s %s\n", p->label,
                    (unsigned long long)p->done, (unsigned long long)p->total,
                    100.0 * (double)p->done / (double)p->total, rbuf, p->unit, ebuf, final ? "00:00" : tbuf,
                    fields ? fields : "");
        else
            fprintf(p->out, "%s %llu %s/s %s elapsed %s %s\n", p->label, (unsigned long long)p->done, rbuf,
                    p->unit, ebuf, fields ? fields : "");
    }
    fflush(p->out);
    p->last_draw = now;
}

void sl_progress_update(sl_progress *p, uint64_t done, const char *fields) {
    if (!p || p->mode == SL_PROGRESS_QUIET) return;
    p->done = done;
    double now = sl_time_now();
    double every = p->mode == SL_PROGRESS_BAR ? 0.1 : 5.0;
    if (now - p->last_draw >= every) draw(p, fields, false);
}

void sl_progress_finish(sl_progress *p, const char *fields) {
    if (!p || p->mode == SL_PROGRESS_QUIET) return;
    if (p->total && p->done < p->total) p->done = p->total;
    draw(p, fields, true);
}

void sl_progress_note(sl_progress *p, const char *line) {
    if (!p) return;
    if (p->mode == SL_PROGRESS_BAR && p->drawn_width > 0) fprintf(p->out, "\r%*s\r", p->drawn_width, "");
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->drawn_width = 0;
    p->last_draw = 0;
}

void sl_progress_destroy(sl_progress *p) { sl__free(p); }
