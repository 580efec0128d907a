/* MEXEC_TRACE=1: where the time of a job's start goes, as notes through the sink (the CLI
 * prints "mexec: trace: +1.234 s restore: domain running" on stderr).  Off by default; the bench
 * (bench/start.sh) turns it on to print its breakdown. */
#ifndef MX_TRACE_H
#define MX_TRACE_H

void mx_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
