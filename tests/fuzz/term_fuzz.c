/* libFuzzer: the terminal filter on arbitrary bytes (what a job prints).  What comes out must
 * hold nothing a terminal acts on but SGR colours, new lines and tabs, be valid UTF-8 without
 * C1 controls, and not depend on how the input was chunked. */
#include "mx_term.h"
#include "mx_utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_safe(const unsigned char *p, size_t n)
{
    if (!mx_utf8_valid((const char *)p, n)) abort();
    for (size_t i = 0; i < n; i++) {
        unsigned char c = p[i];
        if (c == 0xC2 && i + 1 < n && p[i + 1] < 0xA0) abort(); /* C1 as UTF-8 */
        if (c == 0x7F || (c < 0x20 && c != '\n' && c != '\t' && c != 0x1B)) abort();
        if (c != 0x1B) continue;
        /* only ESC [ (digits ; :)* m */
        if (i + 1 >= n || p[i + 1] != '[') abort();
        size_t j = i + 2;
        while (j < n && ((p[j] >= '0' && p[j] <= '9') || p[j] == ';' || p[j] == ':'))
            j++;
        if (j >= n || p[j] != 'm' || j - (i + 2) > MX_TERM_SGR_MAX) abort();
        i = j;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mx_term t;
    mx_buf whole, parts;
    mx_buf_init(&whole);
    mx_buf_init(&parts);
    mx_buf_add(&whole, "", 0);
    mx_buf_add(&parts, "", 0);
    mx_term_init(&t);
    mx_term_feed(&t, data, size, &whole);
    mx_term_end(&t, &whole);
    check_safe((const unsigned char *)whole.data, whole.len);
    /* the same bytes in chunks whose sizes the input's first bytes choose */
    size_t at = 0, k = 0;
    while (at < size) {
        size_t n = 1 + (size ? data[k++ % size] % 7 : 0);
        if (n > size - at) n = size - at;
        mx_term_feed(&t, data + at, n, &parts);
        at += n;
    }
    mx_term_end(&t, &parts);
    if (parts.len != whole.len || memcmp(parts.data, whole.data, whole.len) != 0) abort();
    mx_buf_free(&whole);
    mx_buf_free(&parts);
    return 0;
}
