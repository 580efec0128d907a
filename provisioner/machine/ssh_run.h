/* One command in the guest over SSH, its output collected: for short host-driven work in a VM
 * (image import's probe, package install, cleanup), not for job steps (those go through the
 * agent, session.h). */
#ifndef MX_SSH_RUN_H
#define MX_SSH_RUN_H

#include "mx_buf.h"
#include "mx_err.h"
#include "ssh.h"

#include <signal.h>

typedef struct mx_ssh_run_opts {
    size_t out_cap;  /* more stdout than this is an error (the output would be incomplete) */
    size_t err_keep; /* stderr: the last this many bytes are kept (0: none) */
    int timeout_s;   /* the whole command */
    volatile sig_atomic_t *stop;
} mx_ssh_run_opts;

/* Runs command (through the guest user's shell) and waits for it to end.  stdout goes to out,
 * stderr's tail to errtext (either may be NULL: discarded); *status is the exit status, or
 * 128+N for a command killed by signal N, or -1 when the guest sent none.  -1 with *err set when
 * the command could not run, its output was too large, time ran out or *stop was set. */
int mx_ssh_run(mx_ssh *c, const char *command, const mx_ssh_run_opts *o, mx_buf *out,
               mx_buf *errtext, int *status, mx_err *err);

#endif
