/* job_env: CircleCI's precedence, highest first: step environment, job environment, built-ins,
 * values given with -e. */
#include "test_util.h"

#include "job_env.h"

/* A job with no environment and no steps; mx_job_free frees it. */
static mx_job new_job(const char *name, const char *workdir)
{
    mx_job job;
    memset(&job, 0, sizeof job);
    job.name = mx_xstrdup(name);
    job.workdir = mx_xstrdup(workdir);
    return job;
}

static mx_job job_with_env(void)
{
    mx_job job = new_job("build", "~/project");
    mx_envlist_set(&job.env, "LEVEL", "job");
    mx_envlist_set(&job.env, "JOB_ONLY", "j");
    mx_envlist_set(&job.env, "CIRCLE_BRANCH", "job-says-branch"); /* jobs may override built-ins */
    job.steps = mx_xcalloc(1, sizeof *job.steps);
    job.nsteps = 1;
    mx_envlist_set(&job.steps[0].env, "LEVEL", "step");
    mx_envlist_set(&job.steps[0].env, "STEP_ONLY", "s");
    mx_envlist_set(&job.steps[0].env, "CI", "step-says-ci");
    return job;
}

static void test_precedence(void **state)
{
    (void)state;
    mx_job job = job_with_env();
    mx_envlist cli = {0};
    mx_envlist_set(&cli, "LEVEL", "cli");
    mx_envlist_set(&cli, "CLI_ONLY", "c");
    mx_envlist_set(&cli, "CIRCLECI", "cli-says-no"); /* a built-in beats -e */
    mx_envlist_set(&cli, "CIRCLE_SHA1", "cli-sha");
    mx_builtin_info info = {.project_dir = "/home/me/src/my-repo",
                            .sha = "0123456789abcdef0123456789abcdef01234567",
                            .branch = "main",
                            .job_id = "job-uuid-1"};
    mx_envlist jenv = {0};
    mx_job_env_build(&job, &cli, NULL, &info, &jenv);
    assert_string_equal(mx_envlist_get(&jenv, "LEVEL"), "job");
    assert_string_equal(mx_envlist_get(&jenv, "CLI_ONLY"), "c");
    assert_string_equal(mx_envlist_get(&jenv, "JOB_ONLY"), "j");
    assert_string_equal(mx_envlist_get(&jenv, "CIRCLECI"), "true");
    assert_string_equal(mx_envlist_get(&jenv, "CI"), "true");
    assert_string_equal(mx_envlist_get(&jenv, "CIRCLE_SHA1"), info.sha);
    assert_string_equal(mx_envlist_get(&jenv, "CIRCLE_BRANCH"), "job-says-branch");
    assert_null(mx_envlist_get(&jenv, "STEP_ONLY"));

    mx_envlist senv = {0};
    mx_step_env_build(&jenv, &job.steps[0], &senv);
    assert_string_equal(mx_envlist_get(&senv, "LEVEL"), "step");
    assert_string_equal(mx_envlist_get(&senv, "STEP_ONLY"), "s");
    assert_string_equal(mx_envlist_get(&senv, "JOB_ONLY"), "j");
    assert_string_equal(mx_envlist_get(&senv, "CLI_ONLY"), "c");
    assert_string_equal(mx_envlist_get(&senv, "CI"), "step-says-ci");
    assert_string_equal(mx_envlist_get(&senv, "CIRCLECI"), "true");
    /* building a step's environment leaves the job's alone */
    assert_string_equal(mx_envlist_get(&jenv, "LEVEL"), "job");
    assert_int_equal(senv.n, jenv.n + 1);

    mx_envlist_free(&senv);
    mx_envlist_free(&jenv);
    mx_envlist_free(&cli);
    mx_job_free(&job);
}

static void test_builtins(void **state)
{
    (void)state;
    mx_job job = new_job("build", "~/project");
    mx_builtin_info info = {.project_dir = "/home/me/src/my-repo",
                            .sha = "abc",
                            .branch = "feature/x",
                            .job_id = "id-42"};
    mx_envlist env = {0};
    mx_job_env_build(&job, NULL, NULL, &info, &env); /* no -e values, no job environment */
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_BRANCH"), "feature/x");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_JOB"), "build");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_WORKING_DIRECTORY"), "~/project");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_BUILD_NUM"), "1");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_NODE_INDEX"), "0");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_NODE_TOTAL"), "1");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_WORKFLOW_JOB_ID"), "id-42");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_PROJECT_REPONAME"), "my-repo");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_SHA1"), "abc");
    mx_envlist_free(&env);
    mx_job_free(&job);

    /* outside git: no sha or branch; a detached HEAD is no branch */
    job = new_job("test", "/w");
    mx_builtin_info bare = {.project_dir = "/", .sha = NULL, .branch = "HEAD", .job_id = "j"};
    mx_job_env_build(&job, NULL, NULL, &bare, &env);
    assert_null(mx_envlist_get(&env, "CIRCLE_SHA1"));
    assert_null(mx_envlist_get(&env, "CIRCLE_BRANCH"));
    assert_null(mx_envlist_get(&env, "CIRCLE_PROJECT_REPONAME"));
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_JOB"), "test");
    mx_envlist_free(&env);
    mx_builtin_info none = {.project_dir = NULL, .branch = NULL, .job_id = "j"};
    mx_job_env_build(&job, NULL, NULL, &none, &env);
    assert_null(mx_envlist_get(&env, "CIRCLE_PROJECT_REPONAME"));
    mx_envlist_free(&env);
    mx_job_free(&job);
}

