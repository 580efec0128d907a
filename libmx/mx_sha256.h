/* Streaming SHA-256 through OpenSSL's EVP interface, formatted as OCI digests.
 *
 * Why: registries serve blobs under a digest they do not re-check (a corrupted stored blob is
 * served as is), so every byte a client keeps must be hashed as it arrives. */
#ifndef MX_SHA256_H
#define MX_SHA256_H

#include "mx_err.h"

#include <stddef.h>

/* "sha256:" + 64 hex digits + NUL */
#define MX_SHA256_DIGEST_LEN 72

typedef struct mx_sha256 {
    void *ctx; /* EVP_MD_CTX, kept opaque so users need no OpenSSL headers */
} mx_sha256;

int mx_sha256_init(mx_sha256 *h, mx_err *err);
void mx_sha256_update(mx_sha256 *h, const void *data, size_t len);
/* Writes "sha256:<hex>" into out and releases the context. */
int mx_sha256_final(mx_sha256 *h, char out[MX_SHA256_DIGEST_LEN], mx_err *err);
/* Releases the context without a result (safe after final, and on a zeroed struct). */
void mx_sha256_free(mx_sha256 *h);
/* One-shot digest of a buffer. */
int mx_sha256_digest(const void *data, size_t len, char out[MX_SHA256_DIGEST_LEN], mx_err *err);

#endif
