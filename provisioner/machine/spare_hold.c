/* A warm spare's holder (spare.h): `mexec __spare` after the CLI resolved what to restore. */
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "seed_chan.h"
#include "signals.h"
#include "sink.h"
#include "snapshot.h"
#include "spare.h"
#include "spare_proto.h"
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

/* how long a connected peer has to say what it wants, and a claimer to confirm */
#define ASK_TIMEOUT_MS 5000
#define CONFIRM_TIMEOUT_MS 10000

typedef struct holder {
    const mx_host_config *hc;
    const mx_snapshot *snap;
    mx_vm vm;
    int chan_fd; /* the seed channel QEMU connected: for the claimer */
    int listen_fd;
} holder;

/* Under STATE_DIR/../spares.lock, so that holders started together count each other: the
 * spare's directory, named a spare, unless enough live.  1 made, 0 enough, -1 error. */
static int make_dir(holder *h, mx_err *err)
{
    mx_autofree char *parent = mx_dirname(h->hc->state_dir);
    if (mx_mkdir_p(parent, 0700, err) < 0) return -1;
    mx_autofree char *path = mx_path_join(parent, "spares.lock");
    mx_autoclose int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    while (flock(fd, LOCK_EX) < 0)
        if (errno != EINTR || mx_stop) return mx_fail_errno(err, MX_INFRA, "lock %s", path);
    if (mx_spare_count(h->hc, h->snap->key, NULL) >= h->hc->warm_spares) return 0;
    if (mx_vm_prepare(&h->vm, h->hc, "(warm spare)", err) < 0) return -1;
    mx_autofree char *file = mx_path_join(h->vm.dir, "spare");
    mx_autofree char *text = mx_xasprintf("%s\n%s\n", h->snap->key, h->snap->dir);
    return mx_write_file(file, text, strlen(text), 0600, err) < 0 ? -1 : 1;
}

/* The spare waits paused: no CPU.  (An SSH login and agent start before the pause, to leave
 * them in QEMU's translation cache for the job, was measured and bought nothing: the job's
 * SSH handshake and agent start took as long either way.) */
static int pause_vm(holder *h, mx_err *err)
{
    if (virDomainSuspend(h->vm.dom) < 0)
        return mx_fail(err, MX_INFRA, "pause VM %s: %s", h->vm.domain_name, mx_virt_error());
    return 0;
}

static void end_vm(holder *h)
{
    if (h->listen_fd >= 0) close(h->listen_fd);
    if (h->chan_fd >= 0) close(h->chan_fd);
    h->listen_fd = h->chan_fd = -1;
    mx_vm_teardown(&h->vm);
}

/* One connection: 1 the VM is gone (claimed or ended), 0 go on serving. */
static int serve(holder *h, int sock)
{
    char line[16];
    int fds[MX_SPARE_MAX_FDS], nfds = 0;
    mx_err e;
    struct ucred cred;
    socklen_t len = sizeof cred;
    /* the socket is the owner's only (0600 in a 0700 directory); checked all the same */
    if (getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 ||
        (cred.uid != getuid() && cred.uid != 0))
        return 0;
    if (mx_spare_recv(sock, line, sizeof line, fds, &nfds, mx_now_ms() + ASK_TIMEOUT_MS, &e) < 0)
        return 0;
    while (nfds > 0)
        close(fds[--nfds]);
    if (strcmp(line, "end") == 0) {
        end_vm(h);
        (void)mx_spare_send(sock, "ended\n", NULL, 0, &e);
        return 1;
    }
    if (strcmp(line, "claim") != 0) return 0;
    char msg[32];
    snprintf(msg, sizeof msg, "spare %d\n", h->vm.ssh_port);
    int give[2] = {h->chan_fd, h->vm.lock_fd};
    int ok = mx_spare_send(sock, msg, give, 2, &e) == 0 &&
             mx_spare_recv(sock, line, sizeof line, fds, &nfds, mx_now_ms() + CONFIRM_TIMEOUT_MS,
                           &e) == 0 &&
             strcmp(line, "ok") == 0;
    while (nfds > 0)
        close(fds[--nfds]);
    if (!ok) {
        /* the claimer may have started on it: nobody else gets a VM in an unknown state */
        mx_sink_note("warm spare %s: claim not confirmed (%s); ending it", h->vm.domain_name,
                     e.msg);
        end_vm(h);
        return 1;
    }
    mx_sink_note("warm spare %s: claimed", h->vm.domain_name);
    /* no longer a spare: claimers and counters pass it by */
    mx_autofree char *sock_path = mx_path_join(h->vm.dir, "claim.sock");
    mx_autofree char *spare_file = mx_path_join(h->vm.dir, "spare");
    unlink(sock_path);
    unlink(spare_file);
    close(h->listen_fd);
    close(h->chan_fd);
    h->listen_fd = h->chan_fd = -1;
    /* the claimer's now: our descriptors go, the domain and files stay (the old watchdog sees
     * the new owner in the metadata and ends) */
    mx_vm_detach(&h->vm);
    return 1;
}

int mx_spare_hold(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                  const mx_snapshot *snap, mx_err *err)
{
    if (hc->warm_spares <= 0 || !hc->instant_starts) return 0;
    /* detached already; a stray SIGHUP or SIGINT is not an order to end */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    holder h = {.hc = hc, .snap = snap, .chan_fd = -1, .listen_fd = -1};
    h.vm.lock_fd = -1;
    int r = make_dir(&h, err);
    if (r <= 0) {
        mx_vm_teardown(&h.vm);
        return r;
    }
    if (mx_vm_restore_spare(&h.vm, hc, img, rc, snap, &h.chan_fd, err) < 0 ||
        pause_vm(&h, err) < 0) {
        end_vm(&h);
        return mx_wrap(err, "warm spare");
    }
    mx_autofree char *sock = mx_path_join(h.vm.dir, "claim.sock");
    h.listen_fd = mx_chan_listen(sock, getuid(), getgid(), err);
    if (h.listen_fd < 0) {
        end_vm(&h);
        return mx_wrap(err, "warm spare");
    }
    mx_sink_note("warm spare %s of %s (%s) ready in %s", h.vm.domain_name, img->ref, rc->name,
                 h.vm.dir);
    long long until = mx_now_ms() + (long long)hc->warm_spare_timeout_s * 1000;
    const char *why = "timed out";
    for (;;) {
        if (mx_stop) {
            why = "signalled";
            break;
        }
        if (mx_now_ms() >= until) break;
        /* rebuilt or removed (mexec image rm): a restore of it is of no use any more */
        if (access(snap->state, F_OK) < 0) {
            why = "its snapshot is gone";
            break;
        }
        struct pollfd p = {.fd = h.listen_fd, .events = POLLIN};
        if (poll(&p, 1, 500) <= 0) continue;
        int c = accept4(h.listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (c < 0) continue;
        int done = serve(&h, c);
        close(c);
        if (done) return 0;
    }
    mx_sink_note("warm spare %s: ending (%s)", h.vm.domain_name, why);
    end_vm(&h);
    return 0;
}
