/* agent_http: the agent's HTTP/1.1 client against a fake server on the other end of a unix
 * socket.  The fake answers in scripted pieces, and hands over the next piece exactly when the
 * client is about to wait for more (through the cancel hook, which the client asks before every
 * wait): so "split at byte i" means the client really reads byte i in a separate read, with no
 * sleeps and no timing. */
#include "test_util.h"

#include "agent_http.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

/* A safety net so a broken client fails the test instead of hanging it; nothing is timed. */
#define SAFETY_MS 20000

/* The fake server's script: the response, cut at the offsets in splits. */
typedef struct feeder {
    int peer; /* the server's end */
    const char *data;
    size_t len;
    const size_t *splits; /* ascending offsets; 0 of them: one piece */
    size_t nsplits;
    size_t piece; /* the next piece to send */
    int close_at_end;
    int stop_after; /* > 0: the hook stops the transfer on its stop_after-th call */
    int calls;
} feeder;

static size_t piece_start(const feeder *f, size_t i)
{
    return i == 0 ? 0 : f->splits[i - 1];
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) fail_msg("fake server write: %s", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
}

/* The client is about to wait: send the next piece (or close when the script is done). */
static int feed_next(void *ctx)
{
    feeder *f = ctx;
    if (f->stop_after > 0 && ++f->calls >= f->stop_after) return 1;
    size_t pieces = f->nsplits + 1;
    if (f->piece < pieces) {
        size_t a = piece_start(f, f->piece);
        size_t b = f->piece + 1 < pieces ? f->splits[f->piece] : f->len;
        write_all(f->peer, f->data + a, b - a);
        f->piece++;
        if (f->piece == pieces && f->close_at_end) shutdown(f->peer, SHUT_WR);
    }
    return 0;
}

/* A client connection on one end of a socketpair; the fake server gets the other. */
static int connect_pair(mxh_conn *c)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(fcntl(sv[0], F_SETFL, O_NONBLOCK), 0);
    mxh_init(c);
    c->fd = sv[0];
    mxh_set_timeout(c, SAFETY_MS);
    return sv[1];
}

static int collect(void *ctx, const char *data, size_t len, mx_err *err)
{
    (void)err;
    mx_buf_add(ctx, data, len);
    return 0;
}

/* Reads the scripted answer (head, then body) on a fresh connection.  Returns what
 * mxh_read_head/mxh_read_body returned; *body is NUL-terminated. */
static int answer(feeder *f, mxh_response *r, mx_buf *body, mx_err *err)
{
    mxh_conn c;
    f->peer = connect_pair(&c);
    f->piece = 0;
    f->calls = 0;
    c.cancel = feed_next;
    c.cancel_ctx = f;
    mx_buf_init(body);
    mx_buf_add(body, "", 0);
    int rc = mxh_read_head(&c, r, err);
    if (rc == 0) {
        rc = mxh_read_body(&c, r, collect, body, err);
        if (rc < 0) mxh_response_free(r);
    }
    mxh_close(&c);
    close(f->peer);
    return rc;
}

/* Expects the response in data (one piece, closed after) to be refused with a message
 * containing want. */
static void expect_refused(const char *data, size_t len, const char *want)
{
    feeder f = {.data = data, .len = len, .close_at_end = 1};
    mxh_response r;
    mx_buf body;
    mx_err err;
    if (answer(&f, &r, &body, &err) == 0) fail_msg("accepted: %.*s", (int)len, data);
    assert_int_equal(err.status, MX_JOB_FAILED);
    tu_assert_contains(err.msg, want);
    mx_buf_free(&body);
}

#define REFUSED(lit, want) expect_refused(lit, sizeof(lit) - 1, want)

/* Expects data to be accepted with status and body. */
static void expect_body(const char *data, size_t len, int close_at_end, int status,
                        const char *want)
{
    feeder f = {.data = data, .len = len, .close_at_end = close_at_end};
    mxh_response r;
    mx_buf body;
    mx_err err;
    if (answer(&f, &r, &body, &err) < 0) fail_msg("%s in: %.*s", err.msg, (int)len, data);
    assert_int_equal(r.status, status);
    assert_int_equal(body.len, strlen(want));
    assert_memory_equal(body.data, want, body.len);
    mxh_response_free(&r);
    mx_buf_free(&body);
}

