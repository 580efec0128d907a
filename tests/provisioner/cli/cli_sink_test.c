/* The CLI's human view (cli_sink.c): what library code reports reaches the terminal through the
 * terminal filter.  The guest's output is filtered as a stream (a sequence split across calls
 * is still dropped) and settled when a step's output ends (colours reset); names, log lines,
 * notes, the agent's lines and its messages are filtered too. */
#include "test_util.h"

#include "cli.h"
#include "mx_cleanup.h"
#include "sink.h"

#include <fcntl.h>
#include <unistd.h>

static char *dir;
static int saved[2] = {-1, -1};

/* Our stdout and stderr go to files until restore(). */
static void capture(void)
{
    dir = tu_mkdtemp();
    fflush(NULL);
    for (int fd = 1; fd <= 2; fd++) {
        saved[fd - 1] = dup(fd);
        char *p = mx_xasprintf("%s/%d", dir, fd);
        int f = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        assert_true(saved[fd - 1] >= 0 && f >= 0);
        assert_true(dup2(f, fd) >= 0);
        close(f);
        free(p);
    }
}

/* Restores stdout and stderr (once); returns what went to fd (1 or 2) meanwhile. */
static char *restore(int fd)
{
    fflush(NULL);
    for (int i = 1; i <= 2 && saved[0] >= 0; i++) {
        dup2(saved[i - 1], i);
        close(saved[i - 1]);
        saved[i - 1] = -1;
    }
    mx_autofree char *p = mx_xasprintf("%s/%d", dir, fd);
    return tu_read(p);
}

static void output(int stream, const char *text)
{
    mx_sink_output(stream, text, strlen(text));
}

static void test_human_view(void **state)
{
    (void)state;
    mx_cli_sink_install();
    capture();
    mx_sink_step_started(1, 2, "build\x1b]0;title\x07");
    /* an OSC 52 clipboard write split across calls, an erase, a \r faking another job's line */
    output(0, "ok \x1b]52;c;b3du");
    output(0, "ZWQ=\x07line\x1b[2K\rJOB | fake\n");
    output(0, "\x1b[31mred");
    output(1, "to stderr \x1b[1");
    output(1, "A!\n");
    mx_sink_output_end();
    mx_sink_step_ended(&(mx_sink_step_end){
        .how = MX_SINK_END_FAILED, .status = 1, .message = "cannot \x1b]52;c;eA==\x07why"});
    mx_sink_log("log \x1b[2Jline");
    mx_sink_note("note \x1b[1;1Hhere\r");
    const char *agent = "agent \x1b]0;t\x07"
                        "diag";
    mx_sink_agent(agent, strlen(agent));
    mx_sink_job_started("job\x1b[2J");
    mx_autofree char *out = restore(1), *err = restore(2);
    mx_sink_set(NULL);
    assert_string_equal(out, "\n==> [1/2] build\n"
                             "ok line\nJOB | fake\n\x1b[31mred\x1b[0m"
                             "mexec-agent could not run the step: cannot why\n"
                             "\nExited with code exit status 1\n"
                             "log line\n"
                             "-------- job: started\n");
    assert_string_equal(err, "to stderr !\n"
                             "mexec: note here\n\n"
                             "mexec-agent: agent diag\n");
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_human_view),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
