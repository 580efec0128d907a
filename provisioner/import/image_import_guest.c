/* Import's one boot of the image: complete it from the inside, with the host's packages.
 *
 * The VM is an ordinary mexec VM (job directory, overlay on the converted disk, the per-job
 * seed, pinned host key) booted through the firmware.  Over SSH, as the seed's user with sudo:
 * wait for cloud-init, run images/import/probe.sh, fetch the image's dpkg status and archive
 * keyring; on the host images/import/fetch-debs.sh downloads what is missing (the guest never
 * needs a network); the .debs are uploaded and installed with apt-get --no-download; then
 * images/import/finish.sh cleans per-instance state and powers off.  The overlay, flattened
 * with its backing file, is the imported base. */
#include "image_import.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "signals.h"
#include "ssh.h"
#include "ssh_run.h"
#include "vm.h"
#include "vm_guest.h"
#include "sink.h"

#include <libvirt/virterror.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GUEST_DIR "/tmp/mexec-import"
#define JOB_USER MX_GUEST_USER
#define MIB (1024 * 1024)
/* what import reads from the guest: no more than this each */
#define FACTS_CAP (64 * 1024)
#define STATUS_CAP (64 * MIB)
#define KEYRING_CAP (1 * MIB)
/* how long each step in the guest may take (TCG is slow; installing docker.io ~2 min) */
#define CLOUD_INIT_WAIT_S 900
#define SHORT_S 120
#define INSTALL_S 1800
#define POWEROFF_S 300

char *mx_import_deb_cache(const mx_host_config *hc)
{
    const char *env = getenv("MEXEC_DEB_CACHE");
    if (env && *env) return mx_xstrdup(env);
    /* beside the image store, not in it: it is a cache of downloads, not images */
    mx_autofree char *parent = mx_dirname(hc->image_store);
    return mx_path_join(parent, "cache/debs");
}

void mx_import_report_free(mx_import_report *r)
{
    mx_buf_free(&r->facts);
    for (size_t i = 0; i < r->ninstalled; i++)
        free(r->installed[i]);
    free(r->installed);
    memset(r, 0, sizeof *r);
}

typedef struct guest {
    const mx_host_config *hc;
    const char *workdir;
    mx_vm vm;
    mx_ssh ssh;
    volatile sig_atomic_t *stop;
} guest;

/* Runs command; a non-zero exit is an error quoting the tail of its stderr. */
static int run(guest *g, const char *what, const char *command, int timeout_s, size_t out_cap,
               mx_buf *out, mx_err *err)
{
    mx_ssh_run_opts o = {
        .out_cap = out_cap, .err_keep = 4096, .timeout_s = timeout_s, .stop = g->stop};
    mx_buf errtext;
    mx_buf_init(&errtext);
    int status = -1;
    int rc = mx_ssh_run(&g->ssh, command, &o, out, &errtext, &status, err);
    if (rc == 0 && status != 0)
        rc = mx_fail(err, MX_INFRA, "exit status %d%s%s", status, errtext.len ? ": " : "",
                     errtext.len ? errtext.data : "");
    mx_buf_free(&errtext);
    return rc < 0 ? mx_wrap(err, "%s", what) : 0;
}

static int upload_script(guest *g, const char *name, mx_err *err)
{
    mx_autofree char *importdir = mx_path_join(g->hc->images_dir, "import");
    mx_autofree char *local = mx_path_join(importdir, name);
    mx_autofree char *remote = mx_path_join(GUEST_DIR, name);
    return mx_ssh_upload(&g->ssh, local, remote, 0755, err) < 0 ? mx_wrap(err, "upload %s", name)
                                                                : 0;
}

