#include "ssh.h"
#include "trace.h"

#include <limits.h>
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A forwarded port accepts TCP before the guest's sshd runs, and such a connection then hangs
 * (seen under TCG): a connection is given up only while the server has not said a word.  Once its
 * banner arrived the handshake is given all the time left, because abandoning a slow handshake
 * (TCG under load) leaves a preauth connection behind in the guest, and enough of those make
 * sshd's MaxStartups refuse the next attempts. */
#define CONNECT_TIMEOUT_MS 1000
#define BANNER_TIMEOUT_MS 3000
#define MIN_HANDSHAKE_TIMEOUT_MS 10000
/* ... but not so long that a SIGINT during it (libssh2 retries on EINTR) goes unanswered. */
#define MAX_HANDSHAKE_TIMEOUT_MS 30000
#define RETRY_PAUSE_MS 500

long long mx_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *mx_ssh_error(LIBSSH2_SESSION *s)
{
    char *msg = NULL;
    if (!s) return "no session";
    libssh2_session_last_error(s, &msg, NULL, 0);
    return msg && *msg ? msg : "unknown libssh2 error";
}

unsigned char *mx_ssh_pub_blob(const char *line, size_t *len)
{
    const char *sp = strchr(line, ' ');
    if (!sp) return NULL;
    sp++;
    size_t n = strcspn(sp, " \n\r\t");
    mx_autofree char *b64 = mx_xstrndup(sp, n);
    return mx_b64_decode(b64, len);
}

static int tcp_connect(int port, mx_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
        mx_fail_errno(err, MX_INFRA, "connect 127.0.0.1:%d", port);
        close(fd);
        return -1;
    }
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r = poll(&p, 1, CONNECT_TIMEOUT_MS);
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    if (r <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr != 0) {
        errno = soerr ? soerr : ETIMEDOUT;
        mx_fail_errno(err, MX_INFRA, "connect 127.0.0.1:%d", port);
        close(fd);
        return -1;
    }
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
        mx_fail_errno(err, MX_INFRA, "fcntl");
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

void mx_ssh_close(mx_ssh *c)
{
    if (c->s) {
        libssh2_session_set_blocking(c->s, 1);
        libssh2_session_set_timeout(c->s, 2000);
        libssh2_session_disconnect(c->s, "bye");
        libssh2_session_free(c->s);
        c->s = NULL;
    }
    if (c->sock >= 0) close(c->sock);
    c->sock = -1;
}

/* Compares the server's host key with the one we generated. 1: same, 0: different. */
static int host_key_matches(LIBSSH2_SESSION *s, const char *host_pub, mx_err *err)
{
    mx_buf pub;
    mx_buf_init(&pub);
    if (mx_read_file(host_pub, &pub, err) < 0) return -1;
    size_t want_len = 0;
    unsigned char *want = mx_ssh_pub_blob(pub.data, &want_len);
    mx_buf_free(&pub);
    if (!want) return mx_fail(err, MX_INFRA, "cannot parse host key %s", host_pub);
    size_t got_len = 0;
    int type = 0;
    const char *got = libssh2_session_hostkey(s, &got_len, &type);
    int same = got && got_len == want_len && memcmp(got, want, want_len) == 0;
    free(want);
    return same;
}

/* 1 when the server's identification ("SSH-") is waiting on fd, left there for libssh2; 0 when
 * nothing came in time or the connection closed (nothing listens in the guest yet). */
static int banner_waiting(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, BANNER_TIMEOUT_MS)) < 0 && errno == EINTR)
        ;
    if (r <= 0) return 0;
    char peek[4];
    ssize_t n;
    while ((n = recv(fd, peek, sizeof peek, MSG_PEEK | MSG_WAITALL)) < 0 && errno == EINTR)
        ;
    return n == (ssize_t)sizeof peek && memcmp(peek, "SSH-", 4) == 0;
}

