/* ECR/STS client against the fake endpoint (tests/credentials/fake_aws.py on 127.0.0.1), which
 * recomputes every SigV4 signature with botocore; plus the token cache and endpoint naming. */
#include "fake_aws.h"
#include "mx_aws.h"

#include <jansson.h>

#define AKID "AKIDFAKEEXAMPLE00001"
#define SECRET "fakeSecretKey/ForTests+OnlyOnLoopback00"
#define WRONG_SECRET "wrongSecretKey/ForTests+OnlyOnLoopback0"
#define ROLE "arn:aws:iam::123456789012:role/mexec-ecr-pull"
#define OIDC "eyJhbGciOiJSUzI1NiJ9.fake-oidc-token-for-tests.c2ln"
#define HOST "123456789012.dkr.ecr.us-west-2.amazonaws.com"

static fake_aws fake;
static char url[64];

static int setup(void **state)
{
    (void)state;
    fake_aws_no_proxy();
    fake_aws_start(&fake, MX_CRED_FIXTURES "/fake_aws.json", 0);
    snprintf(url, sizeof url, "http://127.0.0.1:%d", fake.port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_aws_stop(&fake);
    return 0;
}

/* How many tokens / role assumptions the fake has handed out. */
static long stat_of(const char *what)
{
    char *u = mx_xasprintf("%s/stats", url);
    mx_aws_request rq = {.method = "GET", .url = u};
    mx_aws_response resp;
    mx_err err = {0};
    if (mx_aws_send(&rq, NULL, NULL, &resp, &err) < 0) fail_msg("%s", err.msg);
    json_t *j = json_loads(resp.body.data, 0, NULL);
    long n = (long)json_integer_value(json_object_get(j, what));
    json_decref(j);
    mx_aws_response_free(&resp);
    free(u);
    return n;
}

static void test_keys_get_token(void **state)
{
    (void)state;
    mx_aws_keys keys = {AKID, SECRET, NULL};
    mx_ecr_token t;
    mx_err err = {0};
    time_t before = time(NULL);
    if (mx_aws_ecr_get_token(url, "us-west-2", &keys, NULL, &t, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(t.username, "AWS");
    tu_assert_contains(t.password, "ecr-canned-password-");
    assert_true(t.expires_at >= before + 43200 - 5);
    assert_string_equal(t.proxy_endpoint, "https://123456789012.dkr.ecr.us-west-2.amazonaws.com");
    mx_ecr_token_free(&t);
}

static void test_wrong_secret_is_403_naming_endpoint(void **state)
{
    (void)state;
    mx_aws_keys keys = {AKID, WRONG_SECRET, NULL};
    mx_ecr_token t;
    mx_err err = {0};
    assert_int_equal(mx_aws_ecr_get_token(url, "us-west-2", &keys, NULL, &t, &err), -1);
    char *want = mx_xasprintf("ECR GetAuthorizationToken at %s/: HTTP 403: "
                              "InvalidSignatureException",
                              url);
    tu_assert_contains(err.msg, want);
    tu_assert_not_contains(err.msg, WRONG_SECRET);
    tu_assert_not_contains(err.msg, SECRET);
    free(want);
}

static void test_unknown_key_is_rejected(void **state)
{
    (void)state;
    mx_aws_keys keys = {"AKIDNOBODY0000000000", SECRET, NULL};
    mx_ecr_token t;
    mx_err err = {0};
    assert_int_equal(mx_aws_ecr_get_token(url, "us-west-2", &keys, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "HTTP 403: UnrecognizedClientException");
    tu_assert_not_contains(err.msg, SECRET);
}

static void test_oidc_login(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *file = tu_write(dir, "oidc-token", OIDC "\n");
    long sts0 = stat_of("sts");
    mx_aws_auth by_value = {
        .role_arn = ROLE, .web_identity_token = OIDC, .ecr_url = url, .sts_url = url};
    mx_aws_auth by_file = {
        .role_arn = ROLE, .web_identity_token_file = file, .ecr_url = url, .sts_url = url};
    const mx_aws_auth *auths[] = {&by_value, &by_file};
    for (size_t i = 0; i < 2; i++) {
        mx_ecr_token t;
        mx_err err = {0};
        if (mx_aws_ecr_login(auths[i], HOST, NULL, NULL, &t, &err) < 0) fail_msg("%s", err.msg);
        assert_string_equal(t.username, "AWS");
        mx_ecr_token_free(&t);
    }
    /* each login assumed the role, and the fake accepted the temporary keys + session token */
    assert_int_equal(stat_of("sts"), sts0 + 2);
    free(file);
    tu_rmdir(dir);
}

static void test_oidc_bad_token(void **state)
{
    (void)state;
    mx_aws_auth a = {.role_arn = ROLE,
                     .web_identity_token = "not-the-right-oidc-token",
                     .ecr_url = url,
                     .sts_url = url};
    mx_ecr_token t;
    mx_err err = {0};
    assert_int_equal(mx_aws_ecr_login(&a, HOST, NULL, NULL, &t, &err), -1);
    char *want = mx_xasprintf("STS AssumeRoleWithWebIdentity at %s/: HTTP 400: "
                              "InvalidIdentityToken",
                              url);
    tu_assert_contains(err.msg, want);
    tu_assert_contains(err.msg, "ECR login to " HOST);
    tu_assert_not_contains(err.msg, "not-the-right-oidc-token");
    free(want);
    /* no token at all */
    mx_aws_auth none = {.role_arn = ROLE, .ecr_url = url, .sts_url = url};
    assert_int_equal(mx_aws_ecr_login(&none, HOST, NULL, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "no web-identity token");
}

static void test_cached_login_and_refresh(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *cache_dir = mx_path_join(dir, "cache");
    mx_aws_auth a = {.access_key_id = AKID, .secret_access_key = SECRET, .ecr_url = url};
    time_t t0 = time(NULL);
    mx_aws_cache_opts c = {.dir = cache_dir, .now = t0};
    mx_ecr_token first, again, later;
    mx_err err = {0};
    long n0 = stat_of("ecr");
    if (mx_aws_ecr_login(&a, HOST, &c, NULL, &first, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(stat_of("ecr"), n0 + 1);
    char *id = mx_aws_identity_key(&a, NULL);
    char *name = mx_xasprintf("ecr-123456789012-us-west-2-%s.json", id);
    char *file = mx_path_join(cache_dir, name);
    free(name);
    free(id);
    assert_int_equal(tu_mode(file), 0600);
    assert_int_equal(tu_mode(cache_dir), 0700);
    /* within the token's life minus the margin: served from the cache, no call */
    c.now = t0 + MX_ECR_MAX_LIFETIME - MX_ECR_REFRESH_MARGIN - 60;
    if (mx_aws_ecr_login(&a, HOST, &c, NULL, &again, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(stat_of("ecr"), n0 + 1);
    assert_string_equal(again.password, first.password);
    /* inside the refresh margin: a new token replaces the stale one */
    c.now = t0 + MX_ECR_MAX_LIFETIME - MX_ECR_REFRESH_MARGIN + 1;
    if (mx_aws_ecr_login(&a, HOST, &c, NULL, &later, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(stat_of("ecr"), n0 + 2);
    assert_string_not_equal(later.password, first.password);
    char *text = tu_read(file);
    tu_assert_contains(text, later.password);
    tu_assert_not_contains(text, first.password);
    free(text);
    mx_ecr_token_free(&first);
    mx_ecr_token_free(&again);
    mx_ecr_token_free(&later);
    free(file);
    free(cache_dir);
    tu_rmdir(dir);
}

/* Item 2 of issue 11: a token fetched with one job's keys is never served to another job with
 * other (here: wrong) keys for the same account and region; the owner still gets it cached. */
static void test_cache_serves_only_its_identity(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_aws_auth real = {.access_key_id = AKID, .secret_access_key = SECRET, .ecr_url = url};
    mx_aws_auth junk = {.access_key_id = AKID, .secret_access_key = WRONG_SECRET, .ecr_url = url};
    mx_aws_auth nobody = {
        .access_key_id = "AKIDNOBODY0000000000", .secret_access_key = "x", .ecr_url = url};
    mx_aws_cache_opts c = {.dir = dir};
    mx_ecr_token t;
    mx_err err = {0};
    if (mx_aws_ecr_login(&real, HOST, &c, NULL, &t, &err) < 0) fail_msg("%s", err.msg);
    char *fetched = mx_xstrdup(t.password);
    mx_ecr_token_free(&t);
    long n = stat_of("ecr");
    assert_int_equal(mx_aws_ecr_login(&junk, HOST, &c, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "InvalidSignatureException");
    assert_null(t.password);
    assert_int_equal(mx_aws_ecr_login(&nobody, HOST, &c, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "UnrecognizedClientException");
    /* the same keys again: from the cache, no call */
    if (mx_aws_ecr_login(&real, HOST, &c, NULL, &t, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(t.password, fetched);
    assert_int_equal(stat_of("ecr"), n);
    mx_ecr_token_free(&t);
    free(fetched);
    tu_rmdir(dir);
}

/* Item 1 of issue 11: a region is part of an endpoint's host name, so one that is not an AWS
 * region ("...@host/") is refused before any request; with no override, endpoints are AWS's. */
static void test_region_is_checked(void **state)
{
    (void)state;
    char *evil = mx_xasprintf("us-east-1@127.0.0.1:%d/", fake.port);
    long sts0 = stat_of("sts");
    mx_aws_auth a = {.role_arn = ROLE, .web_identity_token = OIDC, .region = evil};
    mx_ecr_token t;
    mx_err err = {0};
    assert_int_equal(mx_aws_ecr_login(&a, HOST, NULL, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "is not an AWS region");
    tu_assert_not_contains(err.msg, OIDC);
    assert_int_equal(stat_of("sts"), sts0);
    free(evil);
    const char *good[] = {"us-east-1",     "eu-central-2", "ap-southeast-5", "cn-northwest-1",
                          "us-gov-west-1", "il-central-1", "mx-central-1",   "ca-west-1",
                          "me-central-1",  "af-south-1",   "sa-east-1",      "ap-northeast-3"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        if (mx_aws_region_check(good[i], &err) < 0) fail_msg("%s: %s", good[i], err.msg);
    const char *bad[] = {"",
                         "us-east-1@evil.example/",
                         "us-east-1.evil.example",
                         "us-east-1/",
                         "US-EAST-1",
                         "us-east",
                         "us-east-123",
                         "useast-1",
                         "u-east-1",
                         "us--1",
                         "us-gov-1",
                         "us-east-1 ",
                         "us-east-1\n",
                         "evil.example#",
                         "us-east-1:443"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(mx_aws_region_check(bad[i], &err), -1);
        tu_assert_contains(err.msg, "is not an AWS region");
        assert_null(mx_aws_sts_endpoint(bad[i]));
        assert_null(mx_aws_ecr_endpoint(bad[i]));
    }
    assert_int_equal(mx_aws_region_check("us-iso-east-1", &err), -1);
    tu_assert_contains(err.msg, "isolated (ISO) partition");
}

static void test_login_input_errors(void **state)
{
    (void)state;
    mx_ecr_token t;
    mx_err err = {0};
    mx_aws_auth a = {.access_key_id = AKID, .secret_access_key = SECRET, .ecr_url = url};
    assert_int_equal(mx_aws_ecr_login(&a, "quay.io", NULL, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "quay.io is not an ECR registry");
    mx_aws_auth nokeys = {.ecr_url = url};
    assert_int_equal(mx_aws_ecr_login(&nokeys, HOST, NULL, NULL, &t, &err), -1);
    tu_assert_contains(err.msg, "no AWS access key id");
}

static void test_endpoints_and_hosts(void **state)
{
    (void)state;
    char *acct, *region;
    assert_int_equal(mx_aws_ecr_host(HOST, &acct, &region), 1);
    assert_string_equal(acct, "123456789012");
    assert_string_equal(region, "us-west-2");
    free(acct), free(region);
    assert_int_equal(
        mx_aws_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", &acct, &region), 1);
    assert_string_equal(region, "cn-north-1");
    free(acct), free(region);
    assert_int_equal(
        mx_aws_ecr_host("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", &acct, &region),
        1);
    assert_string_equal(region, "us-gov-west-1");
    free(acct), free(region);
    assert_int_equal(mx_aws_ecr_host("12345.dkr.ecr.us-east-1.amazonaws.com", &acct, &region), 0);
    assert_int_equal(mx_aws_ecr_host("123456789012.dkr.ecr.us-east-1.evil.com", &acct, &region), 0);
    /* not a region, or a region on another partition's domain */
    assert_int_equal(mx_aws_ecr_host("123456789012.dkr.ecr.x.amazonaws.com", &acct, &region), 0);
    assert_int_equal(
        mx_aws_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com", &acct, &region), 0);
    assert_int_equal(
        mx_aws_ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com.cn", &acct, &region), 0);
    char *e = mx_aws_ecr_endpoint("cn-northwest-1");
    assert_string_equal(e, "https://api.ecr.cn-northwest-1.amazonaws.com.cn");
    free(e);
    e = mx_aws_sts_endpoint("us-gov-west-1");
    assert_string_equal(e, "https://sts.us-gov-west-1.amazonaws.com");
    free(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keys_get_token),
        cmocka_unit_test(test_wrong_secret_is_403_naming_endpoint),
        cmocka_unit_test(test_unknown_key_is_rejected),
        cmocka_unit_test(test_oidc_login),
        cmocka_unit_test(test_oidc_bad_token),
        cmocka_unit_test(test_cached_login_and_refresh),
        cmocka_unit_test(test_cache_serves_only_its_identity),
        cmocka_unit_test(test_region_is_checked),
        cmocka_unit_test(test_login_input_errors),
        cmocka_unit_test(test_endpoints_and_hosts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
