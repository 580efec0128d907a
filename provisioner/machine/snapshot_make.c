/* Finding or making the snapshot a job restores (snapshot.h). */
#include "snapshot.h"
#include "accel.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "mx_sha256.h"
#include "seed_chan.h"
#include "signals.h"
#include "ssh.h"
#include "vm.h"
#include "vm_net.h"
#include "vm_seed.h"
#include "vm_user.h"
#include "vm_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The guest counts as settled (nothing left of its boot but what waits for the job) when it
 * used less than this share of one vCPU over two samples in a row... */
#define IDLE_SHARE 0.15
#define IDLE_SAMPLE_MS 500
/* ...or at the latest this long after it said it was ready. */
#define SETTLE_MAX_MS 60000

static int file_sha256(const char *path, char out[65], mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    int rc = mx_read_file(path, &b, err);
    char d[MX_SHA256_DIGEST_LEN];
    if (rc == 0) rc = mx_sha256_digest(b.data, b.len, d, err);
    if (rc == 0) memcpy(out, d + 7, 65);
    mx_buf_free(&b);
    return rc;
}

static char *file_id(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) return mx_xasprintf("%s missing", path);
    return mx_xasprintf("%s %lld %lld.%09ld", path, (long long)st.st_size,
                        (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec);
}

/* What the key covers, computed from the live host (snapshot.h). */
typedef struct key_ctx {
    mx_snapshot_inputs in;
    char agent_sha[65], files_sha[65];
    char *image_id, *qemu_id, *xml;
    mx_buf files_tar;
} key_ctx;

static void key_ctx_free(key_ctx *k)
{
    free(k->image_id);
    free(k->qemu_id);
    free(k->xml);
    mx_buf_free(&k->files_tar);
}

static int key_inputs(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                      const char *agent, const char *work, key_ctx *k, mx_err *err)
{
    if (file_sha256(agent, k->agent_sha, err) < 0) return mx_wrap(err, "hash the agent");
    if (mx_vm_seed_files_tar(hc, "mexec", work, &k->files_tar, k->files_sha, err) < 0) return -1;
    virConnectPtr conn = mx_virt_connect(hc->libvirt_uri, err);
    if (!conn) return -1;
    mx_qemu_user qu;
    const char *type = mx_accel_probe(hc->accel).domain_type;
    int r = mx_qemu_user_get(conn, type, &qu, err);
    virConnectClose(conn);
    if (r < 0) return -1;
    mx_autofree char *wrapper = mx_net_wrapper(err);
    if (!wrapper) return -1;
    /* the domain mexec would define, with the parts that differ per job left out */
    mx_vm_spec spec = {.name = "NAME",
                       .domain_type = type,
                       .vcpus = rc->vcpus,
                       .memory_mib = rc->memory_mib,
                       .kernel = img->kernel,
                       .initrd = img->initrd,
                       .cmdline = img->cmdline,
                       .disk = "DISK",
                       .channel = "CHANNEL",
                       .console = "CONSOLE",
                       .emulator = wrapper,
                       .qemu = qu.emulator,
                       .net_resolv = "RESOLV",
                       .qemu_uid = (long)qu.uid,
                       .qemu_gid = (long)qu.gid,
                       .job_id = "ID",
                       .job_name = "JOB",
                       .job_dir = "DIR"};
    k->xml = mx_vm_domain_xml(&spec);
    k->image_id = img->sha256 ? mx_xstrdup(img->sha256) : file_id(img->base);
    k->qemu_id = file_id(qu.emulator);
    k->in = (mx_snapshot_inputs){.image_dir = img->dir,
                                 .image_id = k->image_id,
                                 .agent_sha256 = k->agent_sha,
                                 .domain_xml = k->xml,
                                 .qemu_id = k->qemu_id,
                                 .files_sha256 = k->files_sha};
    return 0;
}

static void set_paths(mx_snapshot *s, const char *snaps)
{
    s->dir = mx_path_join(snaps, s->key);
    s->disk = mx_path_join(s->dir, "disk.qcow2");
    s->state = mx_path_join(s->dir, "state.save");
}

