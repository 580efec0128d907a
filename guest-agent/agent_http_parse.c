/* The HTTP/1.1 response parser (RFC 9112): the head at once, the body incrementally.  No I/O,
 * so the fuzzer (tests/fuzz/agent_http_fuzz.c) reaches all of it. */
#include "agent_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mxh_response_free(mxh_response *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    free(r->reason);
    memset(r, 0, sizeof *r);
}

// cppcheck-suppress unusedFunction ; agent_http_test and its fuzz target read heads with it
const char *mxh_header_get(const mxh_response *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

/* tchar of RFC 9110 5.6.2 */
static int is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) return 1;
    return ch && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* field-vchar, SP, HTAB (obs-text included): what a header value may hold */
static int is_value_char(unsigned char ch)
{
    return ch == '\t' || (ch >= 0x20 && ch != 0x7f);
}

/* The next line of data[0..len) from *pos: its bytes [*start, *start + *n) without the line
 * end.  Returns 1, 0 if no complete line is there yet, -1 on a CR not followed by LF or a line
 * longer than MXH_MAX_LINE. */
static int next_line(const char *data, size_t len, size_t *pos, size_t *start, size_t *n,
                     mx_err *err)
{
    size_t p = *pos;
    const char *nl = memchr(data + p, '\n', len - p);
    size_t end = nl ? (size_t)(nl - data) : len;
    size_t ll = end - p;
    if (ll > 0 && data[end - 1] == '\r') ll--;
    if (ll > MXH_MAX_LINE)
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: a line longer than %d bytes",
                       MXH_MAX_LINE);
    if (memchr(data + p, '\r', ll))
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: CR inside a line");
    if (!nl) return 0;
    *start = p;
    *n = ll;
    *pos = end + 1;
    return 1;
}

static int parse_status(const char *s, size_t n, mxh_response *r, mx_err *err)
{
    /* HTTP/1.x SP 3DIGIT [SP reason]; some servers leave out the space before an empty reason */
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') || s[8] != ' ' ||
        s[9] < '1' || s[9] > '5' || s[10] < '0' || s[10] > '9' || s[11] < '0' || s[11] > '9' ||
        (n > 12 && s[12] != ' '))
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: status line \"%.*s\"",
                       (int)(n > 80 ? 80 : n), s);
    for (size_t i = 13; i < n; i++)
        if (!is_value_char((unsigned char)s[i]))
            return mx_fail(err, MX_JOB_FAILED,
                           "bad HTTP response: control character in the "
                           "status line");
    r->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    r->reason = n > 13 ? mx_xstrndup(s + 13, n - 13) : mx_xstrdup("");
    return 0;
}

static int parse_header(const char *s, size_t n, mxh_response *r, mx_err *err)
{
    if (s[0] == ' ' || s[0] == '\t')
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: obsolete header line folding");
    size_t k = 0;
    while (k < n && is_tchar((unsigned char)s[k]))
        k++;
    if (k == 0 || k == n || s[k] != ':')
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: header line \"%.*s\"",
                       (int)(n > 80 ? 80 : n), s);
    if (r->nheaders == MXH_MAX_HEADERS)
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: more than %d headers",
                       MXH_MAX_HEADERS);
    size_t v = k + 1, e = n;
    while (v < e && (s[v] == ' ' || s[v] == '\t'))
        v++;
    while (e > v && (s[e - 1] == ' ' || s[e - 1] == '\t'))
        e--;
    for (size_t i = v; i < e; i++)
        if (!is_value_char((unsigned char)s[i]))
            return mx_fail(err, MX_JOB_FAILED,
                           "bad HTTP response: control character in header "
                           "%.*s",
                           (int)k, s);
    r->headers = mx_xrealloc(r->headers, (r->nheaders + 1) * sizeof *r->headers);
    r->headers[r->nheaders].name = mx_xstrndup(s, k);
    r->headers[r->nheaders].value = mx_xstrndup(s + v, e - v);
    r->nheaders++;
    return 0;
}

/* Content-Length: digits only; repeated fields must agree (RFC 9112 6.3 item 5). */
static int content_length(const mxh_response *r, int *found, unsigned long long *out, mx_err *err)
{
    *found = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Content-Length") != 0) continue;
        const char *v = r->headers[i].value;
        unsigned long long x = 0;
        size_t digits = strspn(v, "0123456789");
        if (digits == 0 || v[digits] != '\0' || digits > 18)
            return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: Content-Length \"%.40s\"", v);
        for (size_t d = 0; d < digits; d++)
            x = x * 10 + (unsigned)(v[d] - '0');
        if (*found && x != *out)
            return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: conflicting Content-Length");
        *found = 1;
        *out = x;
    }
    return 0;
}

