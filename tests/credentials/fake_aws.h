/* Starting and stopping tests/credentials/fake_aws.py from a C unit test.
 *
 * The fake listens on 127.0.0.1 only (port chosen by the kernel, printed on its first line of
 * output), so tests never contact any other address. */
#ifndef MX_TEST_FAKE_AWS_H
#define MX_TEST_FAKE_AWS_H

#include "test_util.h"

#include <signal.h>
#include <sys/wait.h>

#ifndef MX_CRED_FIXTURES
#error "MX_CRED_FIXTURES must name tests/credentials"
#endif

typedef struct fake_aws {
    pid_t pid;
    int port;
} fake_aws;

/* config: path of the fake's JSON configuration; echo: answer every request with itself. */
static inline void fake_aws_start(fake_aws *f, const char *config, int echo)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        const char *argv[] = {"/usr/bin/python3", MX_CRED_FIXTURES "/fake_aws.py", config,
                              echo ? "--echo" : NULL, NULL};
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    char line[32] = "";
    size_t n = 0;
    while (n < sizeof line - 1) { /* blocks until the fake has bound its port */
        ssize_t r = read(fds[0], line + n, 1);
        if (r <= 0 || line[n] == '\n') break;
        n++;
    }
    line[n] = '\0';
    close(fds[0]);
    f->pid = pid;
    f->port = atoi(line);
    if (f->port <= 0) fail_msg("fake_aws.py did not start (needs python3-botocore)");
}

static inline void fake_aws_stop(fake_aws *f)
{
    if (f->pid <= 0) return;
    kill(f->pid, SIGTERM);
    int st;
    waitpid(f->pid, &st, 0);
    f->pid = 0;
}

/* Tests must not follow a proxy from the environment to anywhere but loopback. */
static inline void fake_aws_no_proxy(void)
{
    const char *vars[] = {"http_proxy",  "https_proxy", "HTTP_PROXY",
                          "HTTPS_PROXY", "all_proxy",   "ALL_PROXY"};
    for (size_t i = 0; i < sizeof vars / sizeof *vars; i++)
        unsetenv(vars[i]);
    setenv("no_proxy", "*", 1);
}

#endif
