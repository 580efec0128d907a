#include "trace.h"
#include "sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

void mx_trace(const char *fmt, ...)
{
    static int on = -1;
    static struct timespec t0;
    if (on < 0) {
        const char *e = getenv("MEXEC_TRACE");
        on = e && *e && *e != '0';
        clock_gettime(CLOCK_MONOTONIC, &t0);
    }
    if (!on) return;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    double s = (double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    mx_sink_note("trace: +%.3f s %s", s, msg);
}
