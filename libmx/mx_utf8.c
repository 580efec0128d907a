#include "mx_utf8.h"
#include "mx_buf.h"
#include "mx_cleanup.h"

#include <string.h>

static int cont(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

size_t mx_utf8_seq(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t need;
    unsigned char lo = 0x80, hi = 0xBF; /* the allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0) lo = 0xA0; /* overlong */
        if (c == 0xED) hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0) lo = 0x90; /* overlong */
        if (c == 0xF4) hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    for (size_t i = 1; i < need; i++) {
        if (i >= len) return MX_UTF8_SHORT;
        if (i == 1 ? s[1] < lo || s[1] > hi : !cont(s[i])) return 0;
    }
    return need;
}

int mx_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        /* ASCII runs are the common case */
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t n = mx_utf8_seq(p + i, len - i);
        if (n == 0 || n == MX_UTF8_SHORT) return 0;
        i += n;
    }
    return 1;
}

char *mx_utf8_lossy(const char *s)
{
    size_t len = strlen(s);
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, "", 0);
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        size_t n = mx_utf8_seq(p + i, len - i);
        if (n == 0 || n == MX_UTF8_SHORT) {
            mx_buf_adds(&b, "\xEF\xBF\xBD");
            i++;
        } else {
            mx_buf_add(&b, s + i, n);
            i += n;
        }
    }
    return mx_buf_steal(&b);
}

int mx_utf8_require(const char *s, const char *what, mx_err *err)
{
    if (!s || mx_utf8_valid(s, strlen(s))) return 0;
    mx_autofree char *shown = mx_utf8_lossy(s);
    return mx_fail(err, MX_USAGE,
                   "%s \"%s\" is not valid UTF-8 (shown with U+FFFD for the stray bytes); mexec "
                   "passes it into the job exactly or not at all",
                   what, shown);
}
