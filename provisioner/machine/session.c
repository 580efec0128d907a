#include "session.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_term.h"
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A signal is noticed within this, however quiet the guest is. */
#define POLL_TICK_MS 200
/* The agent's stderr is shown line by line; a longer "line" is shown in pieces. */
#define AGENT_ERR_LINE_MAX 4096

static int interrupted(mx_session *se, mx_err *err)
{
    if (*se->stop) return mx_fail(err, MX_INFRA, "interrupted"), 1;
    return 0;
}

/* err's message may quote the guest (an unknown message type, an agent's error): masked and
 * made safe for a terminal before it travels up to be printed. */
static int guest_err(mx_session *se, mx_err *err)
{
    mx_autofree char *safe = mx_term_safe(se->secrets, err->msg);
    snprintf(err->msg, sizeof err->msg, "%s", safe);
    return -1;
}

void mx_session_init(mx_session *se, const mx_session_io *io, const mx_session_times *times,
                     const mx_secrets *secrets, volatile sig_atomic_t *stop)
{
    memset(se, 0, sizeof *se);
    se->io = io;
    se->to_fd = se->from_fd = se->err_fd = -1;
    se->pid = -1;
    se->stop = stop;
    se->secrets = secrets;
    mx_lines_init(&se->lines);
    mx_buf_init(&se->agent_err);
    static const mx_session_times defaults = {MX_SESSION_HELLO_MS, MX_SESSION_SEND_STALL_MS,
                                              MX_SESSION_TIMEOUT_GRACE_MS,
                                              MX_SESSION_CANCEL_WAIT_MS, MX_SESSION_QUIET_MAX_MS};
    se->times = times ? *times : defaults;
}

int mx_session_send(mx_session *se, const mx_msg *m, mx_err *err)
{
    if (mx_msg_check(m, err) < 0) return -1;
    size_t len;
    char *line = mx_msg_encode(m, &len);
    size_t off = 0;
    int rc = 0;
    long long stall = mx_now_ms() + se->times.send_stall_ms;
    while (off < len) {
        if (interrupted(se, err)) {
            rc = -1;
            break;
        }
        ssize_t n = se->io->write(se, line + off, len - off, err);
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n > 0) {
            off += (size_t)n;
            stall = mx_now_ms() + se->times.send_stall_ms;
            continue;
        }
        if (mx_now_ms() >= stall) {
            rc = mx_fail(err, MX_INFRA, "the agent took nothing for %d s: it stopped reading",
                         se->times.send_stall_ms / 1000);
            break;
        }
        se->io->wait(se, POLL_TICK_MS, 1);
    }
    free(line);
    if (rc == 0 && m->type == MX_MSG_STEP) {
        se->step_id = m->id;
        se->step_timeout_s = m->no_output_timeout_s;
        se->step_run = m->kind == MX_STEP_RUN;
    }
    return rc;
}

/* One line of the agent's stderr, masked, to the sink. */
static void agent_err_line(mx_session *se, const char *text, size_t len)
{
    mx_autofree char *line = mx_xstrndup(text, len);
    mx_autofree char *masked = mx_secrets_mask(se->secrets, line);
    mx_sink_agent(masked, strlen(masked));
}

static void agent_err_feed(mx_session *se, const char *data, size_t n, int final)
{
    mx_buf *b = &se->agent_err;
    mx_buf_add(b, data, n);
    size_t at = 0;
    for (;;) {
        const char *nl = b->len > at ? memchr(b->data + at, '\n', b->len - at) : NULL;
        size_t end = nl ? (size_t)(nl - b->data) : b->len;
        if (!nl && !(final && end > at) && end - at < AGENT_ERR_LINE_MAX) break;
        agent_err_line(se, b->data + at, end - at);
        at = nl ? end + 1 : end;
    }
    mx_buf_consume(b, at);
}

/* Reads what is there on both streams; agent diagnostics (stderr) go to the sink line by line.
 * Returns bytes of protocol read, 0 if none yet, -1 on error or end of the channel. */