/* With what git and the run know: CircleCI's always-set variables, from the remote and the run's
 * ids; the ones CircleCI sets only for pull requests, OIDC or signed-in users stay unset. */
static void test_pipeline_builtins(void **state)
{
    (void)state;
    mx_job job = new_job("build", "~/project");
    mx_pipeline_info pi = {.id = "11111111-1111-4111-8111-111111111111",
                           .workflow_id = "22222222-2222-4222-8222-222222222222",
                           .remote_url = "git@github.com:acme/widget.git",
                           .owner = "acme",
                           .repo = "widget"};
    mx_builtin_info info = {.project_dir = "/home/me/src/checkout-dir",
                            .sha = "abc",
                            .tag = "v1.0",
                            .job_id = "id-42",
                            .pipeline = &pi};
    mx_envlist env = {0};
    mx_job_env_build(&job, NULL, NULL, &info, &env);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_PIPELINE_ID"), pi.id);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_WORKFLOW_ID"), pi.workflow_id);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_WORKFLOW_WORKSPACE_ID"), pi.workflow_id);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_PROJECT_REPONAME"), "widget");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_PROJECT_USERNAME"), "acme");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_REPOSITORY_URL"), pi.remote_url);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_TAG"), "v1.0");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_BUILD_URL"), "");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_ORGANIZATION_ID"),
                        "00000000-0000-0000-0000-000000000000");
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_PROJECT_ID"),
                        "00000000-0000-0000-0000-000000000000");
    static const char *const unset[] = {"CIRCLE_PR_NUMBER",          "CIRCLE_PR_REPONAME",
                                        "CIRCLE_PR_USERNAME",        "CIRCLE_PULL_REQUEST",
                                        "CIRCLE_PULL_REQUESTS",      "CIRCLE_OIDC_TOKEN",
                                        "CIRCLE_OIDC_TOKEN_V2",      "CIRCLE_USERNAME",
                                        "CIRCLE_PREVIOUS_BUILD_NUM", "CIRCLE_BRANCH"};
    for (size_t i = 0; i < sizeof unset / sizeof *unset; i++)
        if (mx_envlist_get(&env, unset[i])) fail_msg("%s is set", unset[i]);
    mx_envlist_free(&env);
    mx_job_free(&job);
}

static void test_order_is_stable(void **state)
{
    (void)state;
    /* cli values come first and keep their place when overridden */
    mx_job job = new_job("build", "~/project");
    mx_envlist_set(&job.env, "A", "job");
    mx_envlist cli = {0};
    mx_envlist_set(&cli, "A", "cli");
    mx_envlist_set(&cli, "B", "cli");
    mx_builtin_info info = {.project_dir = "/p/r", .job_id = "j"};
    mx_envlist env = {0};
    mx_job_env_build(&job, &cli, NULL, &info, &env);
    assert_string_equal(env.v[0].key, "A");
    assert_string_equal(env.v[0].value, "job");
    assert_string_equal(env.v[1].key, "B");
    assert_string_equal(env.v[2].key, "CI");
    mx_envlist_free(&env);
    mx_envlist_free(&cli);
    mx_job_free(&job);
}

static void test_tag_build(void **state)
{
    (void)state;
    mx_job job = {.name = "release", .workdir = "~/project"};
    mx_builtin_info info = {.project_dir = "/src/repo", .tag = "v1.2.3", .job_id = "id"};
    mx_envlist env = {0};
    mx_job_env_build(&job, NULL, NULL, &info, &env);
    assert_string_equal(mx_envlist_get(&env, "CIRCLE_TAG"), "v1.2.3");
    assert_null(mx_envlist_get(&env, "CIRCLE_BRANCH")); /* CircleCI sets one or the other */
    mx_envlist_free(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tag_build),       cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_builtins),        cmocka_unit_test(test_pipeline_builtins),
        cmocka_unit_test(test_order_is_stable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
