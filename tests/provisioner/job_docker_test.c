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

static void test_ecr_with_keys(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "AWS_ACCESS_KEY_ID", "AKIDFAKEEXAMPLE00001");
    mx_envlist_set(&env, "AWS_SECRET_ACCESS_KEY", "fakeSecretKey/ForTests+OnlyOnLoopback00");
    /* a stale entry for the same host must not win over the fresh token */
    mx_envlist_set(&env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\":{\"123456789012.dkr.ecr.eu-west-1.amazonaws.com\":"
                   "{\"auth\":\"QVdTOnN0YWxlLXBhc3N3b3Jk\"}}}");
    mx_step st = pull_step("123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.2");
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_docker_args a;
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(&st, &env, &opts, &sec, &a, &failure, &err), 0);
    if (failure) fail_msg("%s", failure);
    assert_int_equal(a.nauths, 1);
    assert_string_equal(a.auths[0].username, "AWS");
    /* the fake numbers the tokens it mints */
    assert_string_equal(a.auths[0].password, "ecr-canned-password-1");
    char *pair = mx_xasprintf("AWS:%s", a.auths[0].password);
    char *b64 = mx_b64_encode(pair, strlen(pair));
    char *text = mx_xasprintf("pw=%s auth=%s", a.auths[0].password, b64);
    char *masked = mx_secrets_mask(&sec, text);
    assert_string_equal(masked, "pw=******** auth=********");
    free(masked);
    free(text);
    free(b64);
    free(pair);
    mx_job_docker_args_clear(&a);
    mx_secrets_free(&sec);
    mx_envlist_free(&env);
    free(st.images);
}

static void test_ecr_without_identity_fails_the_step(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_step st = pull_step("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1");
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_docker_args a;
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(&st, &env, &opts, &sec, &a, &failure, &err), 0);
    assert_non_null(failure);
    assert_non_null(strstr(failure, "is an ECR registry: set AWS_ACCESS_KEY_ID"));
    free(failure);
    mx_job_docker_args_clear(&a);
    mx_secrets_free(&sec);
    free(st.images);
}

static void test_docker_auth_config_and_anonymous(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\":{\"registry.example.com:5000\":{\"username\":\"ci\",\"password\":"
                   "\"p4ssw0rd-xyz\"}}}");
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_PULL;
    char *images[] = {"registry.example.com:5000/team/app:1", "busybox"};
    st.images = images;
    st.nimages = 2;
    st.ignore_pull_error = 1;
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_docker_args a;
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(&st, &env, &opts, &sec, &a, &failure, &err), 0);
    assert_null(failure);
    assert_int_equal(a.nimages, 2);
    assert_int_equal(a.ignore_errors, 1);
    assert_int_equal(a.nauths, 1); /* busybox: anonymous */
    assert_string_equal(a.auths[0].registry, "registry.example.com:5000");
    assert_string_equal(a.auths[0].password, "p4ssw0rd-xyz");
    char *b64 = mx_b64_encode("ci:p4ssw0rd-xyz", 15);
    char *text = mx_xasprintf("%s %s", "p4ssw0rd-xyz", b64);
    char *masked = mx_secrets_mask(&sec, text);
    assert_string_equal(masked, "******** ********");
    free(masked);
    free(text);
    free(b64);
    mx_job_docker_args_clear(&a);
    mx_secrets_free(&sec);
    mx_envlist_free(&env);
}

static void test_check_names_the_missing_variable(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "QUAY_USERNAME", "robot");
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_CHECK;
    st.registry = "quay.io";
    st.username_env = "QUAY_USERNAME";
    st.password_env = "QUAY_PASSWORD";
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_docker_args a;
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(&st, &env, &opts, &sec, &a, &failure, &err), 0);
    assert_non_null(failure);
    assert_non_null(strstr(failure, "environment variable QUAY_PASSWORD is not set"));
    free(failure);
    mx_job_docker_args_clear(&a);

    mx_envlist_set(&env, "QUAY_PASSWORD", "quay-secret-1");
    assert_int_equal(mx_job_docker_args(&st, &env, &opts, &sec, &a, &failure, &err), 0);
    assert_null(failure);
    assert_string_equal(a.registry, "quay.io");
    assert_string_equal(a.username, "robot");
    assert_string_equal(a.password, "quay-secret-1");
    char *masked = mx_secrets_mask(&sec, "quay-secret-1");
    assert_string_equal(masked, "********");
    free(masked);
    mx_job_docker_args_clear(&a);
    mx_secrets_free(&sec);
    mx_envlist_free(&env);
}

static void test_helper_allow_list(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "DOCKER_AUTH_CONFIG",
                   "{\"credHelpers\":{\"registry.example.com\":\"secretservice\"}}");
    mx_step st = pull_step("registry.example.com/app:1");
    const char *allowed[] = {"pass", NULL};
    mx_job_docker_opts strict = {.ecr_cache_dir = cache_dir, .allowed_helpers = allowed};
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_docker_args a;
    char *failure = NULL;
    mx_err err;
    assert_int_equal(mx_job_docker_args(&st, &env, &strict, &sec, &a, &failure, &err), 0);
    assert_non_null(failure);
    assert_non_null(strstr(failure, "secretservice"));
    free(failure);
    mx_job_docker_args_clear(&a);
    mx_secrets_free(&sec);
    mx_envlist_free(&env);
    free(st.images);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ecr_with_keys),
        cmocka_unit_test(test_ecr_without_identity_fails_the_step),
        cmocka_unit_test(test_docker_auth_config_and_anonymous),
        cmocka_unit_test(test_check_names_the_missing_variable),
        cmocka_unit_test(test_helper_allow_list),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