#define BODY(lit, close, status, want) expect_body(lit, sizeof(lit) - 1, close, status, want)

/* What docker pull streams: chunks with an extension, an object split across chunks, trailers. */
static const char chunked[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: application/json\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "\r\n"
                              "1a\r\n{\"status\":\"Pulling from\"}\n\r\n"
                              "6;name=value\r\n{\"id\":\r\n"
                              "9\r\n\"a1\"}\r\n\r\n\r\n"
                              "0\r\n"
                              "X-Trailer: yes\r\n"
                              "\r\n";
static const char chunked_body[] = "{\"status\":\"Pulling from\"}\n{\"id\":\"a1\"}\r\n\r\n";

static void test_chunked_every_split(void **state)
{
    (void)state;
    size_t len = sizeof chunked - 1;
    for (size_t i = 1; i < len; i++) {
        feeder f = {.data = chunked, .len = len, .splits = &i, .nsplits = 1};
        mxh_response r;
        mx_buf body;
        mx_err err;
        if (answer(&f, &r, &body, &err) < 0) fail_msg("split at %zu: %s", i, err.msg);
        assert_int_equal(r.status, 200);
        assert_int_equal(r.framing, MXH_BODY_CHUNKED);
        assert_string_equal(body.data, chunked_body);
        /* the whole script was needed: nothing was read ahead of its arrival */
        assert_int_equal(f.piece, 2);
        mxh_response_free(&r);
        mx_buf_free(&body);
    }
}

static void test_one_byte_at_a_time(void **state)
{
    (void)state;
    const char *bodies[] = {chunked, "HTTP/1.1 200 OK\nContent-Length: 5\n\nhello",
                            "HTTP/1.0 200 OK\r\n\r\nuntil the end"};
    const char *want[] = {chunked_body, "hello", "until the end"};
    for (size_t k = 0; k < 3; k++) {
        size_t len = strlen(bodies[k]);
        size_t *splits = mx_xcalloc(len, sizeof *splits);
        for (size_t i = 0; i + 1 < len; i++)
            splits[i] = i + 1;
        feeder f = {.data = bodies[k], .len = len, .splits = splits, .nsplits = len - 1};
        f.close_at_end = 1;
        mxh_response r;
        mx_buf body;
        mx_err err;
        if (answer(&f, &r, &body, &err) < 0) fail_msg("%s", err.msg);
        assert_string_equal(body.data, want[k]);
        mxh_response_free(&r);
        mx_buf_free(&body);
        free(splits);
    }
}

static void test_framing(void **state)
{
    (void)state;
    /* Content-Length: exactly that many bytes, even if more follow */
    BODY("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcdef", 0, 200, "abc");
    BODY("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 200, "");
    /* repeated but equal Content-Length is one length */
    BODY("HTTP/1.1 200 OK\r\nContent-Length: 2\r\ncontent-length: 2\r\n\r\nok", 0, 200, "ok");
    /* Transfer-Encoding wins over Content-Length; any case, OWS */
    BODY("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding:  Chunked \r\n\r\n"
         "2\r\nhi\r\n0\r\n\r\n",
         0, 200, "hi");
    /* neither: until the server closes */
    BODY("HTTP/1.1 500 Internal Server Error\r\n\r\n{\"message\":\"boom\"}\n", 1, 500,
         "{\"message\":\"boom\"}\n");
    /* no body whatever the headers say */
    BODY("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 204, "");
    BODY("HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 304, "");
    /* interim answers are skipped; an empty reason and a missing one are fine */
    BODY("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102\r\n\r\nHTTP/1.1 200 \r\nContent-Length: "
         "1\r\n\r\n"
         "x",
         0, 200, "x");
    /* bare LF line ends (but CRLF after chunk data), a chunk size in upper case */
    BODY("HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nA\n0123456789\r\n0\n\n", 0, 200,
         "0123456789");
}

static void test_headers(void **state)
{
    (void)state;
    static const char resp[] = "HTTP/1.1 401 Unauthorized\r\n"
                               "Api-Version: 1.43\r\n"
                               "X-Empty:\r\n"
                               "Www-Authenticate: \t Basic realm=\"x\" \t\r\n"
                               "X-Obs-Text: caf\xc3\xa9\r\n"
                               "Content-Length: 0\r\n\r\n";
    feeder f = {.data = resp, .len = sizeof resp - 1};
    mxh_response r;
    mx_buf body;
    mx_err err;
    if (answer(&f, &r, &body, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(r.status, 401);
    assert_string_equal(r.reason, "Unauthorized");
    assert_int_equal(r.nheaders, 5);
    assert_string_equal(mxh_header_get(&r, "api-version"), "1.43");
    assert_string_equal(mxh_header_get(&r, "X-EMPTY"), "");
    assert_string_equal(mxh_header_get(&r, "WWW-Authenticate"), "Basic realm=\"x\"");
    assert_string_equal(mxh_header_get(&r, "X-Obs-Text"), "caf\xc3\xa9");
    assert_null(mxh_header_get(&r, "X-Missing"));
    mxh_response_free(&r);
    mx_buf_free(&body);
}

static void test_bad_heads(void **state)
{
    (void)state;
    REFUSED("HTTP/2 200 OK\r\n\r\n", "status line");
    REFUSED("HTTP/1.1 20 OK\r\n\r\n", "status line");
    REFUSED("HTTP/1.1 600 Odd\r\n\r\n", "status line");
    REFUSED("HTTP/1.1 200OK\r\n\r\n", "status line");
    REFUSED("ICY 200 OK\r\n\r\n", "status line");
    REFUSED("HTTP/1.1 200 O\x01K\r\n\r\n", "control character");
    REFUSED("HTTP/1.1 200 OK\r\nNo-Colon\r\n\r\n", "header line");
    REFUSED("HTTP/1.1 200 OK\r\nName : v\r\n\r\n", "header line");
    REFUSED("HTTP/1.1 200 OK\r\n: v\r\n\r\n", "header line");
    REFUSED("HTTP/1.1 200 OK\r\nA: 1\r\n folded\r\n\r\n", "folding");
    REFUSED("HTTP/1.1 200 OK\r\nA: 1\r2\r\n\r\n", "CR inside");
    REFUSED("HTTP/1.1 200 OK\r\nA: x\0y\r\n\r\n", "control character");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "Content-Length");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", "Content-Length");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", "Content-Length");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            "conflicting Content-Length");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "Transfer-Encoding");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "chunked twice");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: \r\n\r\n", "empty Transfer-Encoding");
    /* more interim answers than anyone sends */
    REFUSED(
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 100 Continue\r\n\r\n",
        "interim");
}

/* A response head with n headers of value length vlen. */
static char *big_head(size_t n, size_t vlen, size_t *len)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "HTTP/1.1 200 OK\r\n");
    char *v = mx_xmalloc(vlen + 1);
    memset(v, 'v', vlen);
    v[vlen] = '\0';
    for (size_t i = 0; i < n; i++)
        mx_buf_printf(&b, "X-H%zu: %s\r\n", i, v);
    mx_buf_adds(&b, "Content-Length: 0\r\n\r\n");
    free(v);
    *len = b.len;
    return mx_buf_steal(&b);
}

