/* Finding, claiming, ending and starting warm spares (spare.h); the holder is spare_hold.c. */
#include "spare.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "seed_chan.h"
#include "spare_proto.h"
#include "ssh.h"
#include "trace.h"
#include "vm_xml.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* a holder answers at once; ending one destroys a VM and removes its files */
#define CLAIM_TIMEOUT_MS 10000
#define END_TIMEOUT_MS 60000
/* spares.log is kept under this: each holder writes a few lines */
#define LOG_MAX_BYTES (1 << 20)

typedef int (*spare_visit)(const mx_spare_info *s, void *ud);

/* Calls visit for each spare directory in the state directory whose holder lives, until visit
 * returns non-zero (which is returned). */
static int each_spare(const mx_host_config *hc, spare_visit visit, void *ud)
{
    DIR *d = opendir(hc->state_dir);
    if (!d) return 0;
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        mx_autofree char *dir = mx_path_join(hc->state_dir, e->d_name);
        mx_autofree char *file = mx_path_join(dir, "spare");
        mx_buf b;
        mx_buf_init(&b);
        /* the holder writes it whole before anything else; a few hundred bytes */
        struct stat st;
        if (lstat(file, &st) == 0 && S_ISREG(st.st_mode) && st.st_size < 4096 &&
            mx_read_file(file, &b, NULL) == 0 && b.len) {
            mx_buf_adds(&b, "");
            char *nl = strchr(b.data, '\n');
            char *snap = nl ? nl + 1 : NULL;
            char *end = snap ? strchr(snap, '\n') : NULL;
            mx_autofree char *lock = mx_path_join(dir, "lock");
            if (nl && end && nl - b.data == 64 && mx_flock_held(lock) == 1) {
                *nl = *end = '\0';
                mx_autofree char *sock = mx_path_join(dir, "claim.sock");
                mx_spare_info s = {
                    .dir = dir, .key = b.data, .snap_dir = snap, .ready = access(sock, F_OK) == 0};
                rc = visit(&s, ud);
            }
        }
        mx_buf_free(&b);
    }
    closedir(d);
    return rc;
}

typedef struct count_ctx {
    const char *key;
    int n, ready;
} count_ctx;

static int count_one(const mx_spare_info *s, void *ud)
{
    count_ctx *c = ud;
    if (strcmp(s->key, c->key) == 0) {
        c->n++;
        c->ready += s->ready;
    }
    return 0;
}

int mx_spare_count(const mx_host_config *hc, const char *key, int *ready)
{
    count_ctx c = {key, 0, 0};
    each_spare(hc, count_one, &c);
    if (ready) *ready = c.ready;
    return c.n;
}

/* A connection to the spare's holder, or -1. */
static int connect_holder(const char *dir)
{
    mx_autofree char *path = mx_path_join(dir, "claim.sock");
    return mx_chan_connect(path);
}

typedef struct claim_ctx {
    mx_vm *vm;
    const mx_host_config *hc;
    const char *key;
    int chan_fd;
    mx_err *err;
    int failed;
} claim_ctx;

/* Makes this process the owner of the spare's VM sp: its own watchdog, then the job's id, name
 * and this pid in the domain's metadata (the holder's watchdog then leaves it alone). */
static int take_over(claim_ctx *c, mx_vm *sp, mx_err *err)
{
    if (!(sp->dom = virDomainLookupByName(c->vm->conn, sp->domain_name)))
        return mx_fail(err, MX_INFRA, "look up spare VM %s: %s", sp->domain_name, mx_virt_error());
    if (!c->vm->outlive_owner && mx_vm_watch_start(sp, c->hc, err) < 0) return -1;
    mx_vm_spec spec = {.job_id = c->vm->job_id,
                       .job_name = c->vm->job_name,
                       .job_dir = sp->dir,
                       .owner_pid = (long)getpid(),
                       .ssh_port = sp->ssh_port,
                       .start = "warm"};
    mx_autofree char *meta = mx_vm_metadata_bare_xml(&spec);
    if (virDomainSetMetadata(sp->dom, VIR_DOMAIN_METADATA_ELEMENT, meta, MX_METADATA_PREFIX,
                             MX_METADATA_NS, VIR_DOMAIN_AFFECT_LIVE) < 0)
        return mx_fail(err, MX_INFRA, "claim spare VM %s: %s", sp->domain_name, mx_virt_error());
    return 0;
}

