/* mexec-agent: runs inside the VM, one process per job, speaking the mx_proto JSON-lines
 * protocol on stdin/stdout (the SSH channel).  stdout carries protocol only; diagnostics go to
 * stderr, which the host shows as agent messages. */
#ifndef MX_AGENT_H
#define MX_AGENT_H

#include "mx_buf.h"
#include "mx_proto.h"

#include <stdarg.h>
#include <stddef.h>

/* The default shell as on CircleCI's Linux machine executor. */
#define MX_AGENT_DEFAULT_SHELL "/bin/bash -eo pipefail"
/* Grace between SIGTERM and SIGKILL when a step is cancelled or times out. */
#define MX_AGENT_KILL_GRACE_MS 5000

/* Incoming messages read while a step runs (cancel, or end of input). */
typedef struct mx_agent_in {
    int fd;
    mx_lines lines;
    mx_lines deferred; /* lines that arrived during a step and are not for it */
    int eof;
} mx_agent_in;

/* The next line to handle: deferred ones first.  Returns 1 if there is one. */
int mx_agent_in_next(mx_agent_in *in, char **line, size_t *len);

/* Writes one message to stdout; exits the agent if the host is gone. */
void mx_agent_send(const mx_msg *m);
void mx_agent_send_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Reports the end of a step. */
void mx_agent_send_end(const mx_msg *step, int status, enum mx_end_reason reason,
                       long long duration_ms, const char *message);

/* Sends text as output of step id (a line: "\n" is appended). */
void mx_agent_say(int id, enum mx_stream s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mx_agent_vsay(int id, enum mx_stream s, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* CLOCK_MONOTONIC in milliseconds: step durations and timeouts. */
long long mx_agent_now_ms(void);

/* Reads what is available on in->fd into its line buffer; returns -1 on a read error. */
int mx_agent_in_fill(mx_agent_in *in);

/* Runs one step to completion, streaming its output; sends step-end.  Returns -1 when the
 * host went away (the agent should exit), else 0. */
int mx_agent_run_step(const mx_msg *step, mx_agent_in *in);

/* How a process run by mx_agent_exec ended. */
typedef struct mx_agent_exit {
    int code;                  /* exit status, 128 + signal, or 1 when it could not start */
    enum mx_end_reason reason; /* EXITED, SIGNALED, TIMEOUT, CANCELLED, or FAILED (see why) */
    mx_err why;                /* FAILED: why it could not be started */
} mx_agent_exit;

/* Runs argv (PATH searched) in cwd as a process group of its own, as a step runs: its output
 * streams to the host under step->id, a cancel from the host or step->no_output_timeout_s of
 * silence kills the group.  Returns -1 when the host went away meanwhile, else 0 with *ex set.
 * Does not send step-end: a step may be several processes. */
int mx_agent_exec(const mx_msg *step, mx_agent_in *in, char *const *argv, const char *cwd,
                  char *const *envp, mx_agent_exit *ex);

/* persist and attach steps (agent_workspace.c); same contract as mx_agent_run_step. */
int mx_agent_run_workspace_step(const mx_msg *step, mx_agent_in *in);
/* Why a persist path cannot name something under its root, or NULL if it can. */
const char *mx_agent_ws_bad_pattern(const char *pattern);
/* Appends what pattern matches under root to list, each name relative to root and followed by
 * a NUL (a name starting with "-" gets "./" before it); the count, or -1 with *err. */
long mx_agent_ws_expand(const char *root, const char *pattern, mx_buf *list, mx_err *err);

/* Instead of exec'ing a program, the forked child of mx_agent_exec_fn calls fn(ctx) and exits
 * with what it returns (the container steps' relay to the Engine API, agent_ctr_exec.c). */
typedef int (*mx_agent_child_fn)(void *ctx);
/* mx_agent_exec with fn in the child instead of argv. */
int mx_agent_exec_fn(const mx_msg *step, mx_agent_in *in, mx_agent_child_fn fn, void *ctx,
                     mx_agent_exit *ex);
/* Starts fn in a child as a background step (reported at once with step-end "background");
 * sends that step-end (or a failed one) itself. */
void mx_agent_background_fn(const mx_msg *step, mx_agent_child_fn fn, void *ctx);

/* checksum, pack, collect, unpack and ssh-keys steps (agent_jobsteps.c); same contract as
 * mx_agent_run_step. */
int mx_agent_run_job_step(const mx_msg *step, mx_agent_in *in);

/* Waits until fd has input, streaming background steps' output meanwhile. */
int mx_agent_wait_input(int fd);
/* Ends every background step (job end). */
void mx_agent_stop_background(void);

/* Expands a leading "~" or "~/" with home; caller frees. */
char *mx_agent_expand_home(const char *path, const char *home);
/* Splits a shell spec ("/bin/bash -eo pipefail") into argv with room for one more argument
 * and a terminating NULL; returns the count.  Caller frees the vector and its strings. */
size_t mx_agent_split_shell(const char *shell, char ***argv);
/* Builds the child's environment: base (NULL-terminated) overridden by env. */
char **mx_agent_build_env(char *const *base, const mx_kv *env, size_t nenv);
void mx_agent_free_strv(char **v);

#endif
