/* The Engine API plumbing of docker steps: output, cancel while waiting or transferring, the
 * HTTP requests over the unix socket (agent_http.h), and waiting for dockerd to come up. */
#include "agent_docker.h"
#include "mx_num.h"
#include "agent_http.h"
#include "mx_b64.h"
#include "mx_cleanup.h"
#include "mx_cred_ref.h"
#include "mx_fs.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* Error bodies are short JSON; more than this is not worth keeping in memory. */
#define MXD_MAX_BODY (1024 * 1024)
/* Connecting to the socket; the request's own bound applies after that. */
#define MXD_CONNECT_TIMEOUT_MS 5000
/* Between two /_ping attempts while dockerd starts. */
#define MXD_PING_INTERVAL_MS 500

void mxd_say(mxd_ctx *c, enum mx_stream s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mx_agent_vsay(c->step->id, s, fmt, ap);
    va_end(ap);
}

/* Reads what the host sent: cancel acts now, anything else waits its turn (as during run
 * steps).  Returns -1 once the step must stop. */
static int watch_host(mxd_ctx *c)
{
    if (c->cancelled || c->host_gone) return -1;
    if (!c->in) return 0; /* a relay child: the host's channel is the agent's, not ours */
    struct pollfd p = {.fd = c->in->fd, .events = POLLIN};
    int r = poll(&p, 1, 0);
    if (r <= 0) return 0;
    if (mx_agent_in_fill(c->in) < 0 || c->in->eof) {
        c->host_gone = 1;
        return -1;
    }
    char *line;
    size_t len;
    while (mx_lines_next(&c->in->lines, &line, &len)) {
        mx_msg m;
        mx_err err;
        int ok = mx_msg_decode(line, len, &m, &err) == 0;
        if (ok && m.type == MX_MSG_CANCEL) {
            c->cancelled = 1;
        } else {
            mx_err ignored;
            mx_lines_feed(&c->in->deferred, line, len, &ignored);
            mx_lines_feed(&c->in->deferred, "\n", 1, &ignored);
        }
        if (ok) mx_msg_clear(&m);
        free(line);
    }
    return c->cancelled ? -1 : 0;
}

int mxd_sleep(mxd_ctx *c, long ms)
{
    long long end = mx_agent_now_ms() + ms;
    for (;;) {
        if (watch_host(c) < 0) return -1;
        long long left = end - mx_agent_now_ms();
        if (left <= 0) return 0;
        struct pollfd p = {.fd = c->in ? c->in->fd : -1, .events = POLLIN};
        poll(&p, 1, left > 1000 ? 1000 : (int)left);
    }
}

typedef struct xfer {
    const mxd_request *rq;
    mx_buf *body;
    mx_lines lines;
    int streaming; /* a 2xx answer to a request with on_line */
} xfer;

static int on_body(void *ctx, const char *data, size_t len, mx_err *err)
{
    xfer *x = ctx;
    if (x->streaming && x->rq->on_data) return x->rq->on_data(x->rq->data_ctx, data, len, err);
    if (x->streaming) {
        if (mx_lines_feed(&x->lines, data, len, err) < 0) return -1;
        char *line;
        size_t ll;
        while (mx_lines_next(&x->lines, &line, &ll)) {
            x->rq->on_line(x->rq->line_ctx, line, ll);
            free(line);
        }
        return 0;
    }
    /* keep what fits: an error message is at the start */
    size_t room = MXD_MAX_BODY - x->body->len;
    mx_buf_add(x->body, data, len < room ? len : room);
    return 0;
}

/* Asked while the transfer waits: a cancel from the host (or its leaving) ends a pull that
 * would otherwise stream for ever. */
static int should_stop(void *ctx)
{
    return watch_host(ctx) < 0;
}