/* Transfer-Encoding: we ask for no coding, so only "chunked" (once) is understood. */
static int transfer_encoding(const mxh_response *r, int *chunked, mx_err *err)
{
    int fields = 0;
    *chunked = 0;
    for (size_t i = 0; i < r->nheaders; i++) {
        if (strcasecmp(r->headers[i].name, "Transfer-Encoding") != 0) continue;
        fields++;
        for (const char *p = r->headers[i].value;; p++) {
            while (*p == ' ' || *p == '\t')
                p++;
            size_t n = strcspn(p, ","), e = n;
            while (e > 0 && (p[e - 1] == ' ' || p[e - 1] == '\t'))
                e--;
            if (e > 0 && (e != 7 || strncasecmp(p, "chunked", 7) != 0))
                return mx_fail(err, MX_JOB_FAILED,
                               "bad HTTP response: unsupported Transfer-Encoding \"%.*s\"",
                               (int)(e > 40 ? 40 : e), p);
            if (e > 0 && (*chunked)++)
                return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: chunked twice");
            p += n;
            if (*p == '\0') break;
        }
    }
    if (fields > 0 && !*chunked)
        return mx_fail(err, MX_JOB_FAILED, "bad HTTP response: empty Transfer-Encoding");
    return 0;
}

/* How the body is delimited (RFC 9112 6.3). */
static int framing(mxh_response *r, int head_request, mx_err *err)
{
    int chunked, has_length;
    unsigned long long length = 0;
    if (transfer_encoding(r, &chunked, err) < 0 || content_length(r, &has_length, &length, err) < 0)
        return -1;
    if (head_request || r->status / 100 == 1 || r->status == 204 || r->status == 304)
        r->framing = MXH_BODY_NONE;
    else if (chunked)
        r->framing = MXH_BODY_CHUNKED; /* Transfer-Encoding overrides Content-Length */
    else if (has_length)
        r->framing = MXH_BODY_LENGTH, r->length = length;
    else
        r->framing = MXH_BODY_CLOSE;
    return 0;
}

int mxh_parse_head(const char *data, size_t len, int head_request, mxh_response *r, size_t *used,
                   mx_err *err)
{
    memset(r, 0, sizeof *r);
    size_t pos = 0, start = 0, n = 0;
    int lines = 0;
    for (;;) {
        if (pos > MXH_MAX_HEAD) break;
        int got = next_line(data, len, &pos, &start, &n, err);
        if (got < 0) goto bad;
        if (got == 0) {
            if (len > MXH_MAX_HEAD) break;
            mxh_response_free(r);
            return 0;
        }
        if (lines++ == 0) {
            if (parse_status(data + start, n, r, err) < 0) goto bad;
            continue;
        }
        if (n == 0) {
            if (pos > MXH_MAX_HEAD) break;
            if (framing(r, head_request, err) < 0) goto bad;
            *used = pos;
            return 1;
        }
        if (parse_header(data + start, n, r, err) < 0) goto bad;
    }
    mx_fail(err, MX_JOB_FAILED, "bad HTTP response: head larger than %d bytes", MXH_MAX_HEAD);
bad:
    mxh_response_free(r);
    return -1;
}

/* ---- bodies ---- */

enum {
    ST_SIZE,       /* chunk-size digits */
    ST_EXT,        /* after the size: BWS, chunk extensions, up to the line end */
    ST_SIZE_LF,    /* CR seen at the end of the size line */
    ST_DATA,       /* chunk data */
    ST_DATA_CR,    /* the CRLF after chunk data */
    ST_DATA_LF,    /* its LF */
    ST_TRAILER,    /* at the start of a trailer line (or the final empty line) */
    ST_TRAILER_IN, /* inside a trailer line */
    ST_TRAILER_LF, /* CR seen at the end of a trailer line */
    ST_END_LF,     /* CR of the final empty line seen */
    ST_DONE,
};