static void test_oversize_heads(void **state)
{
    (void)state;
    size_t len;
    char *h = big_head(MXH_MAX_HEADERS - 1, 10, &len); /* + Content-Length: at the limit */
    expect_body(h, len, 0, 200, "");
    free(h);
    h = big_head(MXH_MAX_HEADERS, 10, &len);
    expect_refused(h, len, "more than 100 headers");
    free(h);
    h = big_head(1, MXH_MAX_LINE - 10, &len); /* "X-H0: " + value = MXH_MAX_LINE - 4 */
    expect_body(h, len, 0, 200, "");
    free(h);
    h = big_head(1, MXH_MAX_LINE, &len);
    expect_refused(h, len, "longer than 8192");
    free(h);
    /* lines within the limit, too many bytes in all */
    h = big_head(MXH_MAX_HEADERS - 1, MXH_MAX_HEAD / (MXH_MAX_HEADERS - 1), &len);
    expect_refused(h, len, "head larger than");
    free(h);
    /* a line that never ends is refused as soon as it is too long, not at the end */
    size_t n = 3 * MXH_MAX_LINE;
    char *endless = mx_xmalloc(n);
    memcpy(endless, "HTTP/1.1 200 OK\r\nX: ", 20); // NOLINT(bugprone-not-null-terminated-result)
    memset(endless + 20, 'x', n - 20);
    feeder f = {.data = endless, .len = n};
    mxh_response r;
    mx_buf body;
    mx_err err;
    assert_int_equal(answer(&f, &r, &body, &err), -1);
    tu_assert_contains(err.msg, "longer than");
    mx_buf_free(&body);
    free(endless);
}

