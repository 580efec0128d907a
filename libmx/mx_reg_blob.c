/* Blob downloads, one at a time: every byte is hashed on its way to the sink and the result
 * compared with the digest that named the blob (registries do not re-check what they serve). */
#include "mx_reg_int.h"

#include "mx_sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Hashes and counts what passes to the caller's sink; restarts with it. */
typedef struct verify {
    const mx_reg_sink *inner;
    mx_sha256 h;
    long long got;
    int hash_failed;
} verify;

static int verify_write(void *arg, const void *data, size_t len)
{
    verify *v = arg;
    mx_sha256_update(&v->h, data, len);
    v->got += (long long)len;
    return v->inner->write(v->inner->arg, data, len);
}

static int verify_reset(void *arg)
{
    verify *v = arg;
    if (!v->inner->reset || v->inner->reset(v->inner->arg) < 0) return -1;
    mx_sha256_free(&v->h);
    v->got = 0;
    if (mx_sha256_init(&v->h, NULL) < 0) {
        v->hash_failed = 1;
        return -1;
    }
    return 0;
}

int mx_reg_fetch_blob(mx_reg_client *c, const char *repo, const char *digest, long long size,
                      const mx_reg_sink *sink, mx_err *err)
{
    if (!mx_reg_digest_valid(digest))
        return mx_fail(err, MX_USAGE, "registry %s: blob digest \"%.80s\" is not sha256:<hex>",
                       c->registry, digest);
    verify v = {.inner = sink};
    if (mx_sha256_init(&v.h, err) < 0) return -1;
    mx_reg_sink vs = {verify_write, sink->reset ? verify_reset : NULL, &v};
    mx_reg_resp r;
    mx_reg_resp_init(&r);
    r.sink = &vs;
    char *path = mx_xasprintf("/v2/%s/blobs/%s", repo, digest);
    char *scope = mx_reg_pull_scope(repo);
    char got[MX_SHA256_DIGEST_LEN];
    int rc = mx_reg_request(c, "GET", path, scope, NULL, &r, err);
    if (rc == 0 && r.status != 200) rc = mx_reg_http_error(c, "GET", path, &r, err);
    if (rc == 0 && v.hash_failed) rc = mx_fail(err, MX_INFRA, "sha256: EVP init failed");
    if (rc == 0 && mx_sha256_final(&v.h, got, err) < 0) rc = -1;
    if (rc == 0 && size >= 0 && v.got != size)
        rc = mx_fail(err, MX_INFRA, "registry %s: blob %s: size %lld, expected %lld", c->registry,
                     digest, v.got, size);
    if (rc == 0 && strcmp(got, digest) != 0)
        rc = mx_fail(err, MX_INFRA, "registry %s: blob %s: digest mismatch: content hashes to %s",
                     c->registry, digest, got);
    mx_sha256_free(&v.h);
    free(path);
    free(scope);
    mx_reg_resp_free(&r);
    return rc;
}

typedef struct file_sink {
    int fd;
} file_sink;

static int file_write(void *arg, const void *data, size_t len)
{
    file_sink *f = arg;
    const char *p = data;
    while (len) {
        ssize_t n = write(f->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int file_reset(void *arg)
{
    file_sink *f = arg;
    return ftruncate(f->fd, 0) == 0 && lseek(f->fd, 0, SEEK_SET) == 0 ? 0 : -1;
}

int mx_reg_fetch_blob_to_file(mx_reg_client *c, const char *repo, const char *digest,
                              long long size, const char *path, mx_err *err)
{
    char *tmp = mx_xasprintf("%s.partial", path);
    file_sink f = {open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)};
    if (f.fd < 0) {
        mx_fail_errno(err, MX_INFRA, "create %s", tmp);
        free(tmp);
        return -1;
    }
    mx_reg_sink s = {file_write, file_reset, &f};
    int rc = mx_reg_fetch_blob(c, repo, digest, size, &s, err);
    if (close(f.fd) < 0 && rc == 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", tmp);
    if (rc == 0 && rename(tmp, path) < 0) rc = mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
    if (rc < 0) unlink(tmp);
    free(tmp);
    return rc;
}
