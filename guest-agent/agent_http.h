/* A small HTTP/1.1 client for the agent's one HTTP peer: the guest's dockerd on its unix socket.
 *
 * Why not libcurl: the agent is one static executable that must run on any guest
 * (guest-agent/CMakeLists.txt), Debian's libcurl cannot be linked statically, and talking to
 * the Engine API over AF_UNIX needs little of HTTP: no TLS, no proxies, no redirects, no
 * content codings, one request per connection.
 *
 * Use: mxh_connect_unix, mxh_send, mxh_read_head, then either mxh_read_body (the body is
 * streamed to a callback, never held) or, after "101 Switching Protocols", mxh_hijack (the
 * Engine API's hijacked streams: POST /exec/ID/start and /containers/ID/attach with
 * mxh_request.upgrade = "tcp" hand over the raw socket for multiplexed stdio frames).
 *
 * What the peer sends is bounded: status and header lines (MXH_MAX_LINE), header count
 * (MXH_MAX_HEADERS), the whole head (MXH_MAX_HEAD), chunk-size lines and trailers.  Every wait
 * polls with the connection's deadline and asks its cancel hook, so a caller can abandon a pull
 * that streams for ever.
 *
 * Errors: what the peer or the transport causes (refused, closed early, malformed, timed out,
 * cancelled) carries MX_JOB_FAILED, as any failed step; local failures (no socket, a socket
 * path too long, a request that would inject a header) carry MX_INFRA. */
#ifndef MX_AGENT_HTTP_H
#define MX_AGENT_HTTP_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>

#define MXH_MAX_LINE 8192        /* status line, one header line, a chunk-size line */
#define MXH_MAX_HEADERS 100      /* header fields in one head */
#define MXH_MAX_HEAD (64 * 1024) /* one head, and all trailers of a chunked body */
#define MXH_MAX_INTERIM 8        /* 1xx heads (100 Continue, ...) skipped before the answer */
#define MXH_CANCEL_TICK_MS 200   /* the cancel hook is asked at least this often */

/* ---- the response parser (agent_http_parse.c): pure, no I/O ---- */

typedef struct mxh_header {
    char *name; /* as sent; compare case-insensitively */
    char *value;
} mxh_header;

typedef enum mxh_framing {
    MXH_BODY_NONE,    /* 1xx, 204, 304, a HEAD request: no body */
    MXH_BODY_LENGTH,  /* Content-Length */
    MXH_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    MXH_BODY_CLOSE,   /* neither: the body ends when the peer closes */
} mxh_framing;

typedef struct mxh_response {
    int status; /* 100..599 */
    char *reason;
    mxh_header *headers;
    size_t nheaders;
    mxh_framing framing;
    unsigned long long length; /* MXH_BODY_LENGTH */
} mxh_response;

void mxh_response_free(mxh_response *r);
/* The first header called name (case-insensitive), or NULL. */
const char *mxh_header_get(const mxh_response *r, const char *name);

/* Parses the response head at the start of data[0..len) (CRLF or bare LF line ends).
 * head_request: the request was HEAD, so no body follows whatever the headers say.
 * Returns 1 with *r filled (free with mxh_response_free) and *used = the head's length; 0 when
 * the head is incomplete but within the limits so far; -1 with *err when it is malformed or
 * exceeds a limit. */
int mxh_parse_head(const char *data, size_t len, int head_request, mxh_response *r, size_t *used,
                   mx_err *err);

/* Receives body bytes; returns 0, or -1 with *err to stop the transfer. */
typedef int (*mxh_body_fn)(void *ctx, const char *data, size_t len, mx_err *err);

/* Decodes a body incrementally as its bytes arrive, in pieces of any size. */
typedef struct mxh_body {
    mxh_framing framing;
    unsigned long long left; /* LENGTH: bytes still due; CHUNKED: of the current chunk */
    int state;
    size_t line;    /* bytes of the current chunk-size line */
    size_t trailer; /* bytes of trailers so far */
} mxh_body;

void mxh_body_init(mxh_body *b, const mxh_response *r);
/* Feeds data[0..len), passing body bytes to fn.  Returns 1 when the body is complete (*used
 * bytes belonged to it), 0 when all of data was consumed and more is due, -1 with *err on a
 * framing error or when fn failed. */
int mxh_body_feed(mxh_body *b, const char *data, size_t len, size_t *used, mxh_body_fn fn,
                  void *ctx, mx_err *err);
/* The peer closed the connection: 0 if that completes the body, else -1 with *err. */
int mxh_body_end(const mxh_body *b, mx_err *err);

/* ---- the connection (agent_http.c) ---- */

/* Asked before every wait and whenever wake_fd has input; non-zero stops the transfer.  A hook
 * woken by wake_fd must consume that input (or stop), else it is asked again at once. */
typedef int (*mxh_cancel_fn)(void *ctx);

typedef struct mxh_conn {
    int fd;
    long long deadline_ms; /* CLOCK_MONOTONIC, 0: none (see mxh_set_timeout) */
    mxh_cancel_fn cancel;  /* NULL: none */
    void *cancel_ctx;
    int wake_fd;   /* -1, or an fd whose input should reach the cancel hook at once */
    int cancelled; /* set when the hook stopped a transfer */
    int head_request;
    char *buf; /* bytes read and not yet consumed: buf[off..len) */
    size_t off, len, cap;
} mxh_conn;

typedef struct mxh_request {
    const char *method;         /* "GET", "POST", ... */
    const char *target;         /* "/path?query", parts escaped with mxh_escape */
    const char *host;           /* the Host header; NULL: "localhost" */
    const char *const *headers; /* "Name: value", no line ends */
    size_t nheaders;
    const char *body; /* NULL: none; POST and PUT still send Content-Length: 0 */
    size_t body_len;
    /* Instead of body: a streamed one of exactly body_src_len bytes (an archive to PUT), read
     * from body_src in pieces; it sets *got (0 only at its end) or fails with *err. */
    int (*body_src)(void *ctx, char *buf, size_t cap, size_t *got, mx_err *err);
    void *body_src_ctx;
    unsigned long long body_src_len;
    /* NULL: "Connection: close".  A protocol ("tcp"): "Connection: Upgrade" + "Upgrade: tcp",
     * after which a 101 answer hands the socket over with mxh_hijack. */
    const char *upgrade;
} mxh_request;

void mxh_init(mxh_conn *c);
/* Bounds everything that follows on c to ms from now (0: no bound). */
void mxh_set_timeout(mxh_conn *c, long ms);
int mxh_connect_unix(mxh_conn *c, const char *path, mx_err *err);
/* Sends the request; the buffer that held it (credentials in headers or body) is wiped. */
int mxh_send(mxh_conn *c, const mxh_request *rq, mx_err *err);
/* Reads the answer's head, skipping interim 1xx answers other than 101. */
int mxh_read_head(mxh_conn *c, mxh_response *r, mx_err *err);
/* Streams the body that r announces to fn until its end. */
int mxh_read_body(mxh_conn *c, const mxh_response *r, mxh_body_fn fn, void *ctx, mx_err *err);
/* After a 101 answer: returns the socket (non-blocking, close-on-exec; the caller closes it)
 * and appends the stream's bytes that were already read to *early.  c keeps nothing. */
int mxh_hijack(mxh_conn *c, mx_buf *early);
/* Closes the socket (if not hijacked) and frees the buffer. */
void mxh_close(mxh_conn *c);

/* s percent-encoded for a path segment or a query value: all but A-Z a-z 0-9 - . _ ~ (as
 * curl_easy_escape).  Caller frees. */
char *mxh_escape(const char *s);

#endif
