/* One AWS HTTP call, signed by libcurl (see mx_aws.h).
 *
 * Why libcurl's CURLOPT_AWS_SIGV4 is enough here: the calls mexec signs are POSTs to "/" with
 * a JSON body (ECR), and libcurl 7.88 signs exactly that as AWS specifies — host, x-amz-date
 * and every header we add (Content-Type, X-Amz-Target, X-Amz-Security-Token), and the body's
 * SHA-256 — checked against AWS's published test vectors and botocore in the unit tests.
 * What it cannot do (7.88): sort query parameters into the canonical query string, so a
 * signed request must not carry more than one query parameter; none of ours carries any.
 * Known quirk: when the caller fixes the time with an X-Amz-Date header (tests only), libcurl
 * signs with it but also adds its own copy of the header. */
#include "mx_aws.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Anything larger is not an AWS API reply. */
#define MAX_BODY (4u << 20)

void mx_aws_response_free(mx_aws_response *r)
{
    mx_buf_free(&r->body);
    r->status = 0;
}

static CURLcode global_rc = CURLE_OK;
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    mx_buf *b = ctx;
    size_t len = size * n;
    if (b->len + len > MAX_BODY) return 0; /* aborts the transfer */
    mx_buf_add(b, data, len);
    return len;
}

#define SET(opt, val)                                                                              \
    do {                                                                                           \
        CURLcode c_ = curl_easy_setopt(h, opt, val);                                               \
        if (c_ != CURLE_OK) {                                                                      \
            mx_fail(err, MX_INFRA, "%s %s: libcurl option %s: %s", rq->method, rq->url, #opt,      \
                    curl_easy_strerror(c_));                                                       \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *n = curl_slist_append(*list, line);
    if (!n) return -1;
    *list = n;
    return 0;
}

int mx_aws_send(const mx_aws_request *rq, const mx_aws_keys *keys, const mx_aws_http *http,
                mx_aws_response *resp, mx_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    static const mx_aws_http none = {0};
    if (!http) http = &none;
    mx_buf_init(&resp->body);
    resp->status = 0;
    pthread_once(&once, global_init);
    if (global_rc != CURLE_OK)
        return mx_fail(err, MX_INFRA, "libcurl initialization: %s", curl_easy_strerror(global_rc));
    CURL *h = curl_easy_init();
    if (!h) return mx_fail(err, MX_INFRA, "%s %s: curl_easy_init failed", rq->method, rq->url);
    struct curl_slist *hdrs = NULL, *connect_to = NULL;
    char *sigv4 = NULL, *token_hdr = NULL, *date_hdr = NULL;
    char errbuf[CURL_ERROR_SIZE] = "";
    int rc = -1;

    SET(CURLOPT_URL, rq->url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_TIMEOUT, http->timeout_s > 0 ? http->timeout_s : 60L);
    SET(CURLOPT_CONNECTTIMEOUT, 15L);
    SET(CURLOPT_USERAGENT, "mexec");
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, &resp->body);
    if (http->ca_file) SET(CURLOPT_CAINFO, http->ca_file);
    if (http->connect_to) {
        if (add_header(&connect_to, http->connect_to) < 0) goto oom;
        SET(CURLOPT_CONNECT_TO, connect_to);
        SET(CURLOPT_NOPROXY, "*"); /* a redirected endpoint is reached directly */
    }
    if (strcmp(rq->method, "POST") == 0) {
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(rq->body ? rq->body_len : 0));
        SET(CURLOPT_POSTFIELDS, rq->body ? rq->body : "");
    } else if (strcmp(rq->method, "GET") != 0) {
        SET(CURLOPT_CUSTOMREQUEST, rq->method);
    }
    for (size_t i = 0; rq->headers && rq->headers[i]; i++)
        if (add_header(&hdrs, rq->headers[i]) < 0) goto oom;
    /* libcurl 7.88 announces "Expect: 100-continue" for bodies over 1 KiB (an STS request
     * with a long OIDC token).  "Expect:" turns that off, but libcurl would sign the empty
     * header too, so it goes only on unsigned calls; the signed ones carry "{}". */
    if (!keys && add_header(&hdrs, "Expect:") < 0) goto oom;
    if (keys) {
        sigv4 = mx_xasprintf("aws:amz:%s:%s", rq->region, rq->service);
        SET(CURLOPT_AWS_SIGV4, sigv4);
        /* separate options: a ':' in a key would split CURLOPT_USERPWD wrongly */
        SET(CURLOPT_USERNAME, keys->access_key_id);
        SET(CURLOPT_PASSWORD, keys->secret_access_key);
        if (keys->session_token && *keys->session_token) {
            /* AWS wants the session token signed: libcurl signs every header we pass */
            token_hdr = mx_xasprintf("X-Amz-Security-Token: %s", keys->session_token);
            if (add_header(&hdrs, token_hdr) < 0) goto oom;
        }
        if (http->amz_date) {
            date_hdr = mx_xasprintf("X-Amz-Date: %s", http->amz_date);
            if (add_header(&hdrs, date_hdr) < 0) goto oom;
        }
    }
    SET(CURLOPT_HTTPHEADER, hdrs);

    CURLcode c = curl_easy_perform(h);
    if (c != CURLE_OK) {
        mx_fail(err, MX_INFRA, "%s %s: %s", rq->method, rq->url,
                errbuf[0] ? errbuf : curl_easy_strerror(c));
        goto out;
    }
    c = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
    if (c != CURLE_OK) {
        mx_fail(err, MX_INFRA, "%s %s: response code: %s", rq->method, rq->url,
                curl_easy_strerror(c));
        goto out;
    }
    rc = 0;
    goto out;
oom:
    mx_fail(err, MX_INFRA, "%s %s: out of memory building headers", rq->method, rq->url);
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    curl_slist_free_all(connect_to);
    free(sigv4);
    if (token_hdr) {
        OPENSSL_cleanse(token_hdr, strlen(token_hdr));
        free(token_hdr);
    }
    free(date_hdr);
    if (rc < 0) mx_aws_response_free(resp);
    return rc;
}
