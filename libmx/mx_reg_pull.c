/* Pulling an image into an OCI image layout.  Blobs download in parallel on one curl multi
 * handle (one thread: hashing at ~1 GB/s keeps up with loopback and real networks alike);
 * a blob that fails transiently there is fetched again through mx_reg_fetch_blob_to_file,
 * which owns the retry, backoff and re-authentication rules, so they live in one place. */
#include "mx_reg_int.h"

#include "mx_fs.h"
#include "mx_sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Fewer, larger callbacks: hashing and writing per 512 KiB instead of per 16 KiB. */
#define BLOB_BUFFER_SIZE (512L * 1024)

typedef struct blob_job {
    const mx_reg_desc *d;
    char *path, *tmp;
    int fd;
    mx_sha256 h;
    long long got;
    CURL *e;
    struct curl_slist *hdrs;
    long status;
    int write_failed;
    int retry_serial; /* failed in a way a serial retry may fix */
    char errbuf[CURL_ERROR_SIZE];
} blob_job;

static size_t job_write(char *p, size_t size, size_t n, void *arg)
{
    blob_job *j = arg;
    size_t len = size * n;
    if (!j->status && curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &j->status) != CURLE_OK)
        return 0;
    if (j->status != 200) return len; /* an error body: the status says enough */
    mx_sha256_update(&j->h, p, len);
    j->got += (long long)len;
    for (const char *q = p; len;) {
        ssize_t w = write(j->fd, q, len);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            j->write_failed = 1;
            return 0;
        }
        q += w;
        len -= (size_t)w;
    }
    return size * n;
}

/* A status line starts a new response (after a redirect): its status is read again. */
static size_t job_header(char *p, size_t size, size_t n, void *arg)
{
    blob_job *j = arg;
    if (size * n >= 5 && memcmp(p, "HTTP/", 5) == 0) j->status = 0;
    return size * n;
}