static void test_bad_chunks(void **state)
{
    (void)state;
#define HEAD "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    REFUSED(HEAD "zz\r\n", "chunk size expected");
    REFUSED(HEAD "\r\n", "chunk size expected");
    REFUSED(HEAD " 5\r\nhello\r\n0\r\n\r\n", "chunk size expected");
    REFUSED(HEAD "-1\r\n", "chunk size expected");
    REFUSED(HEAD "5x\r\nhello\r\n0\r\n\r\n", "bad chunk size");
    REFUSED(HEAD "1000000000000000\r\n", "too large");
    REFUSED(HEAD "3\r\nabcX\r\n0\r\n\r\n", "no CRLF after chunk data");
    REFUSED(HEAD "3\r\nabc\n0\r\n\r\n", "no CRLF after chunk data");
    REFUSED(HEAD "2\r\nabc\r\n0\r\n\r\n", "no CRLF after chunk data");
    REFUSED(HEAD "3\r\nabc\rX0\r\n\r\n", "CR without LF");
    REFUSED(HEAD "3\rX", "CR without LF");
    REFUSED(HEAD "3;a=\x01\r\nabc\r\n0\r\n\r\n", "control character");
    /* 15 hex digits are allowed, with leading zeros */
    BODY(HEAD "000000000000002\r\nok\r\n0\r\n\r\n", 0, 200, "ok");
    /* a chunk-size line with an endless extension */
    size_t n = sizeof HEAD - 1 + 2 * MXH_MAX_LINE;
    char *ext = mx_xmalloc(n);
    memcpy(ext, HEAD "1;", sizeof HEAD + 1);
    memset(ext + sizeof HEAD + 1, 'e', n - sizeof HEAD - 1);
    expect_refused(ext, n, "chunk-size line too long");
    free(ext);
    /* trailers are bounded like a head */
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, HEAD "0\r\n");
    while (b.len < sizeof HEAD + MXH_MAX_HEAD + 10)
        mx_buf_adds(&b, "X-Trailer: 0123456789012345678901234567890123456789\r\n");
    mx_buf_adds(&b, "\r\n");
    expect_refused(b.data, b.len, "trailers larger");
    mx_buf_free(&b);
#undef HEAD
}

static void test_early_close(void **state)
{
    (void)state;
    REFUSED("", "connection closed without an answer");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Le", "closed inside the response head");
    REFUSED("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", "7 bytes missing");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "closed inside a chunked body");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n",
            "closed inside a chunked body");
    REFUSED("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n",
            "closed inside a chunked body");
}

