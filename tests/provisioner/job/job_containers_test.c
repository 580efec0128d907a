/* The host's half of a docker executor job: the containers step built from the job model, with
 * each image's credentials (auth: with $VAR, aws_auth: against the signature-checking fake ECR
 * and STS on 127.0.0.1, else the docker/pull chain), every secret form in the masking set, and
 * the job's own mistakes reported as its failure. */
#include "fake_aws.h"
#include "job_containers.h"
#include "mx_b64.h"

#define AKID "AKIDFAKEEXAMPLE00001"
#define AWS_SECRET "fakeSecretKey/ForTests+OnlyOnLoopback00"
#define ROLE "arn:aws:iam::123456789012:role/mexec-ecr-pull"
#define OIDC "eyJhbGciOiJSUzI1NiJ9.fake-oidc-token-for-tests.c2ln"
#define ECR "123456789012.dkr.ecr.us-east-1.amazonaws.com"

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

static void test_expand_vars(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "USER_1", "robot");
    mx_envlist_set(&env, "EMPTY", "");
    const char *cases[][2] = {
        {"$USER_1", "robot"},
        {"${USER_1}-x", "robot-x"},
        {"a$USER_1.b", "arobot.b"},
        {"plain", "plain"},
        {"$", "$"},
        {"a$1", "a$1"},
        {"$$", "$$"},
        {"${USER_1", "${USER_1"},
        {"${1X}", "${1X}"},
        {"${A-B}x", "${A-B}x"}, /* not a name: kept (once a NULL dereference) */
        {"${EMPTY}$EMPTY.", "."},
        {"$USER_1$USER_1", "robotrobot"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *missing = NULL;
        char *v = mx_expand_vars(cases[i][0], &env, &missing);
        if (!v) fail_msg("%s: missing %s", cases[i][0], missing);
        assert_string_equal(v, cases[i][1]);
        assert_null(missing);
        free(v);
    }
    char *missing = NULL;
    assert_null(mx_expand_vars("pw-${NOPE}", &env, &missing));
    assert_string_equal(missing, "NOPE");
    free(missing);
    mx_envlist_free(&env);
}

/* A docker job of n containers with the given images. */
static mx_job job_of(const char *const *images, size_t n)
{
    mx_job j;
    memset(&j, 0, sizeof j);
    j.name = mx_xstrdup("build");
    j.executor = MX_EXEC_DOCKER;
    j.containers = mx_xcalloc(n, sizeof *j.containers);
    for (size_t i = 0; i < n; i++)
        j.containers[j.ncontainers++].image = mx_xstrdup(images[i]);
    return j;
}

static const mx_docker_auth *auth_for(const mx_msg *m, const char *registry)
{
    for (size_t i = 0; i < m->docker.nauths; i++)
        if (strcmp(m->docker.auths[i].registry, registry) == 0) return &m->docker.auths[i];
    fail_msg("no credentials for %s", registry);
    return NULL;
}

static void assert_masked(mx_secrets *s, const char *text)
{
    char *masked = mx_secrets_mask(s, text);
    tu_assert_not_contains(masked, text);
    free(masked);
}

static void test_every_kind_of_credentials(void **state)
{
    (void)state;
    const char *images[] = {"reg.example:5000/team/tools:1", "redis:7", ECR "/org/db:0.1",
                            "other.example/x/y:2"};
    mx_job j = job_of(images, 4);
    mx_container *c = j.containers;
    c[0].auth_username = mx_xstrdup("$REG_USER");
    c[0].auth_password = mx_xstrdup("${REG_PASS}");
    c[0].user = mx_xstrdup("circleci");
    mx_envlist_set(&c[0].env, "TZ", "UTC");
    c[1].name = mx_xstrdup("cache");
    c[1].has_command = 1;
    c[1].command = mx_xcalloc(2, sizeof *c[1].command);
    c[1].command[c[1].ncommand++] = mx_xstrdup("redis-server");
    c[2].has_aws_auth = 1;
    c[2].aws_access_key_id = mx_xstrdup(AKID);
    c[2].aws_secret_access_key = mx_xstrdup("$ECR_SECRET");
    /* a setup_remote_docker step puts the VM's engine in the primary */
    j.steps = mx_xcalloc(1, sizeof *j.steps);
    j.steps[j.nsteps++].kind = MX_JOB_STEP_REMOTE_DOCKER;
    mx_envlist env = {0};
    mx_envlist_set(&env, "REG_USER", "robot");
    mx_envlist_set(&env, "REG_PASS", "reg-pass-1234");
    mx_envlist_set(&env, "ECR_SECRET", AWS_SECRET);
    mx_envlist_set(&env, "DOCKER_AUTH_CONFIG",
                   "{\"auths\": {\"other.example\": {\"username\": \"o\", \"password\": "
                   "\"other-pass-1234\"}}}");
    mx_secrets s;
    mx_secrets_init(&s);
    mx_msg m;
    char *failure = NULL, *notice = NULL;
    mx_err err;
    if (mx_job_containers_msg(&j, 7, &env, &opts, &s, &m, &failure, &notice, &err) < 0)
        fail_msg("%s", err.msg);
    if (failure) fail_msg("failure: %s", failure);
    assert_int_equal(m.kind, MX_STEP_CONTAINERS);
    assert_int_equal(m.id, 7);
    assert_null(m.network); /* CircleCI: one network namespace */
    assert_int_equal(m.docker_socket, 1);
    assert_int_equal(m.ncontainers, 4);
    assert_string_equal(m.containers[0].name, MX_CTR_PRIMARY);
    assert_int_equal(m.containers[0].steps, 1);
    assert_string_equal(m.containers[0].user, "circleci");
    assert_string_equal(m.containers[0].env[0].value, "UTC");
    assert_string_equal(m.containers[1].name, MX_CTR_SERVICE_PREFIX "1");
    assert_int_equal(m.containers[1].steps, 0);
    assert_string_equal(m.containers[1].aliases[0], "cache");
    assert_string_equal(m.containers[1].command[0], "redis-server");
    assert_int_equal(m.docker.nimages, 4);
    /* auth: for that image's repository only, variables expanded */
    const mx_docker_auth *a = auth_for(&m, "reg.example:5000/team/tools");
    assert_string_equal(a->username, "robot");
    assert_string_equal(a->password, "reg-pass-1234");
    /* aws_auth: a token from the fake ECR */
    a = auth_for(&m, ECR "/org/db");
    assert_string_equal(a->username, "AWS");
    tu_assert_contains(a->password, "ecr-canned-password");
    assert_masked(&s, a->password);
    /* neither: DOCKER_AUTH_CONFIG, as docker/pull */
    a = auth_for(&m, "other.example");
    assert_string_equal(a->password, "other-pass-1234");
    /* every form masked */
    assert_masked(&s, "reg-pass-1234");
    assert_masked(&s, AWS_SECRET);
    char *b64 = mx_b64_encode("robot:reg-pass-1234", 19);
    assert_masked(&s, b64);
    free(b64);
    assert_masked(&s, "other-pass-1234");
    mx_job_containers_clear(&m);
    free(notice);
    mx_secrets_free(&s);
    mx_envlist_free(&env);
    mx_job_free(&j);
}

