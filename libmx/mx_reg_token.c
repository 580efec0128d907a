/* Answering auth challenges: Basic with the client's credentials, or Bearer tokens from the
 * realm the registry names (docker's token protocol, distribution docs/spec/auth/token.md),
 * cached per scope until they expire. */
#include "mx_reg_int.h"

#include "mx_b64.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The token spec's default lifetime when the server does not say. */
#define DEFAULT_EXPIRES_IN 60
/* Renew a little early so a token does not expire in flight. */
#define EXPIRY_MARGIN 10

static time_t now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

void mx_reg_tokens_free(mx_reg_client *c)
{
    for (size_t i = 0; i < c->ntokens; i++) {
        free(c->tokens[i].scope);
        free(c->tokens[i].token);
    }
    free(c->tokens);
    c->tokens = NULL;
    c->ntokens = 0;
}

static mx_reg_token *find_token(mx_reg_client *c, const char *scope)
{
    for (size_t i = 0; i < c->ntokens; i++)
        if (strcmp(c->tokens[i].scope, scope) == 0) return &c->tokens[i];
    return NULL;
}

static void store_token(mx_reg_client *c, const char *scope, const char *token, long expires_in)
{
    mx_reg_token *t = find_token(c, scope);
    if (!t) {
        c->tokens = mx_xrealloc(c->tokens, (c->ntokens + 1) * sizeof *c->tokens);
        t = &c->tokens[c->ntokens++];
        t->scope = mx_xstrdup(scope);
    } else {
        free(t->token);
    }
    t->token = mx_xstrdup(token);
    t->expires = now_mono() + expires_in;
}

char *mx_reg_pull_scope(const char *repo)
{
    return mx_xasprintf("repository:%s:pull", repo);
}

char *mx_reg_auth_header(mx_reg_client *c, const char *scope)
{
    mx_reg_token *t = find_token(c, scope ? scope : "");
    if (t && t->expires - EXPIRY_MARGIN > now_mono())
        return mx_xasprintf("Authorization: Bearer %s", t->token);
    if (c->use_basic && c->username) {
        char *pair = mx_xasprintf("%s:%s", c->username, c->password);
        char *b = mx_b64_encode(pair, strlen(pair));
        char *h = mx_xasprintf("Authorization: Basic %s", b);
        memset(pair, 0, strlen(pair));
        free(pair);
        free(b);
        return h;
    }
    return NULL;
}

static int append_query(CURL *e, mx_buf *url, const char *name, const char *value, mx_err *err)
{
    char *v = curl_easy_escape(e, value, 0);
    if (!v) return mx_fail(err, MX_INFRA, "curl_easy_escape failed");
    mx_buf_printf(url, "%c%s=%s", strchr(url->data, '?') ? '&' : '?', name, v);
    curl_free(v);
    return 0;
}

static int parse_token_reply(mx_reg_client *c, const char *realm, const mx_reg_resp *r,
                             const char *scope, mx_err *err)
{
    json_error_t je;
    json_t *j = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, &je);
    if (!j)
        return mx_fail(err, MX_INFRA, "registry %s: token server %s: reply is not JSON: %s",
                       c->registry, realm, je.text);
    /* "token" per the spec; OAuth-style servers send "access_token"; either may be alone */
    const char *tok = json_string_value(json_object_get(j, "token"));
    if (!tok || !*tok) tok = json_string_value(json_object_get(j, "access_token"));
    if (!tok || !*tok) {
        json_decref(j);
        return mx_fail(err, MX_INFRA, "registry %s: token server %s: reply has no token",
                       c->registry, realm);
    }
    json_t *ex = json_object_get(j, "expires_in");
    long expires_in = json_is_integer(ex) && json_integer_value(ex) > 0
                          ? (long)json_integer_value(ex)
                          : DEFAULT_EXPIRES_IN;
    store_token(c, scope, tok, expires_in);
    json_decref(j);
    return 0;
}

/* A URL's scheme and host (lower-cased by libcurl's URL parser); 0, or -1 if it is no URL. */
static int url_parts(const char *url, char **scheme, char **host)
{
    *scheme = *host = NULL;
    CURLU *u = curl_url();
    if (!u) return -1;
    char *s = NULL, *h = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_SCHEME, &s, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
        *scheme = mx_xstrdup(s);
        *host = mx_xstrdup(h);
        rc = 0;
    }
    curl_free(s);
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

