/* The relay of a step in a container (agent_ctr.h): a forked child of the agent that starts the
 * exec, feeds it the script, copies its demultiplexed output to its own stdout/stderr (the
 * pipes the agent supervises, as a shell's) and exits with the exec's exit code.  SIGTERM (the
 * agent cancelling, or no_output_timeout) closes the exec's stdin, which the wrapper in the
 * container takes as the order to end the step. */
#include "agent_ctr.h"
#include "agent_http.h"
#include "mx_cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

/* Status when the exec could not even start: what `docker exec` gives for a failure of its own. */
#define RELAY_FAILED 125

typedef struct relay_out {
    int out_fd;
} relay_out;

static int write_all(int fd, const char *p, size_t n, mx_err *err)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return mx_fail_errno(err, MX_INFRA, "write");
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int on_frame(void *ctx, int stream, const char *data, size_t len, mx_err *err)
{
    relay_out *o = ctx;
    return write_all(stream == 2 ? STDERR_FILENO : o->out_fd, data, len, err);
}

/* POST /exec/ID/start with Upgrade: tcp; the hijacked socket, or -1. */
static int start_exec(const mxc_relay *r, const char *id, mx_buf *early, mx_err *err)
{
    mxh_conn h;
    mxh_init(&h);
    mxh_set_timeout(&h, 30000);
    mx_autofree char *target = mx_xasprintf("/exec/%s/start", id);
    const char *headers[] = {"Content-Type: application/json"};
    const char *body = "{\"Detach\":false,\"Tty\":false}";
    mxh_request rq = {.method = "POST",
                      .target = target,
                      .headers = headers,
                      .nheaders = 1,
                      .body = body,
                      .body_len = strlen(body),
                      .upgrade = "tcp"};
    mxh_response resp;
    memset(&resp, 0, sizeof resp);
    int fd = -1;
    if (mxh_connect_unix(&h, r->sock, err) == 0 && mxh_send(&h, &rq, err) == 0 &&
        mxh_read_head(&h, &resp, err) == 0) {
        if (resp.status == 101 || resp.status == 200) {
            fd = mxh_hijack(&h, early);
        } else {
            mx_fail(err, MX_JOB_FAILED, "the Docker daemon refused to start the exec (HTTP %d)",
                    resp.status);
        }
    }
    mxh_response_free(&resp);
    mxh_close(&h);
    return fd;
}

/* Writes the script to the exec's stdin: its length on a line, then its bytes. */
static int feed_script(int fd, const mxc_relay *r, mx_err *err)
{
    char head[32];
    int n = snprintf(head, sizeof head, "%zu\n", r->script_len);
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add(&b, head, (size_t)n);
    mx_buf_add(&b, r->script, r->script_len);
    size_t off = 0;
    int rc = 0;
    while (off < b.len) {
        ssize_t w = send(fd, b.data + off, b.len - off, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && errno == EAGAIN) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            poll(&p, 1, 1000);
            continue;
        }
        if (w < 0) {
            rc = mx_fail_errno(err, MX_JOB_FAILED, "write the step to its container");
            break;
        }
        off += (size_t)w;
    }
    explicit_bzero(b.data, b.cap);
    mx_buf_free(&b);
    return rc;
}

static int pump(int fd, int sigfd, relay_out *o, mxc_demux *d, mx_err *err)
{
    char buf[65536];
    int closed_stdin = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = sigfd, .events = POLLIN}};
        int n = poll(p, 2, -1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mx_fail_errno(err, MX_INFRA, "poll");
        if (p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) < 0 && errno != EAGAIN) return -1;
            /* the end of stdin is the wrapper's order to stop the step */
            if (!closed_stdin) shutdown(fd, SHUT_WR);
            closed_stdin = 1;
        }
        if (!p[0].revents) continue;
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return mx_fail_errno(err, MX_JOB_FAILED, "read the exec's output");
        if (r == 0) return 0;
        if (mxc_demux_feed(d, buf, (size_t)r, on_frame, o, err) < 0) return -1;
    }
}

int mxc_relay_main(void *arg)
{
    const mxc_relay *r = arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigprocmask(SIG_BLOCK, &set, NULL);
    int sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    mx_err err;
    mx_err_clear(&err);
    mxd_ctx c = {.sock = (char *)r->sock};
    relay_out o = {.out_fd = STDOUT_FILENO};
    if (r->out_file) {
        o.out_fd = open(r->out_file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (o.out_fd < 0) {
            dprintf(2, "mexec-agent: %s: %s\n", r->out_file, strerror(errno));
            return RELAY_FAILED;
        }
    }
    if (sigfd < 0) {
        dprintf(2, "mexec-agent: signalfd: %s\n", strerror(errno));
        return RELAY_FAILED;
    }
    mx_autofree char *id = mxc_exec_create(&c, r->container, r->user, r->argv, r->env, r->nenv,
                                           r->script != NULL, &err);
    mx_buf early;
    mx_buf_init(&early);
    int fd = id ? start_exec(r, id, &early, &err) : -1;
    mxc_demux d = {0};
    int rc = fd < 0 ? -1 : 0;
    if (rc == 0 && early.len) rc = mxc_demux_feed(&d, early.data, early.len, on_frame, &o, &err);
    mx_buf_free(&early);
    if (rc == 0 && r->script) rc = feed_script(fd, r, &err);
    if (rc == 0) rc = pump(fd, sigfd, &o, &d, &err);
    if (fd >= 0) close(fd);
    int code = rc == 0 ? mxc_exec_exit_code(&c, id, &err) : -1;
    if (code < 0) {
        dprintf(2, "mexec-agent: %s\n", err.msg);
        code = RELAY_FAILED;
    }
    if (r->out_file && close(o.out_fd) < 0 && code == 0) code = RELAY_FAILED;
    return code;
}
