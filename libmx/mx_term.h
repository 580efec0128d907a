/* Guest output made safe for a terminal (and for a log a browser or `less -R` shows).
 *
 * A job's output reaches the user's terminal, and terminals obey what they are sent: OSC 52
 * writes the clipboard, OSC 0/2 the window title, cursor movement and erase sequences and a
 * lone \r rewrite lines already shown (a fake "JOB | " line of another job, a fake "succeeded").
 * The filter keeps printable text, \n, \t and SGR colours (ESC [ digits ; : m) and drops the
 * rest: OSC, DCS, SOS, PM and APC strings (until BEL or ST, or the end of the line), every
 * other CSI and ESC sequence, lone ESC, other C0 controls and DEL, and C1 controls; a \r not
 * followed by \n becomes a new line, as CircleCI's UI shows progress bars line by line; bytes
 * that are not UTF-8 become U+FFFD.  Streaming: a sequence may be split across chunks; the
 * state is a few bytes, whatever arrives. */
#ifndef MX_TERM_H
#define MX_TERM_H

#include "mx_buf.h"
#include "mx_mask.h"

#include <stddef.h>

/* An SGR longer than this (parameters) is no colour anyone writes: dropped. */
#define MX_TERM_SGR_MAX 64

typedef struct mx_term {
    unsigned char state; /* where in a sequence the last byte left us */
    unsigned char cr;    /* a \r waits for the next byte: \r\n is one new line */
    unsigned char sgr;   /* an SGR was let through: reset at the end */
    unsigned char csi_over;
    unsigned char held[4]; /* an unfinished UTF-8 sequence */
    unsigned char nheld;
    unsigned char csi[MX_TERM_SGR_MAX];
    size_t ncsi;
} mx_term;

void mx_term_init(mx_term *t);
/* Appends the safe form of data to out. */
void mx_term_feed(mx_term *t, const void *data, size_t len, mx_buf *out);
/* End of the stream: what was held back is settled (a pending \r is a new line, an
 * unfinished UTF-8 sequence U+FFFD, an unfinished escape sequence dropped) and colours are
 * reset if any were let through; t is ready for a new stream. */
void mx_term_end(mx_term *t, mx_buf *out);

/* A whole string made safe; caller frees. */
char *mx_term_text(const char *text);
/* A whole string masked (secrets may be NULL), then made safe: what every path that prints
 * text from the guest or from a job's input uses.  Caller frees. */
char *mx_term_safe(const mx_secrets *secrets, const char *text);

#endif