/* Asks one spare's holder for its VM; 1 taken (c->vm adopted it), 0 not this one. */
static int claim_one(const mx_spare_info *s, void *ud)
{
    claim_ctx *c = ud;
    if (!s->ready || strcmp(s->key, c->key) != 0) return 0;
    mx_autoclose int sock = connect_holder(s->dir);
    if (sock < 0) return 0; /* claimed by another job or ending: the next one */
    int fds[MX_SPARE_MAX_FDS], nfds = 0, port = 0;
    char line[64];
    mx_err e;
    if (mx_spare_send(sock, "claim\n", NULL, 0, &e) < 0 ||
        mx_spare_recv(sock, line, sizeof line, fds, &nfds, mx_now_ms() + CLAIM_TIMEOUT_MS, &e) < 0)
        return 0;
    char extra;
    if (nfds != 2 || sscanf(line, "spare %d%c", &port, &extra) != 1) {
        while (nfds > 0)
            close(fds[--nfds]);
        return 0;
    }
    mx_vm sp;
    int r = mx_vm_spare_fields(&sp, s->dir, port, &e);
    sp.lock_fd = fds[1];
    sp.conn = NULL;
    if (r == 0) r = take_over(c, &sp, &e);
    if (r == 0) r = mx_spare_send(sock, "ok\n", NULL, 0, &e);
    if (r < 0) {
        /* the holder, told nothing, destroys the VM; so does the watchdog if we started one */
        close(fds[0]);
        mx_vm_detach(&sp);
        mx_fail(c->err, MX_INFRA, "warm spare %s: %s", s->dir, e.msg);
        c->failed = 1;
        return 1;
    }
    mx_vm_adopt(c->vm, &sp);
    c->chan_fd = fds[0];
    return 1;
}

int mx_spare_claim(mx_vm *vm, const mx_host_config *hc, const char *key, int *chan_fd, mx_err *err)
{
    *chan_fd = -1;
    if (hc->warm_spares <= 0) return 0;
    if (!vm->conn && !(vm->conn = mx_virt_connect(hc->libvirt_uri, err))) return -1;
    claim_ctx c = {vm, hc, key, -1, err, 0};
    if (!each_spare(hc, claim_one, &c)) return 0;
    if (c.failed) return -1;
    *chan_fd = c.chan_fd;
    mx_trace("spare: claimed");
    return 1;
}

typedef struct end_ctx {
    int (*end_it)(const mx_spare_info *s, void *ud);
    void *ud;
    int ended;
} end_ctx;

static int end_one(const mx_spare_info *s, void *ud)
{
    end_ctx *c = ud;
    if (!s->ready || (c->end_it && !c->end_it(s, c->ud))) return 0;
    mx_autoclose int sock = connect_holder(s->dir);
    if (sock < 0) return 0;
    int fds[MX_SPARE_MAX_FDS], nfds = 0;
    char line[16];
    mx_err e;
    if (mx_spare_send(sock, "end\n", NULL, 0, &e) == 0 &&
        mx_spare_recv(sock, line, sizeof line, fds, &nfds, mx_now_ms() + END_TIMEOUT_MS, &e) == 0 &&
        strcmp(line, "ended") == 0)
        c->ended++;
    while (nfds > 0)
        close(fds[--nfds]);
    return 0;
}

