/* Client lifetime, per-registry transfer options, and the /v2/ checks (ping, login). */
#include "mx_reg_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

mx_reg_client *mx_reg_client_new(const char *registry, const mx_reg_creds *creds,
                                 const mx_reg_opts *opts, mx_err *err)
{
    if (pthread_once(&global_once, global_init) != 0 || global_rc != CURLE_OK) {
        mx_fail(err, MX_INFRA, "registry %s: curl_global_init failed", registry);
        return NULL;
    }
    if (!registry || !*registry || strpbrk(registry, "/?#@ ")) {
        mx_fail(err, MX_USAGE, "registry \"%s\": not a host[:port]", registry ? registry : "");
        return NULL;
    }
    mx_reg_opts none = {0};
    if (!opts) opts = &none;
    mx_reg_client *c = mx_xcalloc(1, sizeof *c);
    c->registry = mx_xstrdup(registry);
    const char *host = strcmp(registry, MX_REG_DOCKER_HUB) == 0 ? MX_REG_DOCKER_HUB_HOST : registry;
    c->base = mx_xasprintf("%s://%s", opts->insecure_http ? "http" : "https", host);
    if (creds && creds->username) {
        c->username = mx_xstrdup(creds->username);
        c->password = mx_xstrdup(creds->password ? creds->password : "");
    }
    if (opts->ca_file) c->ca_file = mx_xstrdup(opts->ca_file);
    c->backoff = opts->backoff ? *opts->backoff : mx_reg_backoff_default;
    c->sleep_ms = opts->sleep_ms;
    c->sleep_arg = opts->sleep_arg;
    c->parallel = opts->parallel > 0 ? opts->parallel : 6;
    c->easy = curl_easy_init();
    if (!c->easy) {
        mx_fail(err, MX_INFRA, "registry %s: curl_easy_init failed", registry);
        mx_reg_client_free(c);
        return NULL;
    }
    return c;
}

void mx_reg_client_free(mx_reg_client *c)
{
    if (!c) return;
    if (c->easy) curl_easy_cleanup(c->easy);
    mx_reg_tokens_free(c);
    free(c->registry);
    free(c->base);
    free(c->username);
    if (c->password) {
        /* the password is a secret: do not leave it in freed memory */
        volatile char *p = c->password;
        while (*p)
            *p++ = 0;
        free(c->password);
    }
    free(c->ca_file);
    free(c->realm);
    free(c->service);
    free(c);
}

int mx_reg_easy_setup(mx_reg_client *c, CURL *e, mx_err *err)
{
    MX_REG_SETOPT(e, CURLOPT_PROTOCOLS_STR, "http,https");
    /* blob GETs redirect to storage backends; curl drops our Authorization header when the
     * redirect leaves the host (CURLOPT_UNRESTRICTED_AUTH stays off) */
    MX_REG_SETOPT(e, CURLOPT_FOLLOWLOCATION, 1L);
    MX_REG_SETOPT(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    MX_REG_SETOPT(e, CURLOPT_MAXREDIRS, 10L);
    MX_REG_SETOPT(e, CURLOPT_CONNECTTIMEOUT, 30L);
    /* no overall timeout (layers can be large); a transfer stalled for a minute is dead */
    MX_REG_SETOPT(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    MX_REG_SETOPT(e, CURLOPT_LOW_SPEED_TIME, 60L);
    MX_REG_SETOPT(e, CURLOPT_NOSIGNAL, 1L);
    MX_REG_SETOPT(e, CURLOPT_USERAGENT, "mexec/0.1");
    if (c->ca_file) {
        MX_REG_SETOPT(e, CURLOPT_CAINFO, c->ca_file);
        /* keep trusting the system store too, for token realms and redirects elsewhere */
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        if (v && v->capath) MX_REG_SETOPT(e, CURLOPT_CAPATH, v->capath);
    }
    return 0;
}

int mx_reg_ping(mx_reg_client *c, int *auth_required, mx_err *err)
{
    mx_reg_resp r;
    mx_reg_resp_init(&r);
    curl_easy_reset(c->easy);
    char *url = mx_xasprintf("%s/v2/", c->base);
    int rc = -1;
    CURLcode cc = curl_easy_setopt(c->easy, CURLOPT_URL, url);
    if (cc != CURLE_OK) {
        mx_fail(err, MX_INFRA, "curl_easy_setopt(CURLOPT_URL): %s", curl_easy_strerror(cc));
        goto out;
    }
    /* anonymous on purpose: the question is whether the registry asks for auth */
    if (mx_reg_easy_setup(c, c->easy, err) < 0 || mx_reg_easy_capture(c->easy, &r, err) < 0 ||
        mx_reg_perform(c, c->easy, &r, "GET /v2/", err) < 0)
        goto out;
    if (r.status != 200 && r.status != 401) {
        mx_reg_http_error(c, "GET", "/v2/", &r, err);
        goto out;
    }
    if (auth_required) *auth_required = r.status == 401;
    rc = 0;
out:
    free(url);
    mx_reg_resp_free(&r);
    return rc;
}

int mx_reg_login(mx_reg_client *c, mx_err *err)
{
    if (!c->username)
        return mx_fail(err, MX_USAGE, "registry %s: login needs a username", c->registry);
    mx_reg_resp r;
    mx_reg_resp_init(&r);
    r.body_limit = 64 * 1024;
    int rc = mx_reg_request(c, "GET", "/v2/", "", NULL, &r, err);
    if (rc == 0 && r.status != 200) rc = mx_reg_http_error(c, "GET", "/v2/", &r, err);
    mx_reg_resp_free(&r);
    return rc;
}
