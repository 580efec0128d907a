#include "mx_term.h"
#include "mx_utf8.h"

#include <stdlib.h>
#include <string.h>

enum {
    GROUND,
    ESC,       /* after ESC */
    ESC_INTER, /* ESC and intermediate bytes: waiting for the final byte */
    CSI,       /* ESC [ and parameters */
    STR,       /* the body of OSC, DCS, SOS, PM or APC: dropped */
    STR_ESC,   /* ESC inside such a body: ST (ESC \) ends it */
    UTF8,      /* inside a multi-byte UTF-8 sequence */
};

static const char replacement[] = "\xEF\xBF\xBD";

void mx_term_init(mx_term *t)
{
    memset(t, 0, sizeof *t);
}

static void put(mx_buf *out, const void *p, size_t n)
{
    mx_buf_add(out, p, n);
}

static int sgr_params(const mx_term *t)
{
    for (size_t i = 0; i < t->ncsi; i++)
        if (!((t->csi[i] >= '0' && t->csi[i] <= '9') || t->csi[i] == ';' || t->csi[i] == ':'))
            return 0;
    return 1;
}

static void byte(mx_term *t, unsigned char b, mx_buf *out);

/* A UTF-8 sequence ended or broke.  Valid: out, unless it is a C1 control (U+0080-U+009F,
 * which some terminals obey as 8-bit ESC [ and the like).  Invalid: U+FFFD for its first byte
 * and the bytes after it start over. */
static void utf8_byte(mx_term *t, unsigned char b, mx_buf *out)
{
    t->held[t->nheld++] = b;
    size_t n = mx_utf8_seq(t->held, t->nheld);
    if (n == MX_UTF8_SHORT) return;
    t->state = GROUND;
    unsigned char rest[4];
    size_t nrest = 0;
    if (n == 0) {
        put(out, replacement, 3);
        nrest = (size_t)t->nheld - 1;
        memcpy(rest, t->held + 1, nrest);
    } else if (!(t->held[0] == 0xC2 && t->held[1] < 0xA0)) {
        put(out, t->held, n);
    }
    t->nheld = 0;
    for (size_t i = 0; i < nrest; i++)
        byte(t, rest[i], out);
}

static void ground(mx_term *t, unsigned char b, mx_buf *out)
{
    if (b == '\r') {
        t->cr = 1;
    } else if (b == 0x1B) {
        t->state = ESC;
    } else if (b == '\n' || b == '\t' || (b >= 0x20 && b < 0x7F)) {
        put(out, &b, 1);
    } else if (b >= 0x80) {
        t->state = UTF8;
        t->nheld = 0;
        utf8_byte(t, b, out);
    }
    /* other C0 controls (BS rewrites what is shown, BEL, ...) and DEL: dropped */
}

static void byte(mx_term *t, unsigned char b, mx_buf *out)
{
    if (t->cr && t->state == GROUND) {
        t->cr = 0;
        put(out, "\n", 1); /* \r\n, or a lone \r shown as a new line */
        if (b == '\n') return;
    }
    switch (t->state) {
    case GROUND:
        ground(t, b, out);
        return;
    case UTF8:
        if ((b & 0xC0) == 0x80) {
            utf8_byte(t, b, out);
            return;
        }
        /* cut short: U+FFFD for what was held, then b on its own */
        put(out, replacement, 3);
        t->nheld = 0;
        t->state = GROUND;
        ground(t, b, out);
        return;
    case ESC:
        t->state = GROUND;
        if (b == '[') {
            t->state = CSI;
            t->ncsi = 0;
            t->csi_over = 0;
        } else if (b == ']' || b == 'P' || b == 'X' || b == '^' || b == '_') {
            t->state = STR;
        } else if (b >= 0x20 && b <= 0x2F) {
            t->state = ESC_INTER;
        } else if (b == 0x1B) {
            t->state = ESC;
        } else if (b < 0x20 || b >= 0x7F) {
            ground(t, b, out); /* a lone ESC: dropped, the byte after it is text */
        }
        /* ESC 7, ESC c, ESC M...: dropped with their final byte */
        return;
    case ESC_INTER:
        if (b >= 0x20 && b <= 0x2F) return;
        t->state = GROUND;
        if (b < 0x20 || b >= 0x7F) ground(t, b, out);
        return;
    case CSI:
        if (b >= 0x20 && b <= 0x3F) {
            if (t->ncsi < sizeof t->csi)
                t->csi[t->ncsi++] = b;
            else
                t->csi_over = 1;
            return;
        }
        t->state = GROUND;
        if (b >= 0x40 && b <= 0x7E) {
            if (b == 'm' && !t->csi_over && sgr_params(t)) {
                put(out, "\x1b[", 2);
                put(out, t->csi, t->ncsi);
                put(out, "m", 1);
                t->sgr = 1;
            }
            return; /* cursor movement, erase, scroll regions, modes...: dropped */
        }
        ground(t, b, out); /* a broken sequence: dropped, the byte is on its own */
        return;
    case STR:
        if (b == 0x1B)
            t->state = STR_ESC;
        else if (b == 0x07 || b == 0x18 || b == 0x1A)
            t->state = GROUND; /* BEL ends an OSC as xterm takes it; CAN, SUB cancel */
        else if (b == '\n') {
            /* no terminator by the end of the line: the rest of the output is not lost */
            t->state = GROUND;
            ground(t, b, out);
        }
        return;
    case STR_ESC:
        t->state = GROUND;
        if (b == '\\') return; /* ST */
        t->state = ESC;        /* another sequence begins */
        byte(t, b, out);
        return;
    }
}

void mx_term_feed(mx_term *t, const void *data, size_t len, mx_buf *out)
{
    const unsigned char *p = data;
    size_t i = 0;
    while (i < len) {
        if (t->state == GROUND && !t->cr) {
            /* the common case: a run of printable ASCII, copied at once */
            size_t j = i;
            while (j < len && ((p[j] >= 0x20 && p[j] < 0x7F) || p[j] == '\n' || p[j] == '\t'))
                j++;
            if (j > i) {
                put(out, p + i, j - i);
                i = j;
                continue;
            }
        }
        byte(t, p[i++], out);
    }
}

void mx_term_end(mx_term *t, mx_buf *out)
{
    if (t->state == UTF8) put(out, replacement, 3);
    if (t->cr) put(out, "\n", 1);
    if (t->sgr) put(out, "\x1b[0m", 4);
    mx_term_init(t);
}

char *mx_term_text(const char *text)
{
    mx_buf out;
    mx_buf_init(&out);
    mx_buf_add(&out, "", 0);
    mx_term t;
    mx_term_init(&t);
    mx_term_feed(&t, text, strlen(text), &out);
    mx_term_end(&t, &out);
    return mx_buf_steal(&out);
}

char *mx_term_safe(const mx_secrets *secrets, const char *text)
{
    if (!secrets) return mx_term_text(text);
    char *masked = mx_secrets_mask(secrets, text);
    char *safe = mx_term_text(masked);
    free(masked);
    return safe;
}