/* The job's mistakes fail it, naming what to fix; nothing else happens. */
static void expect_failure(mx_job *j, mx_envlist *env, const char *want)
{
    mx_secrets s;
    mx_secrets_init(&s);
    mx_msg m;
    char *failure = NULL, *notice = NULL;
    mx_err err;
    if (mx_job_containers_msg(j, 1, env, &opts, &s, &m, &failure, &notice, &err) < 0)
        fail_msg("%s", err.msg);
    if (!failure) fail_msg("no failure, want %s", want);
    tu_assert_contains(failure, want);
    free(failure);
    free(notice);
    mx_job_containers_clear(&m);
    mx_secrets_free(&s);
}

static void test_failures(void **state)
{
    (void)state;
    mx_envlist env = {0};
    const char *one[] = {"reg.example/app:1"};
    mx_job j = job_of(one, 1);
    j.containers[0].auth_username = mx_xstrdup("robot");
    j.containers[0].auth_password = mx_xstrdup("$DOCKERHUB_PASSWORD");
    expect_failure(&j, &env,
                   "image reg.example/app:1: auth password names $DOCKERHUB_PASSWORD, which is "
                   "not set");
    mx_job_free(&j);

    j = job_of(one, 1);
    j.containers[0].has_aws_auth = 1;
    j.containers[0].aws_access_key_id = mx_xstrdup(AKID);
    j.containers[0].aws_secret_access_key = mx_xstrdup("x");
    expect_failure(&j, &env, "aws_auth is for ECR images");
    mx_job_free(&j);

    /* ECR refuses an identity it does not know, and says so */
    const char *ecr[] = {ECR "/org/db:0.1"};
    j = job_of(ecr, 1);
    j.containers[0].has_aws_auth = 1;
    j.containers[0].aws_access_key_id = mx_xstrdup("AKIDUNKNOWN000000000");
    j.containers[0].aws_secret_access_key = mx_xstrdup("not-a-known-secret");
    expect_failure(&j, &env, "UnrecognizedClientException");
    mx_job_free(&j);

    /* a role without a token to assume it with */
    j = job_of(ecr, 1);
    j.containers[0].has_aws_auth = 1;
    j.containers[0].aws_oidc_role_arn = mx_xstrdup(ROLE);
    expect_failure(&j, &env, "needs an OIDC token");
    mx_job_free(&j);
    mx_envlist_free(&env);
}

static void test_oidc_role(void **state)
{
    (void)state;
    const char *ecr[] = {ECR "/org/db:0.1"};
    mx_job j = job_of(ecr, 1);
    j.containers[0].has_aws_auth = 1;
    j.containers[0].aws_oidc_role_arn = mx_xstrdup(ROLE);
    mx_envlist env = {0};
    mx_envlist_set(&env, "CIRCLE_OIDC_TOKEN", OIDC);
    /* keys in the environment do not stand in for the role */
    mx_envlist_set(&env, "AWS_ACCESS_KEY_ID", "AKIDUNKNOWN000000000");
    mx_envlist_set(&env, "AWS_SECRET_ACCESS_KEY", "wrong");
    mx_secrets s;
    mx_secrets_init(&s);
    mx_msg m;
    char *failure = NULL, *notice = NULL;
    mx_err err;
    if (mx_job_containers_msg(&j, 1, &env, &opts, &s, &m, &failure, &notice, &err) < 0)
        fail_msg("%s", err.msg);
    if (failure) fail_msg("%s", failure);
    const mx_docker_auth *a = auth_for(&m, ECR "/org/db");
    assert_string_equal(a->username, "AWS");
    mx_job_containers_clear(&m);
    free(notice);
    mx_secrets_free(&s);
    mx_envlist_free(&env);
    mx_job_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expand_vars),
        cmocka_unit_test(test_every_kind_of_credentials),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_oidc_role),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
