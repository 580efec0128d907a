/* ECR GetAuthorizationToken and the whole ECR login (see mx_aws.h). */
#include "mx_aws.h"
#include "mx_b64.h"
#include "mx_fs.h"
#include "mx_mask.h"

#include <jansson.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

static void secret_free(char *s)
{
    if (s) OPENSSL_cleanse(s, strlen(s));
    free(s);
}

void mx_ecr_token_free(mx_ecr_token *t)
{
    free(t->username);
    secret_free(t->password);
    free(t->proxy_endpoint);
    memset(t, 0, sizeof *t);
}

/* "HTTP 403: UnrecognizedClientException: <message>" from an AWS JSON error reply, with the
 * request's secrets masked in case the service quotes them back. */
static void json_error(mx_err *err, const char *what, const char *url, const mx_aws_response *r,
                       const mx_aws_keys *keys)
{
    json_t *j = r->body.data ? json_loadb(r->body.data, r->body.len, 0, NULL) : NULL;
    const char *type = json_string_value(json_object_get(j, "__type"));
    const char *msg = json_string_value(json_object_get(j, "message"));
    if (!msg) msg = json_string_value(json_object_get(j, "Message"));
    mx_secrets s;
    mx_secrets_init(&s);
    mx_secrets_add(&s, keys->secret_access_key);
    if (keys->session_token) mx_secrets_add(&s, keys->session_token);
    char *masked = msg ? mx_secrets_mask(&s, msg) : NULL;
    mx_secrets_free(&s);
    /* "com.amazonaws...#UnrecognizedClientException" -> the part after '#' */
    const char *hash = type ? strrchr(type, '#') : NULL;
    if (hash) type = hash + 1;
    mx_fail(err, MX_INFRA, "%s at %s: HTTP %ld%s%s%s%s", what, url, r->status, type ? ": " : "",
            type ? type : "", masked ? ": " : "", masked ? masked : "");
    free(masked);
    json_decref(j);
}

int mx_aws_ecr_get_token(const char *ecr_url, const char *region, const mx_aws_keys *keys,
                         const mx_aws_http *http, mx_ecr_token *out, mx_err *err)
{
    static const char what[] = "ECR GetAuthorizationToken";
    memset(out, 0, sizeof *out);
    char *url = mx_xasprintf("%s/", ecr_url);
    const char *headers[] = {
        "Content-Type: application/x-amz-json-1.1",
        "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", NULL};
    mx_aws_request rq = {.method = "POST",
                         .url = url,
                         .region = region,
                         .service = "ecr",
                         .headers = headers,
                         .body = "{}",
                         .body_len = 2};
    mx_aws_response resp;
    int rc = -1;
    json_t *j = NULL;
    if (mx_aws_send(&rq, keys, http, &resp, err) < 0) {
        mx_wrap(err, "%s", what);
        free(url);
        return -1;
    }
    if (resp.status != 200) {
        json_error(err, what, url, &resp, keys);
        goto done;
    }
    j = json_loadb(resp.body.data ? resp.body.data : "", resp.body.len, 0, NULL);
    json_t *d = json_array_get(json_object_get(j, "authorizationData"), 0);
    const char *tok = json_string_value(json_object_get(d, "authorizationToken"));
    json_t *exp = json_object_get(d, "expiresAt");
    const char *proxy = json_string_value(json_object_get(d, "proxyEndpoint"));
    if (!tok || !json_is_number(exp)) {
        mx_fail(err, MX_INFRA, "%s at %s: HTTP 200 without authorizationToken and expiresAt", what,
                url);
        goto done;
    }
    size_t n;
    unsigned char *raw = mx_b64_decode(tok, &n);
    char *colon = raw ? memchr(raw, ':', n) : NULL;
    if (!colon) {
        if (raw) OPENSSL_cleanse(raw, n);
        free(raw);
        mx_fail(err, MX_INFRA, "%s at %s: authorizationToken is not base64 of \"user:password\"",
                what, url);
        goto done;
    }
    out->username = mx_xstrndup((char *)raw, (size_t)(colon - (char *)raw));
    out->password = mx_xstrndup(colon + 1, n - (size_t)(colon + 1 - (char *)raw));
    OPENSSL_cleanse(raw, n);
    free(raw);
    out->expires_at = (time_t)json_number_value(exp); /* epoch seconds, may be fractional */
    out->obtained_at = time(NULL);
    out->proxy_endpoint = proxy ? mx_xstrdup(proxy) : NULL;
    rc = 0;
done:
    if (j) {
        json_t *t = json_object_get(json_array_get(json_object_get(j, "authorizationData"), 0),
                                    "authorizationToken");
        if (json_is_string(t)) OPENSSL_cleanse((char *)json_string_value(t), json_string_length(t));
    }
    json_decref(j);
    if (resp.body.data) OPENSSL_cleanse(resp.body.data, resp.body.len);
    mx_aws_response_free(&resp);
    free(url);
    return rc;
}