static ssize_t pump(mx_session *se, mx_err *err)
{
    char buf[65536];
    for (;;) {
        ssize_t n = se->io->read(se, 1, buf, sizeof buf, err);
        if (n <= 0) break;
        agent_err_feed(se, buf, (size_t)n, 0);
    }
    ssize_t got = 0;
    /* all there is, then the lines: fewer, larger feeds */
    for (int i = 0; i < 16; i++) {
        ssize_t n = se->io->read(se, 0, buf, sizeof buf, err);
        if (n == 0) break;
        if (n == -2) return -1;
        if (n == -1) {
            if (got) break; /* what came before the end first */
            agent_err_feed(se, "", 0, 1);
            int status = se->io->exit_status(se);
            return mx_fail(err, MX_INFRA, "the agent ended unexpectedly (exit status %d)", status);
        }
        if (mx_lines_feed(&se->lines, buf, (size_t)n, err) < 0) return -1;
        got += n;
    }
    return got;
}

/* The next message, waiting until deadline_ms (0: no deadline).  1: *m is set; 0: the
 * deadline passed; -1: error (err set). */
static int recv_until(mx_session *se, mx_msg *m, long long deadline_ms, mx_err *err)
{
    for (;;) {
        const char *line;
        size_t len;
        if (mx_lines_view(&se->lines, &line, &len)) {
            if (mx_msg_decode(line, len, m, err) < 0) {
                mx_wrap(err, "from the agent");
                return guest_err(se, err);
            }
            return 1;
        }
        if (interrupted(se, err)) return -1;
        if (deadline_ms && mx_now_ms() >= deadline_ms) return 0;
        ssize_t n = pump(se, err);
        if (n < 0) return -1;
        if (n == 0) se->io->wait(se, POLL_TICK_MS, 0);
    }
}

int mx_session_hello(mx_session *se, mx_err *err)
{
    mx_msg hello = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    if (mx_session_send(se, &hello, err) < 0) return -1;
    mx_msg reply;
    int r = recv_until(se, &reply, mx_now_ms() + se->times.hello_ms, err);
    if (r == 0)
        return mx_fail(err, MX_INFRA, "agent hello: no answer within %d s",
                       se->times.hello_ms / 1000);
    if (r < 0) return mx_wrap(err, "agent hello");
    int rc = 0;
    if (reply.type == MX_MSG_ERROR) {
        rc = mx_fail(err, MX_INFRA, "agent: %s", reply.message);
        guest_err(se, err);
    } else if (reply.type != MX_MSG_HELLO) {
        rc = mx_fail(err, MX_INFRA, "agent answered hello with %s", mx_msg_type_name(reply.type));
    } else if (reply.version != MX_PROTO_VERSION) {
        rc = mx_fail(err, MX_INFRA, "agent speaks protocol %d, mexec %d", reply.version,
                     MX_PROTO_VERSION);
    }
    if (rc == 0) {
        mx_autofree char *name = mx_term_safe(se->secrets, reply.agent ? reply.agent : "");
        se->agent = mx_xstrdup(*name ? name : "mexec-agent");
    }
    mx_msg_clear(&reply);
    return rc;
}

void mx_session_end(mx_session *se)
{
    if (se->io) {
        if (!*se->stop) {
            mx_msg bye = {.type = MX_MSG_BYE};
            mx_err ignored;
            se->times.send_stall_ms = 2000; /* best effort: the guest may be gone */
            mx_session_send(se, &bye, &ignored);
        }
        agent_err_feed(se, "", 0, 1);
        se->io->close(se);
    }
    se->io = NULL;
    mx_lines_free(&se->lines);
    mx_buf_free(&se->agent_err);
    free(se->agent);
    se->agent = NULL;
}

/* ---- a step's output ---- */

