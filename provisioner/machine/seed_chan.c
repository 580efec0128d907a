#include "seed_chan.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "ssh.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* The address of the unix socket at path: 0, or -1 when path does not fit in one. */
static int unix_addr(const char *path, struct sockaddr_un *a)
{
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    if (strlen(path) >= sizeof a->sun_path) return -1;
    memcpy(a->sun_path, path, strlen(path) + 1);
    return 0;
}

int mx_chan_connect(const char *path)
{
    struct sockaddr_un a;
    if (unix_addr(path, &a) < 0) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

int mx_chan_listen(const char *path, uid_t uid, gid_t gid, mx_err *err)
{
    struct sockaddr_un a;
    if (unix_addr(path, &a) < 0)
        return mx_fail(err, MX_INFRA, "seed channel path too long: %s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "socket");
    if (unlink(path) < 0 && errno != ENOENT) {
        mx_fail_errno(err, MX_INFRA, "remove %s", path);
        close(fd);
        return -1;
    }
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1) < 0 ||
        chown(path, uid, gid) < 0 || chmod(path, 0600) < 0) {
        mx_fail_errno(err, MX_INFRA, "seed channel socket %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

/* Waits until fd has events (or the deadline/stop); 1 ready, -1 failed (err set). */
static int wait_fd(int fd, short events, long long deadline_ms, volatile sig_atomic_t *stop,
                   const char *what, mx_err *err)
{
    for (;;) {
        if (stop && *stop) return mx_fail(err, MX_INFRA, "interrupted");
        long long left = deadline_ms - mx_now_ms();
        if (left <= 0) return mx_fail(err, MX_INFRA, "seed channel: timed out %s", what);
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, left < 200 ? (int)left : 200);
        if (r < 0 && errno != EINTR) return mx_fail_errno(err, MX_INFRA, "poll");
        if (r > 0) return 1;
    }
}

int mx_chan_accept(int lfd, long long deadline_ms, volatile sig_atomic_t *stop, mx_err *err)
{
    if (wait_fd(lfd, POLLIN, deadline_ms, stop, "waiting for QEMU", err) < 0) return -1;
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "seed channel: accept");
    return fd;
}

int mx_chan_expect(int fd, const char *want, long long deadline_ms, volatile sig_atomic_t *stop,
                   mx_err *err)
{
    char line[256];
    size_t n = 0;
    for (;;) {
        mx_autofree char *what = mx_xasprintf("waiting for \"%s\"", want);
        if (wait_fd(fd, POLLIN, deadline_ms, stop, what, err) < 0) return -1;
        /* byte by byte: nothing after the line may be taken from the guest's next message */
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r < 0) return mx_fail_errno(err, MX_INFRA, "seed channel: read");
        if (r == 0) return mx_fail(err, MX_INFRA, "seed channel closed %s", what);
        if (c == '\n') break;
        if (n + 1 >= sizeof line) return mx_fail(err, MX_INFRA, "seed channel: line too long");
        line[n++] = c;
    }
    line[n] = '\0';
    if (strcmp(line, want) != 0)
        return mx_fail(err, MX_INFRA, "seed channel: the guest said \"%.60s\", not \"%s\"", line,
                       want);
    return 0;
}

char *mx_chan_encode(const mx_chan_file *files, size_t n, size_t *len)
{
    mx_buf b;
    mx_buf_init(&b);
    for (size_t i = 0; i < n; i++) {
        mx_buf_printf(&b, "file %s %zu\n", files[i].name, files[i].len);
        mx_buf_add(&b, files[i].data, files[i].len);
    }
    mx_buf_adds(&b, "end\n");
    *len = b.len;
    return mx_buf_steal(&b);
}

int mx_chan_send(int fd, const mx_chan_file *files, size_t n, long long deadline_ms,
                 volatile sig_atomic_t *stop, mx_err *err)
{
    size_t len;
    mx_autofree char *data = mx_chan_encode(files, n, &len);
    for (size_t off = 0; off < len;) {
        if (wait_fd(fd, POLLOUT, deadline_ms, stop, "sending to the guest", err) < 0) return -1;
        ssize_t w = send(fd, data + off, len - off, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (w < 0) return mx_fail_errno(err, MX_INFRA, "seed channel: write");
        off += (size_t)w;
    }
    return 0;
}