static int job_start(mx_reg_client *c, const char *repo, blob_job *j, mx_err *err)
{
    j->fd = open(j->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (j->fd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", j->tmp);
    if (mx_sha256_init(&j->h, err) < 0) return -1;
    j->e = curl_easy_init();
    if (!j->e) return mx_fail(err, MX_INFRA, "registry %s: curl_easy_init failed", c->registry);
    char *scope = mx_reg_pull_scope(repo);
    char *auth = mx_reg_auth_header(c, scope);
    free(scope);
    if (auth) {
        j->hdrs = curl_slist_append(NULL, auth);
        free(auth);
        if (!j->hdrs) return mx_fail(err, MX_INFRA, "curl_slist_append failed");
    }
    char *url = mx_xasprintf("%s/v2/%s/blobs/%s", c->base, repo, j->d->digest);
    CURLcode cc;
    if ((cc = curl_easy_setopt(j->e, CURLOPT_URL, url)) != CURLE_OK) {
        free(url);
        return mx_fail(err, MX_INFRA, "curl_easy_setopt(URL): %s", curl_easy_strerror(cc));
    }
    free(url);
    if (mx_reg_easy_setup(c, j->e, err) < 0) return -1;
    MX_REG_SETOPT(j->e, CURLOPT_HTTPHEADER, j->hdrs);
    MX_REG_SETOPT(j->e, CURLOPT_WRITEFUNCTION, job_write);
    MX_REG_SETOPT(j->e, CURLOPT_WRITEDATA, j);
    MX_REG_SETOPT(j->e, CURLOPT_HEADERFUNCTION, job_header);
    MX_REG_SETOPT(j->e, CURLOPT_HEADERDATA, j);
    MX_REG_SETOPT(j->e, CURLOPT_PRIVATE, j);
    MX_REG_SETOPT(j->e, CURLOPT_ERRORBUFFER, j->errbuf);
    MX_REG_SETOPT(j->e, CURLOPT_BUFFERSIZE, BLOB_BUFFER_SIZE);
    return 0;
}

static void job_free(blob_job *j)
{
    if (j->e) curl_easy_cleanup(j->e);
    curl_slist_free_all(j->hdrs);
    if (j->fd >= 0) close(j->fd);
    if (j->tmp) unlink(j->tmp);
    mx_sha256_free(&j->h);
    free(j->path);
    free(j->tmp);
}

/* Judges a finished transfer: 0 done, 1 retry serially, -1 fatal. */
static int job_finish(mx_reg_client *c, blob_job *j, CURLcode rc, mx_err *err)
{
    const char *dg = j->d->digest;
    if (j->write_failed) return mx_fail_errno(err, MX_INFRA, "write %s", j->tmp);
    long st = 0;
    if (rc == CURLE_OK && curl_easy_getinfo(j->e, CURLINFO_RESPONSE_CODE, &st) != CURLE_OK)
        return mx_fail(err, MX_INFRA, "registry %s: blob %s: no response code", c->registry, dg);
    if (rc != CURLE_OK) {
        if (mx_reg_retryable_curl(rc)) return 1;
        return mx_fail(err, MX_INFRA, "registry %s: GET blob %s: %s", c->registry, dg,
                       j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc));
    }
    /* 401: the token expired mid-pull; 429/5xx: transient.  The serial path handles both. */
    if (st == 401 || mx_reg_retryable_http(st)) return 1;
    if (st != 200)
        return mx_fail(err, st >= 500 ? MX_INFRA : MX_USAGE,
                       "registry %s: GET blob %s: HTTP %ld %s", c->registry, dg, st,
                       mx_reg_reason(st));
    char got[MX_SHA256_DIGEST_LEN];
    if (mx_sha256_final(&j->h, got, err) < 0) return -1;
    if (j->got != j->d->size)
        return mx_fail(err, MX_INFRA, "registry %s: blob %s: size %lld, expected %lld", c->registry,
                       dg, j->got, j->d->size);
    if (strcmp(got, dg) != 0)
        return mx_fail(err, MX_INFRA, "registry %s: blob %s: digest mismatch: content hashes to %s",
                       c->registry, dg, got);
    int fd = j->fd;
    j->fd = -1;
    if (close(fd) < 0) return mx_fail_errno(err, MX_INFRA, "write %s", j->tmp);
    if (rename(j->tmp, j->path) < 0) return mx_fail_errno(err, MX_INFRA, "rename %s", j->tmp);
    free(j->tmp);
    j->tmp = NULL;
    return 0;
}

static int run_multi(mx_reg_client *c, const char *repo, blob_job *jobs, size_t n, mx_err *err)
{
    CURLM *m = curl_multi_init();
    if (!m) return mx_fail(err, MX_INFRA, "registry %s: curl_multi_init failed", c->registry);
    int rc = -1;
    CURLMcode mc;
    if ((mc = curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->parallel)) !=
        CURLM_OK) {
        mx_fail(err, MX_INFRA, "curl_multi_setopt: %s", curl_multi_strerror(mc));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (job_start(c, repo, &jobs[i], err) < 0) goto out;
        if ((mc = curl_multi_add_handle(m, jobs[i].e)) != CURLM_OK) {
            mx_fail(err, MX_INFRA, "curl_multi_add_handle: %s", curl_multi_strerror(mc));
            goto out;
        }
    }
    int running = 1;
    while (running) {
        if ((mc = curl_multi_perform(m, &running)) != CURLM_OK) {
            mx_fail(err, MX_INFRA, "curl_multi_perform: %s", curl_multi_strerror(mc));
            goto out;
        }
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            blob_job *j = NULL;
            if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j) != CURLE_OK ||
                !j) {
                mx_fail(err, MX_INFRA, "curl: transfer without its job");
                goto out;
            }
            int f = job_finish(c, j, msg->data.result, err);
            if (f < 0) goto out;
            j->retry_serial = f == 1;
        }
        if (running && (mc = curl_multi_poll(m, NULL, 0, 1000, NULL)) != CURLM_OK) {
            mx_fail(err, MX_INFRA, "curl_multi_poll: %s", curl_multi_strerror(mc));
            goto out;
        }
    }
    rc = 0;
