/* mx_fs: directory creation and removal, whole-file read/write with exact modes, path helpers. */
#include "test_util.h"

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    tu_rmdir(*state);
    return 0;
}

static void test_mkdir_p(void **state)
{
    const char *dir = *state;
    mx_err err = {0};
    char *deep = mx_path_join(dir, "a/b/c/d");
    assert_int_equal(mx_mkdir_p(deep, 0755, &err), 0);
    struct stat st;
    assert_int_equal(stat(deep, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(mx_mkdir_p(deep, 0755, &err), 0); /* existing: fine */
    char *slash = mx_xasprintf("%s/x/y/", dir);        /* trailing slash */
    assert_int_equal(mx_mkdir_p(slash, 0700, &err), 0);
    assert_true(mx_path_exists(slash));
    free(slash);
    /* a file in the way: the error names the path that could not be made */
    tu_write_free(dir, "file", "x");
    char *under = mx_path_join(dir, "file/sub/dir");
    assert_int_equal(mx_mkdir_p(under, 0755, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    char *want = mx_xasprintf("create directory %s/file/sub", dir);
    tu_assert_contains(err.msg, want);
    tu_assert_contains(err.msg, "Not a directory");
    free(want);
    free(under);
    free(deep);
}

static void test_rm_rf(void **state)
{
    const char *dir = *state;
    mx_err err = {0};
    char *top = mx_path_join(dir, "tree");
    tu_write_free(top, "a/b/c.txt", "c");
    tu_write_free(top, "a/d.txt", "d");
    tu_write_free(top, ".hidden/e", "e");
    char *sub = mx_path_join(top, "empty/deeper");
    assert_int_equal(mx_mkdir_p(sub, 0755, &err), 0);
    /* a symlink to something outside: removed, its target kept */
    char *outside = tu_write(dir, "outside.txt", "keep me");
    char *link = mx_path_join(top, "link");
    assert_int_equal(symlink(outside, link), 0);
    char *dlink = mx_path_join(top, "dirlink");
    assert_int_equal(symlink(dir, dlink), 0);
    assert_int_equal(mx_rm_rf(top, &err), 0);
    assert_false(mx_path_exists(top));
    assert_true(mx_path_exists(outside));
    assert_int_equal(mx_rm_rf(top, &err), 0); /* missing is not an error */
    /* a single file */
    assert_int_equal(mx_rm_rf(outside, &err), 0);
    assert_false(mx_path_exists(outside));
    free(dlink);
    free(link);
    free(outside);
    free(sub);
    free(top);
}

static void test_write_read(void **state)
{
    const char *dir = *state;
    mx_err err = {0};
    char *p = mx_path_join(dir, "data.bin");
    const char data[] = "line1\n\0binary\xff";
    mode_t old = umask(0077);
    assert_int_equal(mx_write_file(p, data, sizeof data, 0644, &err), 0);
    umask(old);
    assert_int_equal(tu_mode(p), 0644); /* umask did not narrow it */
    mx_buf b;
    mx_buf_init(&b);
    assert_int_equal(mx_read_file(p, &b, &err), 0);
    assert_int_equal(b.len, sizeof data);
    assert_memory_equal(b.data, data, sizeof data);
    mx_buf_free(&b);

    /* rewriting truncates and applies the new mode */
    old = umask(0);
    assert_int_equal(mx_write_file(p, "short", 5, 0600, &err), 0);
    umask(old);
    assert_int_equal(tu_mode(p), 0600);
    assert_int_equal(mx_read_file(p, &b, &err), 0);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.data, "short");
    /* read appends to what the buffer holds */
    assert_int_equal(mx_read_file(p, &b, &err), 0);
    assert_string_equal(b.data, "shortshort");
    mx_buf_free(&b);

    /* an empty file reads as an empty string, not NULL */
    assert_int_equal(mx_write_file(p, "", 0, 0600, &err), 0);
    assert_int_equal(mx_read_file(p, &b, &err), 0);
    assert_non_null(b.data);
    assert_int_equal(b.len, 0);
    mx_buf_free(&b);

    /* a large file crosses the read chunk size */
    size_t big = 300 * 1000 + 7;
    char *many = mx_xmalloc(big);
    for (size_t i = 0; i < big; i++)
        many[i] = (char)('a' + i % 26);
    assert_int_equal(mx_write_file(p, many, big, 0600, &err), 0);
    assert_int_equal(mx_read_file(p, &b, &err), 0);
    assert_int_equal(b.len, big);
    assert_memory_equal(b.data, many, big);
    mx_buf_free(&b);
    free(many);
    free(p);
}

static void test_errors_name_the_path(void **state)
{
    const char *dir = *state;
    mx_err err = {0};
    mx_buf b;
    mx_buf_init(&b);
    char *missing = mx_path_join(dir, "missing.txt");
    assert_int_equal(mx_read_file(missing, &b, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, missing);
    tu_assert_contains(err.msg, "No such file or directory");
    assert_int_equal(mx_read_file(dir, &b, &err), -1); /* a directory */
    tu_assert_contains(err.msg, "Is a directory");
    mx_buf_free(&b);

    char *nodir = mx_path_join(dir, "no/such/dir/f");
    assert_int_equal(mx_write_file(nodir, "x", 1, 0600, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    tu_assert_contains(err.msg, nodir);

    /* writing never follows a symlink planted at the destination */
    char *target = tu_write(dir, "target.txt", "original");
    char *link = mx_path_join(dir, "link.txt");
    assert_int_equal(symlink(target, link), 0);
    assert_int_equal(mx_write_file(link, "evil", 4, 0600, &err), -1);
    tu_assert_contains(err.msg, link);
    tu_assert_file(dir, "target.txt", "original");
    free(link);
    free(target);
    free(nodir);
    free(missing);
}

static void test_path_exists(void **state)
{
    const char *dir = *state;
    assert_true(mx_path_exists(dir));
    char *f = tu_write(dir, "f", "");
    assert_true(mx_path_exists(f));
    char *no = mx_path_join(dir, "nope");
    assert_false(mx_path_exists(no));
    free(no);
    free(f);
}

/* gc, spares and snapshot makers tell a live owner from a dead one by its lock */
static void test_flock_held(void **state)
{
    const char *dir = *state;
    char *no = mx_path_join(dir, "nope");
    assert_int_equal(mx_flock_held(no), -1);
    char *f = tu_write(dir, "lock", "");
    assert_int_equal(mx_flock_held(f), 0);
    assert_int_equal(mx_flock_held(f), 0); /* the probe did not keep it */
    int fd = open(f, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(mx_flock_held(f), 1);
    close(fd);
    assert_int_equal(mx_flock_held(f), 0);
    free(no);
    free(f);
}

static void check_join(const char *a, const char *b, const char *want)
{
    char *j = mx_path_join(a, b);
    if (strcmp(j, want) != 0) fail_msg("join(\"%s\", \"%s\") = \"%s\", want \"%s\"", a, b, j, want);
    free(j);
}

static void test_path_join(void **state)
{
    (void)state;
    check_join("a", "b", "a/b");
    check_join("a/", "b", "a/b");
    check_join("a///", "/b", "a/b");
    check_join("/x/y", "z/w", "/x/y/z/w");
    check_join("/x/y/", "//z", "/x/y/z");
    check_join("/", "etc", "/etc");
    check_join("//", "etc", "/etc");
    check_join(".", "f", "./f");
}

static void check_dirname(const char *p, const char *want)
{
    char *d = mx_dirname(p);
    if (strcmp(d, want) != 0) fail_msg("dirname(\"%s\") = \"%s\", want \"%s\"", p, d, want);
    free(d);
}

/* More than a pipe holds, so the writer sees short writes while the reader drains. */
static void test_write_all_through_pipe(void **state)
{
    (void)state;
    size_t len = 1 << 20;
    char *data = mx_xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (char)(i * 7);
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        _exit(mx_write_all(p[1], data, len) == 0 ? 0 : 1);
    }
    close(p[1]);
    mx_buf got;
    mx_buf_init(&got);
    char buf[4096];
    ssize_t n;
    while ((n = read(p[0], buf, sizeof buf)) > 0)
        mx_buf_add(&got, buf, (size_t)n);
    close(p[0]);
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(got.len, len);
    assert_memory_equal(got.data, data, len);
    mx_buf_free(&got);
    free(data);
    /* a reader that is gone is an error, not a hang */
    assert_int_equal(pipe(p), 0);
    close(p[0]);
    signal(SIGPIPE, SIG_IGN);
    assert_int_equal(mx_write_all(p[1], "x", 1), -1);
    assert_int_equal(errno, EPIPE);
    close(p[1]);
}

static void test_dirname(void **state)
{
    (void)state;
    check_dirname("/a/b/c", "/a/b");
    check_dirname("a/b", "a");
    check_dirname("file", ".");
    check_dirname("/file", "/");
    check_dirname("/", "/");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mkdir_p, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rm_rf, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors_name_the_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_path_exists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_flock_held, setup, teardown),
        cmocka_unit_test(test_path_join),
        cmocka_unit_test(test_dirname),
        cmocka_unit_test(test_write_all_through_pipe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
