/* Where library code reports what a user watches: job progress, guest output, notes.
 *
 * Library code never prints; it calls these, and the program that runs it installs one sink
 * (mx_sink_set) that decides how things look: the CLI's human view (cli/cli_sink.c) prints
 * what mexec has always printed, byte for byte; a JSON event stream could be another.  One sink
 * per process, like a log handler, because what reports (a VM's cleanup, a capacity wait, a
 * step's output) sits at every depth of the call tree; a workflow's jobs run in child
 * processes, which inherit it.  With no sink installed everything is dropped (unit tests). */
#ifndef MX_SINK_H
#define MX_SINK_H

#include <stddef.h>

/* How a step ended, as the agent (or the host, for a step failed before the guest) told. */
typedef enum mx_sink_end {
    MX_SINK_END_EXIT,       /* the command exited: status */
    MX_SINK_END_BACKGROUND, /* a background step was left running */
    MX_SINK_END_TIMEOUT,    /* no output for too long */
    MX_SINK_END_FAILED      /* the agent could not run it: message */
} mx_sink_end;

typedef struct mx_sink_step_end {
    mx_sink_end how;
    int status;          /* the step's exit status as mexec counts it (non-zero: failed) */
    int timeout_s;       /* MX_SINK_END_TIMEOUT: the limit, or 0 when not to be named */
    const char *message; /* MX_SINK_END_FAILED: the agent's reason (masked) */
} mx_sink_step_end;

/* One row of a workflow's summary. */
typedef struct mx_sink_wf_row {
    const char *job, *status, *note; /* note may be NULL */
    double seconds;                  /* 0: did not run */
} mx_sink_wf_row;

typedef struct mx_sink {
    void *ud;
    /* A step begins: index 1..total; total 0 for CircleCI's "Spin up environment". */
    void (*step_started)(void *ud, size_t index, size_t total, const char *name);
    void (*step_ended)(void *ud, const mx_sink_step_end *end);
    /* Bytes of output (already masked): stream 0 the job's stdout, 1 its stderr.  They are the
     * guest's: a view for a terminal must filter them (mx_term), as a stream, since an escape
     * sequence may be split across calls. */
    void (*output)(void *ud, int stream, const char *bytes, size_t len);
    /* A step's output has ended: what a view held back of it is settled (an unfinished escape
     * sequence dropped, a colour left on reset). */
    void (*output_end)(void *ud);
    /* A line mexec adds to the job's log (a skipped step, a cache hit), without newline. */
    void (*log)(void *ud, const char *text);
    /* A note about the run, outside the job's log (booting, guest up, cleanup trouble). */
    void (*note)(void *ud, const char *text);
    /* One line the agent itself wrote on its stderr (diagnostics), masked, without newline.
     * Log lines, notes, names and messages may all quote the config or the guest: a view for a
     * terminal filters them too. */
    void (*agent)(void *ud, const char *bytes, size_t len);
    /* A workflow's job started or ended (seconds < 0: it never ran, e.g. an approval). */
    void (*job_started)(void *ud, const char *job);
    void (*job_ended)(void *ud, const char *job, const char *status, double seconds);
    void (*workflow_ended)(void *ud, const mx_sink_wf_row *rows, size_t n);
    /* Asks whether a job waiting for approval may run: 1 yes, 0 no.  NULL: never asked. */
    int (*approve)(void *ud, const char *job);
} mx_sink;

/* Installs s (not copied; NULL drops everything). */
void mx_sink_set(const mx_sink *s);

void mx_sink_step_started(size_t index, size_t total, const char *name);
void mx_sink_step_ended(const mx_sink_step_end *end);
void mx_sink_output(int stream, const char *bytes, size_t len);
void mx_sink_output_end(void);
void mx_sink_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mx_sink_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mx_sink_agent(const char *bytes, size_t len);
void mx_sink_job_started(const char *job);
void mx_sink_job_ended(const char *job, const char *status, double seconds);
void mx_sink_workflow_ended(const mx_sink_wf_row *rows, size_t n);
/* 1 approved, 0 not (also when the sink cannot ask). */
int mx_sink_approve(const char *job);

#endif