static void stream_init(mx_step_stream *s, const mx_secrets *secrets, int stream)
{
    mx_mask_stream_init(&s->mask, secrets);
    mx_buf_init(&s->buf);
    s->stream = stream;
}

static void to_buf(void *ctx, const char *data, size_t len)
{
    mx_buf_add(ctx, data, len);
}

/* One sink call per message: the masker hands over its output in pieces. */
static void stream_send(mx_step_stream *s)
{
    mx_sink_output(s->stream, s->buf.data, s->buf.len);
    s->buf.len = 0;
}

static void stream_feed(mx_step_stream *s, const void *data, size_t len)
{
    mx_mask_feed(&s->mask, data, len, to_buf, &s->buf);
    stream_send(s);
}

static void stream_end(mx_step_stream *s)
{
    mx_mask_flush(&s->mask, to_buf, &s->buf);
    stream_send(s);
    mx_mask_stream_free(&s->mask);
    mx_buf_free(&s->buf);
}

void mx_step_output_init(mx_step_output *o, const mx_secrets *secrets)
{
    stream_init(&o->out, secrets, 0);
    stream_init(&o->err, secrets, 1);
}

void mx_step_output_end(mx_step_output *o)
{
    stream_end(&o->out);
    stream_end(&o->err);
    mx_sink_output_end(); /* what the view held back of this step's output is settled */
}

/* The step is past its no_output_timeout and the host's grace: cancel it (the agent stopped
 * watching, or lies).  -1 if even the cancel cannot be sent. */
static int cancel_silent(mx_session *se, long long quiet_ms, mx_err *err)
{
    mx_sink_note("step %d: no output for %lld s (%s) and the agent did not end it: cancelling",
                 se->step_id, quiet_ms / 1000,
                 se->step_timeout_s > 0 ? "no_output_timeout" : "the host's limit for this step");
    mx_msg c = {.type = MX_MSG_CANCEL, .id = se->step_id};
    return mx_session_send(se, &c, err);
}

int mx_session_follow_step(mx_session *se, mx_step_output *o, mx_msg *end, mx_err *err)
{
    /* run steps without a timeout (GitLab's scripts) end by the runner's job timeout */
    long long quiet_ms = se->step_timeout_s > 0
                             ? (long long)se->step_timeout_s * 1000 + se->times.timeout_grace_ms
                         : se->step_run ? 0
                                        : se->times.quiet_max_ms;
    long long deadline = quiet_ms ? mx_now_ms() + quiet_ms : 0;
    int cancelled = 0;
    for (;;) {
        mx_msg r;
        int got = recv_until(se, &r, deadline, err);
        if (got < 0) return -1;
        if (got == 0 && cancelled)
            return mx_fail(err, MX_INFRA,
                           "the agent did not end step %d within %d s of being cancelled after "
                           "%d s without output",
                           se->step_id, se->times.cancel_wait_ms / 1000, (int)(quiet_ms / 1000));
        if (got == 0) {
            if (cancel_silent(se, quiet_ms, err) < 0) return -1;
            cancelled = 1;
            deadline = mx_now_ms() + se->times.cancel_wait_ms;
            continue;
        }
        int mine = r.id == se->step_id;
        if (r.type == MX_MSG_STEP_END && mine) {
            if (cancelled) r.reason = MX_END_TIMEOUT; /* the host's timeout, not a user's cancel */
            *end = r;
            return 0;
        }
        if (r.type == MX_MSG_OUTPUT) {
            stream_feed(r.stream == MX_STREAM_STDERR ? &o->err : &o->out, r.data, r.len);
        } else if (r.type == MX_MSG_ERROR) {
            mx_autofree char *masked = mx_secrets_mask(se->secrets, r.message ? r.message : "?");
            mx_sink_note("agent: %s", masked);
        }
        /* silence is counted per step: a background step's output does not keep this one up */
        if (mine && deadline && !cancelled) deadline = mx_now_ms() + quiet_ms;
        mx_msg_clear(&r);
    }
}
