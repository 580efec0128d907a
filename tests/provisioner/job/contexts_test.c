/* Contexts: loading, precedence between them and against -e and built-ins, masking set,
 * and the errors a user sees. */
#include "contexts.h"
#include "job_env.h"
#include "mx_fs.h"
#include "test_util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static char *dir; /* the contexts directory, shared by all tests */

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    tu_write_free(dir, "aws.yaml",
                  "AWS_KEY: AKIAEXAMPLEKEY\nSHARED: from-a\nFLAG: true\nPIN: 123\n");
    tu_write_free(dir, "deploy.yml", "SHARED: from-b\nTOKEN: tok-secret-value\n");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static void test_load_order_and_secrets(void **state)
{
    (void)state;
    const char *names[] = {"aws", "deploy"};
    mx_envlist env = {0};
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_err err;
    assert_int_equal(mx_contexts_load(dir, names, 2, &env, &sec, &err), 0);
    assert_string_equal(mx_envlist_get(&env, "SHARED"), "from-b"); /* later context wins */
    assert_string_equal(mx_envlist_get(&env, "AWS_KEY"), "AKIAEXAMPLEKEY");
    /* values of 4+ characters are secrets; short ones and booleans are not */
    char *masked = mx_secrets_mask(&sec, "k=AKIAEXAMPLEKEY t=tok-secret-value f=true p=123");
    assert_string_equal(masked, "k=******** t=******** f=true p=123");
    free(masked);
    mx_envlist_free(&env);
    mx_secrets_free(&sec);
}

static void test_precedence_against_cli_and_builtins(void **state)
{
    (void)state;
    mx_envlist cli = {0}, ctx = {0}, out = {0};
    mx_envlist_set(&cli, "SHARED", "from-cli");
    mx_envlist_set(&cli, "CLI_ONLY", "c");
    mx_envlist_set(&ctx, "SHARED", "from-context");
    mx_envlist_set(&ctx, "CI", "context-says-no");
    mx_job job = {.name = "build", .workdir = "~/project"};
    mx_builtin_info info = {.project_dir = "/src/repo", .job_id = "id"};
    mx_job_env_build(&job, &cli, &ctx, &info, &out);
    assert_string_equal(mx_envlist_get(&out, "SHARED"), "from-context");
    assert_string_equal(mx_envlist_get(&out, "CLI_ONLY"), "c");
    assert_string_equal(mx_envlist_get(&out, "CI"), "true");
    mx_envlist_free(&cli);
    mx_envlist_free(&ctx);
    mx_envlist_free(&out);
}

static void test_errors(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_secrets sec;
    mx_secrets_init(&sec);
    mx_err err;
    const char *unknown[] = {"nope"};
    assert_int_equal(mx_contexts_load(dir, unknown, 1, &env, &sec, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    assert_non_null(strstr(err.msg, "unknown context \"nope\""));
    assert_non_null(strstr(err.msg, dir));
    const char *traversal[] = {"../etc/passwd"};
    assert_int_equal(mx_contexts_load(dir, traversal, 1, &env, &sec, &err), -1);
    assert_non_null(strstr(err.msg, "is not a context name"));
    tu_write_free(dir, "bad.yaml", "- a\n- b\n");
    const char *badname[] = {"bad"};
    assert_int_equal(mx_contexts_load(dir, badname, 1, &env, &sec, &err), -1);
    assert_non_null(strstr(err.msg, "context bad: "));
    assert_non_null(
        strstr(err.msg, "bad.yaml:1:3: environment entries are NAME: value or NAME=value"));
    mx_envlist_free(&env);
    mx_secrets_free(&sec);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_order_and_secrets),
        cmocka_unit_test(test_precedence_against_cli_and_builtins),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
