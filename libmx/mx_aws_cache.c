/* On-disk cache of ECR tokens, one 0600 file per account, region and identity (see mx_aws.h).
 *
 * Why on disk: every job (a separate mexec process) would otherwise mint a new token; AWS
 * throttles GetAuthorizationToken and one token serves 12 hours.  Why per identity: jobs on one
 * host do not trust each other; a token is served only to a caller holding the credentials
 * that fetched it. */
#include "mx_aws.h"
#include "mx_buf.h"
#include "mx_fs.h"
#include "mx_sha256.h"

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

/* Each field with its length first, so no two different identities hash alike. */
static void add_field(mx_buf *b, const char *s)
{
    mx_buf_printf(b, "%zu:", s ? strlen(s) : 0);
    if (s) mx_buf_adds(b, s);
    mx_buf_add(b, "\n", 1);
}

char *mx_aws_identity_key(const mx_aws_auth *a, const char *wit)
{
    mx_buf b;
    mx_buf_init(&b);
    if (a->role_arn && *a->role_arn) {
        if (!wit || !*wit) return NULL;
        mx_buf_adds(&b, "mexec-ecr-role\n");
        add_field(&b, a->role_arn);
        add_field(&b, wit);
    } else {
        if (!a->access_key_id || !*a->access_key_id || !a->secret_access_key ||
            !*a->secret_access_key)
            return NULL;
        mx_buf_adds(&b, "mexec-ecr-keys\n");
        add_field(&b, a->access_key_id);
        add_field(&b, a->secret_access_key);
        add_field(&b, a->session_token);
    }
    char dg[MX_SHA256_DIGEST_LEN];
    int rc = mx_sha256_digest(b.data, b.len, dg, NULL);
    OPENSSL_cleanse(b.data, b.len);
    mx_buf_free(&b);
    return rc < 0 ? NULL : mx_xstrdup(dg + strlen("sha256:"));
}

static int all(const char *s, int (*ok)(int))
{
    for (; *s; s++)
        if (!ok((unsigned char)*s)) return 0;
    return 1;
}

static int region_char(int c)
{
    return islower(c) || isdigit(c) || c == '-';
}

/* Account, region and identity become a file name: allow only what they can contain. */
static char *cache_path(const char *dir, const char *account, const char *region,
                        const char *identity, mx_err *err)
{
    if (!*account || !all(account, isdigit) || !*region || !all(region, region_char) || !identity ||
        strlen(identity) != 64 || !all(identity, isxdigit)) {
        mx_fail(err, MX_USAGE, "ECR cache: bad account \"%s\", region \"%s\" or identity key",
                account, region);
        return NULL;
    }
    return mx_xasprintf("%s/ecr-%s-%s-%s.json", dir, account, region, identity);
}

int mx_aws_cache_load(const char *dir, const char *account, const char *region,
                      const char *identity, time_t now, long margin_s, mx_ecr_token *out,
                      mx_err *err)
{
    memset(out, 0, sizeof *out);
    char *path = cache_path(dir, account, region, identity, err);
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
                       const char *identity, const mx_ecr_token *t, mx_err *err)
{
    char *path = cache_path(dir, account, region, identity, err);
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
