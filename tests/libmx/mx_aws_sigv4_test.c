/* SigV4 from libcurl (mx_aws_send) against AWS's published test-suite signatures and against
 * botocore signing the same requests, including the ECR GetAuthorizationToken call.
 *
 * The requests go to the fake in echo mode on 127.0.0.1, which returns the headers it received;
 * CURLOPT_CONNECT_TO sends "example.amazonaws.com" there, so the Host that is signed is the
 * vector's while no name is resolved and no other address is contacted. */
#include "fake_aws.h"
#include "mx_aws.h"
#include "mx_proc.h"

#include <jansson.h>

static fake_aws echo;
static json_t *suite;

static int setup(void **state)
{
    (void)state;
    fake_aws_no_proxy();
    fake_aws_start(&echo, MX_CRED_FIXTURES "/fake_aws.json", 1);
    json_error_t je;
    suite = json_load_file(MX_CRED_FIXTURES "/sigv4_vectors.json", 0, &je);
    if (!suite) fail_msg("sigv4_vectors.json: %s", je.text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_aws_stop(&echo);
    json_decref(suite);
    return 0;
}

static const char *sget(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    if (!v) fail_msg("missing %s", k);
    return v;
}

/* Sends the request through libcurl to the echo fake; returns the Authorization it sent. */
static char *libcurl_authorization(const char *host, const char *method, const char *path,
                                   const char *const *headers, const char *body, const char *region,
                                   const char *service, const mx_aws_keys *keys,
                                   const char *amz_date)
{
    char *url = mx_xasprintf("http://%s%s", host, path);
    char *connect_to = mx_xasprintf("%s:80:127.0.0.1:%d", host, echo.port);
    mx_aws_http http = {.connect_to = connect_to, .amz_date = amz_date};
    mx_aws_request rq = {.method = method,
                         .url = url,
                         .region = region,
                         .service = service,
                         .headers = headers,
                         .body = body,
                         .body_len = strlen(body)};
    mx_aws_response resp;
    mx_err err = {0};
    if (mx_aws_send(&rq, keys, &http, &resp, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(resp.status, 200);
    json_t *j = json_loads(resp.body.data, 0, NULL);
    assert_non_null(j);
    char *auth = NULL;
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(j, "headers"), i, h)
    {
        if (strcasecmp(json_string_value(json_array_get(h, 0)), "Authorization") == 0)
            auth = mx_xstrdup(json_string_value(json_array_get(h, 1)));
    }
    assert_non_null(auth);
    json_decref(j);
    mx_aws_response_free(&resp);
    free(url);
    free(connect_to);
    return auth;
}

/* botocore's Authorization for the same request (request JSON in a 0600 file, not argv). */
static char *botocore_authorization(json_t *req)
{
    char *dir = tu_mkdtemp();
    char *path = mx_path_join(dir, "req.json");
    char *text = json_dumps(req, 0);
    mx_err err = {0};
    if (mx_write_file(path, text, strlen(text), 0600, &err) < 0) fail_msg("%s", err.msg);
    const char *argv[] = {"/usr/bin/python3", MX_CRED_FIXTURES "/botosign.py", path, NULL};
    mx_buf out;
    mx_buf_init(&out);
    if (mx_proc_check(argv, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    while (out.len && out.data[out.len - 1] == '\n')
        out.data[--out.len] = '\0';
    free(text);
    free(path);
    tu_rmdir(dir);
    return mx_buf_steal(&out);
}

static void test_published_vectors(void **state)
{
    (void)state;
    const char *akid = sget(suite, "access_key"), *region = sget(suite, "region");
    const char *service = sget(suite, "service"), *date = sget(suite, "amz_date");
    const char *host = sget(suite, "host");
    mx_aws_keys keys = {akid, sget(suite, "secret_key"), NULL};
    size_t i, checked = 0;
    json_t *v;
    json_array_foreach(json_object_get(suite, "vectors"), i, v)
    {
        if (!json_is_true(json_object_get(v, "libcurl"))) continue;
        const char *hdrs[8] = {0};
        char *owned[8] = {0};
        size_t k;
        json_t *pair;
        json_array_foreach(json_object_get(v, "headers"), k, pair)
        {
            owned[k] = mx_xasprintf("%s: %s", json_string_value(json_array_get(pair, 0)),
                                    json_string_value(json_array_get(pair, 1)));
            hdrs[k] = owned[k];
        }
        char *got = libcurl_authorization(host, sget(v, "method"), sget(v, "path"), hdrs,
                                          sget(v, "body"), region, service, &keys, date);
        char *want = mx_xasprintf("AWS4-HMAC-SHA256 Credential=%s/%.8s/%s/%s/aws4_request, "
                                  "SignedHeaders=%s, Signature=%s",
                                  akid, date, region, service, sget(v, "signed_headers"),
                                  sget(v, "signature"));
        if (strcmp(got, want) != 0) fail_msg("%s:\n got  %s\n want %s", sget(v, "name"), got, want);
        free(got);
        free(want);
        for (k = 0; k < 8; k++)
            free(owned[k]);
        checked++;
    }
    assert_true(checked >= 7);
}

/* The exact call mexec makes to ECR, signed by libcurl and by botocore at the same instant. */
static void check_ecr_against_botocore(const char *session_token)
{
    const char *host = "api.ecr.us-west-2.amazonaws.com";
    const char *date = "20261122T101500Z";
    mx_aws_keys keys = {"AKIDFAKEEXAMPLE00001", "fakeSecretKey/ForTests+OnlyOnLoopback00",
                        session_token};
    const char *headers[] = {
        "Content-Type: application/x-amz-json-1.1",
        "X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", NULL};
    char *got =
        libcurl_authorization(host, "POST", "/", headers, "{}", "us-west-2", "ecr", &keys, date);
    json_t *req =
        json_pack("{s:s, s:s, s:[[s,s],[s,s]], s:s, s:s, s:s, s:s, s:s, s:s}", "method", "POST",
                  "url", "http://api.ecr.us-west-2.amazonaws.com/", "headers", "Content-Type",
                  "application/x-amz-json-1.1", "X-Amz-Target",
                  "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken", "body", "{}",
                  "access_key", keys.access_key_id, "secret_key", keys.secret_access_key, "region",
                  "us-west-2", "service", "ecr", "amz_date", date);
    assert_non_null(req);
    if (session_token) json_object_set_new(req, "session_token", json_string(session_token));
    char *want = botocore_authorization(req);
    assert_string_equal(got, want);
    tu_assert_contains(got, session_token ? "SignedHeaders=content-type;host;x-amz-date;"
                                            "x-amz-security-token;x-amz-target"
                                          : "SignedHeaders=content-type;host;x-amz-date;"
                                            "x-amz-target");
    json_decref(req);
    free(got);
    free(want);
}

static void test_ecr_request_matches_botocore(void **state)
{
    (void)state;
    check_ecr_against_botocore(NULL);
}

static void test_ecr_request_with_session_token_matches_botocore(void **state)
{
    (void)state;
    check_ecr_against_botocore("FQoGZXIvYXdzEXAMPLE//session+token==");
}

/* A transport failure names the method and URL (port 9 on loopback: nothing listens). */
static void test_transport_error_names_url(void **state)
{
    (void)state;
    mx_aws_request rq = {.method = "POST",
                         .url = "http://127.0.0.1:9/",
                         .region = "us-east-1",
                         .service = "ecr",
                         .body = "{}",
                         .body_len = 2};
    mx_aws_keys keys = {"AKID", "SECRETSECRET", NULL};
    mx_aws_response resp;
    mx_err err = {0};
    assert_int_equal(mx_aws_send(&rq, &keys, NULL, &resp, &err), -1);
    tu_assert_contains(err.msg, "POST http://127.0.0.1:9/");
    tu_assert_not_contains(err.msg, "SECRETSECRET");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_ecr_request_matches_botocore),
        cmocka_unit_test(test_ecr_request_with_session_token_matches_botocore),
        cmocka_unit_test(test_transport_error_names_url),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