/* Waits until the guest's CPU use has settled (see IDLE_SHARE). */
static void wait_settled(virDomainPtr dom)
{
    long long end = mx_now_ms() + SETTLE_MAX_MS, last_t = mx_now_ms();
    virDomainInfo info;
    if (virDomainGetInfo(dom, &info) < 0) return;
    unsigned long long last_cpu = info.cpuTime;
    int quiet = 0;
    while (quiet < 2 && mx_now_ms() < end && !mx_stop) {
        struct timespec ts = {0, IDLE_SAMPLE_MS * 1000000L};
        nanosleep(&ts, NULL);
        if (virDomainGetInfo(dom, &info) < 0) return;
        long long now = mx_now_ms();
        double share = (double)(info.cpuTime - last_cpu) / 1e6 / (double)(now - last_t);
        quiet = share < IDLE_SHARE ? quiet + 1 : 0;
        last_cpu = info.cpuTime;
        last_t = now;
    }
}

/* Boots a VM on a fresh disk in tmp, stages the agent and docker settings, waits until the
 * guest waits for its identity and has settled, and saves it into tmp. */
static int make_in(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                   const char *agent, const key_ctx *k, const char *tmp, mx_err *err)
{
    mx_autofree char *disk = mx_path_join(tmp, "disk.qcow2");
    mx_autofree char *state = mx_path_join(tmp, "state.save");
    const char *argv[] = {"qemu-img", "create", "-q",      "-f", "qcow2", "-F",
                          "qcow2",    "-b",     img->base, disk, NULL};
    if (mx_proc_check(argv, NULL, NULL, err) < 0) return mx_wrap(err, "create snapshot disk");
    mx_vm vm;
    if (mx_vm_prepare(&vm, hc, "snapshot", err) < 0) {
        mx_vm_teardown(&vm);
        return -1;
    }
    int lfd = -1, fd = -1;
    mx_vm_start o = {.disk = disk, .channel = 1, .share = disk, .chan_fd = &lfd};
    long long deadline = mx_now_ms() + (long long)hc->boot_timeout_s * 1000;
    int r = mx_vm_start_domain(&vm, hc, img, rc, &o, err);
    if (r == 0 && (fd = mx_chan_accept(lfd, deadline, &mx_stop, err)) < 0) r = -1;
    mx_buf agent_bin;
    mx_buf_init(&agent_bin);
    if (r == 0) r = mx_read_file(agent, &agent_bin, err);
    mx_chan_file stage[] = {{"agent", agent_bin.data, agent_bin.len},
                            {"files.tar", k->files_tar.data, k->files_tar.len}};
    if (r == 0) r = mx_chan_expect(fd, "mexec-seed ready stage", deadline, &mx_stop, err);
    if (r == 0) r = mx_chan_send(fd, stage, k->files_tar.len ? 2 : 1, deadline, &mx_stop, err);
    if (r == 0) r = mx_chan_expect(fd, "mexec-seed staged", deadline, &mx_stop, err);
    if (r == 0) r = mx_chan_expect(fd, "mexec-seed ready identity", deadline, &mx_stop, err);
    mx_buf_free(&agent_bin);
    if (r == 0) wait_settled(vm.dom);
    if (r == 0 && mx_stop) r = mx_fail(err, MX_INFRA, "interrupted");
    if (r == 0 && virDomainSaveFlags(vm.dom, state, NULL, VIR_DOMAIN_SAVE_RUNNING) < 0)
        r = mx_fail(err, MX_INFRA, "save VM %s: %s", vm.domain_name, mx_virt_error());
    if (r == 0) {
        /* saved and stopped: the (transient) domain is gone */
        virDomainFree(vm.dom);
        vm.dom = NULL;
    } else if (!mx_stop) {
        mx_autofree char *tail = mx_vm_console_tail(&vm, 15);
        if (tail) {
            char msg[sizeof err->msg];
            memcpy(msg, err->msg, sizeof msg);
            mx_fail(err, err->status, "%.1000s; last lines of the guest console:\n%.900s", msg,
                    tail);
        }
    }
    if (fd >= 0) close(fd);
    if (lfd >= 0) close(lfd);
    mx_vm_teardown(&vm);
    if (r < 0) return -1;
    /* frozen: root's and read-only from now on; jobs' QEMUs read it as a backing file */
    if (chown(disk, 0, 0) < 0 || chmod(disk, 0444) < 0 || chmod(state, 0600) < 0)
        return mx_fail_errno(err, MX_INFRA, "freeze %s", disk);
    mx_autojson json_t *info =
        json_pack("{s:s, s:i, s:i, s:I, s:s}", "class", rc->name, "vcpus", rc->vcpus, "memory_mib",
                  rc->memory_mib, "created", (json_int_t)time(NULL), "image", img->ref);
    mx_autofree char *info_path = mx_path_join(tmp, "info.json");
    char *text = info ? json_dumps(info, JSON_COMPACT) : NULL;
    if (!text) return mx_fail(err, MX_INFRA, "encode snapshot info");
    r = mx_write_file(info_path, text, strlen(text), 0644, err);
    free(text);
    return r;
}