int mx_spare_end(const mx_host_config *hc, int (*end_it)(const mx_spare_info *s, void *ud),
                 void *ud)
{
    end_ctx c = {end_it, ud, 0};
    each_spare(hc, end_one, &c);
    return c.ended;
}

/* Spares seen so far per snapshot key (mx_spare_end_unwanted's filter). */
typedef struct seen_keys {
    char (*keys)[65];
    int *counts;
    size_t n;
    int keep;
} seen_keys;

static int beyond_keep(const mx_spare_info *s, void *ud)
{
    seen_keys *k = ud;
    size_t i = 0;
    while (i < k->n && strcmp(k->keys[i], s->key) != 0)
        i++;
    if (i == k->n) {
        k->keys = mx_xrealloc(k->keys, (k->n + 1) * sizeof *k->keys);
        k->counts = mx_xrealloc(k->counts, (k->n + 1) * sizeof *k->counts);
        snprintf(k->keys[i], sizeof k->keys[i], "%s", s->key);
        k->counts[i] = 0;
        k->n++;
    }
    return ++k->counts[i] > k->keep;
}

int mx_spare_end_unwanted(const mx_host_config *hc)
{
    seen_keys k = {NULL, NULL, 0, hc->instant_starts ? hc->warm_spares : 0};
    int n = mx_spare_end(hc, beyond_keep, &k);
    free(k.keys);
    free(k.counts);
    return n;
}

static int of_image(const mx_spare_info *s, void *ud)
{
    const char *image_dir = ud;
    size_t len = strlen(image_dir);
    return strncmp(s->snap_dir, image_dir, len) == 0 && s->snap_dir[len] == '/';
}

int mx_spare_end_image(const mx_host_config *hc, const char *image_dir)
{
    return mx_spare_end(hc, of_image, (void *)image_dir);
}

int mx_spare_make_room(const void *room_ud)
{
    return mx_spare_end(room_ud, NULL, NULL);
}

/* STATE_DIR/../spares.log opened for appending, emptied once it grows past LOG_MAX_BYTES. */
static int open_log(const mx_host_config *hc, mx_err *err)
{
    mx_autofree char *parent = mx_dirname(hc->state_dir);
    mx_autofree char *path = mx_path_join(parent, "spares.log");
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_size > LOG_MAX_BYTES && ftruncate(fd, 0) < 0) {
        mx_fail_errno(err, MX_INFRA, "truncate %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

int mx_spare_spawn(const mx_host_config *hc, const char *key, const char *image_ref,
                   const mx_rclass *rc, mx_err *err)
{
    if (hc->warm_spares <= 0 || !hc->instant_starts) return 0;
    if (mx_spare_count(hc, key, NULL) >= hc->warm_spares) return 0;
    char vcpus[16], mib[16];
    snprintf(vcpus, sizeof vcpus, "%d", rc->vcpus);
    snprintf(mib, sizeof mib, "%d", rc->memory_mib);
    char *const argv[] = {"mexec", "__spare", (char *)image_ref, rc->name, vcpus, mib, NULL};
    mx_autoclose int log = open_log(hc, err);
    if (log < 0) return -1;
    mx_autoclose int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0) return mx_fail_errno(err, MX_INFRA, "open /dev/null");
    pid_t child = fork();
    if (child < 0) return mx_fail_errno(err, MX_INFRA, "fork");
    if (child == 0) {
        /* only async-signal-safe calls between fork and exec; the second fork leaves the holder
         * to init, in a session of its own (a terminal's Ctrl-C does not reach it) */
        setsid();
        pid_t holder = fork();
        if (holder != 0) _exit(holder < 0 ? 1 : 0);
        if (dup2(null, 0) < 0 || dup2(log, 1) < 0 || dup2(log, 2) < 0) _exit(127);
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    while (waitpid(child, &st, 0) < 0)
        if (errno != EINTR) return mx_fail_errno(err, MX_INFRA, "wait");
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return mx_fail(err, MX_INFRA, "start a warm spare: fork failed");
    return 1;
}