static void test_timeout_and_cancel(void **state)
{
    (void)state;
    /* the server says half a head, then nothing: the deadline ends the wait */
    static const char half[] = "HTTP/1.1 200 OK\r\n";
    mxh_conn c;
    feeder f = {.data = half, .len = sizeof half - 1};
    f.peer = connect_pair(&c);
    c.cancel = feed_next;
    c.cancel_ctx = &f;
    mxh_set_timeout(&c, 50);
    mxh_response r;
    mx_err err;
    assert_int_equal(mxh_read_head(&c, &r, &err), -1);
    assert_string_equal(err.msg, "timed out");
    assert_int_equal(c.cancelled, 0);
    mxh_close(&c);
    close(f.peer);

    /* a body that streams for ever: the hook stops it, on the first call or later */
    for (int stop = 1; stop <= 4; stop++) {
        static const char endless[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                      "2\r\n{}\r\n";
        feeder g = {.data = endless, .len = sizeof endless - 1, .stop_after = stop};
        mx_buf body;
        assert_int_equal(answer(&g, &r, &body, &err), -1);
        assert_string_equal(err.msg, "cancelled");
        mx_buf_free(&body);
    }
}

/* Whatever made wake_fd readable reaches the hook; a hook that consumes it and goes on lets the
 * transfer finish, one that stops ends it. */
typedef struct waker {
    feeder f;
    int pipe[2];
    int woken;
    int stop_when_woken;
} waker;

static int on_wake(void *ctx)
{
    waker *w = ctx;
    char ch;
    if (read(w->pipe[0], &ch, 1) == 1) {
        w->woken++;
        if (w->stop_when_woken) return 1;
    } else if (w->woken == 0) {
        /* first wait: "the host writes" instead of the server answering */
        assert_int_equal(write(w->pipe[1], "c", 1), 1);
        return 0;
    }
    return feed_next(&w->f);
}

static void test_wake_fd(void **state)
{
    (void)state;
    static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    for (int stop = 0; stop <= 1; stop++) {
        waker w = {.f = {.data = ok, .len = sizeof ok - 1}, .stop_when_woken = stop};
        assert_int_equal(pipe2(w.pipe, O_NONBLOCK | O_CLOEXEC), 0);
        mxh_conn c;
        w.f.peer = connect_pair(&c);
        c.cancel = on_wake;
        c.cancel_ctx = &w;
        c.wake_fd = w.pipe[0];
        mxh_response r;
        mx_err err;
        int rc = mxh_read_head(&c, &r, &err);
        assert_int_equal(w.woken, 1);
        if (stop) {
            assert_int_equal(rc, -1);
            assert_string_equal(err.msg, "cancelled");
            assert_int_equal(c.cancelled, 1);
        } else {
            if (rc < 0) fail_msg("%s", err.msg);
            assert_int_equal(r.status, 200);
            mxh_response_free(&r);
        }
        mxh_close(&c);
        close(w.f.peer);
        close(w.pipe[0]);
        close(w.pipe[1]);
    }
}

static int refuse_body(void *ctx, const char *data, size_t len, mx_err *err)
{
    (void)ctx, (void)data, (void)len;
    return mx_fail(err, MX_JOB_FAILED, "line too long for the caller");
}

static void test_body_callback_stops(void **state)
{
    (void)state;
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nabcd";
    feeder f = {.data = resp, .len = sizeof resp - 1};
    mxh_conn c;
    f.peer = connect_pair(&c);
    c.cancel = feed_next;
    c.cancel_ctx = &f;
    mxh_response r;
    mx_err err;
    assert_int_equal(mxh_read_head(&c, &r, &err), 0);
    assert_int_equal(mxh_read_body(&c, &r, refuse_body, NULL, &err), -1);
    assert_string_equal(err.msg, "line too long for the caller");
    mxh_response_free(&r);
    mxh_close(&c);
    close(f.peer);
}

/* Everything the peer has received so far on fd (which the client has finished writing to). */
static char *received(int fd)
{
    mx_buf b;
    mx_buf_init(&b);
    char chunk[4096];
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) <= 0) break;
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n <= 0) break;
        mx_buf_add(&b, chunk, (size_t)n);
    }
    mx_buf_add(&b, "", 0);
    return mx_buf_steal(&b);
}

