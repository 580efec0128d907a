/* Base64 (RFC 4648, standard alphabet, padded) through OpenSSL's EVP codec. */
#ifndef MX_B64_H
#define MX_B64_H

#include <stddef.h>

/* Returns a NUL-terminated string; caller frees. */
char *mx_b64_encode(const void *data, size_t len);
/* Decodes s (whitespace not allowed); returns NULL on malformed input, else a buffer the
 * caller frees, with its length in *out_len. */
unsigned char *mx_b64_decode(const char *s, size_t *out_len);
/* The same for the len bytes at s (no NUL needed). */
unsigned char *mx_b64_decode_n(const char *s, size_t len, size_t *out_len);

#endif
