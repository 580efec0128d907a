/* A growable byte buffer that is always NUL-terminated, for building text (XML, messages). */
#ifndef MX_BUF_H
#define MX_BUF_H

#include "mx_cleanup.h"

#include <stddef.h>

typedef struct mx_buf {
    char *data;
    size_t len;
    size_t cap;
} mx_buf;

void mx_buf_init(mx_buf *b);
void mx_buf_free(mx_buf *b);
MX_DEFINE_AUTO(mx_buf, mx_buf_free)
/* Allocation failure aborts: a tool that cannot allocate a few KiB cannot report either. */
void mx_buf_add(mx_buf *b, const void *data, size_t len);
void mx_buf_adds(mx_buf *b, const char *s);
void mx_buf_printf(mx_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s with &, <, >, ', " escaped for XML text and attribute values. */
void mx_buf_add_xml(mx_buf *b, const char *s);
/* Drops the first n bytes. */
void mx_buf_consume(mx_buf *b, size_t n);
/* Returns the buffer's string and resets b; caller frees. */
char *mx_buf_steal(mx_buf *b);

/* Allocation helpers that abort on out-of-memory (same reasoning as above). */
/* Allocation failed (malloc, or a library that allocates: jansson, vasprintf, OpenSSL's digest
 * contexts): says so on stderr and aborts.  mexec does not try to run on without memory; any
 * other failure, and every bad input, is an error returned in mx_err instead, so this is the
 * only abort: scripts/check-src.sh refuses one anywhere else. */
_Noreturn void mx_oom(void) __attribute__((noreturn)); /* the latter for cppcheck */
void *mx_xmalloc(size_t n);
void *mx_xcalloc(size_t n, size_t size);
void *mx_xrealloc(void *p, size_t n);
char *mx_xstrdup(const char *s);
char *mx_xstrndup(const char *s, size_t n);
char *mx_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
