/* Tar header fields and the owner patcher (agent_tar.h). */
#include "agent_tar.h"
#include "mx_num.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OFF_UID 108
#define OFF_GID 116
#define OFF_SIZE 124
#define OFF_CHKSUM 148
#define OFF_TYPE 156
#define OFF_UNAME 265
#define OFF_GNAME 297
#define RAW_CHUNK (64 * 1024)

long long mxt_parse_number(const unsigned char *f, size_t len)
{
    if (len == 0) return -1;
    if (f[0] & 0x80) {
        /* GNU base-256: big-endian, the first byte's top bit marks it (negative: refused) */
        if (f[0] & 0x40) return -1;
        unsigned long long v = f[0] & 0x3f;
        for (size_t i = 1; i < len; i++) {
            if (v >> 55) return -1;
            v = v << 8 | f[i];
        }
        return (long long)v;
    }
    size_t i = 0;
    while (i < len && (f[i] == ' ' || f[i] == '\0'))
        i++;
    unsigned long long v = 0;
    int digits = 0;
    for (; i < len && f[i] >= '0' && f[i] <= '7'; i++, digits++) {
        if (v >> 60) return -1;
        v = v * 8 + (unsigned)(f[i] - '0');
    }
    for (; i < len; i++)
        if (f[i] != ' ' && f[i] != '\0') return -1;
    return (long long)v;
}

static unsigned long long sum_block(const unsigned char b[MXT_BLOCK])
{
    unsigned long long s = 0;
    for (size_t i = 0; i < MXT_BLOCK; i++)
        s += (i >= OFF_CHKSUM && i < OFF_CHKSUM + 8) ? ' ' : b[i];
    return s;
}

int mxt_checksum_ok(const unsigned char block[MXT_BLOCK])
{
    long long want = mxt_parse_number(block + OFF_CHKSUM, 8);
    return want >= 0 && (unsigned long long)want == sum_block(block);
}

void mxt_set_checksum(unsigned char block[MXT_BLOCK])
{
    char f[8];
    snprintf(f, sizeof f, "%06llo", sum_block(block) & 0777777);
    memcpy(block + OFF_CHKSUM, f, 7); /* six digits and a NUL */
    block[OFF_CHKSUM + 7] = ' ';
}

/* An 8-byte numeric field: octal when it fits, else base-256 as GNU tar writes it. */
static void put_id(unsigned char *f, unsigned v)
{
    if (v < 07777777) {
        char s[9];
        snprintf(s, sizeof s, "%07o", v);
        memcpy(f, s, 8); /* with its NUL */
        return;
    }
    memset(f, 0, 8);
    f[0] = 0x80;
    for (int i = 7; i >= 4; i--, v >>= 8)
        f[i] = (unsigned char)(v & 0xff);
}

void mxt_patch_init(mxt_patch *p, int fd, unsigned uid, unsigned gid)
{
    memset(p, 0, sizeof *p);
    p->fd = fd;
    p->uid = uid;
    p->gid = gid;
    p->next_size = ~0ULL;
    mx_buf_init(&p->pending);
}

void mxt_patch_free(mxt_patch *p)
{
    mx_buf_free(&p->pending);
}

