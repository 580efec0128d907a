/* mx_proc: running helpers without a shell, capturing stdout, explaining failures. */
#include "test_util.h"

#include "mx_proc.h"

static void test_exit_status(void **state)
{
    (void)state;
    mx_err err = {0};
    const char *t[] = {"true", NULL};
    assert_int_equal(mx_proc_run(t, NULL, NULL, &err), 0);
    const char *f[] = {"false", NULL};
    assert_int_equal(mx_proc_run(f, NULL, NULL, &err), 1);
    const char *seven[] = {"sh", "-c", "exit 7", NULL};
    assert_int_equal(mx_proc_run(seven, NULL, NULL, &err), 7);
    const char *killed[] = {"sh", "-c", "kill -KILL $$", NULL};
    assert_int_equal(mx_proc_run(killed, NULL, NULL, &err), 128 + 9);
}

static void test_stdout_capture(void **state)
{
    (void)state;
    mx_err err = {0};
    mx_buf out;
    mx_buf_init(&out);
    /* arguments are not reinterpreted by a shell */
    const char *argv[] = {"printf", "%s|%s\\n", "a b", "$HOME;`x`", NULL};
    assert_int_equal(mx_proc_run(argv, NULL, &out, &err), 0);
    assert_string_equal(out.data, "a b|$HOME;`x`\n");
    mx_buf_free(&out);

    /* stdin is /dev/null: cat ends at once with nothing */
    const char *cat[] = {"cat", NULL};
    assert_int_equal(mx_proc_run(cat, NULL, &out, &err), 0);
    assert_int_equal(out.len, 0);
    mx_buf_free(&out);

    /* stderr does not mix into stdout */
    const char *both[] = {"sh", "-c", "echo out; echo err >&2", NULL};
    assert_int_equal(mx_proc_run(both, NULL, &out, &err), 0);
    assert_string_equal(out.data, "out\n");
    mx_buf_free(&out);
}

static void test_big_output_both_streams(void **state)
{
    (void)state;
    /* more than a pipe buffer on both streams at once must not deadlock */
    mx_err err = {0};
    mx_buf out;
    mx_buf_init(&out);
    const char *argv[] = {"sh", "-c",
                          "head -c 1000000 /dev/zero | tr '\\0' e >&2; "
                          "head -c 2000000 /dev/zero | tr '\\0' o",
                          NULL};
    assert_int_equal(mx_proc_run(argv, NULL, &out, &err), 0);
    assert_int_equal(out.len, 2000000);
    assert_int_equal(out.data[0], 'o');
    assert_int_equal(out.data[out.len - 1], 'o');
    mx_buf_free(&out);
}

static void test_cwd(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_err err = {0};
    mx_buf out;
    mx_buf_init(&out);
    const char *pwd[] = {"pwd", "-P", NULL};
    assert_int_equal(mx_proc_run(pwd, dir, &out, &err), 0);
    char *want = mx_xasprintf("%s\n", dir);
    assert_string_equal(out.data, want);
    free(want);
    mx_buf_free(&out);
    /* a cwd that cannot be entered: the child fails, nothing runs */
    char *missing = mx_path_join(dir, "missing");
    int r = mx_proc_run(pwd, missing, &out, &err);
    assert_true(r != 0);
    assert_int_equal(out.len, 0);
    mx_buf_free(&out);
    free(missing);
    tu_rmdir(dir);
}

static void test_not_installed(void **state)
{
    (void)state;
    mx_err err = {0};
    const char *argv[] = {"mexec-no-such-program-xyz", "arg", NULL};
    assert_int_equal(mx_proc_run(argv, NULL, NULL, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, "cannot run mexec-no-such-program-xyz");
    mx_err_clear(&err);
    assert_int_equal(mx_proc_check(argv, NULL, NULL, &err), -1);
    tu_assert_contains(err.msg, "mexec-no-such-program-xyz");
}

static void test_check_quotes_stderr(void **state)
{
    (void)state;
    mx_err err = {0};
    mx_buf out;
    mx_buf_init(&out);
    const char *ok[] = {"sh", "-c", "echo fine", NULL};
    assert_int_equal(mx_proc_check(ok, NULL, &out, &err), 0);
    assert_string_equal(out.data, "fine\n");
    mx_buf_free(&out);
    const char *bad[] = {"sh", "-c", "echo partial; echo 'qemu-img: disk full' >&2; exit 4", NULL};
    assert_int_equal(mx_proc_check(bad, NULL, &out, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    assert_string_equal(err.msg, "sh exited with status 4: qemu-img: disk full");
    mx_buf_free(&out);
    const char *silent[] = {"false", NULL};
    assert_int_equal(mx_proc_check(silent, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "false exited with status 1");
    /* a command that exits 127 and says why is reported with its own words */
    const char *e127[] = {"sh", "-c", "echo 'helper missing' >&2; exit 127", NULL};
    assert_int_equal(mx_proc_check(e127, NULL, NULL, &err), -1);
    assert_string_equal(err.msg, "sh exited with status 127: helper missing");
}

static void test_run_inherit(void **state)
{
    (void)state;
    mx_err err = {0};
    volatile sig_atomic_t stop = 0;
    const char *five[] = {"sh", "-c", "exit 5", NULL};
    assert_int_equal(mx_proc_run_inherit(five, &stop, &err), 5);
    const char *t[] = {"true", NULL};
    assert_int_equal(mx_proc_run_inherit(t, NULL, &err), 0);
    const char *missing[] = {"mexec-no-such-program-xyz", NULL};
    assert_int_equal(mx_proc_run_inherit(missing, NULL, &err), 127);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exit_status),
        cmocka_unit_test(test_stdout_capture),
        cmocka_unit_test(test_big_output_both_streams),
        cmocka_unit_test(test_cwd),
        cmocka_unit_test(test_not_installed),
        cmocka_unit_test(test_check_quotes_stderr),
        cmocka_unit_test(test_run_inherit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