static void test_request_bytes(void **state)
{
    (void)state;
    mxh_conn c;
    int peer = connect_pair(&c);
    mx_err err;
    const char *headers[] = {"Content-Type: application/json", "X-Registry-Auth: e30="};
    mxh_request post = {.method = "POST",
                        .target = "/auth",
                        .headers = headers,
                        .nheaders = 2,
                        .body = "{\"a\":1}",
                        .body_len = 7};
    assert_int_equal(mxh_send(&c, &post, &err), 0);
    char *got = received(peer);
    assert_string_equal(got, "POST /auth HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                             "Content-Type: application/json\r\nX-Registry-Auth: e30=\r\n"
                             "Content-Length: 7\r\n\r\n{\"a\":1}");
    free(got);
    /* a POST without a body still says how long it is; a GET does not */
    mxh_request empty = {.method = "POST", .target = "/images/create?fromImage=a&tag=b"};
    assert_int_equal(mxh_send(&c, &empty, &err), 0);
    got = received(peer);
    assert_string_equal(got, "POST /images/create?fromImage=a&tag=b HTTP/1.1\r\nHost: localhost"
                             "\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    free(got);
    mxh_request get = {.method = "GET", .target = "/_ping", .host = "docker"};
    assert_int_equal(mxh_send(&c, &get, &err), 0);
    got = received(peer);
    assert_string_equal(got, "GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
    free(got);
    /* the hijack form of the Engine API */
    mxh_request up = {.method = "POST", .target = "/exec/abc/start", .upgrade = "tcp"};
    assert_int_equal(mxh_send(&c, &up, &err), 0);
    got = received(peer);
    assert_string_equal(got, "POST /exec/abc/start HTTP/1.1\r\nHost: localhost\r\n"
                             "Connection: Upgrade\r\nUpgrade: tcp\r\nContent-Length: 0\r\n\r\n");
    free(got);
    mxh_close(&c);
    close(peer);
}

static void test_request_injection_refused(void **state)
{
    (void)state;
    mxh_conn c;
    int peer = connect_pair(&c);
    mx_err err;
    const char *evil[] = {"X-A: 1\r\nX-Injected: 2", "X-A: 1\nX", "NoColon", "Bad Name: 1",
                          ": empty-name"};
    for (size_t i = 0; i < sizeof evil / sizeof *evil; i++) {
        mxh_request rq = {.method = "GET", .target = "/", .headers = &evil[i], .nheaders = 1};
        assert_int_equal(mxh_send(&c, &rq, &err), -1);
        assert_int_equal(err.status, MX_INFRA);
    }
    const char *targets[] = {"/a b", "/a\r\nX: 1", "no-slash", ""};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        mxh_request rq = {.method = "GET", .target = targets[i]};
        assert_int_equal(mxh_send(&c, &rq, &err), -1);
    }
    mxh_request m = {.method = "GE T", .target = "/"};
    assert_int_equal(mxh_send(&c, &m, &err), -1);
    mxh_request h = {.method = "GET", .target = "/", .host = "a\r\nb"};
    assert_int_equal(mxh_send(&c, &h, &err), -1);
    mxh_request u = {.method = "GET", .target = "/", .upgrade = "tcp\r\nX: 1"};
    assert_int_equal(mxh_send(&c, &u, &err), -1);
    /* nothing at all reached the server */
    char *got = received(peer);
    assert_string_equal(got, "");
    free(got);
    mxh_close(&c);
    close(peer);
}

static void test_head_request_has_no_body(void **state)
{
    (void)state;
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
    mxh_conn c;
    feeder f = {.data = resp, .len = sizeof resp - 1};
    f.peer = connect_pair(&c);
    c.cancel = feed_next;
    c.cancel_ctx = &f;
    mx_err err;
    mxh_request rq = {.method = "HEAD", .target = "/_ping"};
    assert_int_equal(mxh_send(&c, &rq, &err), 0);
    mxh_response r;
    assert_int_equal(mxh_read_head(&c, &r, &err), 0);
    assert_int_equal(r.framing, MXH_BODY_NONE);
    mx_buf body;
    mx_buf_init(&body);
    assert_int_equal(mxh_read_body(&c, &r, collect, &body, &err), 0);
    assert_int_equal(body.len, 0);
    mxh_response_free(&r);
    mxh_close(&c);
    close(f.peer);
}

/* 101: the socket and the stream bytes that came with the head go to the caller, who then
 * speaks the raw protocol both ways (here: one multiplexed stdout frame, then an echo). */
static void test_hijack(void **state)
{
    (void)state;
    static const char resp[] = "HTTP/1.1 101 UPGRADED\r\n"
                               "Content-Type: application/vnd.docker.multiplexed-stream\r\n"
                               "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
                               "\x01\0\0\0\0\0\0\x03hi\n";
    mxh_conn c;
    feeder f = {.data = resp, .len = sizeof resp - 1};
    f.peer = connect_pair(&c);
    c.cancel = feed_next;
    c.cancel_ctx = &f;
    mx_err err;
    mxh_request rq = {
        .method = "POST", .target = "/containers/x/attach?stream=1", .upgrade = "tcp"};
    assert_int_equal(mxh_send(&c, &rq, &err), 0);
    free(received(f.peer));
    mxh_response r;
    assert_int_equal(mxh_read_head(&c, &r, &err), 0);
    assert_int_equal(r.status, 101);
    assert_int_equal(r.framing, MXH_BODY_NONE);
    mx_buf early;
    mx_buf_init(&early);
    int fd = mxh_hijack(&c, &early);
    assert_true(fd >= 0);
    assert_int_equal(c.fd, -1);
    assert_null(c.buf);
    assert_int_equal(early.len, 11);
    assert_memory_equal(early.data, "\x01\0\0\0\0\0\0\x03hi\n", 11);
    /* the stream goes on both ways on the handed-over socket */
    write_all(fd, "stdin", 5);
    char buf[8];
    assert_int_equal(read(f.peer, buf, sizeof buf), 5);
    assert_memory_equal(buf, "stdin", 5);
    write_all(f.peer, "more", 4);
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, SAFETY_MS), 1);
    assert_int_equal(read(fd, buf, sizeof buf), 4);
    mxh_close(&c); /* a no-op after the hijack: the caller owns fd */
    assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
    close(fd);
    close(f.peer);
    mxh_response_free(&r);
    mx_buf_free(&early);
}

