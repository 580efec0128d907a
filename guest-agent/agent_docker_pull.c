/* docker-pull: `docker pull IMAGE` for each image as the orb runs it — POST /images/create with
 * X-Registry-Auth, the daemon's JSON progress stream condensed into the lines the docker CLI
 * prints when its output is not a terminal. */
#include "agent_docker.h"
#include "mx_buf.h"
#include "agent_http.h"
#include "mx_cleanup.h"
#include "mx_cred.h"
#include "mx_cred_ref.h"
#include "mx_reg_ref.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

typedef struct creds {
    char *username, *password, *identitytoken, *server;
} creds;

static void wipe_free(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

static void creds_clear(creds *k)
{
    free(k->username);
    wipe_free(k->password);
    wipe_free(k->identitytoken);
    free(k->server);
    memset(k, 0, sizeof *k);
}

/* 1 if key (a normalized "host[/path]") covers image path ("host/path"). */
static size_t prefix_len(const char *key, const char *path)
{
    size_t n = strlen(key);
    if (strncmp(key, path, n) != 0) return 0;
    return path[n] == '\0' || path[n] == '/' ? n : 0;
}

/* Credentials for image: the host's list first (longest matching registry key, the rule of
 * mx_cred), else what docker-check left in config.json (auths, credsStore, credHelpers), else
 * none.  Returns 1 found, 0 anonymous, -1 error (a credential helper failed). */
static int pick_creds(mxd_ctx *c, const char *image, creds *out, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    mx_autofree char *path = mx_cred_image_path(image, err);
    if (!path) return -1;
    const mx_docker_auth *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < d->nauths; i++) {
        mx_autofree char *key = mx_cred_key_path(d->auths[i].registry);
        size_t n = key ? prefix_len(key, path) : 0;
        if (n > best_len) best = &d->auths[i], best_len = n;
    }
    mx_autofree char *host = mx_cred_path_host(path);
    if (best) {
        out->username = best->username ? mx_xstrdup(best->username) : NULL;
        out->password = best->password ? mx_xstrdup(best->password) : NULL;
        out->identitytoken = best->identitytoken ? mx_xstrdup(best->identitytoken) : NULL;
        out->server = mxd_server_address(host);
        return 1;
    }
    mx_autofree char *cfg = mxd_config_path();
    mx_cred_resolver *r = mx_cred_resolver_new(NULL);
    mx_cred cred = {0};
    int found = mx_cred_add_config_file(r, cfg, err);
    if (found == 0) found = mx_cred_resolve(r, image, &cred, err);
    mx_cred_resolver_free(r);
    if (found == 1) {
        out->username = cred.username ? mx_xstrdup(cred.username) : NULL;
        out->password = cred.password ? mx_xstrdup(cred.password) : NULL;
        out->identitytoken = cred.identity_token ? mx_xstrdup(cred.identity_token) : NULL;
        out->server = mxd_server_address(host);
    }
    mx_cred_clear(&cred);
    return found;
}

/* The X-Registry-Auth header as the docker CLI builds it: base64url of the AuthConfig JSON. */
static char *auth_header(const creds *k)
{
    mx_autojson json_t *o = json_object();
    if (!o) mx_oom();
    if (k->username && *k->username && strcmp(k->username, "<token>") != 0 &&
        json_object_set_new(o, "username", json_string(k->username)) != 0)
        mx_oom();
    if (k->password && *k->password &&
        json_object_set_new(o, "password", json_string(k->password)) != 0)
        mx_oom();
    if (k->identitytoken && *k->identitytoken &&
        json_object_set_new(o, "identitytoken", json_string(k->identitytoken)) != 0)
        mx_oom();
    if (json_object_set_new(o, "serveraddress", json_string(k->server)) != 0) mx_oom();
    char *js = json_dumps(o, JSON_COMPACT);
    if (!js) mx_oom();
    const char *keys[] = {"password", "identitytoken"};
    for (size_t i = 0; i < 2; i++) {
        const char *v = json_string_value(json_object_get(o, keys[i]));
        if (v) OPENSSL_cleanse((char *)v, strlen(v));
    }
    char *b64 = mxd_b64url(js);
    wipe_free(js);
    char *h = mx_xasprintf("X-Registry-Auth: %s", b64);
    wipe_free(b64);
    return h;
}

typedef struct stream_state {
    mxd_ctx *c;
    char *error; /* the first in-stream error */
} stream_state;

/* One progress object.  Errors arrive in the stream with HTTP 200 ("error"/"errorDetail").
 * Objects carrying byte counts (Downloading, Extracting) are the terminal's progress bars: the
 * CLI leaves them out when its output is a log, and so do we. */
