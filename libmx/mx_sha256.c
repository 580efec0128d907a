#include "mx_sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

int mx_sha256_init(mx_sha256 *h, mx_err *err)
{
    h->ctx = NULL; /* a failed init leaves an h that update ignores and final refuses */
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) return mx_fail(err, MX_INFRA, "sha256: EVP_MD_CTX_new failed");
    if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(c);
        return mx_fail(err, MX_INFRA, "sha256: EVP_DigestInit_ex failed");
    }
    h->ctx = c;
    return 0;
}

void mx_sha256_update(mx_sha256 *h, const void *data, size_t len)
{
    /* EVP_DigestUpdate on an initialised SHA-256 context has no failure mode of its own; a
     * failure would surface at final, which is checked */
    if (h->ctx && EVP_DigestUpdate(h->ctx, data, len) != 1) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
}

int mx_sha256_final(mx_sha256 *h, char out[MX_SHA256_DIGEST_LEN], mx_err *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!h->ctx) return mx_fail(err, MX_INFRA, "sha256: digest update failed");
    int ok = EVP_DigestFinal_ex(h->ctx, md, &n) == 1 && n == 32;
    mx_sha256_free(h);
    if (!ok) return mx_fail(err, MX_INFRA, "sha256: EVP_DigestFinal_ex failed");
    memcpy(out, "sha256:", sizeof "sha256:"); /* its NUL is overwritten below */
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 7 + 2 * i, 3, "%02x", md[i]);
    return 0;
}

void mx_sha256_free(mx_sha256 *h)
{
    EVP_MD_CTX_free(h->ctx);
    h->ctx = NULL;
}

int mx_sha256_digest(const void *data, size_t len, char out[MX_SHA256_DIGEST_LEN], mx_err *err)
{
    mx_sha256 h;
    if (mx_sha256_init(&h, err) < 0) return -1;
    mx_sha256_update(&h, data, len);
    return mx_sha256_final(&h, out, err);
}
