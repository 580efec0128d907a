#include "mx_b64.h"
#include "mx_buf.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

char *mx_b64_encode(const void *data, size_t len)
{
    if (len == 0) return mx_xstrdup(""); /* data may be NULL: no pointer arithmetic on it */
    size_t outcap = 4 * ((len + 2) / 3) + 1;
    unsigned char *out = mx_xmalloc(outcap);
    /* EVP_EncodeBlock takes an int length: encode in slices that fit. */
    size_t done = 0, o = 0;
    const size_t slice = 3u * 1024 * 1024;
    while (done < len) {
        size_t n = len - done < slice ? len - done : slice;
        o += (size_t)EVP_EncodeBlock(out + o, (const unsigned char *)data + done, (int)n);
        done += n;
    }
    out[o] = '\0';
    return (char *)out;
}

/* EVP_DecodeBlock skips surrounding whitespace and takes '=' anywhere: check the form first.
 * A table, not a chain of comparisons: every byte of step output passes here. */
static int well_formed(const char *s, size_t len)
{
    static unsigned char alphabet[256];
    if (!alphabet['A']) {
        const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (const char *c = a; *c; c++)
            alphabet[(unsigned char)*c] = 1;
    }
    size_t pad = 0;
    if (len >= 1 && s[len - 1] == '=') pad++;
    if (len >= 2 && s[len - 2] == '=') pad++;
    unsigned char ok = 1;
    for (size_t i = 0; i < len - pad; i++)
        ok &= alphabet[(unsigned char)s[i]];
    return ok;
}

unsigned char *mx_b64_decode(const char *s, size_t *out_len)
{
    return mx_b64_decode_n(s, strlen(s), out_len);
}

unsigned char *mx_b64_decode_n(const char *s, size_t len, size_t *out_len)
{
    if (len % 4 != 0 || !well_formed(s, len)) return NULL;
    unsigned char *out = mx_xmalloc(len / 4 * 3 + 1);
    size_t o = 0;
    const size_t slice = 4u * 1024 * 1024;
    for (size_t done = 0; done < len;) {
        size_t n = len - done < slice ? len - done : slice;
        int r = EVP_DecodeBlock(out + o, (const unsigned char *)s + done, (int)n);
        if (r < 0) {
            free(out);
            return NULL;
        }
        o += (size_t)r;
        done += n;
    }
    /* EVP_DecodeBlock counts padding as zero bytes: take them back off. */
    if (len >= 1 && s[len - 1] == '=') o--;
    if (len >= 2 && s[len - 2] == '=') o--;
    out[o] = '\0';
    *out_len = o;
    return out;
}