/* Reads exactly n bytes (fewer only at the end of the file); the count read. */
static ssize_t read_full(int fd, char *buf, size_t n, mx_err *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return mx_fail_errno(err, MX_INFRA, "read the archive");
        if (r == 0) break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static unsigned long long padded(unsigned long long n)
{
    return (n + MXT_BLOCK - 1) / MXT_BLOCK * MXT_BLOCK;
}

/* Owner records of a pax header would override the patched header fields: their keywords are
 * renamed (same length) so readers ignore them.  A size record is remembered for the next
 * member, whose data it sizes. */
static int patch_pax(mxt_patch *p, char *data, size_t len, int global, mx_err *err)
{
    size_t off = 0;
    while (off < len && data[off] != '\0') {
        const char *end = NULL;
        long long rec;
        if (mx_parse_int_prefix(data + off, 1, (long long)(len - off), &rec, &end) < 0 ||
            *end != ' ' || data[off + rec - 1] != '\n')
            return mx_fail(err, MX_JOB_FAILED, "not a tar archive: bad pax record");
        size_t n = (size_t)rec;
        char *key = data + off + (size_t)(end - (data + off)) + 1, *rec_end = data + off + n - 1;
        char *eq = memchr(key, '=', (size_t)(rec_end - key));
        if (!eq) return mx_fail(err, MX_JOB_FAILED, "not a tar archive: bad pax record");
        size_t klen = (size_t)(eq - key);
        if ((klen == 3 && (!memcmp(key, "uid", 3) || !memcmp(key, "gid", 3))) ||
            (klen == 5 && (!memcmp(key, "uname", 5) || !memcmp(key, "gname", 5))))
            key[0] = 'X';
        if (!global && klen == 4 && !memcmp(key, "size", 4)) {
            const char *vend = NULL;
            long long v;
            if (mx_parse_int_prefix(eq + 1, 0, LLONG_MAX, &v, &vend) < 0 || vend != rec_end)
                return mx_fail(err, MX_JOB_FAILED, "bad pax size record");
            p->next_size = v;
        }
        off += n;
    }
    return 0;
}

static int member_has_data(char type)
{
    return !strchr("123456", type) || type == '\0';
}

/* Reads and processes the next header (and a pax header's data) into pending. */
static int next_header(mxt_patch *p, mx_err *err)
{
    unsigned char b[MXT_BLOCK];
    ssize_t n = read_full(p->fd, (char *)b, MXT_BLOCK, err);
    if (n < 0) return -1;
    if (n == 0) {
        p->ended = 1; /* no end blocks: tar tolerates that, so does this */
        return 0;
    }
    if (n < MXT_BLOCK) return mx_fail(err, MX_JOB_FAILED, "the archive is truncated");
    static const unsigned char zero[MXT_BLOCK];
    if (memcmp(b, zero, MXT_BLOCK) == 0) {
        p->ended = 1;
        mx_buf_add(&p->pending, b, MXT_BLOCK);
        return 0;
    }
    if (!mxt_checksum_ok(b)) return mx_fail(err, MX_JOB_FAILED, "not a tar archive (checksum)");
    char type = (char)b[OFF_TYPE];
    long long size = mxt_parse_number(b + OFF_SIZE, 12);
    if (size < 0) return mx_fail(err, MX_JOB_FAILED, "not a tar archive (size)");
    if (type == 'S') return mx_fail(err, MX_JOB_FAILED, "sparse archive members are not supported");
    if (type == 'x' || type == 'g') {
        if (size > MXT_MAX_PAX) return mx_fail(err, MX_JOB_FAILED, "pax header too long");
        size_t plen = (size_t)padded((unsigned long long)size);
        char *data = mx_xmalloc(plen + 1);
        ssize_t r = read_full(p->fd, data, plen, err);
        int rc = r < 0 ? -1 : 0;
        if (rc == 0 && (size_t)r < plen)
            rc = mx_fail(err, MX_JOB_FAILED, "the archive is truncated");
        if (rc == 0) rc = patch_pax(p, data, (size_t)size, type == 'g', err);
        if (rc == 0) {
            mx_buf_add(&p->pending, b, MXT_BLOCK);
            mx_buf_add(&p->pending, data, plen);
        }
        free(data);
        return rc;
    }
    if (type != 'L' && type != 'K') {
        if (p->next_size != ~0ULL) size = (long long)p->next_size;
        p->next_size = ~0ULL;
        put_id(b + OFF_UID, p->uid);
        put_id(b + OFF_GID, p->gid);
        memset(b + OFF_UNAME, 0, 32);
        memset(b + OFF_GNAME, 0, 32);
        mxt_set_checksum(b);
        if (!member_has_data(type)) size = 0;
    }
    p->data_left = padded((unsigned long long)size);
    mx_buf_add(&p->pending, b, MXT_BLOCK);
    return 0;
}

static int refill(mxt_patch *p, mx_err *err)
{
    p->pending.len = 0;
    p->pending_off = 0;
    if (p->data_left > 0 || p->ended) {
        size_t want = RAW_CHUNK;
        if (!p->ended && p->data_left < want) want = (size_t)p->data_left;
        if (p->pending.cap < want) {
            p->pending.data = mx_xrealloc(p->pending.data, want);
            p->pending.cap = want;
        }
        ssize_t n = read_full(p->fd, p->pending.data, want, err);
        if (n < 0) return -1;
        if (!p->ended && (size_t)n < want)
            return mx_fail(err, MX_JOB_FAILED, "the archive is truncated");
        p->pending.len = (size_t)n;
        if (!p->ended) p->data_left -= (unsigned long long)n;
        return 0;
    }
    return next_header(p, err);
}

int mxt_patch_read(mxt_patch *p, char *buf, size_t cap, size_t *got, mx_err *err)
{
    *got = 0;
    while (*got < cap) {
        if (p->pending_off == p->pending.len) {
            if (refill(p, err) < 0) return -1;
            if (p->pending.len == 0) break; /* the end of the file */
        }
        size_t n = p->pending.len - p->pending_off;
        if (n > cap - *got) n = cap - *got;
        memcpy(buf + *got, p->pending.data + p->pending_off, n);
        p->pending_off += n;
        *got += n;
    }
    return 0;
}
