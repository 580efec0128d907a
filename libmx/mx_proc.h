/* Running helper programs (qemu-img, ssh-keygen, genisoimage, git, tar) without a shell.
 *
 * Arguments are passed as a vector, never through sh -c, so file names cannot be reinterpreted
 * and nothing secret is ever placed in argv (callers pass secrets in files or pipes). */
#ifndef MX_PROC_H
#define MX_PROC_H

#include "mx_buf.h"
#include "mx_err.h"

#include <sys/types.h>

/* Forks a child whose stdin is /dev/null and whose stdout and stderr feed two pipes.  In the
 * parent it returns the child's pid and the pipes' read ends in *out_fd and *err_fd; in the
 * child it returns 0 (make only async-signal-safe calls there until exec); -1 on failure. */
pid_t mx_proc_fork_piped(int *out_fd, int *err_fd, mx_err *err);

/* Reads fds[0] into out and fds[1] into errtext (either may be NULL: discarded) until both
 * close, keeping about out_cap / err_cap bytes of each (0: no limit), then closes them. */
void mx_proc_drain(int fds[2], mx_buf *out, mx_buf *errtext, size_t out_cap, size_t err_cap);

/* Runs argv[0] (PATH searched) in cwd (NULL: current), stdin from /dev/null.  stdout goes to
 * *out when out is non-NULL (else discarded); stderr is kept to explain a failure.
 * Returns the exit status (0..255, or 128+signal), or -1 with *err set if it could not run. */
int mx_proc_run(const char *const argv[], const char *cwd, mx_buf *out, mx_err *err);

/* As mx_proc_run, but a non-zero exit is an error whose message quotes the program's stderr. */
int mx_proc_check(const char *const argv[], const char *cwd, mx_buf *out, mx_err *err);

#endif

#ifndef MX_PROC_INHERIT_H
#define MX_PROC_INHERIT_H
#include <signal.h>
/* Runs argv with our stdout/stderr (for long, chatty helpers such as an image recipe).  When
 * *stop becomes non-zero the child gets SIGTERM.  Returns the exit status, or -1. */
int mx_proc_run_inherit(const char *const argv[], volatile sig_atomic_t *stop, mx_err *err);
#endif
