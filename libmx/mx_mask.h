/* Secret masking for everything mexec prints.
 *
 * A secret may arrive split across output chunks ("pass" then "word"), so a stream masker holds
 * back the tail of its input while that tail could still be the start of a secret, and releases
 * it once the next chunk (or the end of the stream) decides.  Output never contains a secret. */
#ifndef MX_MASK_H
#define MX_MASK_H

#include "mx_buf.h"
#include "mx_err.h"

#include <stddef.h>

#define MX_MASK_TEXT "********"
/* CircleCI masks values of at least this many characters. */
#define MX_MASK_MIN_LEN 4

typedef struct mx_secrets {
    char **v; /* sorted longest first, so the longest secret wins at one position */
    size_t *len;
    size_t n;
    /* first[c]: some secret starts with byte c.  Output is scanned for these bytes only, so
     * masking costs little more than a copy whatever the number of secrets. */
    unsigned char first[256];
    /* What a secret is replaced with; NULL: MX_MASK_TEXT (CircleCI's).  GitLab's is
     * "[MASKED]".  Not owned. */
    const char *replacement;
} mx_secrets;

void mx_secrets_init(mx_secrets *s);
void mx_secrets_free(mx_secrets *s);
/* Adds value unless it is shorter than MX_MASK_MIN_LEN, a true/false spelling, or known. */
void mx_secrets_add(mx_secrets *s, const char *value);
/* Returns a copy of text with every secret replaced; caller frees. */
char *mx_secrets_mask(const mx_secrets *s, const char *text);

typedef void (*mx_emit_fn)(void *ctx, const char *data, size_t len);

typedef struct mx_mask_stream {
    const mx_secrets *secrets;
    mx_buf pending;
} mx_mask_stream;

void mx_mask_stream_init(mx_mask_stream *m, const mx_secrets *secrets);
void mx_mask_stream_free(mx_mask_stream *m);
void mx_mask_feed(mx_mask_stream *m, const void *data, size_t len, mx_emit_fn emit, void *ctx);
/* End of stream: releases what was held back. */
void mx_mask_flush(mx_mask_stream *m, mx_emit_fn emit, void *ctx);

/* Core dumps off for this process (its children inherit a soft limit of 0 they may raise),
 * and not dumpable: secrets (context
 * values, registry passwords, the job's keys) live in our memory, and a crash must not write
 * them into a core file for whoever can read it, nor may another process of the same user read
 * them through ptrace or /proc/PID/mem.  Both binaries call it first thing in main. */
int mx_secrets_protect_process(mx_err *err);

#endif