/* Connect, send, read the answer into *status and *body or on_line. */
static int exchange(mxd_ctx *c, mxh_conn *h, const mxd_request *rq, xfer *x, long *status,
                    mx_err *err)
{
    /* connecting to a unix socket takes no time unless dockerd's backlog is full */
    mxh_set_timeout(h, MXD_CONNECT_TIMEOUT_MS);
    if (mxh_connect_unix(h, c->sock, err) < 0)
        return mx_wrap(err, "Cannot connect to the Docker daemon at unix://%s", c->sock);
    mxh_set_timeout(h, rq->timeout_ms);
    /* the body is JSON (the daemon insists on the type for /auth) */
    mx_autofree char *ctype =
        mx_xasprintf("Content-Type: %s", rq->content_type ? rq->content_type : "application/json");
    const char *headers[] = {ctype, rq->header};
    mxh_request hr = {.method = rq->method,
                      .target = rq->path,
                      .headers = headers,
                      .nheaders = rq->header ? 2 : 1,
                      .body = rq->body,
                      .body_len = rq->body ? strlen(rq->body) : 0,
                      .body_src = rq->body_src,
                      .body_src_ctx = rq->body_src_ctx,
                      .body_src_len = rq->body_src_len};
    mxh_response resp;
    if (mxh_send(h, &hr, err) < 0 || mxh_read_head(h, &resp, err) < 0)
        return mx_wrap(err, "Docker daemon at unix://%s", c->sock);
    *status = resp.status;
    x->streaming = (rq->on_line || rq->on_data) && resp.status / 100 == 2;
    int rc = mxh_read_body(h, &resp, on_body, x, err);
    mxh_response_free(&resp);
    if (rc < 0) return mx_wrap(err, "Docker daemon at unix://%s", c->sock);
    return 0;
}

int mxd_http(mxd_ctx *c, const mxd_request *rq, long *status, mx_buf *body, mx_err *err)
{
    *status = 0;
    if (watch_host(c) < 0) return mx_fail(err, MX_JOB_FAILED, "cancelled");
    xfer x = {.rq = rq, .body = body};
    mx_lines_init(&x.lines);
    mxh_conn h;
    mxh_init(&h);
    h.cancel = should_stop;
    h.cancel_ctx = c;
    h.wake_fd = c->in ? c->in->fd : -1;
    int rc = exchange(c, &h, rq, &x, status, err);
    mxh_close(&h);
    if (c->cancelled || c->host_gone) rc = mx_fail(err, MX_JOB_FAILED, "cancelled");
    /* a last line without '\n' still counts */
    if (rc == 0 && x.streaming && !rq->on_data && x.lines.len > 0) {
        mx_err e2;
        if (mx_lines_feed(&x.lines, "\n", 1, &e2) == 0) {
            char *line;
            size_t ll;
            while (mx_lines_next(&x.lines, &line, &ll)) {
                rq->on_line(rq->line_ctx, line, ll);
                free(line);
            }
        }
    }
    mx_lines_free(&x.lines);
    return rc;
}

void mxd_buf_wipe(mx_buf *b)
{
    if (b->data) OPENSSL_cleanse(b->data, b->cap);
    mx_buf_free(b);
}

void mxd_daemon_error(long status, const mx_buf *body, mx_err *err)
{
    json_error_t je;
    mx_autojson json_t *o = body->len ? json_loadb(body->data, body->len, 0, &je) : NULL;
    const char *msg = json_string_value(json_object_get(o, "message"));
    if (msg && *msg) {
        mx_fail(err, MX_JOB_FAILED, "Error response from daemon: %s", msg);
        return;
    }
    if (body->len) {
        size_t n = body->len;
        while (n > 0 && (body->data[n - 1] == '\n' || body->data[n - 1] == '\r'))
            n--;
        mx_fail(err, MX_JOB_FAILED, "Error response from daemon: %.*s", (int)(n > 1000 ? 1000 : n),
                body->data);
        return;
    }
    mx_fail(err, MX_JOB_FAILED, "Error response from daemon: HTTP %ld", status);
}

int mxd_retryable(long status)
{
    return !(status == 400 || status == 401 || status == 403 || status == 404);
}

char *mxd_server_address(const char *registry)
{
    const char *r = registry && *registry ? registry : MX_DOCKER_HUB;
    const char *p = strstr(r, "://");
    p = p ? p + 3 : r;
    size_t n = strcspn(p, "/");
    mx_autofree char *host = mx_xstrndup(p, n);
    mx_autofree char *lower = mx_xstrdup(host);
    for (char *q = lower; *q; q++)
        if (*q >= 'A' && *q <= 'Z') *q = (char)(*q - 'A' + 'a');
    if (mx_cred_is_docker_hub(lower)) return mx_xstrdup(MX_DOCKER_HUB_SERVER);
    /* like the docker CLI, the key keeps the spelling the user gave (minus scheme and path) */
    return mx_steal(&host);
}

char *mxd_config_path(void)
{
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir) return mx_path_join(dir, "config.json");
    const char *home = getenv("HOME");
    mx_autofree char *d = mx_path_join(home && *home ? home : "/", ".docker");
    return mx_path_join(d, "config.json");
}