out:
    for (size_t i = 0; i < n; i++)
        if (jobs[i].e && (mc = curl_multi_remove_handle(m, jobs[i].e)) != CURLM_OK && rc == 0)
            rc = mx_fail(err, MX_INFRA, "curl_multi_remove_handle: %s", curl_multi_strerror(mc));
    if ((mc = curl_multi_cleanup(m)) != CURLM_OK && rc == 0)
        rc = mx_fail(err, MX_INFRA, "curl_multi_cleanup: %s", curl_multi_strerror(mc));
    return rc;
}

static char *blob_path(const char *dir, const char *digest)
{
    return mx_xasprintf("%s/blobs/sha256/%s", dir, digest + 7);
}

/* The config and each distinct layer. */
static size_t collect(const mx_reg_manifest *man, const char *dir, blob_job *jobs)
{
    size_t n = 0;
    for (size_t i = 0; i <= man->nlayers; i++) {
        const mx_reg_desc *d = i == 0 ? &man->config : &man->layers[i - 1];
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strcmp(jobs[k].d->digest, d->digest) == 0;
        if (dup) continue;
        jobs[n] = (blob_job){.d = d, .fd = -1};
        jobs[n].path = blob_path(dir, d->digest);
        jobs[n].tmp = mx_xasprintf("%s.partial", jobs[n].path);
        n++;
    }
    return n;
}

static int write_layout(const mx_reg_manifest *man, const mx_reg_ref *ref, const char *dir,
                        mx_err *err)
{
    char *p = blob_path(dir, man->digest);
    int rc = mx_write_file(p, man->body, man->body_len, 0644, err);
    free(p);
    if (rc < 0) return -1;
    p = mx_path_join(dir, "oci-layout");
    static const char layout[] = "{\"imageLayoutVersion\":\"1.0.0\"}";
    rc = mx_write_file(p, layout, sizeof layout - 1, 0644, err);
    free(p);
    if (rc < 0) return -1;
    json_t *desc = json_pack("{s:s, s:s, s:I}", "mediaType", man->media_type, "digest", man->digest,
                             "size", (json_int_t)man->body_len);
    if (!desc) return mx_fail(err, MX_INFRA, "json_pack failed");
    if (ref->tag && json_object_set_new(
                        desc, "annotations",
                        json_pack("{s:s}", "org.opencontainers.image.ref.name", ref->tag)) < 0) {
        json_decref(desc);
        return mx_fail(err, MX_INFRA, "json_object_set_new failed");
    }
    json_t *index = json_pack("{s:i, s:s, s:[o]}", "schemaVersion", 2, "mediaType",
                              MX_REG_MT_OCI_INDEX, "manifests", desc);
    if (!index) return mx_fail(err, MX_INFRA, "json_pack failed");
    char *text = json_dumps(index, JSON_COMPACT);
    json_decref(index);
    if (!text) return mx_fail(err, MX_INFRA, "json_dumps failed");
    p = mx_path_join(dir, "index.json");
    rc = mx_write_file(p, text, strlen(text), 0644, err);
    free(p);
    free(text);
    return rc;
}

int mx_reg_pull_to_dir(mx_reg_client *c, const mx_reg_ref *ref, const mx_reg_platform *platform,
                       const char *dir, mx_err *err)
{
    mx_reg_manifest man;
    if (mx_reg_get_manifest(c, ref, platform, &man, err) < 0) return -1;
    char *blobs = mx_xasprintf("%s/blobs/sha256", dir);
    int rc = mx_mkdir_p(blobs, 0755, err);
    free(blobs);
    if (rc < 0) {
        mx_reg_manifest_free(&man);
        return -1;
    }
    blob_job *jobs = mx_xcalloc(man.nlayers + 1, sizeof *jobs);
    size_t n = collect(&man, dir, jobs);
    rc = run_multi(c, ref->path, jobs, n, err);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (jobs[i].retry_serial)
            rc = mx_reg_fetch_blob_to_file(c, ref->path, jobs[i].d->digest, jobs[i].d->size,
                                           jobs[i].path, err);
    for (size_t i = 0; i < n; i++)
        job_free(&jobs[i]);
    free(jobs);
    if (rc == 0) rc = write_layout(&man, ref, dir, err);
    if (rc < 0) mx_wrap(err, "pull %s/%s", ref->domain, ref->path);
    mx_reg_manifest_free(&man);
    return rc;
}
