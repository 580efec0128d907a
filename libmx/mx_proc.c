#include "mx_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

void mx_proc_drain(int fds[2], mx_buf *out, mx_buf *errtext, size_t out_cap, size_t err_cap)
{
    struct pollfd p[2] = {{.fd = fds[0], .events = POLLIN}, {.fd = fds[1], .events = POLLIN}};
    int open_fds = 2;
    char chunk[16384];
    while (open_fds > 0) {
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        for (int i = 0; i < 2; i++) {
            if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            ssize_t n = read(p[i].fd, chunk, sizeof chunk);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                open_fds--;
                continue;
            }
            mx_buf *dst = i == 0 ? out : errtext;
            size_t cap = i == 0 ? out_cap : err_cap;
            if (dst && (cap == 0 || dst->len < cap)) mx_buf_add(dst, chunk, (size_t)n);
        }
    }
    /* what passed through may be a credential helper's secret */
    explicit_bzero(chunk, sizeof chunk);
}

pid_t mx_proc_fork_piped(int *out_fd, int *err_fd, mx_err *err)
{
    int op[2], ep[2];
    if (pipe2(op, O_CLOEXEC) < 0) return mx_fail_errno(err, MX_INFRA, "pipe");
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(op[0]);
        close(op[1]);
        return mx_fail_errno(err, MX_INFRA, "pipe");
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(op[0]), close(op[1]), close(ep[0]), close(ep[1]);
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(op[1], 1) < 0 || dup2(ep[1], 2) < 0)
            _exit(127);
        return 0;
    }
    close(op[1]);
    close(ep[1]);
    *out_fd = op[0];
    *err_fd = ep[0];
    return pid;
}

static int run(const char *const argv[], const char *cwd, mx_buf *out, mx_buf *errtext, mx_err *err)
{
    int fds[2];
    pid_t pid = mx_proc_fork_piped(&fds[0], &fds[1], err);
    if (pid < 0) return -1;
    if (pid == 0) {
        /* child: only async-signal-safe calls until exec */
        if (cwd && chdir(cwd) < 0) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    /* stderr only explains a failure: 64 KiB of it is plenty */
    mx_proc_drain(fds, out, errtext, 0, 65536);
    int st;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "waitpid %s", argv[0]);
    }
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    int code = WEXITSTATUS(st);
    if (code == 127 && errtext && errtext->len == 0)
        return mx_fail(err, MX_INFRA, "cannot run %s (not installed?)", argv[0]);
    return code;
}

int mx_proc_run(const char *const argv[], const char *cwd, mx_buf *out, mx_err *err)
{
    mx_buf errtext;
    mx_buf_init(&errtext);
    int r = run(argv, cwd, out, &errtext, err);
    mx_buf_free(&errtext);
    return r;
}

int mx_proc_check(const char *const argv[], const char *cwd, mx_buf *out, mx_err *err)
{
    mx_buf errtext;
    mx_buf_init(&errtext);
    int r = run(argv, cwd, out, &errtext, err);
    if (r > 0) {
        while (errtext.len && (errtext.data[errtext.len - 1] == '\n'))
            errtext.data[--errtext.len] = '\0';
        mx_fail(err, MX_INFRA, "%s exited with status %d%s%s", argv[0], r, errtext.len ? ": " : "",
                errtext.len ? errtext.data : "");
        r = -1;
    }
    mx_buf_free(&errtext);
    return r;
}

int mx_proc_run_inherit(const char *const argv[], volatile sig_atomic_t *stop, mx_err *err)
{
    pid_t pid = fork();
    if (pid < 0) return mx_fail_errno(err, MX_INFRA, "fork");
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull < 0 || dup2(devnull, 0) < 0) _exit(127);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st, forwarded = 0;
    while (waitpid(pid, &st, 0) < 0) {
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "waitpid %s", argv[0]);
        if (stop && *stop && !forwarded) {
            kill(pid, SIGTERM);
            forwarded = 1;
        }
    }
    if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}
