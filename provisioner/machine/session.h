/* The host's side of the agent protocol over one SSH channel.
 *
 * The channel is driven non-blocking so that a SIGINT/SIGTERM (which only sets *stop) is
 * noticed within a fraction of a second even while a step is silent. */
#ifndef MX_SESSION_H
#define MX_SESSION_H

#include "mx_mask.h"
#include "mx_proto.h"
#include "ssh.h"

typedef struct mx_session {
    mx_ssh *ssh;
    LIBSSH2_CHANNEL *ch;
    mx_lines lines;
    volatile sig_atomic_t *stop;
    char *agent; /* what the agent said it is */
} mx_session;

/* Runs the uploaded agent at agent_path and exchanges hello. */
int mx_session_start(mx_session *se, mx_ssh *ssh, const char *agent_path,
                     volatile sig_atomic_t *stop, mx_err *err);
int mx_session_send(mx_session *se, const mx_msg *m, mx_err *err);
/* Waits for the next message. */
int mx_session_recv(mx_session *se, mx_msg *m, mx_err *err);
/* A step's output on its way to the sink (sink.h), through the masker.  One per step: the
 * maskers hold back what could be the start of a secret until the next bytes (or the end). */
typedef struct mx_step_output {
    mx_mask_stream out, err;
} mx_step_output;

void mx_step_output_init(mx_step_output *o, const mx_secrets *secrets);
/* Releases what the maskers held back, then frees them. */
void mx_step_output_end(mx_step_output *o);

/* Follows the step the agent is running until its step-end, which is left in *end (the caller
 * clears it): output goes through o to the sink, agent errors (masked) as notes.
 * -1 with *err set when the session fails or is stopped before the step ends. */
int mx_session_follow_step(mx_session *se, mx_step_output *o, mx_msg *end, mx_err *err);

/* Says bye (best effort) and closes the channel. */
void mx_session_end(mx_session *se);

#endif
