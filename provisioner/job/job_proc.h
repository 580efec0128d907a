/* One job of a workflow run in a child process of its own, its output relayed line by line
 * under a "NAME | " prefix so that jobs running at the same time stay readable.  The relay
 * passes the output through the terminal filter (mx_term) once more: whatever a child wrote, no
 * \r, cursor movement or erase can make a line look like another job's, and a colour a line
 * leaves on is reset before the next prefix.
 *
 * Why processes: a job owns globals (the stop flag, stdout, its libvirt connection) and every
 * exit path of mx_job_run already tears its VM down, so a child per job gives concurrency
 * without teaching the job code about threads. */
#ifndef MX_JOB_PROC_H
#define MX_JOB_PROC_H

#include "mx_buf.h"
#include "mx_err.h"
#include "mx_term.h"

#include <sys/types.h>

typedef struct mx_job_proc {
    pid_t pid; /* 0: not running */
    char *prefix;
    int fds[2];      /* stdout, stderr of the child; -1 once closed */
    mx_buf part[2];  /* bytes after the last newline, per stream */
    mx_term term[2]; /* the child's output is made terminal-safe again before the prefix */
    int status_fd;   /* the child's verdict: "STATUS\tMESSAGE" */
} mx_job_proc;

/* What the child runs: returns MX_OK, MX_JOB_FAILED, or -1 with *err set. */
typedef int (*mx_job_proc_fn)(void *arg, mx_err *err);

/* Starts fn(arg) in a child whose stdout/stderr come back through the relay, each line
 * prefixed with prefix (already padded).  The caller must have flushed its stdio. */
int mx_job_proc_start(mx_job_proc *p, const char *prefix, mx_job_proc_fn fn, void *arg,
                      mx_err *err);

/* Relays what the running children wrote to the sink (sink.h output, prefixed lines), waiting
 * up to timeout_ms for something to happen. */
void mx_job_proc_relay(mx_job_proc *const *procs, size_t n, int timeout_ms);

/* If p's child has exited: relays the rest of its output, reaps it, returns 1 with its
 * result (MX_OK, MX_JOB_FAILED, or -1 with *err set).  0 while it still runs. */
int mx_job_proc_reap(mx_job_proc *p, int *result, mx_err *err);

/* Asks a running child to stop (it tears its VM down and exits). */
void mx_job_proc_signal(mx_job_proc *p, int sig);

#endif
