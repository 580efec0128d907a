#include "capacity.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* A waiting process looks at the lock and at stop this often, so Ctrl-C is noticed at once. */
#define NAP_MS 100
/* While the host is full, usage is recomputed every RETRY_NAPS naps (a second). */
#define RETRY_NAPS 10

mx_cap mx_capacity_total(const mx_host_config *hc, const mx_host_caps *caps)
{
    mx_cap t = {caps->cpus, caps->memory_mib - MX_CAPACITY_RESERVE_MIB};
    if (t.memory_mib < MX_CAPACITY_MIN_MIB) t.memory_mib = MX_CAPACITY_MIN_MIB;
    /* explicit values are taken as given, even above the host: a deliberate overcommit */
    if (hc->capacity_vcpus > 0) t.vcpus = hc->capacity_vcpus;
    if (hc->capacity_memory_mib > 0) t.memory_mib = hc->capacity_memory_mib;
    return t;
}

int mx_capacity_fits(mx_cap need, mx_cap used, mx_cap total)
{
    return used.vcpus + need.vcpus <= total.vcpus &&
           used.memory_mib + need.memory_mib <= total.memory_mib;
}

int mx_capacity_check_size(const char *class_name, mx_cap need, mx_cap total, mx_err *err)
{
    if (mx_capacity_fits(need, (mx_cap){0, 0}, total)) return 0;
    return mx_fail(err, MX_INFRA,
                   "resource class %s (%ld vCPUs, %ld MiB) is larger than this host's capacity "
                   "(%ld vCPUs, %ld MiB) and could never start; to allow it, raise "
                   "capacity: {vcpus: N, memory_mib: M} in host.yaml (docs/host-setup.md)",
                   class_name, need.vcpus, need.memory_mib, total.vcpus, total.memory_mib);
}

char *mx_capacity_wait_message(const char *job_name, mx_cap need, mx_cap used, mx_cap total)
{
    return mx_xasprintf("job %s: waiting for capacity: needs %ld vCPUs/%ld MiB, in use "
                        "%ld vCPUs/%ld MiB of %ld vCPUs/%ld MiB",
                        job_name, need.vcpus, need.memory_mib, used.vcpus, used.memory_mib,
                        total.vcpus, total.memory_mib);
}

int mx_capacity_count(const mx_vm_entry *e, void *used, mx_err *err)
{
    (void)err;
    mx_cap *u = used;
    u->vcpus += e->vcpus;
    u->memory_mib += e->memory_mib;
    return 0;
}

int mx_capacity_usage(virConnectPtr conn, mx_cap *used, mx_err *err)
{
    *used = (mx_cap){0, 0};
    return mx_vm_list_each(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, mx_capacity_count, used, err);
}

/* Sleeps naps * NAP_MS; returns -1 as soon as *w->stop is set. */
static int pause_naps(const mx_cap_wait *w, int naps)
{
    if (w->on_wait) w->on_wait(w->ud);
    for (int i = 0; i < naps && !*w->stop; i++) {
        struct timespec ts = {0, NAP_MS * 1000000L};
        /* EINTR (a signal) only ends the nap early: the loop condition looks at stop */
        (void)nanosleep(&ts, NULL);
    }
    return *w->stop ? -1 : 0;
}

static int open_lock(const mx_host_config *hc, mx_err *err)
{
    /* beside the job directories, not in them: gc owns everything inside state_dir */
    mx_autofree char *parent = mx_dirname(hc->state_dir);
    if (mx_mkdir_p(parent, 0700, err) < 0) return mx_wrap(err, "capacity lock");
    mx_autofree char *path = mx_path_join(parent, "capacity.lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    return fd;
}

int mx_capacity_admit(virConnectPtr conn, const mx_host_config *hc, const char *job_name,
                      const char *class_name, mx_cap need, const mx_cap_wait *w, int *lock_fd,
                      mx_err *err)
{
    *lock_fd = -1;
    mx_host_caps caps;
    mx_host_caps_read(&caps);
    mx_cap total = mx_capacity_total(hc, &caps);
    if (mx_capacity_check_size(class_name, need, total, err) < 0) return -1;
    mx_autoclose int fd = open_lock(hc, err);
    if (fd < 0) return -1;
    int announced = 0;
    while (!*w->stop) {
        /* LOCK_NB and naps rather than a blocking flock: a signal must end the wait */
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            if (errno != EWOULDBLOCK && errno != EINTR)
                return mx_fail_errno(err, MX_INFRA, "lock capacity.lock");
            if (pause_naps(w, 1) < 0) break;
            continue;
        }
        mx_cap used;
        if (mx_capacity_usage(conn, &used, err) < 0) return mx_wrap(err, "capacity in use");
        if (mx_capacity_fits(need, used, total)) {
            *lock_fd = fd;
            /* held until mx_capacity_release; the store is read by mx_autoclose */
            fd = -1; // NOLINT(clang-analyzer-deadcode.DeadStores)
            return 0;
        }
        /* let the others in while this job waits: a smaller VM may still fit */
        if (flock(fd, LOCK_UN) < 0) return mx_fail_errno(err, MX_INFRA, "unlock capacity.lock");
        if (w->no_wait)
            return mx_fail(err, MX_INFRA, "no room: %ld vCPUs/%ld MiB in use of %ld/%ld",
                           used.vcpus, used.memory_mib, total.vcpus, total.memory_mib);
        /* idle VMs kept for later jobs give way to a job that needs their room now */
        if (w->make_room && w->make_room(w->room_ud) > 0) continue;
        if (!announced) {
            mx_autofree char *msg = mx_capacity_wait_message(job_name, need, used, total);
            mx_sink_note("%s", msg);
            announced = 1;
        }
        if (pause_naps(w, RETRY_NAPS) < 0) break;
    }
    return mx_fail(err, MX_INFRA, "interrupted while waiting for capacity");
}

void mx_capacity_release(int *lock_fd)
{
    if (*lock_fd < 0) return;
    /* the only descriptor of the lock's open file: closing it drops the flock */
    close(*lock_fd);
    *lock_fd = -1;
}