static void on_progress_line(void *ctx, const char *line, size_t len)
{
    stream_state *s = ctx;
    if (len == 0 || s->error) return;
    json_error_t je;
    mx_autojson json_t *o = json_loadb(line, len, 0, &je);
    if (!json_is_object(o)) return; /* not ours to judge: the daemon's stream, keep going */
    const char *emsg =
        json_string_value(json_object_get(json_object_get(o, "errorDetail"), "message"));
    if (!emsg) emsg = json_string_value(json_object_get(o, "error"));
    if (emsg) {
        s->error = mx_xstrdup(emsg);
        return;
    }
    const char *status = json_string_value(json_object_get(o, "status"));
    if (!status) return;
    json_t *pd = json_object_get(o, "progressDetail");
    if (json_is_object(pd) && json_object_size(pd) > 0) return;
    const char *id = json_string_value(json_object_get(o, "id"));
    if (id && *id)
        mxd_say(s->c, MX_STREAM_STDOUT, "%s: %s", id, status);
    else
        mxd_say(s->c, MX_STREAM_STDOUT, "%s", status);
}

/* What the CLI sends: fromImage is the familiar name ("busybox", "acme/db",
 * "quay.io/org/img"), tag carries the tag or the digest. */
static char *create_path(const mx_reg_ref *ref)
{
    mx_autofree char *name = NULL;
    if (strcmp(ref->domain, MX_REG_DOCKER_HUB) == 0) {
        const char *p = ref->path;
        if (strncmp(p, "library/", 8) == 0 && !strchr(p + 8, '/')) p += 8;
        name = mx_xstrdup(p);
    } else {
        name = mx_xasprintf("%s/%s", ref->domain, ref->path);
    }
    const char *tag = ref->digest ? ref->digest : ref->tag ? ref->tag : "latest";
    mx_autofree char *en = mxh_escape(name);
    mx_autofree char *et = mxh_escape(tag);
    return mx_xasprintf("/images/create?fromImage=%s&tag=%s", en, et);
}

/* One attempt.  Returns 0 pulled, -1 with *err; *retry says whether another attempt may help. */
static int pull_attempt(mxd_ctx *c, const char *path, const char *header, int *retry, mx_err *err)
{
    stream_state s = {.c = c};
    mx_buf body;
    mx_buf_init(&body);
    long status = 0;
    mxd_request rq = {.method = "POST",
                      .path = path,
                      .header = header,
                      .on_line = on_progress_line,
                      .line_ctx = &s};
    int rc = mxd_http(c, &rq, &status, &body, err);
    *retry = 1;
    if (rc == 0 && status / 100 != 2) {
        mxd_daemon_error(status, &body, err);
        *retry = mxd_retryable(status);
        rc = -1;
    } else if (rc == 0 && s.error) {
        mx_fail(err, MX_JOB_FAILED, "%s", s.error);
        rc = -1;
    }
    free(s.error);
    mx_buf_free(&body);
    return rc;
}

int mxd_pull_image(mxd_ctx *c, const char *image, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    mx_reg_ref ref;
    if (mx_reg_ref_parse(image, &ref, err) < 0) return mx_wrap(err, "invalid reference format");
    creds k = {0};
    char *header = NULL;
    mx_autofree char *path = NULL;
    int rc = pick_creds(c, image, &k, err);
    if (rc < 0) goto out;
    if (rc == 1) header = auth_header(&k);
    path = create_path(&ref);
    int attempts = d->retries + 1;
    for (int i = 1; i <= attempts; i++) {
        int retry = 0;
        rc = pull_attempt(c, path, header, &retry, err);
        if (rc == 0 || c->cancelled || c->host_gone || !retry) break;
        if (i < attempts) {
            mxd_say(c, MX_STREAM_STDERR, "%s", err->msg);
            mxd_say(c, MX_STREAM_STDOUT, "Retrying in %d second(s) (attempt %d/%d)...",
                    d->retry_delay_s, i + 1, attempts);
            if (mxd_sleep(c, d->retry_delay_s * 1000L) < 0) break;
        }
    }
    if (rc == 0) {
        /* the CLI ends with the fully qualified reference */
        if (ref.digest && !ref.tag)
            mxd_say(c, MX_STREAM_STDOUT, "%s/%s@%s", ref.domain, ref.path, ref.digest);
        else
            mxd_say(c, MX_STREAM_STDOUT, "%s/%s:%s", ref.domain, ref.path,
                    ref.tag ? ref.tag : "latest");
    }
out:
    wipe_free(header);
    creds_clear(&k);
    mx_reg_ref_free(&ref);
    return rc;
}

int mxd_pull(mxd_ctx *c, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    if (d->nimages == 0) return mx_fail(err, MX_JOB_FAILED, "docker-pull: no images given");
    for (size_t i = 0; i < d->nimages; i++) {
        mxd_say(c, MX_STREAM_STDOUT, "Pulling %s", d->images[i]);
        if (mxd_pull_image(c, d->images[i], err) == 0) continue;
        if (c->cancelled || c->host_gone) return -1;
        /* like the orb: `docker pull || true` with ignore, else the first failure ends the step */
        if (!d->ignore_errors) return -1;
        mxd_say(c, MX_STREAM_STDERR, "%s", err->msg);
        mx_err_clear(err);
    }
    return 0;
}
