/* The HTTP/1.1 connection over AF_UNIX: connect, send, read head and body, hijack.  The socket
 * is non-blocking and every wait goes through wait_ready(), which applies the deadline and asks
 * the cancel hook. */
#include "agent_http.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* Reads go straight into the connection's buffer in pieces of this size. */
#define MXH_READ_CHUNK (64 * 1024)

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mxh_init(mxh_conn *c)
{
    memset(c, 0, sizeof *c);
    c->fd = -1;
    c->wake_fd = -1;
}

void mxh_set_timeout(mxh_conn *c, long ms)
{
    c->deadline_ms = ms > 0 ? now_ms() + ms : 0;
}

void mxh_close(mxh_conn *c)
{
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    free(c->buf);
    c->buf = NULL;
    c->off = c->len = c->cap = 0;
}

/* Waits until c->fd is ready for events.  Returns -1 with *err on timeout, cancel or a poll
 * failure. */
static int wait_ready(mxh_conn *c, short events, mx_err *err)
{
    for (;;) {
        if (c->cancel && c->cancel(c->cancel_ctx)) {
            c->cancelled = 1;
            return mx_fail(err, MX_JOB_FAILED, "cancelled");
        }
        int ms = c->cancel ? MXH_CANCEL_TICK_MS : -1;
        if (c->deadline_ms) {
            long long left = c->deadline_ms - now_ms();
            if (left <= 0) return mx_fail(err, MX_JOB_FAILED, "timed out");
            if (ms < 0 || left < ms) ms = (int)left;
        }
        struct pollfd p[2] = {{.fd = c->fd, .events = events},
                              {.fd = c->wake_fd, .events = POLLIN}};
        int n = poll(p, c->wake_fd >= 0 ? 2 : 1, ms);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mx_fail_errno(err, MX_INFRA, "poll");
        /* POLLHUP/POLLERR too: the read or write that follows says what happened */
        if (p[0].revents) return 0;
    }
}

int mxh_connect_unix(mxh_conn *c, const char *path, mx_err *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        return mx_fail(err, MX_INFRA, "socket path too long: %s", path);
    memcpy(sa.sun_path, path, strlen(path) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->fd < 0) return mx_fail_errno(err, MX_INFRA, "socket");
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) return 0;
    /* a full listen backlog: the connection completes (or fails) later */
    if (errno != EAGAIN && errno != EINPROGRESS)
        return mx_fail_errno(err, MX_JOB_FAILED, "connect");
    if (wait_ready(c, POLLOUT, err) < 0) return mx_wrap(err, "connect");
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        return mx_fail_errno(err, MX_INFRA, "getsockopt");
    if (soerr) {
        errno = soerr;
        return mx_fail_errno(err, MX_JOB_FAILED, "connect");
    }
    return 0;
}

/* No byte of the request may end a line or the request line early (header injection). */
static int clean(const char *s, int allow_space)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int space = *p == ' ' || *p == '\t';
        if (space ? !allow_space : *p < 0x20 || *p == 0x7f) return 0;
    }
    return 1;
}

static int valid_request(const mxh_request *rq, mx_err *err)
{
    if (!*rq->method || !clean(rq->method, 0) || strchr(rq->method, ':'))
        return mx_fail(err, MX_INFRA, "bad HTTP method");
    if (rq->target[0] != '/' || !clean(rq->target, 0))
        return mx_fail(err, MX_INFRA, "bad HTTP request target");
    if ((rq->host && (!*rq->host || !clean(rq->host, 0))) ||
        (rq->upgrade && (!*rq->upgrade || !clean(rq->upgrade, 0))))
        return mx_fail(err, MX_INFRA, "bad Host or Upgrade value");
    for (size_t i = 0; i < rq->nheaders; i++) {
        const char *h = rq->headers[i], *colon = strchr(h, ':');
        if (!colon || colon == h || strcspn(h, " \t") < (size_t)(colon - h) || !clean(h, 1))
            return mx_fail(err, MX_INFRA, "bad HTTP request header");
    }
    return 0;
}

static int send_all(mxh_conn *c, const char *p, size_t len, mx_err *err)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (wait_ready(c, POLLOUT, err) < 0) return -1;
            continue;
        }
        if (n < 0) return mx_fail_errno(err, MX_JOB_FAILED, "send the request");
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* The streamed body: exactly body_src_len bytes, or an error (the peer would wait for the rest,
 * or take what follows for another request). */
static int send_stream(mxh_conn *c, const mxh_request *rq, mx_err *err)
{
    char *buf = mx_xmalloc(MXH_READ_CHUNK);
    unsigned long long left = rq->body_src_len;
    int rc = 0;
    while (rc == 0 && left > 0) {
        size_t want = left < MXH_READ_CHUNK ? (size_t)left : MXH_READ_CHUNK, got = 0;
        rc = rq->body_src(rq->body_src_ctx, buf, want, &got, err);
        if (rc == 0 && got == 0)
            rc = mx_fail(err, MX_INFRA, "the request body ended %llu bytes early", left);
        if (rc == 0) rc = send_all(c, buf, got, err);
        left -= got;
    }
    free(buf);
    return rc;
}

