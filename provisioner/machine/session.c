#include "session.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define POLL_TICK_MS 200

static int interrupted(mx_session *se, mx_err *err)
{
    if (*se->stop) return mx_fail(err, MX_INFRA, "interrupted"), 1;
    return 0;
}

/* Waits until libssh2 can make progress (or a tick passes). */
static void wait_socket(mx_session *se)
{
    int dir = libssh2_session_block_directions(se->ssh->s);
    struct pollfd p = {.fd = se->ssh->sock, .events = 0};
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND) p.events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) p.events |= POLLOUT;
    if (!p.events) p.events = POLLIN;
    poll(&p, 1, POLL_TICK_MS);
}

int mx_session_send(mx_session *se, const mx_msg *m, mx_err *err)
{
    size_t len;
    char *line = mx_msg_encode(m, &len);
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        if (interrupted(se, err)) {
            rc = -1;
            break;
        }
        ssize_t n = libssh2_channel_write(se->ch, line + off, len - off);
        if (n == LIBSSH2_ERROR_EAGAIN) {
            wait_socket(se);
            continue;
        }
        if (n < 0) {
            rc = mx_fail(err, MX_INFRA, "send to agent: %s", mx_ssh_error(se->ssh->s));
            break;
        }
        off += (size_t)n;
    }
    free(line);
    return rc;
}

/* Reads what is there on both streams; agent diagnostics (stderr) go to the sink.
 * Returns bytes of protocol read, 0 if none yet, -1 on error or end of channel. */
static ssize_t pump(mx_session *se, mx_err *err)
{
    char buf[65536];
    ssize_t got = 0;
    for (;;) {
        ssize_t n = libssh2_channel_read_stderr(se->ch, buf, sizeof buf);
        if (n > 0) {
            mx_sink_agent(buf, (size_t)n);
            continue;
        }
        break;
    }
    ssize_t n = libssh2_channel_read(se->ch, buf, sizeof buf);
    if (n > 0) {
        if (mx_lines_feed(&se->lines, buf, (size_t)n, err) < 0) return -1;
        got = n;
    } else if (n == LIBSSH2_ERROR_EAGAIN || n == 0) {
        if (n == 0 && libssh2_channel_eof(se->ch)) {
            int status = libssh2_channel_get_exit_status(se->ch);
            return mx_fail(err, MX_INFRA, "the agent ended unexpectedly (exit status %d)", status);
        }
    } else {
        return mx_fail(err, MX_INFRA, "read from agent: %s", mx_ssh_error(se->ssh->s));
    }
    return got;
}

int mx_session_recv(mx_session *se, mx_msg *m, mx_err *err)
{
    for (;;) {
        char *line;
        size_t len;
        if (mx_lines_next(&se->lines, &line, &len)) {
            int rc = mx_msg_decode(line, len, m, err);
            free(line);
            return rc < 0 ? mx_wrap(err, "from the agent") : 0;
        }
        if (interrupted(se, err)) return -1;
        ssize_t n = pump(se, err);
        if (n < 0) return -1;
        if (n == 0) wait_socket(se);
    }
}

int mx_session_start(mx_session *se, mx_ssh *ssh, const char *agent_path,
                     volatile sig_atomic_t *stop, mx_err *err)
{
    memset(se, 0, sizeof *se);
    se->ssh = ssh;
    se->stop = stop;
    mx_lines_init(&se->lines);
    se->ch = mx_ssh_exec(ssh, agent_path, err);
    if (!se->ch) return -1;
    libssh2_session_set_blocking(ssh->s, 0);
    mx_msg hello = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    if (mx_session_send(se, &hello, err) < 0) return -1;
    mx_msg reply;
    if (mx_session_recv(se, &reply, err) < 0) return mx_wrap(err, "agent hello");
    int rc = 0;
    if (reply.type == MX_MSG_ERROR)
        rc = mx_fail(err, MX_INFRA, "agent: %s", reply.message);
    else if (reply.type != MX_MSG_HELLO)
        rc = mx_fail(err, MX_INFRA, "agent answered hello with %s", mx_msg_type_name(reply.type));
    else if (reply.version != MX_PROTO_VERSION)
        rc = mx_fail(err, MX_INFRA, "agent speaks protocol %d, mexec %d", reply.version,
                     MX_PROTO_VERSION);
    if (rc == 0) se->agent = mx_xstrdup(reply.agent ? reply.agent : "mexec-agent");
    mx_msg_clear(&reply);
    return rc;
}

void mx_session_end(mx_session *se)
{
    if (se->ch) {
        if (!*se->stop) {
            mx_msg bye = {.type = MX_MSG_BYE};
            mx_err ignored;
            mx_session_send(se, &bye, &ignored);
        }
        libssh2_session_set_blocking(se->ssh->s, 1);
        libssh2_session_set_timeout(se->ssh->s, 2000);
        libssh2_channel_close(se->ch);
        libssh2_channel_free(se->ch);
        se->ch = NULL;
    }
    mx_lines_free(&se->lines);
    free(se->agent);
    se->agent = NULL;
}

void mx_step_output_init(mx_step_output *o, const mx_secrets *secrets)
{
    mx_mask_stream_init(&o->out, secrets);
    mx_mask_stream_init(&o->err, secrets);
}

void mx_step_output_end(mx_step_output *o)
{
    int out = 0, err = 1;
    mx_mask_flush(&o->out, mx_sink_emit, &out);
    mx_mask_flush(&o->err, mx_sink_emit, &err);
    mx_mask_stream_free(&o->out);
    mx_mask_stream_free(&o->err);
}

int mx_session_follow_step(mx_session *se, mx_step_output *o, mx_msg *end, mx_err *err)
{
    int out = 0, err_stream = 1;
    for (;;) {
        mx_msg r;
        if (mx_session_recv(se, &r, err) < 0) return -1;
        if (r.type == MX_MSG_STEP_END) {
            *end = r;
            return 0;
        }
        if (r.type == MX_MSG_OUTPUT) {
            if (r.stream == MX_STREAM_STDERR)
                mx_mask_feed(&o->err, r.data, r.len, mx_sink_emit, &err_stream);
            else
                mx_mask_feed(&o->out, r.data, r.len, mx_sink_emit, &out);
        } else if (r.type == MX_MSG_ERROR) {
            mx_autofree char *masked = mx_secrets_mask(o->out.secrets, r.message ? r.message : "?");
            mx_sink_note("agent: %s", masked);
        }
        mx_msg_clear(&r);
    }
}