char *mxd_b64url(const char *s)
{
    char *b = mx_b64_encode(s, strlen(s));
    for (char *p = b; *p; p++) {
        if (*p == '+') *p = '-';
        if (*p == '/') *p = '_';
    }
    return b;
}

static long wait_limit_ms(void)
{
    const char *v = getenv("MEXEC_DOCKER_WAIT_S");
    long long s;
    if (mx_parse_int(v, 0, 3600, &s) == 0) return (long)s * 1000;
    return MX_DOCKER_DEFAULT_WAIT_S * 1000L;
}

int mxd_wait_daemon(mxd_ctx *c, mx_err *err)
{
    long limit = wait_limit_ms();
    long long deadline = mx_agent_now_ms() + limit;
    int said = 0;
    for (;;) {
        /* not being in the docker group does not heal by waiting */
        if (access(c->sock, F_OK) == 0 && access(c->sock, R_OK | W_OK) < 0 && errno == EACCES)
            return mx_fail(err, MX_JOB_FAILED,
                           "permission denied while trying to connect to the Docker daemon "
                           "socket at unix://%s",
                           c->sock);
        long status = 0;
        mx_buf body;
        mx_buf_init(&body);
        mx_err e;
        mxd_request rq = {.method = "GET", .path = "/_ping", .timeout_ms = 10000};
        int r = mxd_http(c, &rq, &status, &body, &e);
        mx_buf_free(&body);
        if (c->cancelled || c->host_gone) return mx_fail(err, MX_JOB_FAILED, "cancelled");
        if (r == 0 && status == 200) return 0;
        if (r < 0 && e.status == MX_INFRA) {
            *err = e;
            return -1;
        }
        if (mx_agent_now_ms() >= deadline) {
            if (!mx_path_exists(c->sock))
                return mx_fail(err, MX_JOB_FAILED,
                               "Cannot connect to the Docker daemon at unix://%s. Is the docker "
                               "daemon running? (no socket after waiting %ld s)",
                               c->sock, limit / 1000);
            if (r < 0) {
                *err = e;
                return mx_wrap(err, "waited %ld s", limit / 1000);
            }
            return mx_fail(err, MX_JOB_FAILED,
                           "Cannot connect to the Docker daemon at unix://%s: /_ping answered "
                           "HTTP %ld (waited %ld s)",
                           c->sock, status, limit / 1000);
        }
        if (!said) {
            mxd_say(c, MX_STREAM_STDOUT, "Waiting for the Docker daemon at unix://%s ...", c->sock);
            said = 1;
        }
        if (mxd_sleep(c, MXD_PING_INTERVAL_MS) < 0) return mx_fail(err, MX_JOB_FAILED, "cancelled");
    }
}

int mxd_end_step(mxd_ctx *c, int rc, const mx_err *err, long long t0, int exited_msg)
{
    if (c->host_gone) return -1;
    long long dur = mx_agent_now_ms() - t0;
    if (c->cancelled) {
        /* 128 + SIGTERM: what a cancelled run step reports */
        mx_agent_send_end(c->step, 143, MX_END_CANCELLED, dur, NULL);
    } else if (rc < 0 && err->status == MX_INFRA) {
        mx_agent_send_end(c->step, 1, MX_END_FAILED, dur, err->msg);
    } else if (rc < 0) {
        /* the CLI prints its error on stderr; the log should read the same */
        mxd_say(c, MX_STREAM_STDERR, "%s", err->msg);
        mx_agent_send_end(c->step, 1, MX_END_EXITED, dur, exited_msg ? err->msg : NULL);
    } else {
        mx_agent_send_end(c->step, 0, MX_END_EXITED, dur, NULL);
    }
    return 0;
}

int mx_agent_run_docker_step(const mx_msg *step, mx_agent_in *in)
{
    long long t0 = mx_agent_now_ms();
    const char *sock = getenv("MEXEC_DOCKER_SOCK");
    mxd_ctx c = {
        .step = step, .in = in, .sock = mx_xstrdup(sock && *sock ? sock : MX_DOCKER_DEFAULT_SOCK)};
    mx_err err;
    mx_err_clear(&err);
    int rc = mxd_wait_daemon(&c, &err);
    if (rc == 0) rc = step->kind == MX_STEP_DOCKER_CHECK ? mxd_check(&c, &err) : mxd_pull(&c, &err);
    free(c.sock);
    return mxd_end_step(&c, rc, &err, t0, 1);
}
