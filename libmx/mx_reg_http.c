/* One HTTP exchange with a registry: response capture, retries with backoff, the auth round
 * trip on 401, and error messages that name the registry and the status. */
#include "mx_reg_int.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Error bodies are JSON of a few hundred bytes; keep enough to quote, never a whole page. */
#define ERROR_BODY_LIMIT (64 * 1024)

void mx_reg_resp_init(mx_reg_resp *r)
{
    *r = (mx_reg_resp){0};
    mx_buf_init(&r->body);
    mx_www_auth_init(&r->auth);
}

static void clear_headers(mx_reg_resp *r)
{
    free(r->content_type);
    free(r->docker_digest);
    free(r->retry_after);
    free(r->auth_error);
    r->content_type = r->docker_digest = r->retry_after = r->auth_error = NULL;
    mx_www_auth_free(&r->auth);
}

void mx_reg_resp_reset(mx_reg_resp *r)
{
    clear_headers(r);
    mx_buf_free(&r->body);
    r->status = 0;
    r->sink_failed = 0;
}

void mx_reg_resp_free(mx_reg_resp *r)
{
    mx_reg_resp_reset(r);
}

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return mx_xstrndup(s, n);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
    mx_reg_resp *r = arg;
    size_t len = size * n;
    /* a status line starts a new response (after a redirect or 100 Continue): forget the
     * previous one's headers */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
        clear_headers(r);
        return len;
    }
    const char *colon = memchr(p, ':', len);
    if (!colon) return len;
    size_t nl = (size_t)(colon - p);
    char *value = trimmed(colon + 1, len - nl - 1);
    /* header names compare case-insensitively: HTTP/2 sends them lower-case */
    if (nl == 12 && strncasecmp(p, "Content-Type", nl) == 0) {
        free(r->content_type);
        r->content_type = value;
    } else if (nl == 21 && strncasecmp(p, "Docker-Content-Digest", nl) == 0) {
        free(r->docker_digest);
        r->docker_digest = value;
    } else if (nl == 11 && strncasecmp(p, "Retry-After", nl) == 0) {
        free(r->retry_after);
        r->retry_after = value;
    } else if (nl == 16 && strncasecmp(p, "WWW-Authenticate", nl) == 0) {
        mx_err e;
        if (mx_www_auth_parse(&r->auth, value, &e) < 0 && !r->auth_error)
            r->auth_error = mx_xstrdup(e.msg);
        free(value);
    } else {
        free(value);
    }
    return len;
}

static size_t on_body(char *p, size_t size, size_t n, void *arg)
{
    mx_reg_resp *r = arg;
    size_t len = size * n;
    long status = 0;
    if (curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK) return 0;
    int ok = status >= 200 && status < 300;
    if (ok && r->sink) {
        if (r->sink->write(r->sink->arg, p, len) < 0) {
            r->sink_failed = 1;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
        r->delivered += len;
        return len;
    }
    size_t limit = ok && r->body_limit ? r->body_limit : ERROR_BODY_LIMIT;
    if (r->body.len + len > limit) {
        if (ok) {
            r->sink_failed = 1; /* a manifest larger than any real one: refuse */
            return 0;
        }
        len = r->body.len < limit ? limit - r->body.len : 0;
        mx_buf_add(&r->body, p, len);
        return size * n;
    }
    mx_buf_add(&r->body, p, len);
    return len;
}

int mx_reg_easy_capture(CURL *e, mx_reg_resp *r, mx_err *err)
{
    r->easy = e;
    MX_REG_SETOPT(e, CURLOPT_HEADERFUNCTION, on_header);
    MX_REG_SETOPT(e, CURLOPT_HEADERDATA, r);
    MX_REG_SETOPT(e, CURLOPT_WRITEFUNCTION, on_body);
    MX_REG_SETOPT(e, CURLOPT_WRITEDATA, r);
    return 0;
}

const char *mx_reg_reason(long s)
{
    switch (s) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 416:
        return "Range Not Satisfiable";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    case 504:
        return "Gateway Timeout";
    default:
        return "";
    }
}

