/* -e KEY=VALUE, -e KEY (from mexec's environment) and --env-file (a private file): what they
 * set, which values count as secrets, and what is refused without quoting a value (issue 11,
 * item 8).  The command line itself: tests/provisioner/cli_test.sh. */
#include "test_util.h"

#include "cli_env.h"

#include <sys/stat.h>

typedef struct fx {
    char *dir;
    mx_envlist env;
    mx_cli_secret_keys secret;
} fx;

static int setup(void **state)
{
    fx *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    mx_envlist_free(&f->env);
    mx_cli_secret_keys_free(&f->secret);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static int is_secret(const fx *f, const char *key)
{
    for (size_t i = 0; i < f->secret.n; i++)
        if (strcmp(f->secret.v[i], key) == 0) return 1;
    return 0;
}

static void test_e_forms(void **state)
{
    fx *f = *state;
    mx_err err = {0};
    assert_int_equal(mx_cli_env_arg("PLAIN=on argv", &f->env, &f->secret, &err), 0);
    assert_string_equal(mx_envlist_get(&f->env, "PLAIN"), "on argv");
    assert_false(is_secret(f, "PLAIN")); /* given on argv: visible anyway */
    assert_int_equal(mx_cli_env_arg("EMPTY=", &f->env, &f->secret, &err), 0);
    assert_string_equal(mx_envlist_get(&f->env, "EMPTY"), "");
    setenv("MX_TEST_FROM_ENV", "env-Secret-1", 1);
    assert_int_equal(mx_cli_env_arg("MX_TEST_FROM_ENV", &f->env, &f->secret, &err), 0);
    assert_string_equal(mx_envlist_get(&f->env, "MX_TEST_FROM_ENV"), "env-Secret-1");
    assert_true(is_secret(f, "MX_TEST_FROM_ENV"));
    unsetenv("MX_TEST_UNSET");
    assert_int_equal(mx_cli_env_arg("MX_TEST_UNSET", &f->env, &f->secret, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg,
                       "-e MX_TEST_UNSET: MX_TEST_UNSET is not set in mexec's environment");
    assert_int_equal(mx_cli_env_arg("=x", &f->env, &f->secret, &err), -1);
    assert_int_equal(mx_cli_env_arg("not a name", &f->env, &f->secret, &err), -1);
    tu_assert_contains(err.msg, "-e takes KEY=VALUE or KEY");
}

static char *env_file(fx *f, const char *text, mode_t mode)
{
    char *p = tu_write(f->dir, "env", text);
    assert_int_equal(chmod(p, mode), 0);
    return p;
}

static void test_env_file(void **state)
{
    fx *f = *state;
    mx_err err = {0};
    setenv("MX_TEST_PASSED_ON", "from-mexec-env", 1);
    char *p = env_file(f,
                       "# a comment\n"
                       "\n"
                       "A=file-Secret-2\n"
                       "  B=two words = and more  \n"
                       "C=crlf\r\n"
                       "D=\n"
                       "MX_TEST_PASSED_ON\n"
                       "E=\"quotes stay\"",
                       0600);
    if (mx_cli_env_file(p, &f->env, &f->secret, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(mx_envlist_get(&f->env, "A"), "file-Secret-2");
    assert_string_equal(mx_envlist_get(&f->env, "B"), "two words = and more  ");
    assert_string_equal(mx_envlist_get(&f->env, "C"), "crlf");
    assert_string_equal(mx_envlist_get(&f->env, "D"), "");
    assert_string_equal(mx_envlist_get(&f->env, "MX_TEST_PASSED_ON"), "from-mexec-env");
    assert_string_equal(mx_envlist_get(&f->env, "E"), "\"quotes stay\"");
    const char *keys[] = {"A", "B", "C", "D", "MX_TEST_PASSED_ON", "E"};
    for (size_t i = 0; i < 6; i++)
        assert_true(is_secret(f, keys[i]));
    free(p);
}

static void test_env_file_refused(void **state)
{
    fx *f = *state;
    mx_err err = {0};
    const mode_t open_modes[] = {0644, 0640, 0604, 0620, 0602, 0660};
    for (size_t i = 0; i < sizeof open_modes / sizeof *open_modes; i++) {
        char *p = env_file(f, "A=file-Secret-2\n", open_modes[i]);
        assert_int_equal(mx_cli_env_file(p, &f->env, &f->secret, &err), -1);
        tu_assert_contains(err.msg, "may be read or written by others");
        tu_assert_contains(err.msg, "chmod 600");
        tu_assert_not_contains(err.msg, "file-Secret-2");
        free(p);
    }
    assert_null(mx_envlist_get(&f->env, "A"));
    /* a bad line: named by number, its text never quoted (it may be a secret) */
    char *p = env_file(f, "A=1\nfile-Secret-2 with spaces\n", 0400);
    assert_int_equal(mx_cli_env_file(p, &f->env, &f->secret, &err), -1);
    tu_assert_contains(err.msg, "/env:2: not KEY=VALUE or KEY");
    tu_assert_not_contains(err.msg, "file-Secret-2");
    free(p);
    unsetenv("MX_TEST_UNSET");
    p = env_file(f, "MX_TEST_UNSET\n", 0600);
    assert_int_equal(mx_cli_env_file(p, &f->env, &f->secret, &err), -1);
    tu_assert_contains(err.msg, "/env:1: MX_TEST_UNSET is not set in mexec's environment");
    free(p);
    /* not a regular file, or missing */
    assert_int_equal(mx_cli_env_file(f->dir, &f->env, &f->secret, &err), -1);
    char *missing = mx_path_join(f->dir, "nope");
    assert_int_equal(mx_cli_env_file(missing, &f->env, &f->secret, &err), -1);
    tu_assert_contains(err.msg, "No such file");
    free(missing);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_e_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_file_refused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
