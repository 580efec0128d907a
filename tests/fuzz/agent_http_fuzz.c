/* libFuzzer: the agent's HTTP/1.1 response parser (guest-agent/agent_http_parse.c), which reads
 * whatever answers on the guest's docker socket.  The first input byte chooses a HEAD request
 * (bit 0) and the size of the pieces the body arrives in; the rest is the response.
 * Properties: a head is self-delimiting (parsing exactly its bytes gives the same result, a
 * shorter prefix never completes); an incomplete head stays within the limits; a body decodes to
 * the same bytes and the same verdict whether it arrives at once or in pieces; a body framed by
 * Content-Length yields exactly that many bytes. */
#include "agent_http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct decoded {
    mx_buf bytes;
    int rc;      /* of the last mxh_body_feed */
    size_t used; /* bytes that belonged to the body; SIZE_MAX when it was refused */
    int end_rc;  /* mxh_body_end after all input, when the body was not complete */
} decoded;

static int collect(void *ctx, const char *p, size_t n, mx_err *err)
{
    (void)err;
    if (n == 0) abort(); /* no empty callbacks */
    mx_buf_add(ctx, p, n);
    return 0;
}

static void decode(const mxh_response *r, const char *p, size_t n, size_t piece, decoded *d)
{
    mxh_body b;
    mxh_body_init(&b, r);
    mx_buf_init(&d->bytes);
    d->rc = 0;
    d->used = 0;
    d->end_rc = 0;
    mx_err err;
    size_t off = 0;
    do {
        size_t k = n - off < piece ? n - off : piece, used = 0;
        d->rc = mxh_body_feed(&b, p + off, k, &used, collect, &d->bytes, &err);
        if (d->rc < 0) break; /* *used says nothing then */
        if (used > k) abort();
        if (d->rc == 0 && used != k) abort(); /* "more is due" means all was taken */
        off += used;
    } while (d->rc == 0 && off < n);
    /* a refused body: how far the decoder got is not part of the verdict */
    d->used = d->rc < 0 ? SIZE_MAX : off;
    if (d->rc == 0) d->end_rc = mxh_body_end(&b, &err);
    if (d->bytes.len > n || (d->rc >= 0 && d->bytes.len > d->used)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int head_request = data[0] & 1;
    size_t piece = (size_t)(data[0] >> 1) + 1;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    mxh_response r;
    size_t used = 0;
    mx_err err;
    int rc = mxh_parse_head(p, n, head_request, &r, &used, &err);
    if (rc == 0 && n > MXH_MAX_HEAD) abort();
    if (rc != 1) return 0;
    if (used == 0 || used > n || used > MXH_MAX_HEAD) abort();
    if (r.status < 100 || r.status > 599 || !r.reason || r.nheaders > MXH_MAX_HEADERS) abort();
    for (size_t i = 0; i < r.nheaders; i++) {
        if (!*r.headers[i].name || !r.headers[i].value) abort();
        if (mxh_header_get(&r, r.headers[i].name) == NULL) abort();
    }
    /* the head alone parses the same; one byte less does not complete */
    mxh_response again;
    size_t used2 = 0;
    if (mxh_parse_head(p, used, head_request, &again, &used2, &err) != 1 || used2 != used ||
        again.status != r.status || again.nheaders != r.nheaders || again.framing != r.framing)
        abort();
    mxh_response_free(&again);
    if (mxh_parse_head(p, used - 1, head_request, &again, &used2, &err) == 1) abort();

    decoded whole, pieces;
    decode(&r, p + used, n - used, n - used ? n - used : 1, &whole);
    decode(&r, p + used, n - used, piece, &pieces);
    if (whole.rc != pieces.rc || whole.used != pieces.used || whole.end_rc != pieces.end_rc ||
        whole.bytes.len != pieces.bytes.len ||
        (whole.bytes.len && memcmp(whole.bytes.data, pieces.bytes.data, whole.bytes.len) != 0))
        abort();
    if (r.framing == MXH_BODY_LENGTH && whole.rc == 1 && whole.bytes.len != r.length) abort();
    if (r.framing == MXH_BODY_NONE && (whole.rc != 1 || whole.bytes.len != 0)) abort();
    mx_buf_free(&whole.bytes);
    mx_buf_free(&pieces.bytes);
    mxh_response_free(&r);
    return 0;
}
