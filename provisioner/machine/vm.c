#include "vm.h"
#include "capacity.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "save_image.h"
#include "seed_chan.h"
#include "signals.h"
#include "snapshot.h"
#include "trace.h"
#include "vm_net.h"
#include "vm_seed.h"
#include "vm_user.h"
#include "vm_xml.h"
#include "sink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libvirt/virterror.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int random_id(char out[17], mx_err *err)
{
    unsigned char r[8];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return mx_fail_errno(err, MX_INFRA, "getrandom");
    for (int i = 0; i < 8; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

static int free_port(int *port, mx_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "socket");
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0) {
        mx_fail_errno(err, MX_INFRA, "find a free port on 127.0.0.1");
        close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    close(fd);
    return 0;
}

static int keygen(const char *path, const char *comment, mx_err *err)
{
    const char *argv[] = {"ssh-keygen", "-q",    "-t", "ed25519", "-N", "",
                          "-C",         comment, "-f", path,      NULL};
    if (mx_proc_check(argv, NULL, NULL, err) < 0) return mx_wrap(err, "generate SSH key");
    return 0;
}

static int valid_id(const char *id)
{
    if (!*id || strlen(id) > 64) return 0;
    for (const char *p = id; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
            return 0;
    return id[0] != '.';
}

/* Paths inside the job directory, the same for the creating and a reattaching process. */
static void set_paths(mx_vm *vm)
{
    vm->overlay = mx_path_join(vm->dir, "disk.qcow2");
    vm->seed = mx_path_join(vm->dir, "seed.iso");
    vm->console = mx_path_join(vm->dir, "console.log");
    vm->client_key = mx_path_join(vm->dir, "client_key");
    vm->client_pub = mx_path_join(vm->dir, "client_key.pub");
    vm->host_pub = mx_path_join(vm->dir, "host_key.pub");
    vm->channel = mx_path_join(vm->dir, "seed.sock");
}

int mx_vm_prepare(mx_vm *vm, const mx_host_config *hc, const char *job_name, mx_err *err)
{
    memset(vm, 0, sizeof *vm);
    vm->lock_fd = -1;
    char id[17];
    if (random_id(id, err) < 0) return -1;
    return mx_vm_prepare_id(vm, hc, job_name, id, err);
}

int mx_vm_prepare_id(mx_vm *vm, const mx_host_config *hc, const char *job_name, const char *id,
                     mx_err *err)
{
    memset(vm, 0, sizeof *vm);
    vm->lock_fd = -1;
    if (!valid_id(id)) return mx_fail(err, MX_INFRA, "bad job id \"%s\"", id);
    vm->job_id = mx_xstrdup(id);
    vm->job_name = mx_xstrdup(job_name);
    vm->domain_name = mx_xasprintf(MX_DOMAIN_PREFIX "%s", id);
    if (mx_mkdir_p(hc->state_dir, 0700, err) < 0) return mx_wrap(err, "job state directory");
    vm->dir = mx_path_join(hc->state_dir, id);
    if (mkdir(vm->dir, 0700) < 0) {
        free(mx_steal(&vm->dir));
        return mx_fail_errno(err, MX_INFRA, "create job directory");
    }
    mx_autofree char *lock = mx_path_join(vm->dir, "lock");
    vm->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (vm->lock_fd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", lock);
    if (flock(vm->lock_fd, LOCK_EX | LOCK_NB) < 0)
        return mx_fail_errno(err, MX_INFRA, "lock %s", lock);
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (write(vm->lock_fd, pid, (size_t)n) != n)
        return mx_fail_errno(err, MX_INFRA, "write %s", lock);

    set_paths(vm);
    mx_autofree char *host_key = mx_path_join(vm->dir, "host_key");
    mx_autofree char *comment = mx_xasprintf("mexec-%s", id);
    if (keygen(vm->client_key, comment, err) < 0 || keygen(host_key, comment, err) < 0) return -1;
    return 0;
}

int mx_vm_save(const mx_vm *vm, mx_err *err)
{
    mx_autojson json_t *doc =
        json_pack("{s:s, s:s, s:s, s:i}", "id", vm->job_id, "name", vm->job_name, "domain",
                  vm->domain_name, "ssh_port", vm->ssh_port);
    if (!doc) return mx_fail(err, MX_INFRA, "encode VM state");
    /* restored from a snapshot: where its agent is */
    if (vm->agent && json_object_set_new(doc, "agent", json_string(vm->agent)) < 0)
        return mx_fail(err, MX_INFRA, "encode VM state");
    char *text = json_dumps(doc, JSON_COMPACT);
    if (!text) return mx_fail(err, MX_INFRA, "encode VM state");
    mx_autofree char *path = mx_path_join(vm->dir, "vm.json");
    mx_autofree char *tmp = mx_path_join(vm->dir, "vm.json.tmp");
    /* written whole then renamed: a reader never sees half a file, even after a crash */
    int rc = mx_write_file(tmp, text, strlen(text), 0600, err);
    free(text);
    if (rc == 0 && rename(tmp, path) < 0) rc = mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
    return rc;
}

int mx_vm_load(mx_vm *vm, const char *dir, mx_err *err)
{
    memset(vm, 0, sizeof *vm);
    vm->lock_fd = -1;
    vm->dir = mx_xstrdup(dir);
    mx_autofree char *lock = mx_path_join(dir, "lock");
    vm->lock_fd = open(lock, O_RDWR | O_CLOEXEC);
    if (vm->lock_fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", lock);
    /* blocking: a stage still running (the runner waits for it) finishes first */
    while (flock(vm->lock_fd, LOCK_EX) < 0)
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "lock %s", lock);
    mx_autofree char *path = mx_path_join(dir, "vm.json");
    json_error_t je;
    mx_autojson json_t *doc = json_load_file(path, 0, &je);
    if (!doc) return mx_fail(err, MX_INFRA, "read %s: %s", path, je.text);
    const char *id = NULL, *name = NULL, *domain = NULL;
    int port = 0;
    if (json_unpack_ex(doc, &je, 0, "{s:s, s:s, s:s, s:i}", "id", &id, "name", &name, "domain",
                       &domain, "ssh_port", &port) < 0)
        return mx_fail(err, MX_INFRA, "%s: %s", path, je.text);
    if (!valid_id(id) || port < 0 || port > 65535)
        return mx_fail(err, MX_INFRA, "%s: bad id or port", path);
    vm->job_id = mx_xstrdup(id);
    vm->job_name = mx_xstrdup(name);
    vm->domain_name = mx_xstrdup(domain);
    vm->ssh_port = port;
    const char *agent = json_string_value(json_object_get(doc, "agent"));
    /* only the path mexec itself records: never a command line from a file */
    if (agent && strcmp(agent, MX_SNAPSHOT_AGENT) == 0) {
        vm->agent = mx_xstrdup(agent);
        vm->restored = 1;
    }
    set_paths(vm);
    return 0;
}

int mx_vm_destroy_by_name(const mx_host_config *hc, const char *name, mx_err *err)
{
    virConnectPtr conn = mx_virt_connect(hc->libvirt_uri, err);
    if (!conn) return -1;
    int rc = 0;
    virDomainPtr dom = virDomainLookupByName(conn, name);
    if (!dom) {
        virErrorPtr e = virGetLastError();
        if (!e || e->code != VIR_ERR_NO_DOMAIN)
            rc = mx_fail(err, MX_INFRA, "look up VM %s: %s", name, mx_virt_error());
    } else {
        rc = 1;
        if (virDomainDestroy(dom) < 0) {
            virErrorPtr e = virGetLastError();
            /* not running, or gone since the lookup (a start that its killed owner left
             * half-done fails and vanishes): nothing left to destroy either way */
            if (e && (e->code == VIR_ERR_OPERATION_INVALID || e->code == VIR_ERR_NO_DOMAIN))
                rc = e->code == VIR_ERR_NO_DOMAIN ? 0 : 1;
            else
                rc = mx_fail(err, MX_INFRA, "destroy VM %s: %s", name, mx_virt_error());
        }
        /* never made persistent by mexec, but a definition must not outlive the job */
        if (rc >= 0 && virDomainIsPersistent(dom) == 1 && virDomainUndefine(dom) < 0)
            rc = mx_fail(err, MX_INFRA, "undefine VM %s: %s", name, mx_virt_error());
        virDomainFree(dom);
    }
    virConnectClose(conn);
    return rc;
}

static int make_overlay(const mx_vm *vm, const mx_image *img, mx_err *err)
{
    const char *argv[] = {"qemu-img", "create", "-q",      "-f",        "qcow2", "-F",
                          "qcow2",    "-b",     img->base, vm->overlay, NULL};
    if (mx_proc_check(argv, NULL, NULL, err) < 0) return mx_wrap(err, "create overlay disk");
    if (chmod(vm->overlay, 0600) < 0) return mx_fail_errno(err, MX_INFRA, "chmod %s", vm->overlay);
    return 0;
}

/* What the guest network lets through: the listed host services, and not the host's own
 * addresses (vm_net.h). */
typedef struct net_policy {
    int *services;
    size_t nservices;
    char **blocked;
    size_t nblocked;
    int offline;
} net_policy;

static void net_policy_free(net_policy *p)
{
    free(p->services);
    mx_net_strv_free(p->blocked);
}

static const char *create_hint(const char *msg)
{
    return strstr(msg, "Permission denied")
               ? " (QEMU runs as the qemu.conf user: every directory above the job directory "
                 "and the image must be searchable by it; scripts/setup-host.sh makes "
                 "/var/lib/mexec so)"
               : "";
}

static int random_uuid(char out[37], mx_err *err)
{
    unsigned char r[16];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return mx_fail_errno(err, MX_INFRA, "getrandom");
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    int n = 0;
    for (int i = 0; i < 16; i++)
        n += snprintf(out + n, (size_t)(37 - n), "%s%02x",
                      (i == 4 || i == 6 || i == 8 || i == 10) ? "-" : "", r[i]);
    return 0;
}

/* Restores o->restore_from as this job's domain: a copy of the save image with the job's XML
 * (save_image.h says why a copy), removed once libvirt has read it. */
static int restore_domain(mx_vm *vm, mx_vm_spec *spec, const char *from, mx_err *err)
{
    char uuid[37], genid[37];
    if (random_uuid(uuid, err) < 0 || random_uuid(genid, err) < 0) return -1;
    spec->uuid = uuid;
    spec->genid = genid;
    mx_autofree char *xml = mx_vm_domain_xml(spec);
    mx_autofree char *fifo = mx_path_join(vm->dir, "restore.save");
    pid_t feeder;
    int rc = mx_save_image_feed(from, fifo, xml, &feeder, err);
    mx_trace("restore: save image feeder started");
    if (rc == 0 && virDomainRestoreFlags(vm->conn, fifo, NULL, VIR_DOMAIN_SAVE_RUNNING) < 0) {
        const char *msg = mx_virt_error();
        rc = mx_fail(err, MX_INFRA, "restore VM %s: %s%s", vm->domain_name, msg, create_hint(msg));
    }
    /* restored: libvirt read what it needed, whatever the feeder says */
    if (feeder > 0) mx_save_image_fed(feeder, rc == 0);
    unlink(fifo);
    if (rc == 0 && !(vm->dom = virDomainLookupByName(vm->conn, vm->domain_name)))
        rc = mx_fail(err, MX_INFRA, "look up restored VM %s: %s", vm->domain_name, mx_virt_error());
    return rc;
}

/* Starts the guest network and the domain (booted, or restored from o->restore_from), retrying
 * on a fresh port: the SSH port is picked free, then bound by pasta, and another process may
 * take it in between. */
static int create_domain(mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                         const mx_rclass *rc, const mx_qemu_user *qu, const net_policy *np,
                         const mx_vm_start *o, mx_err *err)
{
    mx_qemu_user nu;
    if (mx_qemu_net_user(qu, &nu, err) < 0) return -1;
    mx_autofree char *wrapper = mx_net_wrapper(err);
    if (!wrapper) return -1;
    mx_autofree char *ready = mx_net_ready_path(vm->dir);
    mx_autofree char *resolv = mx_net_resolv_path(vm->dir);
    for (int attempt = 0; attempt < 3; attempt++) {
        if (free_port(&vm->ssh_port, err) < 0) return -1;
        mx_net_spec ns = {.ready = ready,
                          .ssh_port = vm->ssh_port,
                          .services = np->services,
                          .nservices = np->nservices,
                          .blocked = np->blocked,
                          .nblocked = np->nblocked,
                          .offline = np->offline};
        pid_t holder = 0;
        int taken = 0;
        if (mx_net_start(vm->dir, &ns, nu.uid, nu.gid, &holder, &taken, err) < 0) {
            if (taken) continue;
            return -1;
        }
        mx_trace("guest network up");
        mx_vm_spec spec = {
            .name = vm->domain_name,
            .domain_type = mx_accel_probe(hc->accel).domain_type,
            .vcpus = rc->vcpus,
            .memory_mib = rc->memory_mib,
            .kernel = img->kernel,
            .initrd = img->initrd,
            .cmdline = img->cmdline,
            .firmware = img->firmware, /* imported images boot from their disk */
            .disk = o->disk ? o->disk : vm->overlay,
            .seed = o->seed ? vm->seed : NULL,
            .channel = o->channel ? vm->channel : NULL,
            .console = vm->console,
            .ssh_port = vm->ssh_port,
            .emulator = wrapper,
            .qemu = qu->emulator,
            .net_resolv = resolv,
            .net_pid = (long)holder,
            .qemu_uid = (long)qu->uid,
            .qemu_gid = (long)qu->gid,
            .job_id = vm->job_id,
            .job_name = vm->job_name,
            .job_dir = vm->dir,
            .owner_pid = (long)getpid(),
            .start = o->spare ? "spare" : NULL,
        };
        if (o->restore_from) {
            if (restore_domain(vm, &spec, o->restore_from, err) == 0) return 0;
            mx_net_stop(vm->dir);
            return -1;
        }
        mx_autofree char *xml = mx_vm_domain_xml(&spec);
        /* AUTODESTROY: libvirtd destroys the domain when our connection closes, so even a
         * SIGKILLed mexec leaves no running VM (gc then removes the files). */
        vm->dom =
            virDomainCreateXML(vm->conn, xml, vm->outlive_owner ? 0 : VIR_DOMAIN_START_AUTODESTROY);
        if (vm->dom) return 0;
        const char *msg = mx_virt_error();
        mx_fail(err, MX_INFRA, "start VM %s: %s%s", vm->domain_name, msg, create_hint(msg));
        mx_net_stop(vm->dir);
        return -1;
    }
    return -1;
}

/* Hands QEMU's user what it needs of the job and the image (vm_user.h). */
static int hand_over(const mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                     const mx_qemu_user *qu, const mx_vm_start *o, mx_err *err)
{
    if (mx_write_file(vm->console, "", 0, 0600, err) < 0) return -1;
    /* an imported image (firmware boot) has no kernel or initrd of ours */
    const char *shared[] = {img->base, img->kernel, img->initrd};
    for (size_t i = 0; i < 3; i++)
        if (shared[i] && mx_qemu_user_share(hc->image_store, shared[i], err) < 0) return -1;
    if (o->share && mx_qemu_user_share(hc->image_store, o->share, err) < 0) return -1;
    if (mx_qemu_user_pass(hc->state_dir, err) < 0 || mx_qemu_user_pass(vm->dir, err) < 0 ||
        mx_qemu_user_own(o->disk ? o->disk : vm->overlay, qu, 0600, err) < 0 ||
        (o->seed && mx_qemu_user_own(vm->seed, qu, 0600, err) < 0) ||
        mx_qemu_user_own(vm->console, qu, 0600, err) < 0)
        return -1;
    if (o->channel) {
        *o->chan_fd = mx_chan_listen(vm->channel, qu->uid, qu->gid, err);
        if (*o->chan_fd < 0) return -1;
    }
    return 0;
}

int mx_vm_start_domain(mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                       const mx_rclass *rc, const mx_vm_start *o, mx_err *err)
{
    if (!vm->conn && !(vm->conn = mx_virt_connect(hc->libvirt_uri, err))) return -1;
    mx_qemu_user qu;
    if (mx_qemu_user_get(vm->conn, mx_accel_probe(hc->accel).domain_type, &qu, err) < 0 ||
        hand_over(vm, hc, img, &qu, o, err) < 0)
        return -1;
    net_policy np = {.offline = !mx_net_host_online()};
    np.services = mx_net_services(hc, &np.nservices);
    np.blocked = mx_net_host_blocked(&np.nblocked);
    /* admitted until the domain exists (or failed to): then the next job's sum includes it */
    int lock_fd = -1;
    mx_cap_wait w = {
        .stop = &mx_stop, .make_room = vm->make_room, .room_ud = vm->room_ud, .no_wait = o->spare};
    int r = mx_capacity_admit(vm->conn, hc, vm->job_name, rc->name,
                              (mx_cap){rc->vcpus, rc->memory_mib}, &w, &lock_fd, err);
    if (r == 0) r = create_domain(vm, hc, img, rc, &qu, &np, o, err);
    mx_capacity_release(&lock_fd);
    net_policy_free(&np);
    return r;
}

int mx_vm_boot(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
               mx_err *err)
{
    if (make_overlay(vm, img, err) < 0) return -1;
    mx_seed_paths seed = {vm->dir, vm->domain_name, vm->client_pub, vm->host_pub, vm->seed};
    if (mx_vm_seed_create(&seed, hc, err) < 0) return mx_wrap(err, "create seed");
    mx_vm_start o = {.seed = 1};
    return mx_vm_start_domain(vm, hc, img, rc, &o, err);
}

static void free_fields(mx_vm *vm)
{
    if (vm->lock_fd >= 0) close(vm->lock_fd);
    if (vm->watch_pid > 0) {
        /* the domain is destroyed (teardown) or handed on (detach): the watchdog finds it gone
         * or owned by another process, and ends */
        close(vm->watch_fd);
        while (waitpid(vm->watch_pid, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    free(vm->job_id);
    free(vm->job_name);
    free(vm->dir);
    free(vm->overlay);
    free(vm->seed);
    free(vm->console);
    free(vm->client_key);
    free(vm->client_pub);
    free(vm->host_pub);
    free(vm->channel);
    free(vm->agent);
    free(vm->domain_name);
    memset(vm, 0, sizeof *vm);
    vm->lock_fd = -1;
}

int mx_vm_spare_fields(mx_vm *vm, const char *dir, int port, mx_err *err)
{
    memset(vm, 0, sizeof *vm);
    vm->lock_fd = -1;
    const char *id = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
    if (!valid_id(id) || port <= 0 || port > 65535)
        return mx_fail(err, MX_INFRA, "bad warm spare %s (port %d)", dir, port);
    vm->dir = mx_xstrdup(dir);
    vm->domain_name = mx_xasprintf(MX_DOMAIN_PREFIX "%s", id);
    vm->ssh_port = port;
    set_paths(vm);
    return 0;
}

void mx_vm_adopt(mx_vm *vm, mx_vm *spare)
{
    /* the job's own directory holds only its lock and unused keys so far */
    if (vm->dir) {
        mx_err ignored;
        (void)mx_rm_rf(vm->dir, &ignored);
    }
    if (vm->lock_fd >= 0) close(vm->lock_fd);
    vm->lock_fd = -1;
    char *job_id = mx_steal(&vm->job_id), *job_name = mx_steal(&vm->job_name);
    virConnectPtr conn = vm->conn;
    int outlive = vm->outlive_owner;
    int (*make_room)(const void *) = vm->make_room;
    const void *room_ud = vm->room_ud;
    vm->conn = NULL;
    free_fields(vm);
    *vm = *spare;
    memset(spare, 0, sizeof *spare);
    spare->lock_fd = -1;
    free(vm->job_id);
    free(vm->job_name);
    vm->job_id = job_id;
    vm->job_name = job_name;
    if (!vm->conn)
        vm->conn = conn;
    else if (conn)
        virConnectClose(conn);
    vm->outlive_owner = outlive;
    vm->make_room = make_room;
    vm->room_ud = room_ud;
    vm->restored = 1;
}

void mx_vm_detach(mx_vm *vm)
{
    if (vm->dom) virDomainFree(vm->dom);
    if (vm->conn) virConnectClose(vm->conn);
    vm->dom = NULL;
    vm->conn = NULL;
    free_fields(vm);
}

void mx_vm_teardown(mx_vm *vm)
{
    if (vm->dom) {
        if (virDomainDestroy(vm->dom) < 0) {
            virErrorPtr e = virGetLastError();
            if (!e || e->code != VIR_ERR_OPERATION_INVALID) /* already gone is fine */
                mx_sink_note("destroy VM %s: %s", vm->domain_name, mx_virt_error());
        }
        virDomainFree(vm->dom);
        vm->dom = NULL;
    }
    if (vm->conn) {
        virConnectClose(vm->conn);
        vm->conn = NULL;
    }
    if (vm->dir) {
        /* the guest network's processes outlive QEMU: they end here */
        mx_net_stop(vm->dir);
        mx_err err;
        if (mx_rm_rf(vm->dir, &err) < 0) mx_sink_note("%s", err.msg);
    }
    free_fields(vm);
}

char *mx_vm_console_tail(const mx_vm *vm, int lines)
{
    mx_buf b;
    mx_buf_init(&b);
    if (!vm->console || mx_read_file(vm->console, &b, NULL) < 0 || b.len == 0) {
        mx_buf_free(&b);
        return NULL;
    }
    size_t at = b.len;
    for (int n = 0; at > 0 && n <= lines; at--)
        if (b.data[at - 1] == '\n') n++;
    char *tail = mx_xstrdup(b.data + at);
    mx_buf_free(&b);
    return tail;
}
