#include "mx_mask.h"
#include "mx_fs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>

void mx_secrets_init(mx_secrets *s)
{
    memset(s, 0, sizeof *s);
}

void mx_secrets_free(mx_secrets *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    free(s->len);
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
    s->len = mx_xrealloc(s->len, (s->n + 1) * sizeof *s->len);
    memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof *s->v);
    memmove(s->len + at + 1, s->len + at, (s->n - at) * sizeof *s->len);
    s->v[at] = mx_xstrdup(value);
    s->len[at] = len;
    s->first[(unsigned char)value[0]] = 1;
    s->n++;
}

enum match { NO_MATCH, PARTIAL, FULL };

/* What the secrets say about position i of data[0..len): the longest full match (its length in
 * *mlen), or PARTIAL if some secret could still match once more bytes arrive. */
static enum match match_at(const mx_secrets *s, const char *data, size_t len, size_t i, int final,
                           size_t *mlen)
{
    enum match best = NO_MATCH;
    size_t avail = len - i;
    for (size_t k = 0; k < s->n; k++) {
        size_t sl = s->len[k];
        if (s->v[k][0] != data[i]) continue;
        if (avail >= sl) {
            if (best == NO_MATCH && memcmp(data + i, s->v[k], sl) == 0) {
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

/* Emits d[0..len) with every secret replaced; returns how much it decided on (the rest could
 * still be the start of a secret, unless final). */
static size_t process(const mx_secrets *s, const char *d, size_t len, int final, mx_emit_fn emit,
                      void *ctx)
{
    size_t i = 0, start = 0;
    while (i < len) {
        /* most bytes start no secret: skip them in a tight loop */
        if (!s->first[(unsigned char)d[i]]) {
            i++;
            continue;
        }
        size_t mlen = 0;
        enum match r = match_at(s, d, len, i, final, &mlen);
        if (r == PARTIAL) break;
        if (r == FULL) {
            if (i > start) emit(ctx, d + start, i - start);
            const char *rep = s->replacement ? s->replacement : MX_MASK_TEXT;
            emit(ctx, rep, strlen(rep));
            i += mlen;
            start = i;
        } else {
            i++;
        }
    }
    if (i > start) emit(ctx, d + start, i - start);
    return i;
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
    if (m->pending.len == 0) {
        /* the common case: nothing held back, so the chunk is masked where it is and only an
         * undecided tail (the start of a secret, perhaps) is copied */
        size_t done = process(m->secrets, data, len, 0, emit, ctx);
        if (done < len) mx_buf_add(&m->pending, (const char *)data + done, len - done);
        return;
    }
    mx_buf_add(&m->pending, data, len);
    mx_buf_consume(&m->pending, process(m->secrets, m->pending.data, m->pending.len, 0, emit, ctx));
}

void mx_mask_flush(mx_mask_stream *m, mx_emit_fn emit, void *ctx)
{
    if (m->pending.len)
        mx_buf_consume(&m->pending,
                       process(m->secrets, m->pending.data, m->pending.len, 1, emit, ctx));
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

int mx_secrets_protect_process(mx_err *err)
{
    /* the soft limit only: the steps the agent runs inherit it and may raise it again
     * (`ulimit -c unlimited` for their own crashes); the execs reset dumpable as well */
    struct rlimit lim;
    if (getrlimit(RLIMIT_CORE, &lim) < 0) return mx_fail_errno(err, MX_INFRA, "RLIMIT_CORE");
    lim.rlim_cur = 0;
    if (setrlimit(RLIMIT_CORE, &lim) < 0) return mx_fail_errno(err, MX_INFRA, "RLIMIT_CORE");
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return mx_fail_errno(err, MX_INFRA, "PR_SET_DUMPABLE");
    return 0;
}
