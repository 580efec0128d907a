#include "spare_proto.h"
#include "ssh.h" /* mx_now_ms */

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int mx_spare_send(int sock, const char *line, const int *fds, int nfds, mx_err *err)
{
    if (nfds < 0 || nfds > MX_SPARE_MAX_FDS)
        return mx_fail(err, MX_INFRA, "spare: %d descriptors to send", nfds);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * MX_SPARE_MAX_FDS)];
    } c;
    memset(&c, 0, sizeof c);
    struct iovec iov = {.iov_base = (void *)line, .iov_len = strlen(line)};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds > 0) {
        m.msg_control = c.buf;
        m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
        struct cmsghdr *h = CMSG_FIRSTHDR(&m);
        h->cmsg_level = SOL_SOCKET;
        h->cmsg_type = SCM_RIGHTS;
        h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
        memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)nfds);
    }
    ssize_t w;
    do
        w = sendmsg(sock, &m, MSG_NOSIGNAL);
    while (w < 0 && errno == EINTR);
    if (w < 0) return mx_fail_errno(err, MX_INFRA, "spare: send");
    /* a few bytes on a fresh unix socket: all or nothing; the rest, should it happen, plain */
    for (size_t off = (size_t)w; off < iov.iov_len;) {
        ssize_t n = send(sock, line + off, iov.iov_len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mx_fail_errno(err, MX_INFRA, "spare: send");
        off += (size_t)n;
    }
    return 0;
}

/* Takes the descriptors of one received message into fds (closing any beyond the room). */
static int take_fds(struct msghdr *m, int fds[MX_SPARE_MAX_FDS], int *nfds)
{
    int refused = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(m); h; h = CMSG_NXTHDR(m, h)) {
        if (h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) continue;
        size_t n = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(h) + i * sizeof(int), sizeof fd);
            if (*nfds < MX_SPARE_MAX_FDS)
                fds[(*nfds)++] = fd;
            else {
                close(fd);
                refused = 1;
            }
        }
    }
    return refused || (m->msg_flags & MSG_CTRUNC) ? -1 : 0;
}

int mx_spare_recv(int sock, char *line, size_t cap, int fds[MX_SPARE_MAX_FDS], int *nfds,
                  long long deadline_ms, mx_err *err)
{
    *nfds = 0;
    size_t len = 0;
    int rc = 0;
    while (rc == 0) {
        long long left = deadline_ms - mx_now_ms();
        if (left <= 0) {
            rc = mx_fail(err, MX_INFRA, "spare: no answer in time");
            break;
        }
        struct pollfd p = {.fd = sock, .events = POLLIN};
        int r = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (r < 0 && errno != EINTR) rc = mx_fail_errno(err, MX_INFRA, "spare: poll");
        if (r <= 0) continue;
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int) * MX_SPARE_MAX_FDS)];
        } c;
        char byte;
        /* byte by byte: nothing after the line is taken from the peer's next message */
        struct iovec iov = {.iov_base = &byte, .iov_len = 1};
        struct msghdr m = {
            .msg_iov = &iov, .msg_iovlen = 1, .msg_control = c.buf, .msg_controllen = sizeof c};
        ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n < 0) {
            rc = mx_fail_errno(err, MX_INFRA, "spare: receive");
            break;
        }
        if (take_fds(&m, fds, nfds) < 0) rc = mx_fail(err, MX_INFRA, "spare: too many descriptors");
        if (rc == 0 && n == 0) rc = mx_fail(err, MX_INFRA, "spare: closed before a whole line");
        if (rc != 0 || byte == '\n') break;
        if (len + 1 >= cap) {
            rc = mx_fail(err, MX_INFRA, "spare: line too long");
            break;
        }
        line[len++] = byte;
    }
    if (cap) line[len < cap ? len : cap - 1] = '\0';
    if (rc < 0)
        while (*nfds > 0)
            close(fds[--*nfds]);
    return rc;
}