int mxh_send(mxh_conn *c, const mxh_request *rq, mx_err *err)
{
    if (valid_request(rq, err) < 0) return -1;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_printf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\n", rq->method, rq->target,
                  rq->host ? rq->host : "localhost");
    if (rq->upgrade)
        mx_buf_printf(&b, "Connection: Upgrade\r\nUpgrade: %s\r\n", rq->upgrade);
    else
        mx_buf_adds(&b, "Connection: close\r\n");
    for (size_t i = 0; i < rq->nheaders; i++)
        mx_buf_printf(&b, "%s\r\n", rq->headers[i]);
    if (rq->body_src)
        mx_buf_printf(&b, "Content-Length: %llu\r\n", rq->body_src_len);
    else if (rq->body || strcmp(rq->method, "POST") == 0 || strcmp(rq->method, "PUT") == 0)
        mx_buf_printf(&b, "Content-Length: %zu\r\n", rq->body ? rq->body_len : 0);
    mx_buf_adds(&b, "\r\n");
    if (rq->body) mx_buf_add(&b, rq->body, rq->body_len);
    c->head_request = strcmp(rq->method, "HEAD") == 0;
    int rc = send_all(c, b.data, b.len, err);
    /* X-Registry-Auth, a login body: gone before anything else happens */
    explicit_bzero(b.data, b.cap);
    mx_buf_free(&b);
    if (rc == 0 && rq->body_src) rc = send_stream(c, rq, err);
    return rc;
}

/* The buffer exists before any pointer into it is formed. */
static void ensure_buf(mxh_conn *c)
{
    if (!c->buf) {
        c->cap = MXH_READ_CHUNK;
        c->buf = mx_xmalloc(c->cap);
    }
}

/* Reads what is there (after waiting for something) into buf[len..].  Returns the count, 0 at
 * the end of the stream, -1 with *err. */
static ssize_t fill(mxh_conn *c, mx_err *err)
{
    ensure_buf(c);
    if (c->off == c->len) c->off = c->len = 0;
    if (c->cap - c->len < MXH_READ_CHUNK) {
        /* drop what was consumed before growing */
        memmove(c->buf, c->buf + c->off, c->len - c->off);
        c->len -= c->off;
        c->off = 0;
        if (c->cap - c->len < MXH_READ_CHUNK) {
            c->cap = c->len + MXH_READ_CHUNK;
            c->buf = mx_xrealloc(c->buf, c->cap);
        }
    }
    for (;;) {
        ssize_t n = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            if (wait_ready(c, POLLIN, err) < 0) return -1;
            continue;
        }
        if (n < 0) return mx_fail_errno(err, MX_JOB_FAILED, "read the response");
        c->len += (size_t)n;
        return n;
    }
}

int mxh_read_head(mxh_conn *c, mxh_response *r, mx_err *err)
{
    ensure_buf(c);
    int interim = 0;
    /* Parse only when a line has ended, or when a limit is already exceeded (the parser says
     * which): a peer sending one byte at a time costs a parse per line, not per byte. */
    size_t fresh = c->len - c->off; /* bytes not looked at yet: the last ones of buf[off..len) */
    size_t tail = 0;                /* bytes since the last line end */
    for (;;) {
        size_t have = c->len - c->off;
        const char *nl = fresh ? memrchr(c->buf + c->len - fresh, '\n', fresh) : NULL;
        tail = nl ? (size_t)(c->buf + c->len - nl - 1) : tail + fresh;
        if (nl || tail > MXH_MAX_LINE || have > MXH_MAX_HEAD) {
            size_t used;
            int rc = mxh_parse_head(c->buf + c->off, have, c->head_request, r, &used, err);
            if (rc < 0) return -1;
            if (rc == 1) {
                c->off += used;
                if (r->status / 100 != 1 || r->status == 101) return 0;
                mxh_response_free(r);
                if (++interim > MXH_MAX_INTERIM)
                    return mx_fail(err, MX_JOB_FAILED,
                                   "bad HTTP response: more than %d interim "
                                   "1xx answers",
                                   MXH_MAX_INTERIM);
                fresh = c->len - c->off;
                tail = 0;
                continue;
            }
        }
        ssize_t n = fill(c, err);
        if (n < 0) return -1;
        if (n == 0)
            return mx_fail(err, MX_JOB_FAILED, "%s",
                           have ? "connection closed inside the response head"
                                : "connection closed without an answer");
        fresh = (size_t)n;
    }
}

int mxh_read_body(mxh_conn *c, const mxh_response *r, mxh_body_fn fn, void *ctx, mx_err *err)
{
    ensure_buf(c);
    mxh_body b;
    mxh_body_init(&b, r);
    for (;;) {
        size_t used = 0;
        int rc = mxh_body_feed(&b, c->buf + c->off, c->len - c->off, &used, fn, ctx, err);
        if (rc < 0) return -1;
        c->off += used;
        if (rc == 1) return 0;
        ssize_t n = fill(c, err);
        if (n < 0) return -1;
        if (n == 0) return mxh_body_end(&b, err);
    }
}

int mxh_hijack(mxh_conn *c, mx_buf *early)
{
    if (c->len > c->off) mx_buf_add(early, c->buf + c->off, c->len - c->off);
    int fd = c->fd;
    c->fd = -1;
    mxh_close(c);
    return fd;
}

char *mxh_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = mx_xmalloc(strlen(s) * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~') {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