/* The web-identity token: given, or read from a file (trailing white space dropped). */
static char *web_identity_token(const mx_aws_auth *a, mx_err *err)
{
    if (a->web_identity_token && *a->web_identity_token) return mx_xstrdup(a->web_identity_token);
    if (!a->web_identity_token_file) {
        mx_fail(err, MX_USAGE, "role %s: no web-identity token (neither a value nor a file)",
                a->role_arn);
        return NULL;
    }
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file(a->web_identity_token_file, &b, err) < 0) {
        mx_buf_free(&b);
        mx_wrap(err, "role %s: web-identity token", a->role_arn);
        return NULL;
    }
    while (b.len &&
           (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' || b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    if (b.len == 0) {
        mx_buf_free(&b);
        mx_fail(err, MX_USAGE, "role %s: web-identity token file %s is empty", a->role_arn,
                a->web_identity_token_file);
        return NULL;
    }
    return mx_buf_steal(&b);
}

int mx_aws_ecr_login(const mx_aws_auth *auth, const char *registry_host,
                     const mx_aws_cache_opts *cache, const mx_aws_http *http, mx_ecr_token *out,
                     mx_err *err)
{
    memset(out, 0, sizeof *out);
    char *account = NULL, *region = NULL, *ecr_url = NULL, *sts_url = NULL, *wit = NULL;
    char *identity = NULL;
    mx_aws_temp_keys temp = {0};
    int rc = -1;
    if (!mx_aws_ecr_host(registry_host, &account, &region))
        return mx_fail(err, MX_USAGE,
                       "%s is not an ECR registry (ACCOUNT.dkr.ecr.REGION.amazonaws.com)",
                       registry_host);
    /* the token is for the registry's region; STS may be asked in the caller's region */
    const char *sts_region = auth->region && *auth->region ? auth->region : region;
    if (mx_aws_region_check(sts_region, err) < 0) goto done;
    int role = auth->role_arn && *auth->role_arn;
    if (role) {
        wit = web_identity_token(auth, err);
        if (!wit) goto done;
    } else if (!auth->access_key_id || !*auth->access_key_id || !auth->secret_access_key ||
               !*auth->secret_access_key) {
        mx_fail(err, MX_USAGE, "no AWS access key id and secret access key, and no OIDC role");
        goto done;
    }
    /* the cache answers only for the identity that filled it */
    identity = mx_aws_identity_key(auth, wit);
    if (!identity) {
        mx_fail(err, MX_INFRA, "cannot derive the token cache key");
        goto done;
    }
    time_t now = cache && cache->now ? cache->now : time(NULL);
    long margin = cache && cache->margin_s ? cache->margin_s : MX_ECR_REFRESH_MARGIN;
    if (cache && cache->dir) {
        int hit = mx_aws_cache_load(cache->dir, account, region, identity, now, margin, out, err);
        if (hit < 0) goto done;
        if (hit) {
            rc = 0;
            goto done;
        }
    }
    /* endpoints: the caller's (host settings, tests) or AWS's own, built from checked regions */
    ecr_url = auth->ecr_url ? mx_xstrdup(auth->ecr_url) : mx_aws_ecr_endpoint(region);
    mx_aws_keys keys = {auth->access_key_id, auth->secret_access_key, auth->session_token};
    if (role) {
        sts_url = auth->sts_url ? mx_xstrdup(auth->sts_url) : mx_aws_sts_endpoint(sts_region);
        if (mx_aws_sts_assume_role_web_identity(sts_url, sts_region, auth->role_arn,
                                                auth->role_session_name ? auth->role_session_name
                                                                        : "mexec",
                                                wit, http, &temp, err) < 0)
            goto done;
        keys = (mx_aws_keys){temp.access_key_id, temp.secret_access_key, temp.session_token};
    }
    if (mx_aws_ecr_get_token(ecr_url, region, &keys, http, out, err) < 0) goto done;
    /* a token must never be treated as newer than it is: the clock the cache judges by */
    if (cache && cache->now) out->obtained_at = cache->now;
    if (cache && cache->dir &&
        mx_aws_cache_store(cache->dir, account, region, identity, out, err) < 0) {
        mx_ecr_token_free(out);
        goto done;
    }
    rc = 0;
done:
    if (rc < 0) mx_wrap(err, "ECR login to %s", registry_host);
    mx_aws_temp_keys_free(&temp);
    secret_free(wit);
    free(identity);
    free(account);
    free(region);
    free(ecr_url);
    free(sts_url);
    return rc;
}