int mx_reg_realm_gets_credentials(const char *base, const char *realm)
{
    char *bs, *bh, *rs, *rh;
    if (url_parts(realm, &rs, &rh) < 0) return 0;
    int ok = 0;
    if (strcasecmp(rs, "https") == 0) {
        ok = 1;
    } else if (url_parts(base, &bs, &bh) == 0) {
        /* plain http: only where the user already chose plain http, the registry's own host */
        ok = strcasecmp(rs, "http") == 0 && strcasecmp(bs, "http") == 0 && strcasecmp(rh, bh) == 0;
        free(bs);
        free(bh);
    }
    free(rs);
    free(rh);
    return ok;
}

/* GET realm?service=S&scope=SCOPE&account=USER, with Basic credentials when we have them and
 * the realm may have them (mx_reg_realm_gets_credentials). */
static int fetch_token(mx_reg_client *c, const char *realm, const char *service,
                       const char *want_scope, const char *scope_key, mx_err *err)
{
    if (strncasecmp(realm, "https://", 8) != 0 && strncasecmp(realm, "http://", 7) != 0)
        return mx_fail(err, MX_INFRA, "registry %s: token realm \"%s\" is not an http(s) URL",
                       c->registry, realm);
    /* the registry names the realm: it must not be able to send our credentials in clear text
     * to a host of its choosing */
    if (c->username && !mx_reg_realm_gets_credentials(c->base, realm))
        return mx_fail(err, MX_INFRA,
                       "registry %s: token realm %s is plain http on another host than the "
                       "registry (%s): credentials are not sent there",
                       c->registry, realm, c->base);
    CURL *e = curl_easy_init();
    if (!e) return mx_fail(err, MX_INFRA, "registry %s: curl_easy_init failed", c->registry);
    mx_reg_resp r;
    mx_reg_resp_init(&r);
    r.body_limit = 1024 * 1024;
    mx_buf url;
    mx_buf_init(&url);
    mx_buf_adds(&url, realm);
    int rc = -1;
    if ((service && append_query(e, &url, "service", service, err) < 0) ||
        (*want_scope && append_query(e, &url, "scope", want_scope, err) < 0) ||
        (c->username && append_query(e, &url, "account", c->username, err) < 0))
        goto out;
    if (mx_reg_easy_setup(c, e, err) < 0 || mx_reg_easy_capture(e, &r, err) < 0) goto out;
    CURLcode cc;
    if ((cc = curl_easy_setopt(e, CURLOPT_URL, url.data)) != CURLE_OK ||
        (c->username &&
         ((cc = curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC)) != CURLE_OK ||
          (cc = curl_easy_setopt(e, CURLOPT_USERNAME, c->username)) != CURLE_OK ||
          (cc = curl_easy_setopt(e, CURLOPT_PASSWORD, c->password)) != CURLE_OK))) {
        mx_fail(err, MX_INFRA, "curl_easy_setopt: %s", curl_easy_strerror(cc));
        goto out;
    }
    char *what = mx_xasprintf("token server %s", realm);
    rc = mx_reg_perform(c, e, &r, what, err);
    if (rc == 0 && r.status != 200) {
        mx_reg_http_error(c, "GET", what, &r, err);
        rc = -1;
    }
    free(what);
    if (rc == 0) rc = parse_token_reply(c, realm, &r, scope_key, err);
out:
    curl_easy_cleanup(e);
    mx_buf_free(&url);
    mx_reg_resp_free(&r);
    return rc;
}

int mx_reg_authenticate(mx_reg_client *c, const mx_reg_resp *r, const char *scope, mx_err *err)
{
    const mx_www_challenge *bearer = mx_www_auth_find(&r->auth, "Bearer");
    if (bearer) {
        const char *realm = mx_www_param_get(bearer, "realm");
        if (!realm)
            return mx_fail(err, MX_INFRA, "registry %s: Bearer challenge without a realm",
                           c->registry);
        const char *service = mx_www_param_get(bearer, "service");
        free(c->realm);
        free(c->service);
        c->realm = mx_xstrdup(realm);
        c->service = service ? mx_xstrdup(service) : NULL;
        /* ask for what the registry says it needs, else what we are about to do; a login
         * asks with no scope at all */
        const char *want = mx_www_param_get(bearer, "scope");
        if (!want || !*scope) want = scope;
        /* a registry that denied a token it issued for this scope: do not loop */
        if (strcmp(want, scope) == 0 && mx_www_param_get(bearer, "error")) {
            mx_reg_token *t = find_token(c, scope);
            if (t && t->expires - EXPIRY_MARGIN > now_mono()) return 1;
        }
        return fetch_token(c, realm, service, want, scope, err) < 0 ? -1 : 0;
    }
    if (mx_www_auth_find(&r->auth, "Basic")) {
        if (!c->username || c->use_basic) return 1;
        c->use_basic = 1;
        return 0;
    }
    if (r->auth_error) return mx_fail(err, MX_INFRA, "registry %s: %s", c->registry, r->auth_error);
    return 1;
}