/* The registry's own words: errors[0] of the distribution error body, or the token servers'
 * "details"/"message"; else the first line of a short text body. */
static char *body_message(const mx_reg_resp *r)
{
    if (!r->body.len) return NULL;
    json_error_t je;
    json_t *j = json_loadb(r->body.data, r->body.len, 0, &je);
    char *msg = NULL;
    if (j) {
        json_t *e0 = json_array_get(json_object_get(j, "errors"), 0);
        const char *code = json_string_value(json_object_get(e0, "code"));
        const char *m = json_string_value(json_object_get(e0, "message"));
        if (!m) m = json_string_value(json_object_get(j, "details"));
        if (!m) m = json_string_value(json_object_get(j, "message"));
        if (!m) m = json_string_value(json_object_get(j, "error"));
        if (code && m)
            msg = mx_xasprintf("%s: %s", code, m);
        else if (m)
            msg = mx_xstrdup(m);
        json_decref(j);
        return msg;
    }
    size_t n = strcspn(r->body.data, "\r\n");
    if (n > 200) n = 200;
    for (size_t i = 0; i < n; i++)
        if (!isprint((unsigned char)r->body.data[i])) return NULL;
    return n ? mx_xstrndup(r->body.data, n) : NULL;
}

int mx_reg_http_error(mx_reg_client *c, const char *method, const char *path, const mx_reg_resp *r,
                      mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    const char *reason = mx_reg_reason(r->status);
    mx_buf_printf(&b, "registry %s: %s %s: HTTP %ld%s%s", c->registry, method, path, r->status,
                  *reason ? " " : "", reason);
    char *m = body_message(r);
    if (m) mx_buf_printf(&b, ": %s", m);
    free(m);
    const mx_www_challenge *ch = mx_www_auth_find(&r->auth, "Bearer");
    const char *why = ch ? mx_www_param_get(ch, "error") : NULL;
    if (why) mx_buf_printf(&b, " (%s)", why);
    int st = r->status >= 500 || r->status == 429 ? MX_INFRA : MX_USAGE;
    mx_fail(err, st, "%s", b.data);
    mx_buf_free(&b);
    return -1;
}

void mx_reg_sleep(mx_reg_client *c, long ms)
{
    if (c->sleep_ms) {
        c->sleep_ms(c->sleep_arg, ms);
        return;
    }
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static double jitter(void)
{
    /* spreading retries needs no cryptographic randomness */
    return (double)(random() % 1000) / 1000.0;
}

/* A retry must start the body over: possible if nothing reached the sink or it can reset. */
static int can_restart(mx_reg_resp *r)
{
    if (!r->sink || r->delivered == 0) return 1;
    if (!r->sink->reset || r->sink->reset(r->sink->arg) < 0) return 0;
    r->delivered = 0;
    return 1;
}

static int perform_loop(mx_reg_client *c, CURL *e, mx_reg_resp *r, const char *what, char *errbuf,
                        mx_err *err)
{
    for (int retry = 0;; retry++) {
        errbuf[0] = '\0';
        mx_reg_resp_reset(r);
        CURLcode rc = curl_easy_perform(e);
        if (rc != CURLE_OK) {
            if (r->sink_failed)
                return mx_fail(err, MX_INFRA, "registry %s: %s: %s", c->registry, what,
                               r->sink ? "writing the response failed"
                                       : "response larger than a manifest may be");
            if (mx_reg_retryable_curl(rc) && retry < c->backoff.max_retries && can_restart(r)) {
                mx_reg_sleep(c, mx_reg_backoff_ms(&c->backoff, retry, -1, jitter()));
                continue;
            }
            return mx_fail(err, MX_INFRA, "registry %s: %s: %s", c->registry, what,
                           errbuf[0] ? errbuf : curl_easy_strerror(rc));
        }
        CURLcode irc = curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &r->status);
        if (irc != CURLE_OK)
            return mx_fail(err, MX_INFRA, "registry %s: %s: %s", c->registry, what,
                           curl_easy_strerror(irc));
        if (mx_reg_retryable_http(r->status) && retry < c->backoff.max_retries && can_restart(r)) {
            long ra = mx_reg_retry_after_ms(r->retry_after, time(NULL));
            mx_reg_sleep(c, mx_reg_backoff_ms(&c->backoff, retry, ra, jitter()));
            continue;
        }
        return 0;
    }
}

