/* A job's VM restored from a snapshot (snapshot.h) instead of booted. */
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "seed_chan.h"
#include "signals.h"
#include "snapshot.h"
#include "ssh.h"
#include "vm.h"
#include "trace.h"
#include "vm_net.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What every bundle on the seed channel carries of the moment it is sent: the host's wall
 * clock (SECONDS.NANOSECONDS: a restored or paused guest's is behind) and 64 random bytes from
 * the host (hex) for the guest's RNG. */
typedef struct moment {
    char clock[64];
    char random[2 * 64 + 1];
} moment;

static int moment_take(moment *m, mx_err *err)
{
    unsigned char rnd[64];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return mx_fail_errno(err, MX_INFRA, "getrandom");
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(m->random + 2 * i, 3, "%02x", rnd[i]);
    explicit_bzero(rnd, sizeof rnd);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(m->clock, sizeof m->clock, "%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
    return 0;
}

/* What the guest's mexec-identity unit installs (images/common/mexec-seed): the job's SSH host
 * key (pinned by the host), its client key, the hostname, the host's wall clock and RNG seed
 * bytes. */
static int send_identity(const mx_vm *vm, int fd, long long deadline, mx_err *err)
{
    mx_autofree char *host_key_path = mx_path_join(vm->dir, "host_key");
    mx_buf key, pub, auth;
    mx_buf_init(&key);
    mx_buf_init(&pub);
    mx_buf_init(&auth);
    moment m;
    int rc = 0;
    if (mx_read_file(host_key_path, &key, err) < 0 || mx_read_file(vm->host_pub, &pub, err) < 0 ||
        mx_read_file(vm->client_pub, &auth, err) < 0 || moment_take(&m, err) < 0)
        rc = -1;
    if (rc == 0) {
        mx_autofree char *hostname = mx_xasprintf("%s\n", vm->domain_name);
        /* names and text only: the guest reads them with bash builtins into variables */
        mx_chan_file f[] = {{"ssh_host_ed25519_key", key.data, key.len},
                            {"ssh_host_ed25519_key_pub", pub.data, pub.len},
                            {"authorized_keys", auth.data, auth.len},
                            {"hostname", hostname, strlen(hostname)},
                            {"clock", m.clock, strlen(m.clock)},
                            {"random", m.random, strlen(m.random)}};
        rc = mx_chan_send(fd, f, sizeof f / sizeof *f, deadline, &mx_stop, err);
    }
    explicit_bzero(&m, sizeof m);
    if (key.data) explicit_bzero(key.data, key.len);
    mx_buf_free(&key);
    mx_buf_free(&pub);
    mx_buf_free(&auth);
    return rc;
}

/* Overlay, guest network, the restored domain (labelled a spare, and admitted without waiting,
 * when spare is set), its watchdog, and the seed channel QEMU connected (*fd). */
static int restore(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                   const mx_snapshot *snap, int spare, long long deadline, int *fd, mx_err *err)
{
    *fd = -1;
    const char *argv[] = {"qemu-img", "create", "-q",       "-f",        "qcow2", "-F",
                          "qcow2",    "-b",     snap->disk, vm->overlay, NULL};
    if (mx_proc_check(argv, NULL, NULL, err) < 0) return mx_wrap(err, "create overlay disk");
    if (chmod(vm->overlay, 0600) < 0) return mx_fail_errno(err, MX_INFRA, "chmod %s", vm->overlay);
    mx_trace("restore: overlay made");
    int lfd = -1;
    mx_vm_start o = {.channel = 1,
                     .restore_from = snap->state,
                     .share = snap->disk,
                     .chan_fd = &lfd,
                     .spare = spare};
    /* no auto-destroy for a restored domain (libvirt has no such flag for restores): the
     * owner destroys it on every exit path it lives through, and `mexec gc` after a SIGKILL */
    vm->restored = 1;
    int r = mx_vm_start_domain(vm, hc, img, rc, &o, err);
    if (r == 0) mx_trace("restore: domain running");
    if (r == 0 && !vm->outlive_owner) r = mx_vm_watch_start(vm, hc, err);
    if (r == 0 && (*fd = mx_chan_accept(lfd, deadline, &mx_stop, err)) < 0) r = -1;
    if (lfd >= 0) close(lfd);
    unlink(vm->channel);
    return r;
}

/* The job's identity, once the guest runs: sent, then applied by the guest. */
static int identity(mx_vm *vm, int fd, long long deadline, mx_err *err)
{
    int r = send_identity(vm, fd, deadline, err);
    if (r == 0) mx_trace("restore: identity sent");
    if (r == 0) r = mx_chan_expect(fd, "mexec-seed done", deadline, &mx_stop, err);
    if (r == 0) mx_trace("restore: guest applied its identity");
    if (r < 0 && vm->dom && !mx_stop) {
        /* what the guest said about its identity step */
        mx_autofree char *tail = mx_vm_console_tail(vm, 10);
        if (tail) {
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            mx_fail(err, err->status, "%.1000s; last lines of the guest console:\n%.900s", msg,
                    tail);
        }
    }
    if (r == 0) vm->agent = mx_xstrdup(MX_SNAPSHOT_AGENT);
    return r;
}

int mx_vm_restore(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                  const mx_snapshot *snap, mx_err *err)
{
    long long deadline = mx_now_ms() + (long long)hc->boot_timeout_s * 1000;
    int fd;
    int r = restore(vm, hc, img, rc, snap, 0, deadline, &fd, err);
    if (r == 0) r = identity(vm, fd, deadline, err);
    if (fd >= 0) close(fd);
    return r;
}

int mx_vm_restore_spare(mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                        const mx_rclass *rc, const mx_snapshot *snap, int *chan_fd, mx_err *err)
{
    long long deadline = mx_now_ms() + (long long)hc->boot_timeout_s * 1000;
    int r = restore(vm, hc, img, rc, snap, 1, deadline, chan_fd, err);
    if (r == 0) r = identity(vm, *chan_fd, deadline, err);
    if (r < 0 && *chan_fd >= 0) {
        close(*chan_fd);
        *chan_fd = -1;
    }
    return r;
}

/* What a claimed spare needs of the moment it is claimed: the wall clock (it waited paused)
 * and random bytes of its own (belt and braces: its kernel was reseeded at its restore). */
static int send_refresh(int fd, long long deadline, mx_err *err)
{
    moment m;
    if (moment_take(&m, err) < 0) return -1;
    mx_chan_file f[] = {{"clock", m.clock, strlen(m.clock)},
                        {"random", m.random, strlen(m.random)}};
    int r = mx_chan_send(fd, f, sizeof f / sizeof *f, deadline, &mx_stop, err);
    explicit_bzero(&m, sizeof m);
    return r;
}

int mx_vm_start_claimed(mx_vm *vm, const mx_host_config *hc, int chan_fd, mx_err *err)
{
    long long deadline = mx_now_ms() + (long long)hc->boot_timeout_s * 1000;
    int r = 0;
    if (virDomainResume(vm->dom) < 0)
        r = mx_fail(err, MX_INFRA, "resume VM %s: %s", vm->domain_name, mx_virt_error());
    if (r == 0) mx_trace("spare: resumed");
    if (r == 0) r = send_refresh(chan_fd, deadline, err);
    if (r == 0) r = mx_chan_expect(chan_fd, "mexec-seed done", deadline, &mx_stop, err);
    if (r == 0) mx_trace("spare: clock and RNG refreshed");
    close(chan_fd);
    return r;
}

void mx_vm_unrestore(mx_vm *vm)
{
    if (vm->dom) {
        virDomainDestroy(vm->dom); /* what is left of a failed restore, if anything */
        virDomainFree(vm->dom);
        vm->dom = NULL;
    }
    if (vm->dir) mx_net_stop(vm->dir);
    if (vm->overlay) unlink(vm->overlay);
    vm->restored = 0;
}
