#include "ssh_run.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#define TICK_MS 200

/* Waits until libssh2 can make progress, or a tick passes. */
static void wait_socket(mx_ssh *c)
{
    int dir = libssh2_session_block_directions(c->s);
    struct pollfd p = {.fd = c->sock, .events = 0};
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND) p.events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) p.events |= POLLOUT;
    if (!p.events) p.events = POLLIN;
    poll(&p, 1, TICK_MS);
}

static int signal_number(const char *name)
{
    static const struct {
        const char *name;
        int n;
    } sigs[] = {{"HUP", 1},   {"INT", 2},   {"QUIT", 3},  {"ILL", 4},   {"ABRT", 6},
                {"FPE", 8},   {"KILL", 9},  {"SEGV", 11}, {"PIPE", 13}, {"ALRM", 14},
                {"TERM", 15}, {"USR1", 10}, {"USR2", 12}};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        if (strcmp(name, sigs[i].name) == 0) return sigs[i].n;
    return 127;
}

/* Keeps the last keep bytes of what arrives on stderr. */
static void keep_tail(mx_buf *b, const char *data, size_t n, size_t keep)
{
    if (!b || !keep) return;
    mx_buf_add(b, data, n);
    if (b->len > keep) mx_buf_consume(b, b->len - keep);
}

/* Reads what is there. 1: progress, 0: nothing yet, -1: error. */
static int pump(mx_ssh *c, LIBSSH2_CHANNEL *ch, const mx_ssh_run_opts *o, mx_buf *out,
                mx_buf *errtext, size_t *out_len, mx_err *err)
{
    char buf[32768];
    int progress = 0;
    ssize_t n;
    while ((n = libssh2_channel_read_stderr(ch, buf, sizeof buf)) > 0) {
        keep_tail(errtext, buf, (size_t)n, o->err_keep);
        progress = 1;
    }
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
        return mx_fail(err, MX_INFRA, "read from the guest: %s", mx_ssh_error(c->s));
    while ((n = libssh2_channel_read(ch, buf, sizeof buf)) > 0) {
        *out_len += (size_t)n;
        if (*out_len > o->out_cap)
            return mx_fail(err, MX_INFRA, "the guest's output is larger than %zu bytes",
                           o->out_cap);
        if (out) mx_buf_add(out, buf, (size_t)n);
        progress = 1;
    }
    if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
        return mx_fail(err, MX_INFRA, "read from the guest: %s", mx_ssh_error(c->s));
    return progress;
}

/* Closes the channel (non-blocking session) and reads the exit status. */
static int finish(mx_ssh *c, LIBSSH2_CHANNEL *ch, int *status, mx_err *err)
{
    int r;
    while ((r = libssh2_channel_close(ch)) == LIBSSH2_ERROR_EAGAIN)
        wait_socket(c);
    while (r == 0 && (r = libssh2_channel_wait_closed(ch)) == LIBSSH2_ERROR_EAGAIN)
        wait_socket(c);
    if (r != 0) return mx_fail(err, MX_INFRA, "close SSH channel: %s", mx_ssh_error(c->s));
    char *sig = NULL;
    size_t siglen = 0;
    libssh2_channel_get_exit_signal(ch, &sig, &siglen, NULL, NULL, NULL, NULL);
    if (sig) {
        *status = 128 + signal_number(sig);
        libssh2_free(c->s, sig);
    } else {
        *status = libssh2_channel_get_exit_status(ch);
    }
    return 0;
}

int mx_ssh_run(mx_ssh *c, const char *command, const mx_ssh_run_opts *o, mx_buf *out,
               mx_buf *errtext, int *status, mx_err *err)
{
    *status = -1;
    libssh2_session_set_blocking(c->s, 1);
    LIBSSH2_CHANNEL *ch = mx_ssh_exec(c, command, err);
    if (!ch) return -1;
    libssh2_session_set_blocking(c->s, 0);
    long long deadline = mx_now_ms() + (long long)o->timeout_s * 1000;
    size_t out_len = 0;
    int rc = 0;
    for (;;) {
        if (o->stop && *o->stop) {
            rc = mx_fail(err, MX_INFRA, "interrupted");
            break;
        }
        if (mx_now_ms() > deadline) {
            rc = mx_fail(err, MX_INFRA, "the command did not end within %d s", o->timeout_s);
            break;
        }
        int p = pump(c, ch, o, out, errtext, &out_len, err);
        if (p < 0) {
            rc = -1;
            break;
        }
        if (p == 0 && libssh2_channel_eof(ch)) break;
        if (p == 0) wait_socket(c);
    }
    if (rc == 0) rc = finish(c, ch, status, err);
    /* back to blocking for whoever uses the session next (uploads, downloads); a channel cut
     * short is freed with a bounded wait */
    libssh2_session_set_blocking(c->s, 1);
    if (rc < 0) libssh2_session_set_timeout(c->s, 2000);
    libssh2_channel_free(ch);
    libssh2_session_set_timeout(c->s, 0);
    return rc;
}
