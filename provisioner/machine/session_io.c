/* The two ways a session reaches its agent: the SSH channel (every job), and pipes to a local
 * agent process (tests that play a misbehaving agent, and bench/output.sh's host-side run). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- SSH ---- */

static ssize_t ssh_read(mx_session *se, int stream, char *buf, size_t n, mx_err *err)
{
    ssize_t r =
        stream ? libssh2_channel_read_stderr(se->ch, buf, n) : libssh2_channel_read(se->ch, buf, n);
    if (r > 0) return r;
    if (r == 0 || r == LIBSSH2_ERROR_EAGAIN)
        return stream == 0 && libssh2_channel_eof(se->ch) ? -1 : 0;
    mx_fail(err, MX_INFRA, "read from agent: %s", mx_ssh_error(se->ssh->s));
    return -2;
}

static ssize_t ssh_write(mx_session *se, const char *buf, size_t n, mx_err *err)
{
    ssize_t w = libssh2_channel_write(se->ch, buf, n);
    if (w >= 0) return w;
    if (w == LIBSSH2_ERROR_EAGAIN) return 0;
    mx_fail(err, MX_INFRA, "send to agent: %s", mx_ssh_error(se->ssh->s));
    return -1;
}

/* Waits until libssh2 can make progress (or ms pass). */
static void ssh_wait(mx_session *se, int ms, int writing)
{
    (void)writing; /* libssh2 says which way it is blocked */
    int dir = libssh2_session_block_directions(se->ssh->s);
    struct pollfd p = {.fd = se->ssh->sock, .events = 0};
    if (dir & LIBSSH2_SESSION_BLOCK_INBOUND) p.events |= POLLIN;
    if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND) p.events |= POLLOUT;
    if (!p.events) p.events = POLLIN;
    poll(&p, 1, ms);
}

static int ssh_exit_status(mx_session *se)
{
    return libssh2_channel_get_exit_status(se->ch);
}

static void ssh_close(mx_session *se)
{
    if (!se->ch) return;
    /* bounded: a guest that stopped answering does not hold the teardown */
    libssh2_session_set_blocking(se->ssh->s, 1);
    libssh2_session_set_timeout(se->ssh->s, 2000);
    libssh2_channel_close(se->ch);
    libssh2_channel_free(se->ch);
    se->ch = NULL;
}

static const mx_session_io ssh_io = {ssh_read, ssh_write, ssh_wait, ssh_exit_status, ssh_close};

int mx_session_start(mx_session *se, mx_ssh *ssh, const char *agent_path, const mx_secrets *secrets,
                     volatile sig_atomic_t *stop, mx_err *err)
{
    mx_session_init(se, &ssh_io, NULL, secrets, stop);
    se->ssh = ssh;
    se->ch = mx_ssh_exec(ssh, agent_path, err);
    if (!se->ch) {
        se->io = NULL; /* nothing to say bye to */
        return -1;
    }
    libssh2_session_set_blocking(ssh->s, 0);
    return mx_session_hello(se, err);
}

/* ---- pipes ---- */

static ssize_t fd_read(mx_session *se, int stream, char *buf, size_t n, mx_err *err)
{
    int *fd = stream ? &se->err_fd : &se->from_fd;
    if (*fd < 0) return stream ? 0 : -1;
    ssize_t r = read(*fd, buf, n);
    if (r > 0) return r;
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (r < 0 && stream == 0) {
        mx_fail_errno(err, MX_INFRA, "read from agent");
        return -2;
    }
    if (stream) { /* the end of stderr is no news: the protocol stream says when it ends */
        close(*fd);
        *fd = -1;
        return 0;
    }
    return -1;
}

static ssize_t fd_write(mx_session *se, const char *buf, size_t n, mx_err *err)
{
    ssize_t w = write(se->to_fd, buf, n);
    if (w >= 0) return w;
    if (errno == EAGAIN || errno == EINTR) return 0;
    mx_fail_errno(err, MX_INFRA, "send to agent");
    return -1;
}

static void fd_wait(mx_session *se, int ms, int writing)
{
    /* poll ignores negative descriptors (a closed stderr) */
    struct pollfd p[3] = {{.fd = se->from_fd, .events = POLLIN},
                          {.fd = se->err_fd, .events = POLLIN},
                          {.fd = se->to_fd, .events = POLLOUT}};
    poll(p, writing ? 3 : 2, ms);
}

static int fd_exit_status(mx_session *se)
{
    /* its stdout closed; it may still be exiting (or not: then the status is unknown) */
    for (int i = 0; se->pid > 0 && i < 20; i++) {
        int ws;
        pid_t r = waitpid(se->pid, &ws, WNOHANG);
        if (r == se->pid) {
            se->pid = -1;
            return WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
        }
        if (r < 0) break;
        poll(NULL, 0, 100);
    }
    return -1;
}

static void fd_close(mx_session *se)
{
    int *fds[] = {&se->to_fd, &se->from_fd, &se->err_fd};
    for (size_t i = 0; i < 3; i++) {
        if (*fds[i] >= 0) close(*fds[i]);
        *fds[i] = -1;
    }
}

static const mx_session_io fd_io = {fd_read, fd_write, fd_wait, fd_exit_status, fd_close};

// cppcheck-suppress unusedFunction ; session_test drives the session over pipes with it
int mx_session_start_fds(mx_session *se, int to_fd, int from_fd, int err_fd, pid_t pid,
                         const mx_session_times *times, const mx_secrets *secrets,
                         volatile sig_atomic_t *stop, mx_err *err)
{
    mx_session_init(se, &fd_io, times, secrets, stop);
    se->to_fd = to_fd;
    se->from_fd = from_fd;
    se->err_fd = err_fd;
    se->pid = pid;
    for (int i = 0; i < 3; i++) {
        int fd = i == 0 ? to_fd : i == 1 ? from_fd : err_fd;
        int fl = fd >= 0 ? fcntl(fd, F_GETFL) : 0;
        if (fd >= 0 && (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
            return mx_fail_errno(err, MX_INFRA, "fcntl");
    }
    return mx_session_hello(se, err);
}