void mxh_body_init(mxh_body *b, const mxh_response *r)
{
    memset(b, 0, sizeof *b);
    b->framing = r->framing;
    b->left = r->framing == MXH_BODY_LENGTH ? r->length : 0;
    b->state = r->framing == MXH_BODY_CHUNKED ? ST_SIZE : ST_DATA;
    if (r->framing == MXH_BODY_NONE || (r->framing == MXH_BODY_LENGTH && r->length == 0))
        b->state = ST_DONE;
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

/* The size line ended: data follows, or the trailers. */
static void size_line_done(mxh_body *b)
{
    b->state = b->left ? ST_DATA : ST_TRAILER;
    b->line = 0;
}

/* One byte of chunked framing outside chunk data. */
static int chunk_byte(mxh_body *b, char ch, mx_err *err)
{
    switch (b->state) {
    case ST_SIZE: {
        int h = hex_value(ch);
        if (h >= 0) {
            /* 15 hex digits (2^60 bytes) is more than any body; more is an attack on the sum */
            if (b->line >= 15)
                return mx_fail(err, MX_JOB_FAILED, "bad chunked body: chunk size too large");
            b->left = b->left * 16 + (unsigned)h;
            b->line++;
            return 0;
        }
        if (b->line == 0)
            return mx_fail(err, MX_JOB_FAILED, "bad chunked body: chunk size expected");
        if (ch == '\r')
            b->state = ST_SIZE_LF;
        else if (ch == '\n')
            size_line_done(b);
        else if (ch == ';' || ch == ' ' || ch == '\t')
            b->state = ST_EXT;
        else
            return mx_fail(err, MX_JOB_FAILED, "bad chunked body: bad chunk size");
        return 0;
    }
    case ST_EXT:
        if (++b->line > MXH_MAX_LINE)
            return mx_fail(err, MX_JOB_FAILED, "bad chunked body: chunk-size line too long");
        if (ch == '\r')
            b->state = ST_SIZE_LF;
        else if (ch == '\n')
            size_line_done(b);
        else if (!is_value_char((unsigned char)ch))
            return mx_fail(err, MX_JOB_FAILED,
                           "bad chunked body: control character in a chunk "
                           "extension");
        return 0;
    case ST_SIZE_LF:
        if (ch != '\n') return mx_fail(err, MX_JOB_FAILED, "bad chunked body: CR without LF");
        size_line_done(b);
        return 0;
    case ST_DATA_CR:
        /* CRLF exactly, as Go's reader wants: a bare LF here more likely means a miscounted
         * chunk than a lenient sender */
        if (ch != '\r')
            return mx_fail(err, MX_JOB_FAILED, "bad chunked body: no CRLF after chunk data");
        b->state = ST_DATA_LF;
        return 0;
    case ST_DATA_LF:
        if (ch != '\n') return mx_fail(err, MX_JOB_FAILED, "bad chunked body: CR without LF");
        b->state = ST_SIZE;
        return 0;
    default:
        break;
    }
    /* trailers: read and dropped, bounded like a head */
    if (++b->trailer > MXH_MAX_HEAD)
        return mx_fail(err, MX_JOB_FAILED, "bad chunked body: trailers larger than %d bytes",
                       MXH_MAX_HEAD);
    switch (b->state) {
    case ST_TRAILER:
        if (ch == '\r')
            b->state = ST_END_LF;
        else if (ch == '\n')
            b->state = ST_DONE;
        else
            b->state = ST_TRAILER_IN;
        return 0;
    case ST_TRAILER_IN:
        if (ch == '\r')
            b->state = ST_TRAILER_LF;
        else if (ch == '\n')
            b->state = ST_TRAILER;
        return 0;
    case ST_TRAILER_LF:
    case ST_END_LF:
        if (ch != '\n') return mx_fail(err, MX_JOB_FAILED, "bad chunked body: CR without LF");
        b->state = b->state == ST_END_LF ? ST_DONE : ST_TRAILER;
        return 0;
    default:
        return mx_fail(err, MX_JOB_FAILED, "bad chunked body: internal state %d", b->state);
    }
}

int mxh_body_feed(mxh_body *b, const char *data, size_t len, size_t *used, mxh_body_fn fn,
                  void *ctx, mx_err *err)
{
    size_t p = 0;
    while (b->state != ST_DONE && p < len) {
        if (b->state == ST_DATA) {
            size_t n = len - p;
            if (b->framing != MXH_BODY_CLOSE && n > b->left) n = (size_t)b->left;
            if (fn(ctx, data + p, n, err) < 0) return -1;
            p += n;
            if (b->framing == MXH_BODY_CLOSE) continue;
            b->left -= n;
            if (b->left == 0) b->state = b->framing == MXH_BODY_CHUNKED ? ST_DATA_CR : ST_DONE;
            continue;
        }
        if (chunk_byte(b, data[p++], err) < 0) return -1;
    }
    *used = p;
    return b->state == ST_DONE;
}

int mxh_body_end(const mxh_body *b, mx_err *err)
{
    if (b->state == ST_DONE || b->framing == MXH_BODY_CLOSE) return 0;
    if (b->framing == MXH_BODY_LENGTH)
        return mx_fail(err, MX_JOB_FAILED,
                       "connection closed before the end of the body (%llu bytes missing)",
                       b->left);
    return mx_fail(err, MX_JOB_FAILED, "connection closed inside a chunked body");
}
