/* MEXEC_TRACE=1: where the time of a job's start goes, on stderr ("mexec-trace: +1.234 s
 * restore: domain running").  Off by default; the bench (bench/start.sh) turns it on to print
 * its breakdown. */
#ifndef MX_TRACE_H
#define MX_TRACE_H

void mx_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