/* One attempt. Returns 0 connected, -1 retryable, -2 fatal (err set). */
static int attempt(mx_ssh *c, const mx_ssh_target *t, long long deadline_ms, mx_err *err)
{
    c->sock = tcp_connect(t->port, err);
    if (c->sock < 0) return -1;
    mx_trace("ssh: connected to 127.0.0.1:%d", t->port);
    if (!banner_waiting(c->sock)) {
        mx_fail(err, MX_INFRA, "no SSH server answered at 127.0.0.1:%d yet", t->port);
        return -1;
    }
    c->s = libssh2_session_init();
    if (!c->s) return mx_fail(err, MX_INFRA, "libssh2_session_init failed"), -2;
    long long left = deadline_ms - mx_now_ms();
    if (left > MAX_HANDSHAKE_TIMEOUT_MS) left = MAX_HANDSHAKE_TIMEOUT_MS;
    if (left < MIN_HANDSHAKE_TIMEOUT_MS) left = MIN_HANDSHAKE_TIMEOUT_MS;
    libssh2_session_set_timeout(c->s, (long)left);
    if (libssh2_session_method_pref(c->s, LIBSSH2_METHOD_HOSTKEY, "ssh-ed25519") != 0)
        return mx_fail(err, MX_INFRA, "libssh2 lacks ssh-ed25519: %s", mx_ssh_error(c->s)), -2;
    /* libssh2 (1.10) decrypts one 16-byte block per call, so the cipher's rounds are most of
     * the host's CPU for a chatty step: AES-128-CTR (10 rounds, a standard SSH cipher) before
     * libssh2's default AES-256 (14).  Both directions; the rest as fallback. */
    static const char ciphers[] = "aes128-ctr,aes256-ctr,aes192-ctr,aes128-cbc,aes256-cbc";
    if (libssh2_session_method_pref(c->s, LIBSSH2_METHOD_CRYPT_SC, ciphers) != 0 ||
        libssh2_session_method_pref(c->s, LIBSSH2_METHOD_CRYPT_CS, ciphers) != 0)
        return mx_fail(err, MX_INFRA, "libssh2 lacks AES-CTR: %s", mx_ssh_error(c->s)), -2;
    if (libssh2_session_handshake(c->s, c->sock) != 0) {
        mx_fail(err, MX_INFRA, "SSH handshake with 127.0.0.1:%d: %s", t->port, mx_ssh_error(c->s));
        return -1;
    }
    mx_trace("ssh: handshake done");
    int same = host_key_matches(c->s, t->host_pub, err);
    if (same < 0) return -2;
    if (!same) {
        mx_fail(err, MX_INFRA,
                "the guest at 127.0.0.1:%d presented an SSH host key other than "
                "the one mexec generated for it; refusing to connect",
                t->port);
        return -2;
    }
    if (libssh2_userauth_publickey_fromfile(c->s, t->user, t->client_pub, t->client_key, NULL) !=
        0) {
        /* cloud-init images may run sshd before the user's key is installed: retry */
        mx_fail(err, MX_INFRA, "SSH public-key login as %s: %s", t->user, mx_ssh_error(c->s));
        return -1;
    }
    libssh2_session_set_timeout(c->s, 0); /* steps may be silent for as long as they like */
    return 0;
}