static void test_connect_unix(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *path = mx_path_join(dir, "docker.sock");
    mxh_conn c;
    mx_err err;
    /* no socket file */
    mxh_init(&c);
    assert_int_equal(mxh_connect_unix(&c, path, &err), -1);
    assert_int_equal(err.status, MX_JOB_FAILED);
    tu_assert_contains(err.msg, "No such file");
    mxh_close(&c);
    /* a socket file nobody listens on (dockerd died) */
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(bind(l, (struct sockaddr *)&sa, sizeof sa), 0);
    mxh_init(&c);
    assert_int_equal(mxh_connect_unix(&c, path, &err), -1);
    tu_assert_contains(err.msg, "Connection refused");
    mxh_close(&c);
    /* listening: one whole exchange over a real path */
    assert_int_equal(listen(l, 4), 0);
    mxh_init(&c);
    mxh_set_timeout(&c, SAFETY_MS);
    assert_int_equal(mxh_connect_unix(&c, path, &err), 0);
    int peer = accept4(l, NULL, NULL, SOCK_CLOEXEC);
    assert_true(peer >= 0);
    mxh_request rq = {.method = "GET", .target = "/_ping"};
    assert_int_equal(mxh_send(&c, &rq, &err), 0);
    char *got = received(peer);
    tu_assert_contains(got, "GET /_ping HTTP/1.1\r\n");
    free(got);
    write_all(peer, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK", 40);
    mxh_response r;
    mx_buf body;
    mx_buf_init(&body);
    assert_int_equal(mxh_read_head(&c, &r, &err), 0);
    assert_int_equal(mxh_read_body(&c, &r, collect, &body, &err), 0);
    assert_int_equal(body.len, 2);
    assert_memory_equal(body.data, "OK", 2);
    mxh_response_free(&r);
    mx_buf_free(&body);
    mxh_close(&c);
    close(peer);
    close(l);
    /* a path that does not fit sockaddr_un: the machinery, not the daemon */
    char *longp = mx_xmalloc(200);
    memset(longp, 'a', 199);
    longp[0] = '/';
    longp[199] = '\0';
    mxh_init(&c);
    assert_int_equal(mxh_connect_unix(&c, longp, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    mxh_close(&c);
    free(longp);
    free(path);
    tu_rmdir(dir);
}

static void test_escape(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"busybox", "busybox"},
        {"quay.io/org/img", "quay.io%2Forg%2Fimg"},
        {"sha256:0123", "sha256%3A0123"},
        {"a b&c=d?e#f%", "a%20b%26c%3Dd%3Fe%23f%25"},
        {"-._~AZaz09", "-._~AZaz09"},
        {"caf\xc3\xa9\x01\x7f\xff", "caf%C3%A9%01%7F%FF"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *e = mxh_escape(cases[i][0]);
        assert_string_equal(e, cases[i][1]);
        free(e);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_chunked_every_split),
        cmocka_unit_test(test_one_byte_at_a_time),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_headers),
        cmocka_unit_test(test_bad_heads),
        cmocka_unit_test(test_oversize_heads),
        cmocka_unit_test(test_bad_chunks),
        cmocka_unit_test(test_early_close),
        cmocka_unit_test(test_timeout_and_cancel),
        cmocka_unit_test(test_wake_fd),
        cmocka_unit_test(test_body_callback_stops),
        cmocka_unit_test(test_request_bytes),
        cmocka_unit_test(test_request_injection_refused),
        cmocka_unit_test(test_head_request_has_no_body),
        cmocka_unit_test(test_hijack),
        cmocka_unit_test(test_connect_unix),
        cmocka_unit_test(test_escape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
