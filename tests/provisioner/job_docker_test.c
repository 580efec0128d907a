/* The host's half of docker/check and docker/pull: credentials from the step's environment,
 * DOCKER_AUTH_CONFIG and ECR (against the signature-checking fake on 127.0.0.1), what fails
 * the step, and that every secret form joins the masking set. */
#include "fake_aws.h"
#include "job_docker.h"
#include "mx_b64.h"
#include "mx_fs.h"

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
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(st, &c->env, o, &c->sec, &c->a, &failure, &err), 0);
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
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
