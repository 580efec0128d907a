#include "mx_mask.h"
#include "mx_fs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void mx_secrets_init(mx_secrets *s)
{
    s->v = NULL;
    s->n = 0;
    s->replacement = NULL;
}

void mx_secrets_free(mx_secrets *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    mx_secrets_init(s);
}

static int is_boolean_word(const char *v)
{
    static const char *const words[] = {"true", "false", "yes", "no", "on", "off"};
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        if (strcasecmp(v, words[i]) == 0) return 1;
    return 0;
}

void mx_secrets_add(mx_secrets *s, const char *value)
{
    size_t len = strlen(value);
    if (len < MX_MASK_MIN_LEN || is_boolean_word(value)) return;
    size_t at = 0;
    for (; at < s->n; at++) {
        if (strcmp(s->v[at], value) == 0) return;
        if (strlen(s->v[at]) < len) break;
    }
    s->v = mx_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
    memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof *s->v);
    s->v[at] = mx_xstrdup(value);
    s->n++;
}

enum match { NO_MATCH, PARTIAL, FULL };

/* What the secrets say about position i of data[0..len): the longest full match (its length in
 * *mlen), or PARTIAL if some secret could still match once more bytes arrive. */
static enum match match_at(const mx_secrets *s, const char *data, size_t len, size_t i, int final,
                           size_t *mlen)
{
    enum match best = NO_MATCH;
    for (size_t k = 0; k < s->n; k++) {
        size_t sl = strlen(s->v[k]);
        size_t avail = len - i;
        if (avail >= sl) {
            if (memcmp(data + i, s->v[k], sl) == 0 && best == NO_MATCH) {
                *mlen = sl;
                best = FULL;
            }
        } else if (!final && memcmp(data + i, s->v[k], avail) == 0) {
            /* a longer secret is still possible here: wait before deciding */
            return PARTIAL;
        }
    }
    return best;
}

static void process(mx_mask_stream *m, int final, mx_emit_fn emit, void *ctx)
{
    const char *d = m->pending.data;
    size_t len = m->pending.len, i = 0, start = 0;
    while (i < len) {
        size_t mlen = 0;
        enum match r = match_at(m->secrets, d, len, i, final, &mlen);
        if (r == PARTIAL) break;
        if (r == FULL) {
            if (i > start) emit(ctx, d + start, i - start);
            const char *rep = m->secrets->replacement ? m->secrets->replacement : MX_MASK_TEXT;
            emit(ctx, rep, strlen(rep));
            i += mlen;
            start = i;
        } else {
            i++;
        }
    }
    if (i > start) emit(ctx, d + start, i - start);
    mx_buf_consume(&m->pending, i);
}

void mx_mask_stream_init(mx_mask_stream *m, const mx_secrets *secrets)
{
    m->secrets = secrets;
    mx_buf_init(&m->pending);
}

void mx_mask_stream_free(mx_mask_stream *m)
{
    mx_buf_free(&m->pending);
}

void mx_mask_feed(mx_mask_stream *m, const void *data, size_t len, mx_emit_fn emit, void *ctx)
{
    if (!m->secrets || m->secrets->n == 0) {
        if (len) emit(ctx, data, len);
        return;
    }
    mx_buf_add(&m->pending, data, len);
    process(m, 0, emit, ctx);
}

void mx_mask_flush(mx_mask_stream *m, mx_emit_fn emit, void *ctx)
{
    if (m->pending.len) process(m, 1, emit, ctx);
}

static void to_buf(void *ctx, const char *data, size_t len)
{
    mx_buf_add(ctx, data, len);
}

char *mx_secrets_mask(const mx_secrets *s, const char *text)
{
    mx_buf out;
    mx_buf_init(&out);
    mx_mask_stream m;
    mx_mask_stream_init(&m, s);
    mx_mask_feed(&m, text, strlen(text), to_buf, &out);
    mx_mask_flush(&m, to_buf, &out);
    mx_mask_stream_free(&m);
    return mx_buf_steal(&out);
}
