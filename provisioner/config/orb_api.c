/* One question to CircleCI's orb API (see orb_registry.h): the source of NS/NAME@VERSION. */
#include "orb_registry.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* JSON escapes make a reply somewhat larger than the source it carries */
#define MAX_REPLY (MX_ORB_MAX_SOURCE + MX_ORB_MAX_SOURCE / 2)

static const char query[] =
    "query($orbVersionRef: String!) { orbVersion(orbVersionRef: $orbVersionRef) "
    "{ id version orb { id name } source } }";

static CURLcode global_rc = CURLE_OK;
static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
    mx_buf *b = ctx;
    size_t len = size * n;
    if (b->len + len > MAX_REPLY) return 0; /* aborts the transfer */
    mx_buf_add(b, data, len);
    return len;
}

/* POSTs body to api; *status is the HTTP status.  -1: no answer (err says why). */
static int post(const char *api, const char *body, long timeout_s, long *status, mx_buf *reply,
                mx_err *err)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    if (global_rc != CURLE_OK)
        return mx_fail(err, MX_INFRA, "libcurl initialization: %s", curl_easy_strerror(global_rc));
    CURL *h = curl_easy_init();
    if (!h) return mx_fail(err, MX_INFRA, "orb registry %s: curl_easy_init failed", api);
    struct curl_slist *hdrs = NULL, *n;
    char errbuf[CURL_ERROR_SIZE] = "";
    int rc = -1;
    CURLcode c = CURLE_OK;
    if ((n = curl_slist_append(hdrs, "Content-Type: application/json")) != NULL) hdrs = n;
    if (n && (n = curl_slist_append(hdrs, "Accept: application/json")) != NULL) hdrs = n;
    if (!n) {
        mx_fail(err, MX_INFRA, "orb registry %s: out of memory", api);
        goto out;
    }
#define SET(opt, val)                                                                              \
    if (c == CURLE_OK) c = curl_easy_setopt(h, opt, val)
    SET(CURLOPT_URL, api);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_CONNECTTIMEOUT, timeout_s < 10 ? timeout_s : 10L);
    SET(CURLOPT_TIMEOUT, timeout_s);
    SET(CURLOPT_USERAGENT, "mexec");
    SET(CURLOPT_HTTPHEADER, hdrs);
    SET(CURLOPT_POST, 1L);
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    SET(CURLOPT_POSTFIELDS, body);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, reply);
#undef SET
    if (c != CURLE_OK) {
        mx_fail(err, MX_INFRA, "orb registry %s: libcurl: %s", api, curl_easy_strerror(c));
        goto out;
    }
    c = curl_easy_perform(h);
    if (c == CURLE_WRITE_ERROR && reply->len + CURL_MAX_WRITE_SIZE > MAX_REPLY) {
        mx_fail(err, MX_INFRA, "orb registry %s: the reply is larger than %u bytes", api,
                (unsigned)MAX_REPLY);
        goto out;
    }
    if (c != CURLE_OK) {
        mx_fail(err, MX_INFRA, "orb registry %s: %s", api,
                errbuf[0] ? errbuf : curl_easy_strerror(c));
        goto out;
    }
    c = curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
    if (c != CURLE_OK) {
        mx_fail(err, MX_INFRA, "orb registry %s: %s", api, curl_easy_strerror(c));
        goto out;
    }
    rc = 0;
out:
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);
    return rc;
}

/* The reply's orbVersion, checked against what was asked. */
static int parse_reply(const char *api, const char *ref, const mx_buf *reply, char **version,
                       mx_buf *source, enum mx_orb_fetch *result, mx_err *err)
{
    json_error_t je;
    json_t *root = json_loadb(reply->data ? reply->data : "", reply->len, 0, &je);
    if (!root || !json_is_object(root)) {
        json_decref(root);
        return mx_fail(err, MX_INFRA, "orb registry %s: %s: the reply is not JSON (%s)", api, ref,
                       je.text);
    }
    int rc = -1;
    json_t *errors = json_object_get(root, "errors");
    if (json_is_array(errors) && json_array_size(errors) > 0) {
        const char *msg = json_string_value(json_object_get(json_array_get(errors, 0), "message"));
        /* the API reports an unknown orb or version as an error, or as a null orbVersion */
        *result = MX_ORB_UNKNOWN;
        mx_fail(err, MX_USAGE, "orb registry %s: %s: %.300s", api, ref, msg ? msg : "error");
        rc = 0;
        goto out;
    }
    json_t *ov = json_object_get(json_object_get(root, "data"), "orbVersion");
    if (json_is_null(ov) || (json_is_object(ov) && !json_string_value(json_object_get(ov, "id")))) {
        *result = MX_ORB_UNKNOWN;
        mx_fail(err, MX_USAGE, "orb registry %s: there is no orb %s", api, ref);
        rc = 0;
        goto out;
    }
    const char *v = json_string_value(json_object_get(ov, "version"));
    const char *src = json_string_value(json_object_get(ov, "source"));
    const char *name = json_string_value(json_object_get(json_object_get(ov, "orb"), "name"));
    size_t idlen = strcspn(ref, "@");
    if (!v || !src || !mx_orb_version_exact(v)) {
        mx_fail(err, MX_INFRA, "orb registry %s: %s: the reply has no exact version and source",
                api, ref);
        goto out;
    }
    if (name && (strlen(name) != idlen || strncmp(name, ref, idlen) != 0)) {
        mx_fail(err, MX_INFRA, "orb registry %s: asked for %s, got orb %.200s", api, ref, name);
        goto out;
    }
    size_t len = json_string_length(json_object_get(ov, "source"));
    if (len > MX_ORB_MAX_SOURCE) {
        mx_fail(err, MX_INFRA, "orb registry %s: %.*s@%s: its source is larger than %u bytes", api,
                (int)idlen, ref, v, (unsigned)MX_ORB_MAX_SOURCE);
        goto out;
    }
    *version = mx_xstrdup(v);
    mx_buf_add(source, src, len);
    *result = MX_ORB_FOUND;
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int mx_orb_api_fetch(const char *api, const char *ref, long timeout_s, char **version,
                     mx_buf *source, enum mx_orb_fetch *result, mx_err *err)
{
    *version = NULL;
    *result = MX_ORB_UNREACHABLE;
    json_t *req = json_pack("{s:s, s:{s:s}}", "query", query, "variables", "orbVersionRef", ref);
    char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    json_decref(req);
    if (!body) return mx_fail(err, MX_INFRA, "orb registry %s: cannot encode the query", api);
    mx_buf reply;
    mx_buf_init(&reply);
    long status = 0;
    int rc = post(api, body, timeout_s > 0 ? timeout_s : 1, &status, &reply, err);
    free(body);
    if (rc < 0) { /* *result stays unreachable: err says why */
        mx_buf_free(&reply);
        return 0;
    }
    if (status >= 500 || status == 429) {
        mx_fail(err, MX_INFRA, "orb registry %s: %s: HTTP status %ld", api, ref, status);
    } else if (status != 200) {
        *result = MX_ORB_UNKNOWN;
        mx_fail(err, MX_USAGE, "orb registry %s: %s: HTTP status %ld", api, ref, status);
    } else {
        rc = parse_reply(api, ref, &reply, version, source, result, err);
    }
    mx_buf_free(&reply);
    return rc;
}
