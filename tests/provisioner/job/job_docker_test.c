/* The host's half of docker/check and docker/pull: credentials from the step's environment,
 * DOCKER_AUTH_CONFIG and ECR (against the signature-checking fake on 127.0.0.1), what fails
 * the step, that every secret form joins the masking set, and what a job may not make the host
 * do: read a host file it names, send a request where its AWS_REGION points, use the invoking
 * user's logins for a registry the host does not forward, or run a helper not allowed. */
#include "fake_aws.h"
#include "job_docker.h"
#include "mx_aws.h"
#include "mx_b64.h"
#include "mx_fs.h"

#define ROLE "arn:aws:iam::123456789012:role/mexec-ecr-pull"
#define OIDC "eyJhbGciOiJSUzI1NiJ9.fake-oidc-token-for-tests.c2ln"
#define ECR_IMAGE "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1"

static fake_aws fake;
static char *cache_dir;
static mx_job_docker_opts opts;

static int setup(void **state)
{
    (void)state;
    fake_aws_no_proxy();
    fake_aws_start(&fake, MX_CRED_FIXTURES "/fake_aws.json", 0);
    char *url = mx_xasprintf("http://127.0.0.1:%d", fake.port);
    setenv("MEXEC_AWS_ECR_ENDPOINT", url, 1);
    setenv("MEXEC_AWS_STS_ENDPOINT", url, 1);
    free(url);
    setenv("HOME", "/nonexistent-home", 1); /* no host config.json in these tests */
    cache_dir = tu_mkdtemp();
    opts.ecr_cache_dir = cache_dir;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_aws_stop(&fake);
    tu_rmdir(cache_dir);
    return 0;
}

static mx_step pull_step(const char *image)
{
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_PULL;
    st.name = "docker/pull";
    st.images = mx_xcalloc(1, sizeof *st.images);
    st.images[0] = (char *)image;
    st.nimages = 1;
    return st;
}

/* One test's inputs to mx_job_docker_args and what it made of them (the per-test state). */
typedef struct call {
    mx_envlist env;   /* the step's environment */
    mx_secrets sec;   /* the masking set the calls add to */
    mx_docker_args a; /* the last call's result */
    char *notice;     /* the last call's notice */
} call;

static int call_setup(void **state)
{
    call *c = mx_xcalloc(1, sizeof *c);
    mx_secrets_init(&c->sec);
    *state = c;
    return 0;
}

static int call_teardown(void **state)
{
    call *c = *state;
    mx_job_docker_args_clear(&c->a);
    free(c->notice);
    mx_secrets_free(&c->sec);
    mx_envlist_free(&c->env);
    free(c);
    return 0;
}

/* mx_job_docker_args on st; returns the step failure (NULL: the step may run).  An error of
 * the machinery itself (return -1) fails the test. */
static char *docker_args(call *c, const mx_step *st, const mx_job_docker_opts *o)
{
    mx_job_docker_args_clear(&c->a); /* what an earlier call in the same test made */
    free(c->notice);
    c->notice = NULL; /* a call that has no notice leaves it unset */
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(st, &c->env, o, &c->sec, &c->a, &failure, &c->notice, &err),
                     0);
    return failure;
}

static void expect_args(call *c, const mx_step *st, const mx_job_docker_opts *o)
{
    char *failure = docker_args(c, st, o);
    if (failure) fail_msg("the step failed: %s", failure);
}

/* The step must fail, saying `want`. */
static void expect_failure(call *c, const mx_step *st, const mx_job_docker_opts *o,
                           const char *want)
{
    char *failure = docker_args(c, st, o);
    assert_non_null(failure);
    tu_assert_contains(failure, want);
    free(failure);
}