static int boot(guest *g, const char *ref, const char *base, double *boot_s, mx_err *err)
{
    long long t0 = mx_now_ms();
    if (mx_vm_prepare(&g->vm, g->hc, "import", err) < 0) return mx_wrap(err, "prepare VM");
    mx_image img = {.ref = (char *)ref, .base = (char *)base, .firmware = "bios", .built = 1};
    mx_rclass rc = {.name = "import", .vcpus = 2, .memory_mib = 2048};
    mx_sink_note("import: "
                 "booting %s once (firmware boot, cloud-init from the seed) as %s",
                 ref, g->vm.domain_name);
    if (mx_vm_boot(&g->vm, g->hc, &img, &rc, err) < 0) return mx_wrap(err, "boot VM");
    long long deadline = mx_now_ms() + (long long)g->hc->boot_timeout_s * 1000;
    mx_ssh_target t = mx_vm_ssh_target(&g->vm);
    if (mx_ssh_connect(&g->ssh, &t, deadline, g->stop, err) < 0) {
        mx_autofree char *tail = mx_vm_console_tail(&g->vm, 15);
        if (tail && !*g->stop) mx_sink_note("last lines of the guest console:\n%s", tail);
        return mx_wrap(err,
                       "connect to the image (as %s, with the seed's key and pinned host "
                       "key: does it run cloud-init with the NoCloud datasource?)",
                       JOB_USER);
    }
    *boot_s = (double)(mx_now_ms() - t0) / 1000.0;
    mx_sink_note("import: "
                 "guest up after %.1f s; waiting for cloud-init to finish",
                 *boot_s);
    /* `cloud-init status --wait` exits 1 on errors, 2 on recoverable ones (22.x+): reported,
     * not fatal, since the seed's part (user, keys) evidently worked */
    mx_ssh_run_opts o = {.out_cap = FACTS_CAP, .timeout_s = CLOUD_INIT_WAIT_S, .stop = g->stop};
    mx_buf out;
    mx_buf_init(&out);
    int status = -1;
    int r = mx_ssh_run(&g->ssh, "cloud-init status --wait", &o, &out, NULL, &status, err);
    mx_buf_free(&out);
    if (r < 0) return mx_wrap(err, "wait for cloud-init");
    if (status != 0)
        mx_sink_note("import: "
                     "cloud-init reports errors (status %d); going on",
                     status);
    return 0;
}

/* Writes what command prints into local (0600). */
static int fetch(guest *g, const char *what, const char *command, size_t cap, const char *local,
                 mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    int rc = run(g, what, command, SHORT_S, cap, &b, err);
    if (rc == 0) rc = mx_write_file(local, b.data ? b.data : "", b.len, 0600, err);
    mx_buf_free(&b);
    return rc;
}