int mx_ssh_connect(mx_ssh *c, const mx_ssh_target *t, long long deadline_ms,
                   volatile sig_atomic_t *stop, mx_err *err)
{
    c->sock = -1;
    c->s = NULL;
    mx_err last;
    mx_fail(&last, MX_INFRA, "no connection attempt made");
    while (!*stop) {
        int r = attempt(c, t, deadline_ms, &last);
        if (r == 0) return 0;
        mx_trace("ssh: %s", last.msg);
        mx_ssh_close(c);
        if (r == -2) {
            *err = last;
            return -1;
        }
        if (mx_now_ms() >= deadline_ms) {
            *err = last;
            return mx_wrap(err, "guest did not accept SSH before the boot timeout");
        }
        int pause = t->retry_ms > 0 ? t->retry_ms : RETRY_PAUSE_MS;
        struct timespec ts = {pause / 1000, (long)(pause % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return mx_fail(err, MX_INFRA, "interrupted while waiting for the guest");
}

static int upload(mx_ssh *c, const char *local, const char *remote_path, int mode, mx_err *err);

/* A transfer that moves nothing for this long has a guest that stopped answering; one that
 * makes progress is bounded by the caller's deadline, if any. */
#define TRANSFER_STALL_MS 120000

int mx_ssh_upload(mx_ssh *c, const char *local, const char *remote_path, int mode, mx_err *err)
{
    /* blocking with no timeout (as the connection leaves it) would wait for a stalled guest
     * forever */
    libssh2_session_set_timeout(c->s, TRANSFER_STALL_MS);
    int rc = upload(c, local, remote_path, mode, err);
    libssh2_session_set_timeout(c->s, 0);
    return rc;
}

static int upload(mx_ssh *c, const char *local, const char *remote_path, int mode, mx_err *err)
{
    mx_autoclose int fd = open(local, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", local);
    struct stat st;
    if (fstat(fd, &st) < 0) return mx_fail_errno(err, MX_INFRA, "stat %s", local);
    LIBSSH2_CHANNEL *ch = libssh2_scp_send64(c->s, remote_path, mode, st.st_size, 0, 0);
    if (!ch) return mx_fail(err, MX_INFRA, "upload %s: %s", remote_path, mx_ssh_error(c->s));
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = mx_fail_errno(err, MX_INFRA, "read %s", local);
            break;
        }
        if (n == 0) break;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = libssh2_channel_write(ch, buf + off, (size_t)(n - off));
            if (w < 0) {
                rc = mx_fail(err, MX_INFRA, "upload %s: %s", remote_path, mx_ssh_error(c->s));
                break;
            }
            off += w;
        }
        if (rc < 0) break;
    }
    if (rc == 0 && (libssh2_channel_send_eof(ch) != 0 || libssh2_channel_wait_eof(ch) != 0))
        rc = mx_fail(err, MX_INFRA, "upload %s: %s", remote_path, mx_ssh_error(c->s));
    if (rc == 0 && libssh2_channel_wait_closed(ch) != 0)
        rc = mx_fail(err, MX_INFRA, "upload %s: %s", remote_path, mx_ssh_error(c->s));
    libssh2_channel_free(ch);
    return rc;
}

/* Reads the file an SCP channel sends into fd: a file announced larger than max is refused
 * before a byte of it is read, and the transfer fails once deadline_ms has passed. */
static int scp_receive(mx_ssh *c, const char *remote_path, int fd, const char *tmp, long long max,
                       long long deadline_ms, mx_err *err)
{
    libssh2_struct_stat sb;
    memset(&sb, 0, sizeof sb);
    LIBSSH2_CHANNEL *ch = libssh2_scp_recv2(c->s, remote_path, &sb);
    if (!ch) return mx_fail(err, MX_INFRA, "download %s: %s", remote_path, mx_ssh_error(c->s));
    /* no S_ISREG check: libssh2 fills st_mode from SCP's "C0600 SIZE NAME" line, permission
     * bits only; a 'C' line is a regular file by definition */
    int rc = 0;
    if ((long long)sb.st_size < 0 || (long long)sb.st_size > max) {
        libssh2_channel_free(ch);
        return mx_fail(err, MX_JOB_FAILED, "%s is %lld bytes, more than the %lld this host takes",
                       remote_path, (long long)sb.st_size, max);
    }
    char buf[65536];
    long long left = (long long)sb.st_size, total = left;
    while (rc == 0 && left > 0) {
        if (mx_now_ms() > deadline_ms) {
            rc = mx_fail(err, MX_JOB_FAILED,
                         "download %s: not done after %lld of %lld bytes "
                         "when its time ran out",
                         remote_path, total - left, total);
            break;
        }
        /* no more than the file: SCP's end-of-file acknowledgement follows it on the channel */
        size_t want = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
        ssize_t n = libssh2_channel_read(ch, buf, want);
        if (n < 0)
            rc = mx_fail(err, MX_INFRA, "download %s: %s", remote_path, mx_ssh_error(c->s));
        else if (n == 0)
            rc = mx_fail(err, MX_INFRA, "download %s: the transfer ended after %lld of %lld bytes",
                         remote_path, total - left, total);
        else if (mx_write_all(fd, buf, (size_t)n) < 0)
            rc = mx_fail_errno(err, MX_INFRA, "write %s", tmp);
        else
            left -= n;
    }
    if (libssh2_channel_free(ch) != 0 && rc == 0)
        rc = mx_fail(err, MX_INFRA, "download %s: %s", remote_path, mx_ssh_error(c->s));
    return rc;
}

int mx_ssh_download_max(mx_ssh *c, const char *remote_path, const char *local, long long max,
                        mx_err *err)
{
    return mx_ssh_download(c, remote_path, local, max, LLONG_MAX, err);
}

int mx_ssh_download(mx_ssh *c, const char *remote_path, const char *local, long long max,
                    long long deadline_ms, mx_err *err)
{
    if (!c->s) return mx_fail(err, MX_INFRA, "download %s: not connected", remote_path);
    libssh2_session_set_blocking(c->s, 1);
    libssh2_session_set_timeout(c->s, TRANSFER_STALL_MS);
    /* a temporary name beside local, so a rename makes it appear whole; mkstemp makes it 0600 */
    mx_autofree char *dir = mx_dirname(local);
    const char *slash = strrchr(local, '/');
    mx_autofree char *tmp = mx_xasprintf("%s/.%s.XXXXXX", dir, slash ? slash + 1 : local);
    int fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", tmp);
    int rc = scp_receive(c, remote_path, fd, tmp, max, deadline_ms, err);
    if (rc == 0 && fsync(fd) < 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", tmp);
    if (close(fd) < 0 && rc == 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", tmp);
    if (rc == 0 && rename(tmp, local) < 0)
        rc = mx_fail_errno(err, MX_INFRA, "rename %s to %s", tmp, local);
    if (rc < 0) unlink(tmp);
    return rc;
}

LIBSSH2_CHANNEL *mx_ssh_exec(mx_ssh *c, const char *command, mx_err *err)
{
    LIBSSH2_CHANNEL *ch = libssh2_channel_open_session(c->s);
    if (!ch) {
        mx_fail(err, MX_INFRA, "open SSH channel: %s", mx_ssh_error(c->s));
        return NULL;
    }
    if (libssh2_channel_exec(ch, command) != 0) {
        mx_fail(err, MX_INFRA, "run %s in the guest: %s", command, mx_ssh_error(c->s));
        libssh2_channel_free(ch);
        return NULL;
    }
    return ch;
}