int mx_reg_perform(mx_reg_client *c, CURL *e, mx_reg_resp *r, const char *what, mx_err *err)
{
    char errbuf[CURL_ERROR_SIZE];
    MX_REG_SETOPT(e, CURLOPT_ERRORBUFFER, errbuf);
    int rc = perform_loop(c, e, r, what, errbuf, err);
    /* the handle outlives errbuf */
    MX_REG_SETOPT(e, CURLOPT_ERRORBUFFER, NULL);
    return rc;
}

static int add_header(struct curl_slist **h, const char *line, mx_err *err)
{
    struct curl_slist *n = curl_slist_append(*h, line);
    if (!n) return mx_fail(err, MX_INFRA, "curl_slist_append failed");
    *h = n;
    return 0;
}

static int request_once(mx_reg_client *c, const char *method, const char *url, const char *what,
                        const char *scope, const char *accept, mx_reg_resp *r, mx_err *err)
{
    struct curl_slist *h = NULL;
    curl_easy_reset(c->easy);
    int rc = -1;
    if (mx_reg_easy_setup(c, c->easy, err) < 0 || mx_reg_easy_capture(c->easy, r, err) < 0)
        goto out;
    char *auth = mx_reg_auth_header(c, scope);
    if (auth) {
        int a = add_header(&h, auth, err);
        free(auth);
        if (a < 0) goto out;
    }
    if (accept) {
        char *line = mx_xasprintf("Accept: %s", accept);
        int a = add_header(&h, line, err);
        free(line);
        if (a < 0) goto out;
    }
    CURLcode cc;
    if ((cc = curl_easy_setopt(c->easy, CURLOPT_URL, url)) != CURLE_OK ||
        (cc = curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, h)) != CURLE_OK ||
        (strcmp(method, "HEAD") == 0 &&
         (cc = curl_easy_setopt(c->easy, CURLOPT_NOBODY, 1L)) != CURLE_OK)) {
        mx_fail(err, MX_INFRA, "curl_easy_setopt: %s", curl_easy_strerror(cc));
        goto out;
    }
    rc = mx_reg_perform(c, c->easy, r, what, err);
out:
    /* the handle must not keep a pointer to the list freed here */
    if (curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER, NULL) != CURLE_OK && rc == 0)
        rc = mx_fail(err, MX_INFRA, "curl_easy_setopt(CURLOPT_HTTPHEADER) failed");
    curl_slist_free_all(h);
    return rc;
}

int mx_reg_request(mx_reg_client *c, const char *method, const char *path, const char *scope,
                   const char *accept, mx_reg_resp *r, mx_err *err)
{
    char *url = mx_xasprintf("%s%s", c->base, path);
    char *what = mx_xasprintf("%s %s", method, path);
    int rc;
    for (int pass = 0;; pass++) {
        rc = request_once(c, method, url, what, scope, accept, r, err);
        if (rc < 0 || r->status != 401 || pass > 0) break;
        /* 1: no challenge we can answer, so the 401 stands */
        int a = mx_reg_authenticate(c, r, scope, err);
        if (a < 0) {
            rc = -1;
            break;
        }
        if (a > 0) break;
        if (!can_restart(r)) break;
    }
    free(url);
    free(what);
    return rc;
}
