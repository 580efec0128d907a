/* STS AssumeRoleWithWebIdentity: an OIDC token (CircleCI's, GitLab's) exchanged for temporary
 * keys (see mx_aws.h). */
#include "mx_aws.h"
#include "mx_mask.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void mx_aws_temp_keys_free(mx_aws_temp_keys *k)
{
    char *secrets[] = {k->secret_access_key, k->session_token};
    for (size_t i = 0; i < 2; i++)
        if (secrets[i]) OPENSSL_cleanse(secrets[i], strlen(secrets[i]));
    free(k->access_key_id);
    free(k->secret_access_key);
    free(k->session_token);
    memset(k, 0, sizeof *k);
}

/* The text of the first <tag>...</tag> in xml (entities decoded), or NULL.  STS answers in a
 * fixed, flat XML shape; a general XML parser would add a library for four fields. */
static char *xml_text(const char *xml, const char *tag)
{
    char *open = mx_xasprintf("<%s>", tag), *close = mx_xasprintf("</%s>", tag);
    const char *a = strstr(xml, open), *b = a ? strstr(a, close) : NULL;
    char *out = NULL;
    if (a && b) {
        a += strlen(open);
        mx_buf t;
        mx_buf_init(&t);
        static const struct {
            const char *ent, *ch;
        } ents[] = {
            {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}};
        while (a < b) {
            size_t i, n = 1;
            const char *ch = a;
            for (i = 0; *a == '&' && i < sizeof ents / sizeof *ents; i++) {
                size_t el = strlen(ents[i].ent);
                if ((size_t)(b - a) >= el && strncmp(a, ents[i].ent, el) == 0) {
                    ch = ents[i].ch;
                    n = el;
                    break;
                }
            }
            mx_buf_add(&t, ch, 1);
            a += n;
        }
        out = mx_buf_steal(&t);
    }
    free(open);
    free(close);
    return out;
}

static int add_param(mx_buf *b, CURL *h, const char *name, const char *value)
{
    char *enc = curl_easy_escape(h, value, 0);
    if (!enc) return -1;
    mx_buf_printf(b, "%s%s=%s", b->len ? "&" : "", name, enc);
    OPENSSL_cleanse(enc, strlen(enc));
    curl_free(enc);
    return 0;
}

static time_t parse_iso8601(const char *s)
{
    struct tm tm = {0};
    const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!end) return 0;
    return timegm(&tm);
}

int mx_aws_sts_assume_role_web_identity(const char *sts_url, const char *region,
                                        const char *role_arn, const char *session_name,
                                        const char *web_identity_token, const mx_aws_http *http,
                                        mx_aws_temp_keys *out, mx_err *err)
{
    memset(out, 0, sizeof *out);
    CURL *h = curl_easy_init(); /* only for URL-encoding */
    if (!h) return mx_fail(err, MX_INFRA, "STS %s: curl_easy_init failed", sts_url);
    mx_buf body;
    mx_buf_init(&body);
    mx_buf_adds(&body, "Action=AssumeRoleWithWebIdentity&Version=2011-06-15");
    int enc_ok = add_param(&body, h, "RoleArn", role_arn) == 0 &&
                 add_param(&body, h, "RoleSessionName", session_name) == 0 &&
                 add_param(&body, h, "WebIdentityToken", web_identity_token) == 0;
    curl_easy_cleanup(h);
    if (!enc_ok) {
        OPENSSL_cleanse(body.data, body.len);
        mx_buf_free(&body);
        return mx_fail(err, MX_INFRA, "STS %s: URL-encoding failed", sts_url);
    }
    char *url = mx_xasprintf("%s/", sts_url);
    const char *headers[] = {"Content-Type: application/x-www-form-urlencoded; charset=utf-8",
                             "Accept: text/xml", NULL};
    mx_aws_request rq = {.method = "POST",
                         .url = url,
                         .region = region,
                         .service = "sts",
                         .headers = headers,
                         .body = body.data,
                         .body_len = body.len};
    mx_aws_response resp;
    int rc = -1;
    /* unsigned: the web-identity token in the body is the credential */
    if (mx_aws_send(&rq, NULL, http, &resp, err) < 0) {
        mx_wrap(err, "STS AssumeRoleWithWebIdentity");
        goto done;
    }
    const char *xml = resp.body.data ? resp.body.data : "";
    if (resp.status != 200) {
        char *code = xml_text(xml, "Code"), *msg = xml_text(xml, "Message");
        /* the reply could quote what it was sent: mask the token */
        mx_secrets s;
        mx_secrets_init(&s);
        mx_secrets_add(&s, web_identity_token);
        char *masked = msg ? mx_secrets_mask(&s, msg) : NULL;
        mx_secrets_free(&s);
        mx_fail(err, MX_INFRA, "STS AssumeRoleWithWebIdentity at %s: HTTP %ld%s%s%s%s", url,
                resp.status, code ? ": " : "", code ? code : "", masked ? ": " : "",
                masked ? masked : "");
        free(code);
        free(msg);
        free(masked);
    } else {
        out->access_key_id = xml_text(xml, "AccessKeyId");
        out->secret_access_key = xml_text(xml, "SecretAccessKey");
        out->session_token = xml_text(xml, "SessionToken");
        char *exp = xml_text(xml, "Expiration");
        out->expiration = parse_iso8601(exp);
        free(exp);
        if (!out->access_key_id || !out->secret_access_key || !out->session_token) {
            mx_aws_temp_keys_free(out);
            mx_fail(err, MX_INFRA,
                    "STS AssumeRoleWithWebIdentity at %s: HTTP 200 without credentials", url);
        } else {
            rc = 0;
        }
    }
    if (resp.body.data) OPENSSL_cleanse(resp.body.data, resp.body.len);
    mx_aws_response_free(&resp);
done:
    OPENSSL_cleanse(body.data, body.len);
    mx_buf_free(&body);
    free(url);
    return rc;
}