static void test_ecr_with_keys(void **state)
{
    call *c = *state;
    mx_envlist_set(&c->env, "AWS_ACCESS_KEY_ID", "AKIDFAKEEXAMPLE00001");
    mx_envlist_set(&c->env, "AWS_SECRET_ACCESS_KEY", "fakeSecretKey/ForTests+OnlyOnLoopback00");
    /* a stale entry for the same host must not win over the fresh token */
    mx_envlist_set(&c->env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\":{\"123456789012.dkr.ecr.eu-west-1.amazonaws.com\":"
                   "{\"auth\":\"QVdTOnN0YWxlLXBhc3N3b3Jk\"}}}");
    mx_step st = pull_step("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.2");
    expect_args(c, &st, &opts);
    assert_int_equal(c->a.nauths, 1);
    assert_string_equal(c->a.auths[0].username, "AWS");
    /* the fake numbers the tokens it mints */
    assert_string_equal(c->a.auths[0].password, "ecr-canned-password-1");
    char *pair = mx_xasprintf("AWS:%s", c->a.auths[0].password);
    char *b64 = mx_b64_encode(pair, strlen(pair));
    char *text = mx_xasprintf("pw=%s auth=%s", c->a.auths[0].password, b64);
    char *masked = mx_secrets_mask(&c->sec, text);
    assert_string_equal(masked, "pw=******** auth=********");
    free(masked);
    free(text);
    free(b64);
    free(pair);
    free(st.images);
}

static void test_ecr_without_identity_fails_the_step(void **state)
{
    call *c = *state;
    mx_step st = pull_step("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1");
    expect_failure(c, &st, &opts, "is an ECR registry: set AWS_ACCESS_KEY_ID");
    free(st.images);
}

static void test_docker_auth_config_and_anonymous(void **state)
{
    call *c = *state;
    mx_envlist_set(&c->env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\":{\"registry.example.com:5000\":{\"username\":\"ci\",\"password\":"
                   "\"p4ssw0rd-xyz\"}}}");
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_PULL;
    char *images[] = {"registry.example.com:5000/team/app:1", "busybox"};
    st.images = images;
    st.nimages = 2;
    st.ignore_pull_error = 1;
    expect_args(c, &st, &opts);
    assert_int_equal(c->a.nimages, 2);
    assert_int_equal(c->a.ignore_errors, 1);
    assert_int_equal(c->a.nauths, 1); /* busybox: anonymous */
    assert_string_equal(c->a.auths[0].registry, "registry.example.com:5000");
    assert_string_equal(c->a.auths[0].password, "p4ssw0rd-xyz");
    char *b64 = mx_b64_encode("ci:p4ssw0rd-xyz", 15);
    char *text = mx_xasprintf("%s %s", "p4ssw0rd-xyz", b64);
    char *masked = mx_secrets_mask(&c->sec, text);
    assert_string_equal(masked, "******** ********");
    free(masked);
    free(text);
    free(b64);
}

static void test_check_names_the_missing_variable(void **state)
{
    call *c = *state;
    mx_envlist_set(&c->env, "QUAY_USERNAME", "robot");
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_CHECK;
    st.registry = "quay.io";
    st.username_env = "QUAY_USERNAME";
    st.password_env = "QUAY_PASSWORD";
    expect_failure(c, &st, &opts, "environment variable QUAY_PASSWORD is not set");

    mx_envlist_set(&c->env, "QUAY_PASSWORD", "quay-secret-1");
    expect_args(c, &st, &opts);
    assert_string_equal(c->a.registry, "quay.io");
    assert_string_equal(c->a.username, "robot");
    assert_string_equal(c->a.password, "quay-secret-1");
    char *masked = mx_secrets_mask(&c->sec, "quay-secret-1");
    assert_string_equal(masked, "********");
    free(masked);
}

static void test_helper_allow_list(void **state)
{
    call *c = *state;
    mx_envlist_set(&c->env, "DOCKER_AUTH_CONFIG",
                   "{\"credHelpers\":{\"registry.example.com\":\"secretservice\"}}");
    mx_step st = pull_step("registry.example.com/app:1");
    const char *allowed[] = {"pass", NULL};
    mx_job_docker_opts strict = {.ecr_cache_dir = cache_dir, .allowed_helpers = allowed};
    expect_failure(c, &st, &strict, "secretservice");
    free(st.images);
}

