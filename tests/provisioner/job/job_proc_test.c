/* Jobs in child processes: output relayed under the job's prefix (partial lines too), the
 * child's verdict and error message carried back, and a child that dies without one. */
#include "job_proc.h"
#include "sink.h"
#include "test_util.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

static char *captured;

static int job_prints(void *arg, mx_err *err)
{
    (void)err;
    printf("line one\nline two\n");
    fflush(stdout);
    fprintf(stderr, "to stderr");
    return *(int *)arg;
}

/* what a job's output could hold to fake another job's lines or act on the terminal */
static int job_hostile(void *arg, mx_err *err)
{
    (void)arg;
    (void)err;
    printf("ok\rjob-b | FAKE succeeded\n\x1b]52;c;b3duZWQ=\x07\x1b[1A\x1b[2Kup\n\x1b[31mred\n");
    fflush(stdout);
    return MX_OK;
}

static int job_errs(void *arg, mx_err *err)
{
    (void)arg;
    return mx_fail(err, MX_USAGE, "config.yml:3:5: unknown key \"stesp\"");
}

static int job_dies(void *arg, mx_err *err)
{
    (void)arg;
    (void)err;
    raise(SIGKILL);
    return 0;
}

/* The relay hands the child's lines to the sink; this one writes them where the CLI's does. */
static void output_to_fd(void *ud, int stream, const char *bytes, size_t len)
{
    (void)ud;
    assert_int_equal(mx_write_all(stream == 0 ? 1 : 2, bytes, len), 0);
}

static const mx_sink fd_sink = {.output = output_to_fd};

/* Runs fn under the relay with stdout and stderr redirected to one file; returns the result. */
static int run(mx_job_proc_fn fn, void *arg, mx_err *err)
{
    mx_sink_set(&fd_sink);
    char *dir = tu_mkdtemp();
    char *path = mx_path_join(dir, "out");
    fflush(NULL);
    int saved[2] = {dup(1), dup(2)};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_true(dup2(fd, 1) >= 0 && dup2(fd, 2) >= 0);
    close(fd);
    mx_job_proc p;
    assert_int_equal(mx_job_proc_start(&p, "job-a | ", fn, arg, err), 0);
    int result = 99;
    mx_job_proc *all[] = {&p};
    while (!mx_job_proc_reap(&p, &result, err))
        mx_job_proc_relay(all, 1, 100);
    assert_true(dup2(saved[0], 1) >= 0 && dup2(saved[1], 2) >= 0);
    mx_sink_set(NULL);
    close(saved[0]);
    close(saved[1]);
    mx_buf b;
    mx_buf_init(&b);
    assert_int_equal(mx_read_file(path, &b, NULL), 0);
    free(captured);
    captured = mx_buf_steal(&b);
    free(path);
    tu_rmdir(dir);
    return result;
}

static void test_relays_with_prefix(void **state)
{
    (void)state;
    mx_err err;
    int verdict = MX_JOB_FAILED;
    assert_int_equal(run(job_prints, &verdict, &err), MX_JOB_FAILED);
    assert_non_null(strstr(captured, "job-a | line one\njob-a | line two\n"));
    /* the last line had no newline: it still comes out whole, prefixed */
    assert_non_null(strstr(captured, "job-a | to stderr\n"));
    verdict = MX_OK;
    assert_int_equal(run(job_prints, &verdict, &err), MX_OK);
}

/* A \r shows as a new line under the prefix, OSC and cursor sequences are dropped, and a
 * colour left on is reset before the next prefix. */
static void test_relay_is_terminal_safe(void **state)
{
    (void)state;
    mx_err err;
    assert_int_equal(run(job_hostile, NULL, &err), MX_OK);
    assert_string_equal(captured, "job-a | ok\njob-a | job-b | FAKE succeeded\njob-a | up\n"
                                  "job-a | \x1b[31mred\x1b[0m\n");
}

static void test_error_message_reaches_parent(void **state)
{
    (void)state;
    mx_err err;
    assert_int_equal(run(job_errs, NULL, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    assert_string_equal(err.msg, "config.yml:3:5: unknown key \"stesp\"");
}

static void test_death_without_verdict(void **state)
{
    (void)state;
    mx_err err;
    assert_int_equal(run(job_dies, NULL, &err), -1);
    assert_int_equal(err.status, MX_INFRA);
    assert_non_null(strstr(err.msg, "signal 9"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_relays_with_prefix),
        cmocka_unit_test(test_relay_is_terminal_safe),
        cmocka_unit_test(test_error_message_reaches_parent),
        cmocka_unit_test(test_death_without_verdict),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    free(captured);
    return r;
}
