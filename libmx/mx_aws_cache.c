/* On-disk cache of ECR tokens, one 0600 file per account and region (see mx_aws.h).
 *
 * Why on disk: every job (a separate mexec process) would otherwise mint a new token; AWS
 * throttles GetAuthorizationToken and one token serves 12 hours. */
#include "mx_aws.h"
#include "mx_fs.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mx_ecr_token_fresh(const mx_ecr_token *t, time_t now, long margin_s)
{
    time_t end = t->expires_at;
    /* never trust a token past 12 h from when it was obtained, whatever expiresAt says */
    if (t->obtained_at > 0 && t->obtained_at + MX_ECR_MAX_LIFETIME < end)
        end = t->obtained_at + MX_ECR_MAX_LIFETIME;
    return t->password && now + margin_s < end;
}

/* Account and region become a file name: allow only what they can contain. */
static char *cache_path(const char *dir, const char *account, const char *region, mx_err *err)
{
    for (const char *p = account; *p; p++)
        if (!isdigit((unsigned char)*p)) goto bad;
    for (const char *p = region; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) && *p != '-') goto bad;
    if (!*account || !*region) goto bad;
    return mx_xasprintf("%s/ecr-%s-%s.json", dir, account, region);
bad:
    mx_fail(err, MX_USAGE, "ECR cache: bad account \"%s\" or region \"%s\"", account, region);
    return NULL;
}

int mx_aws_cache_load(const char *dir, const char *account, const char *region, time_t now,
                      long margin_s, mx_ecr_token *out, mx_err *err)
{
    memset(out, 0, sizeof *out);
    char *path = cache_path(dir, account, region, err);
    if (!path) return -1;
    mx_buf b;
    mx_buf_init(&b);
    mx_err ignored;
    int rc = 0;
    if (mx_read_file(path, &b, &ignored) < 0) goto done; /* absent or unreadable: a miss */
    json_t *j = json_loadb(b.data, b.len, 0, NULL);
    const char *u = json_string_value(json_object_get(j, "username"));
    const char *p = json_string_value(json_object_get(j, "password"));
    json_t *exp = json_object_get(j, "expires_at"), *got = json_object_get(j, "obtained_at");
    if (u && p && json_is_integer(exp) && json_is_integer(got)) {
        out->username = mx_xstrdup(u);
        out->password = mx_xstrdup(p);
        out->expires_at = (time_t)json_integer_value(exp);
        out->obtained_at = (time_t)json_integer_value(got);
        const char *proxy = json_string_value(json_object_get(j, "proxy_endpoint"));
        out->proxy_endpoint = proxy ? mx_xstrdup(proxy) : NULL;
        if (mx_ecr_token_fresh(out, now, margin_s))
            rc = 1;
        else
            mx_ecr_token_free(out); /* stale: replaced, never reused */
    }
    if (p) OPENSSL_cleanse((char *)p, strlen(p));
    json_decref(j);
done:
    if (b.data) OPENSSL_cleanse(b.data, b.len);
    mx_buf_free(&b);
    free(path);
    return rc;
}

int mx_aws_cache_store(const char *dir, const char *account, const char *region,
                       const mx_ecr_token *t, mx_err *err)
{
    char *path = cache_path(dir, account, region, err);
    if (!path) return -1;
    int rc = -1;
    char *tmp = NULL, *text = NULL;
    json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:s?}", "username", t->username, "password",
                          t->password, "expires_at", (json_int_t)t->expires_at, "obtained_at",
                          (json_int_t)t->obtained_at, "proxy_endpoint", t->proxy_endpoint);
    if (!j) {
        mx_fail(err, MX_INFRA, "ECR cache %s: cannot encode the token", path);
        goto done;
    }
    text = json_dumps(j, JSON_COMPACT);
    if (!text) {
        mx_fail(err, MX_INFRA, "ECR cache %s: cannot encode the token", path);
        goto done;
    }
    if (mx_mkdir_p(dir, 0700, err) < 0) goto done;
    /* write then rename: a concurrent job reads the old token or the new one, never half */
    tmp = mx_xasprintf("%s.%ld.tmp", path, (long)getpid());
    if (mx_write_file(tmp, text, strlen(text), 0600, err) < 0) {
        unlink(tmp); /* a partial token file must not stay behind */
        goto done;
    }
    if (rename(tmp, path) < 0) {
        mx_fail_errno(err, MX_INFRA, "ECR cache: rename %s to %s", tmp, path);
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    if (text) {
        OPENSSL_cleanse(text, strlen(text));
        free(text);
    }
    json_decref(j);
    free(tmp);
    free(path);
    return rc;
}
