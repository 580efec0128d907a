/* Errors carried up the call stack with context.
 *
 * Why: a user must see a message that reads like a path ("boot VM: create overlay: No space
 * left on device") and mexec must know which exit status it maps to.  Each layer that fails
 * fills an mx_err; each caller that returns the failure upward may prefix context with
 * mx_wrap().  Functions return 0 on success and -1 on failure, with *err set. */
#ifndef MX_ERR_H
#define MX_ERR_H

#include <stdarg.h>

/* Process exit statuses, documented in docs/exit-codes.md. */
enum mx_status {
    MX_OK = 0,
    MX_JOB_FAILED = 1, /* a step failed: the job's own verdict */
    MX_USAGE = 2,      /* bad command line or bad config: the user must fix input */
    MX_INFRA = 3,      /* libvirt, ssh, image, disk: the machinery failed */
};

typedef struct mx_err {
    int status;
    char msg[2048];
} mx_err;

/* Sets *e (if e is non-NULL) and returns -1. */
int mx_fail(mx_err *e, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like mx_fail, appending ": strerror(errno)". */
int mx_fail_errno(mx_err *e, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes "context: " to the message already in *e; returns -1. */
int mx_wrap(mx_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mx_err_clear(mx_err *e);

#endif