/* The value of KEY=... in probe.sh's output if it is a plain word, else NULL (caller frees). */
static char *fact(const char *facts, const char *key)
{
    size_t kl = strlen(key);
    for (const char *l = facts; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        if (n > kl && strncmp(l, key, kl) == 0 && l[kl] == '=') {
            char *v = mx_xstrndup(l + kl + 1, n - kl - 1);
            if (*v && strspn(v, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(v)) return v;
            free(v);
            return NULL;
        }
        l = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static int probe(guest *g, mx_import_report *rep, mx_err *err)
{
    if (run(g, "prepare",
            "mkdir -m 0755 " GUEST_DIR " && mkdir -p " GUEST_DIR "/debs " GUEST_DIR
            "/lists/partial",
            SHORT_S, 0, NULL, err) < 0 ||
        upload_script(g, "probe.sh", err) < 0 || upload_script(g, "install.sh", err) < 0 ||
        upload_script(g, "finish.sh", err) < 0)
        return -1;
    if (run(g, "probe the image", "sudo -n sh " GUEST_DIR "/probe.sh", SHORT_S, FACTS_CAP,
            &rep->facts, err) < 0)
        return -1;
    mx_autofree char *facts_file = mx_path_join(g->workdir, "facts");
    mx_autofree char *status_file = mx_path_join(g->workdir, "status");
    mx_autofree char *keyring_file = mx_path_join(g->workdir, "keyring");
    if (mx_write_file(facts_file, rep->facts.data ? rep->facts.data : "", rep->facts.len, 0600,
                      err) < 0 ||
        fetch(g, "read the image's dpkg status", "cat /var/lib/dpkg/status", STATUS_CAP,
              status_file, err) < 0)
        return -1;
    /* the keys the image trusts for its own archive (fetch-debs.sh verifies the lists with
     * them); an image of another distribution has none, which fetch-debs.sh reports if it
     * needs any */
    mx_autofree char *id = fact(rep->facts.data, "id");
    mx_autofree char *cmd = mx_xasprintf("cat /usr/share/keyrings/%s-archive-keyring.gpg "
                                         "2>/dev/null || true",
                                         id ? id : "unknown");
    return fetch(g, "read the image's archive keyring", cmd, KEYRING_CAP, keyring_file, err);
}

/* Runs fetch-debs.sh; the .debs to install are listed in list. */
static int fetch_debs(guest *g, const char *list, mx_err *err)
{
    mx_autofree char *importdir = mx_path_join(g->hc->images_dir, "import");
    mx_autofree char *script = mx_path_join(importdir, "fetch-debs.sh");
    mx_autofree char *cache = mx_import_deb_cache(g->hc);
    mx_autofree char *facts = mx_path_join(g->workdir, "facts");
    mx_autofree char *status = mx_path_join(g->workdir, "status");
    mx_autofree char *keyring = mx_path_join(g->workdir, "keyring");
    const char *argv[] = {"bash", script,      "--cache", cache,    "--facts", facts, "--status",
                          status, "--keyring", keyring,   "--list", list,      NULL};
    int st = mx_proc_run_inherit(argv, g->stop, err);
    if (st < 0) return -1;
    if (st != 0)
        return mx_fail(err, MX_INFRA,
                       "%s failed (status %d): the packages the image lacks could not be "
                       "downloaded",
                       script, st);
    return 0;
}

static int valid_deb_name(const char *name)
{
    size_t n = strlen(name);
    return n > 4 && n < 256 && strcmp(name + n - 4, ".deb") == 0 && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+~%-") ==
               n;
}

/* Packs the listed .debs (all in one cache directory) into one tar: one upload instead of one
 * SCP session per package. */
static int pack_debs(const char *list, const char *tarfile, mx_import_report *rep, mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file(list, &b, err) < 0) return -1;
    size_t cap = 8, argc = 5;
    const char **argv = mx_xmalloc(cap * sizeof *argv);
    argv[0] = "tar", argv[1] = "-c", argv[2] = "-f", argv[3] = tarfile, argv[4] = "-C";
    mx_autofree char *dir = NULL;
    int rc = 0;
    for (char *line = b.data, *next; rc == 0 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) *next++ = '\0';
        const char *slash = strrchr(line, '/');
        mx_autofree char *d = slash ? mx_xstrndup(line, (size_t)(slash - line)) : NULL;
        const char *name = slash ? slash + 1 : line;
        if (!d || !valid_deb_name(name) || (dir && strcmp(d, dir) != 0)) {
            rc = mx_fail(err, MX_INFRA, "unexpected package file \"%s\" in %s", line, list);
            break;
        }
        if (!dir) dir = mx_steal(&d);
        if (argc + 3 > cap) argv = mx_xrealloc(argv, (cap *= 2) * sizeof *argv);
        if (argc == 5) argv[argc++] = dir;
        argv[argc++] = name;
        rep->installed = mx_xrealloc(rep->installed, (rep->ninstalled + 1) * sizeof(char *));
        rep->installed[rep->ninstalled++] = mx_xstrdup(name);
    }
    argv[argc] = NULL;
    if (rc == 0 && rep->ninstalled) rc = mx_proc_check(argv, NULL, NULL, err);
    free(argv);
    mx_buf_free(&b);
    return rc < 0 ? mx_wrap(err, "pack the packages") : 0;
}

static int install(guest *g, const char *list, mx_import_report *rep, mx_err *err)
{
    long long t0 = mx_now_ms();
    mx_autofree char *tarfile = mx_path_join(g->workdir, "debs.tar");
    if (pack_debs(list, tarfile, rep, err) < 0) return -1;
    if (rep->ninstalled == 0) return 0;
    int rc = mx_ssh_upload(&g->ssh, tarfile, GUEST_DIR "/debs.tar", 0644, err);
    unlink(tarfile);
    if (rc < 0) return mx_wrap(err, "upload the packages");
    mx_sink_note("import: "
                 "uploaded %zu packages in %.1f s; installing them in the image (no network)",
                 rep->ninstalled, (double)(mx_now_ms() - t0) / 1000.0);
    t0 = mx_now_ms();
    /* apt's account of the install stays with the image (import.log beside its manifest) */
    mx_buf out;
    mx_buf_init(&out);
    rc = run(g, "install the packages", "sudo -n sh " GUEST_DIR "/install.sh " GUEST_DIR, INSTALL_S,
             16 * MIB, &out, err);
    mx_autofree char *log = mx_path_join(g->workdir, "import.log");
    if (rc == 0) rc = mx_write_file(log, out.data ? out.data : "", out.len, 0644, err);
    mx_buf_free(&out);
    if (rc < 0) return -1;
    mx_sink_note("import: "
                 "installed in %.1f s",
                 (double)(mx_now_ms() - t0) / 1000.0);
    return 0;
}

/* Waits until the powered-off domain is gone (transient domains vanish when they stop). */
static int wait_poweroff(guest *g, mx_err *err)
{
    long long deadline = mx_now_ms() + POWEROFF_S * 1000LL;
    for (;;) {
        int active = virDomainIsActive(g->vm.dom);
        if (active == 0) break;
        if (active < 0) {
            virErrorPtr e = virGetLastError();
            if (e && e->code == VIR_ERR_NO_DOMAIN) break;
            return mx_fail(err, MX_INFRA, "VM %s: %s", g->vm.domain_name, mx_virt_error());
        }
        if (*g->stop) return mx_fail(err, MX_INFRA, "interrupted");
        if (mx_now_ms() > deadline)
            return mx_fail(err, MX_INFRA, "the image did not power off within %d s", POWEROFF_S);
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    virDomainFree(g->vm.dom); /* nothing left to destroy */
    g->vm.dom = NULL;
    return 0;
}

static int flatten(guest *g, const char *out, mx_err *err)
{
    const char *argv[] = {"qemu-img", "convert", "-q",         "-f",          "qcow2", "-O",
                          "qcow2",    "-o",      "compat=1.1", g->vm.overlay, out,     NULL};
    int st = mx_proc_run_inherit(argv, g->stop, err);
    if (st < 0) return -1;
    if (st != 0) return mx_fail(err, MX_INFRA, "qemu-img convert of the result failed (%d)", st);
    return chmod(out, 0644) < 0 ? mx_fail_errno(err, MX_INFRA, "chmod %s", out) : 0;
}

static int complete(guest *g, const char *out_qcow2, int fetch_only, mx_import_report *rep,
                    mx_err *err)
{
    if (probe(g, rep, err) < 0) return -1;
    mx_autofree char *list = mx_path_join(g->workdir, "debs.list");
    if (fetch_debs(g, list, err) < 0) return -1;
    if (fetch_only) return 0;
    if (install(g, list, rep, err) < 0) return -1;
    if (run(g, "finish", "sudo -n sh " GUEST_DIR "/finish.sh " JOB_USER, SHORT_S, FACTS_CAP, NULL,
            err) < 0)
        return -1;
    mx_ssh_close(&g->ssh);
    if (wait_poweroff(g, err) < 0) return -1;
    mx_sink_note("import: "
                 "powered off; flattening the disk into the new base");
    return flatten(g, out_qcow2, err);
}

int mx_import_guest(const mx_host_config *hc, const char *ref, const char *base,
                    const char *workdir, const char *out_qcow2, int fetch_only,
                    mx_import_report *rep, volatile sig_atomic_t *stop, mx_err *err)
{
    guest g;
    memset(&g, 0, sizeof g);
    g.hc = hc;
    g.workdir = workdir;
    g.stop = stop;
    g.ssh.sock = -1;
    g.vm.lock_fd = -1;
    mx_buf_init(&rep->facts);
    int rc = boot(&g, ref, base, &rep->boot_s, err);
    if (rc == 0) rc = complete(&g, out_qcow2, fetch_only, rep, err);
    mx_ssh_close(&g.ssh);
    mx_vm_teardown(&g.vm);
    return rc;
}
