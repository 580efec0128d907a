#include "mx_err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void vset(mx_err *e, int status, const char *fmt, va_list ap)
{
    e->status = status;
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
}

int mx_fail(mx_err *e, int status, const char *fmt, ...)
{
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(e, status, fmt, ap);
    va_end(ap);
    return -1;
}

int mx_fail_errno(mx_err *e, int status, const char *fmt, ...)
{
    int saved = errno;
    if (!e) return -1;
    va_list ap;
    va_start(ap, fmt);
    vset(e, status, fmt, ap);
    va_end(ap);
    size_t n = strlen(e->msg);
    snprintf(e->msg + n, sizeof e->msg - n, ": %s", strerror(saved));
    errno = saved;
    return -1;
}

int mx_wrap(mx_err *e, const char *fmt, ...)
{
    if (!e) return -1;
    char ctx[512], old[sizeof e->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof ctx, fmt, ap);
    va_end(ap);
    memcpy(old, e->msg, sizeof old);
    /* the context goes first and the tail of a very long message is what gets cut */
    size_t n = strlen(ctx);
    if (n > sizeof e->msg - 3) n = sizeof e->msg - 3;
    memcpy(e->msg, ctx, n);
    memcpy(e->msg + n, ": ", 2);
    size_t room = sizeof e->msg - n - 3;
    size_t ol = strnlen(old, room);
    memcpy(e->msg + n + 2, old, ol);
    e->msg[n + 2 + ol] = '\0';
    return -1;
}

void mx_err_clear(mx_err *e)
{
    e->status = MX_OK;
    e->msg[0] = '\0';
}
