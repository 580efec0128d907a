/* The host's side of the agent protocol over one SSH channel (or, for tests, over
 * pipes to an agent process).
 *
 * The channel is driven non-blocking so that a SIGINT/SIGTERM (which only sets *stop) is
 * noticed within a fraction of a second even while a step is silent.  Nothing the guest says is
 * trusted to end a wait: the agent's hello, each write to it, and each step (its own
 * no_output_timeout, then a cancel) have deadlines of the host's own.  Everything the guest
 * says that reaches the sink (step output, the agent's stderr, its error texts) is masked here;
 * a view makes it safe for a terminal (the CLI's, with mx_term). */
#ifndef MX_SESSION_H
#define MX_SESSION_H

#include "mx_mask.h"
#include "mx_proto.h"
#include "mx_buf.h"
#include "ssh.h"

#include <sys/types.h>

/* The host's deadlines (milliseconds). */
typedef struct mx_session_times {
    int hello_ms;      /* for the agent's answer to hello */
    int send_stall_ms; /* for the agent to take the next bytes of a message */
    /* after a step's no_output_timeout has passed with no message for it: the agent should
     * have killed it (SIGTERM, 5 s, SIGKILL) and said so; then the host cancels it itself */
    int timeout_grace_ms;
    int cancel_wait_ms; /* for step-end after the host's cancel; then the session fails */
    /* a step the host starts itself without a no_output_timeout (containers, GitLab's docker
     * logins; not a run step): this long without a message for it, and the host cancels it */
    int quiet_max_ms;
} mx_session_times;

/* A static binary started over an open channel answers hello within seconds even in a guest
 * emulated under load; a minute means it never will. */
#define MX_SESSION_HELLO_MS 60000
#define MX_SESSION_SEND_STALL_MS 60000
#define MX_SESSION_TIMEOUT_GRACE_MS 30000
#define MX_SESSION_CANCEL_WAIT_MS 15000
/* Pulling a job's images is such a step: half an hour without a word is a stuck agent. */
#define MX_SESSION_QUIET_MAX_MS 1800000

struct mx_session;
/* How the session reaches the agent. */
typedef struct mx_session_io {
    /* Reads what is there without waiting (stream 0: the protocol, 1: the agent's stderr):
     * bytes read, 0 if none yet, -1 at the end of the stream, -2 on error (err set). */
    ssize_t (*read)(struct mx_session *se, int stream, char *buf, size_t n, mx_err *err);
    /* Writes without waiting: bytes taken (0: none yet), or -1 (err set). */
    ssize_t (*write)(struct mx_session *se, const char *buf, size_t n, mx_err *err);
    /* Waits at most ms for the agent to have something to say (or, when writing, to take). */
    void (*wait)(struct mx_session *se, int ms, int writing);
    /* The agent's exit status after the end of the stream, or -1. */
    int (*exit_status)(struct mx_session *se);
    void (*close)(struct mx_session *se);
} mx_session_io;

typedef struct mx_session {
    const mx_session_io *io;
    mx_ssh *ssh; /* over SSH */
    LIBSSH2_CHANNEL *ch;
    int to_fd, from_fd, err_fd; /* over pipes */
    pid_t pid;
    mx_lines lines;
    volatile sig_atomic_t *stop;
    char *agent;               /* what the agent said it is */
    const mx_secrets *secrets; /* masks what the agent writes to stderr and its errors */
    mx_buf agent_err;          /* the agent's stderr after its last whole line */
    mx_session_times times;
    int step_id, step_timeout_s; /* the step last sent: its id and no_output_timeout */
    int step_run;                /* ... and whether it is a run step */
} mx_session;

/* Runs the uploaded agent at agent_path and exchanges hello.  secrets (may be NULL) mask what
 * the agent writes to stderr and its error messages. */
int mx_session_start(mx_session *se, mx_ssh *ssh, const char *agent_path, const mx_secrets *secrets,
                     volatile sig_atomic_t *stop, mx_err *err);
/* The same over pipes to an agent process already started (pid, or -1): to_fd its stdin,
 * from_fd its stdout, err_fd its stderr (or -1).  times NULL: the defaults above.  The session
 * owns the descriptors; the caller reaps the process. */
int mx_session_start_fds(mx_session *se, int to_fd, int from_fd, int err_fd, pid_t pid,
                         const mx_session_times *times, const mx_secrets *secrets,
                         volatile sig_atomic_t *stop, mx_err *err);
/* Sends m: refused (MX_USAGE) when a field that must arrive exactly is not UTF-8
 * (mx_msg_check); fails when the agent takes nothing for times.send_stall_ms. */
int mx_session_send(mx_session *se, const mx_msg *m, mx_err *err);

/* One stream of a step's output on its way to the sink (sink.h): masked, then handed over in
 * one piece per message. */
typedef struct mx_step_stream {
    mx_mask_stream mask;
    mx_buf buf;
    int stream; /* 0 stdout, 1 stderr */
} mx_step_stream;

/* A step's output.  One per step: the maskers hold back what could be the start of a secret
 * until the next bytes (or the end). */
typedef struct mx_step_output {
    mx_step_stream out, err;
} mx_step_output;

void mx_step_output_init(mx_step_output *o, const mx_secrets *secrets);
/* Releases what was held back, tells the sink the step's output has ended
 * (mx_sink_output_end), then frees. */
void mx_step_output_end(mx_step_output *o);

/* Follows the step last sent until its step-end, which is left in *end (the caller clears it):
 * output goes through o to the sink, agent errors (masked) as notes.  When no message for the
 * step comes for its no_output_timeout plus times.timeout_grace_ms (a step other than run
 * without one: times.quiet_max_ms) the host cancels the step and, on step-end, reports it as
 * MX_END_TIMEOUT; when no step-end comes within times.cancel_wait_ms after that, the session
 * fails (MX_INFRA).  -1 with *err set when the session fails or is stopped before the step
 * ends. */
int mx_session_follow_step(mx_session *se, mx_step_output *o, mx_msg *end, mx_err *err);

/* Says bye (best effort) and closes the channel. */
void mx_session_end(mx_session *se);

/* For the transports (session_io.c): a session on io with the default or given deadlines, and
 * the hello exchange on it. */
void mx_session_init(mx_session *se, const mx_session_io *io, const mx_session_times *times,
                     const mx_secrets *secrets, volatile sig_atomic_t *stop);
int mx_session_hello(mx_session *se, mx_err *err);

#endif