/* Takes the snapshot's lock, waiting (and noticing signals) while another process makes it. */
static int take_lock(const char *path, mx_err *err)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK && errno != EINTR) {
            mx_fail_errno(err, MX_INFRA, "lock %s", path);
            close(fd);
            return -1;
        }
        if (mx_stop) {
            close(fd);
            return mx_fail(err, MX_INFRA, "interrupted");
        }
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return fd;
}

int mx_snapshot_get(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                    const char *agent, int make, mx_snapshot *snap, mx_err *err)
{
    memset(snap, 0, sizeof *snap);
    if (img->firmware)
        return mx_fail(err, MX_INFRA,
                       "%s is an imported image: it boots through its own firmware and "
                       "cloud-init, which have no seed channel; it starts cold",
                       img->ref);
    mx_autofree char *snaps = mx_path_join(img->dir, "snapshots");
    if (mx_mkdir_p(snaps, 0755, err) < 0) return mx_wrap(err, "snapshot directory");
    key_ctx k;
    memset(&k, 0, sizeof k);
    mx_buf_init(&k.files_tar);
    mx_autofree char *scratch = mx_xasprintf("%s/.work.%ld", snaps, (long)getpid());
    int r = mx_mkdir_p(scratch, 0700, err);
    if (r == 0) r = key_inputs(hc, img, rc, agent, scratch, &k, err);
    mx_rm_rf(scratch, NULL);
    if (r < 0) {
        key_ctx_free(&k);
        return -1;
    }
    r = mx_snapshot_key(&k.in, snap->key, err);
    if (r == 0) set_paths(snap, snaps);
    if (r == 0 && mx_path_exists(snap->state)) {
        key_ctx_free(&k);
        return 1;
    }
    if (r < 0 || !make) {
        key_ctx_free(&k);
        if (r < 0) mx_snapshot_free(snap);
        return r < 0 ? -1 : 0;
    }
    mx_autofree char *lock = mx_xasprintf("%s.lock", snap->dir);
    int lfd = take_lock(lock, err);
    if (lfd < 0) {
        key_ctx_free(&k);
        mx_snapshot_free(snap);
        return -1;
    }
    /* made by another process while this one waited for the lock? */
    if (!mx_path_exists(snap->state)) {
        mx_autofree char *tmp = mx_xasprintf("%s.tmp", snap->dir);
        mx_rm_rf(tmp, NULL); /* a killed maker's (the lock is ours) */
        r = mkdir(tmp, 0755) < 0 ? mx_fail_errno(err, MX_INFRA, "create %s", tmp) : 0;
        if (r == 0) r = make_in(hc, img, rc, agent, &k, tmp, err);
        if (r == 0 && rename(tmp, snap->dir) < 0)
            r = mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
        if (r < 0) mx_rm_rf(tmp, NULL);
        if (r == 0) mx_snapshot_rm_stale(img->dir, rc->name, snap->key);
    }
    close(lfd);
    key_ctx_free(&k);
    if (r < 0) {
        mx_snapshot_free(snap);
        return mx_wrap(err, "make the instant-start snapshot of %s for %s", img->ref, rc->name);
    }
    return 1;
}