static long sts_calls(void)
{
    char *u = mx_xasprintf("http://127.0.0.1:%d/stats", fake.port);
    mx_aws_request rq = {.method = "GET", .url = u};
    mx_aws_response resp;
    mx_err err = {0};
    if (mx_aws_send(&rq, NULL, NULL, &resp, &err) < 0) fail_msg("%s", err.msg);
    char *at = strstr(resp.body.data, "\"sts\": ");
    assert_non_null(at);
    long n = atol(at + 7);
    mx_aws_response_free(&resp);
    free(u);
    return n;
}

/* A job's AWS_WEB_IDENTITY_TOKEN_FILE names a file on the host: it is never read, and the step
 * fails saying how to give a token instead; a file the host settings name is read. */
static void test_token_file_only_from_host_settings(void **state)
{
    call *c = *state;
    char *dir = tu_mkdtemp();
    char *file = tu_write(dir, "oidc-token", OIDC "\n");
    mx_envlist_set(&c->env, "AWS_ROLE_ARN", ROLE);
    mx_envlist_set(&c->env, "AWS_WEB_IDENTITY_TOKEN_FILE", file);
    mx_step st = pull_step(ECR_IMAGE);
    long sts0 = sts_calls();
    expect_failure(c, &st, &opts, "a job's AWS_WEB_IDENTITY_TOKEN_FILE is not read");
    expect_failure(c, &st, &opts, "aws: {web_identity_token_file: PATH}");
    assert_int_equal(sts_calls(), sts0);
    mx_job_docker_opts host = opts;
    host.aws_web_identity_token_file = file;
    expect_args(c, &st, &host);
    assert_int_equal(sts_calls(), sts0 + 1);
    assert_int_equal(c->a.nauths, 1);
    assert_string_equal(c->a.auths[0].username, "AWS");
    free(st.images);
    free(file);
    tu_rmdir(dir);
}

/* The job's AWS_REGION is the STS region: one that is not an AWS region fails the step before
 * any request (it would have become part of the STS host name). */
static void test_job_region_is_checked(void **state)
{
    call *c = *state;
    char *evil = mx_xasprintf("us-east-1@127.0.0.1:%d/", fake.port);
    mx_envlist_set(&c->env, "AWS_ROLE_ARN", ROLE);
    mx_envlist_set(&c->env, "CIRCLE_OIDC_TOKEN", OIDC);
    mx_envlist_set(&c->env, "AWS_REGION", evil);
    mx_step st = pull_step(ECR_IMAGE);
    mx_job_docker_opts uncached = {0}; /* so that every login asks STS */
    long sts0 = sts_calls();
    expect_failure(c, &st, &uncached, "is not an AWS region");
    assert_int_equal(sts_calls(), sts0);
    /* a real region: the token's value from the job's environment is the job's own */
    mx_envlist_set(&c->env, "AWS_REGION", "eu-west-1");
    expect_args(c, &st, &uncached);
    assert_int_equal(sts_calls(), sts0 + 1);
    assert_int_equal(c->a.nauths, 1);
    free(st.images);
    free(evil);
}

/* The invoking user's ~/.docker/config.json: used only for registries the host forwards; for
 * the others the step runs anonymously and the notice names the host.yaml lines to add. */
