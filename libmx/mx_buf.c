#include "mx_buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mx_oom(void)
{
    fputs("mexec: out of memory\n", stderr);
    abort(); /* the one abort: see mx_buf.h */
}

void *mx_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) mx_oom();
    return p;
}

void *mx_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) mx_oom();
    return p;
}

void *mx_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) mx_oom();
    return q;
}

char *mx_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) mx_oom();
    return p;
}

char *mx_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p) mx_oom();
    return p;
}

char *mx_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) mx_oom();
    return s;
}

void mx_buf_init(mx_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void mx_buf_free(mx_buf *b)
{
    free(b->data);
    mx_buf_init(b);
}

static void reserve(mx_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = mx_xrealloc(b->data, cap);
    b->cap = cap;
}

void mx_buf_add(mx_buf *b, const void *data, size_t len)
{
    reserve(b, len);
    if (len) memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void mx_buf_adds(mx_buf *b, const char *s)
{
    mx_buf_add(b, s, strlen(s));
}

void mx_buf_printf(mx_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void mx_buf_add_xml(mx_buf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            mx_buf_adds(b, "&amp;");
            break;
        case '<':
            mx_buf_adds(b, "&lt;");
            break;
        case '>':
            mx_buf_adds(b, "&gt;");
            break;
        case '\'':
            mx_buf_adds(b, "&apos;");
            break;
        case '"':
            mx_buf_adds(b, "&quot;");
            break;
        default:
            mx_buf_add(b, s, 1);
        }
    }
}

void mx_buf_consume(mx_buf *b, size_t n)
{
    if (n >= b->len) {
        b->len = 0;
    } else {
        memmove(b->data, b->data + n, b->len - n);
        b->len -= n;
    }
    if (b->data) b->data[b->len] = '\0';
}

char *mx_buf_steal(mx_buf *b)
{
    char *s = b->data ? b->data : mx_xstrdup("");
    mx_buf_init(b);
    return s;
}