static void test_user_logins_only_for_forwarded_registries(void **state)
{
    call *c = *state;
    char *home = tu_mkdtemp();
    char *auth = mx_b64_encode("me:my-own-Password-1", 20);
    char *json = mx_xasprintf("{\"auths\":{\"registry.example.com\":{\"auth\":\"%s\"},"
                              "\"https://index.docker.io/v1/\":{\"auth\":\"%s\"}}}",
                              auth, auth);
    free(tu_write(home, ".docker/config.json", json));
    setenv("HOME", home, 1);
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_PULL;
    char *images[] = {"registry.example.com/team/app:1", "busybox", "quay.io/other/img"};
    st.images = images;
    st.nimages = 3;
    mx_job_docker_opts o = opts;
    o.host_config_path = "/etc/mexec/host.yaml";
    expect_args(c, &st, &o);
    assert_int_equal(c->a.nauths, 0);
    assert_non_null(c->notice);
    tu_assert_contains(c->notice, "your credentials for registry.example.com in ");
    tu_assert_contains(c->notice, "/.docker/config.json are not forwarded");
    tu_assert_contains(c->notice, "add to /etc/mexec/host.yaml:\n  registries:\n    "
                                  "registry.example.com: { forward_credentials: true }");
    tu_assert_contains(c->notice, "credentials for docker.io in ");
    tu_assert_contains(c->notice, "    docker.io: { forward_credentials: true }");
    tu_assert_not_contains(c->notice, "quay.io");
    tu_assert_not_contains(c->notice, "my-own-Password-1");
    /* forwarded: that registry's login goes in; Docker Hub's still does not */
    const char *fwd[] = {"registry.example.com", NULL};
    o.forward_registries = fwd;
    expect_args(c, &st, &o);
    assert_int_equal(c->a.nauths, 1);
    assert_string_equal(c->a.auths[0].registry, "registry.example.com");
    assert_string_equal(c->a.auths[0].password, "my-own-Password-1");
    tu_assert_not_contains(c->notice, "registry.example.com");
    /* the job's own DOCKER_AUTH_CONFIG counts for any registry */
    mx_envlist_set(&c->env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\":{\"quay.io\":{\"username\":\"job\",\"password\":\"job-Pass-1\"}}}");
    expect_args(c, &st, &opts);
    assert_int_equal(c->a.nauths, 1);
    assert_string_equal(c->a.auths[0].registry, "quay.io");
    setenv("HOME", "/nonexistent-home", 1);
    free(json);
    free(auth);
    tu_rmdir(home);
}

/* A credential helper runs on the host: only when host settings allow it, whoever names it
 * (the job's DOCKER_AUTH_CONFIG or the user's config.json for a forwarded registry). */
static void test_helpers_need_the_allow_list(void **state)
{
    call *c = *state;
    char *home = tu_mkdtemp();
    free(tu_write(home, ".docker/config.json", "{\"credsStore\":\"desktop\"}"));
    setenv("HOME", home, 1);
    mx_step st = pull_step("registry.example.com/app:1");
    const char *fwd[] = {"registry.example.com", NULL};
    mx_job_docker_opts o = opts;
    o.forward_registries = fwd;
    expect_failure(c, &st, &o, "credential helper \"desktop\" is not allowed on this host");
    expect_failure(c, &st, &o, "credential_helpers");
    /* not forwarded: the store is never asked, the step runs anonymously */
    expect_args(c, &st, &opts);
    assert_int_equal(c->a.nauths, 0);
    tu_assert_contains(c->notice, "registry.example.com");
    setenv("HOME", "/nonexistent-home", 1);
    mx_envlist_set(&c->env, "DOCKER_AUTH_CONFIG",
                   "{\"credHelpers\":{\"registry.example.com\":\"secretservice\"}}");
    expect_failure(c, &st, &opts,
                   "credential helper \"secretservice\" is not allowed on this host");
    free(st.images);
    tu_rmdir(home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ecr_with_keys, call_setup, call_teardown),
        cmocka_unit_test_setup_teardown(test_ecr_without_identity_fails_the_step, call_setup,
                                        call_teardown),
        cmocka_unit_test_setup_teardown(test_docker_auth_config_and_anonymous, call_setup,
                                        call_teardown),
        cmocka_unit_test_setup_teardown(test_check_names_the_missing_variable, call_setup,
                                        call_teardown),
        cmocka_unit_test_setup_teardown(test_helper_allow_list, call_setup, call_teardown),
        cmocka_unit_test_setup_teardown(test_token_file_only_from_host_settings, call_setup,
                                        call_teardown),
        cmocka_unit_test_setup_teardown(test_job_region_is_checked, call_setup, call_teardown),
        cmocka_unit_test_setup_teardown(test_user_logins_only_for_forwarded_registries, call_setup,
                                        call_teardown),
        cmocka_unit_test_setup_teardown(test_helpers_need_the_allow_list, call_setup,
                                        call_teardown),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
