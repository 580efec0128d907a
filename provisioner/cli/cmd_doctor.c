/* mexec doctor: what this host needs to run jobs, checked the way `mexec run` would use it, each
 * finding with what to do about it.  Exit 0 when jobs can run (warnings allowed), 3 when not. */
#include "capacity.h"
#include "catalog.h"
#include "cli.h"
#include "host_config.h"
#include "job_run.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "vm.h"
#include "vm_net.h"
#include "vm_user.h"
#include "vm_xml.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct verdicts {
    int failed, warned;
} verdicts;

static void say(verdicts *v, const char *level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void say(verdicts *v, const char *level, const char *fmt, ...)
{
    if (strcmp(level, "FAIL") == 0) v->failed++;
    if (strcmp(level, "warn") == 0) v->warned++;
    printf("%-4s  ", level);
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* The full path of prog on PATH, or NULL. */
static char *on_path(const char *prog)
{
    const char *path = getenv("PATH");
    mx_autofree char *copy = mx_xstrdup(path && *path ? path : "/usr/bin:/bin");
    char *save = NULL;
    for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
        char *p = mx_path_join(d, prog);
        if (access(p, X_OK) == 0) return p;
        free(p);
    }
    return NULL;
}

static void check_tools(verdicts *v)
{
    /* what job setup runs, and what only some commands need */
    static const char *const needed[] = {"qemu-img", "genisoimage", "ssh-keygen", "tar", NULL};
    static const char *const wanted[][2] = {
        {"git", "checkout steps pack untracked trees whole and builds lack CIRCLE_SHA1"},
        {"ssh", "mexec ssh needs it (openssh-client)"},
        {"mmdebstrap", "mexec image build needs it"},
    };
    for (size_t i = 0; needed[i]; i++) {
        mx_autofree char *p = on_path(needed[i]);
        if (p)
            say(v, "ok", "%s: %s", needed[i], p);
        else
            say(v, "FAIL", "%s is not on PATH (scripts/setup-host.sh installs it)", needed[i]);
    }
    for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++) {
        mx_autofree char *p = on_path(wanted[i][0]);
        if (p)
            say(v, "ok", "%s: %s", wanted[i][0], p);
        else
            say(v, "warn", "%s is not on PATH: %s", wanted[i][0], wanted[i][1]);
    }
}

/* Each VM's network (vm_net.h): pasta, unprivileged user namespaces, the QEMU wrapper. */
static void check_guest_net(verdicts *v)
{
    mx_autofree char *pasta = mx_net_pasta();
    if (pasta)
        say(v, "ok", "guest network: %s", pasta);
    else
        say(v, "FAIL",
            "pasta is not installed: each VM's network needs it (scripts/setup-host.sh "
            "installs Debian's passt)");
    const char *userns = mx_net_userns_problem();
    if (userns) say(v, "FAIL", "%s: the guest network needs unprivileged user namespaces", userns);
    mx_err err;
    mx_autofree char *wrapper = mx_net_wrapper(&err);
    if (wrapper)
        say(v, "ok", "QEMU wrapper: %s", wrapper);
    else
        say(v, "FAIL", "%s", err.msg);
}

/* The user libvirt runs QEMU as (vm_user.h): never root where setup-host.sh ran. */
static void check_qemu_user(verdicts *v, const char *caps, const char *type)
{
    mx_qemu_user u;
    if (mx_qemu_user_parse(caps, type, &u) < 0)
        say(v, "FAIL",
            "libvirt reports no DAC label for %s domains: is this libvirtd "
            "privileged (qemu:///system)?",
            type);
    else if (u.uid == 0)
        say(v, "warn",
            "QEMU runs as root (qemu.conf user): scripts/setup-host.sh makes it "
            "libvirt-qemu (docs/security.md)");
    else
        say(v, "ok", "QEMU runs as uid %ld, gid %ld", (long)u.uid, (long)u.gid);
}

static void check_libvirt(verdicts *v, const mx_host_config *hc)
{
    mx_err err;
    virConnectPtr conn = mx_virt_connect(hc->libvirt_uri, &err);
    if (!conn) {
        say(v, "FAIL", "%s", err.msg);
        return;
    }
    unsigned long lib = 0, hv = 0;
    if (virConnectGetLibVersion(conn, &lib) < 0 || virConnectGetVersion(conn, &hv) < 0)
        say(v, "warn", "libvirt at %s: versions unknown: %s", hc->libvirt_uri, mx_virt_error());
    else
        say(v, "ok", "libvirt at %s: libvirt %lu.%lu.%lu, hypervisor %lu.%lu.%lu", hc->libvirt_uri,
            lib / 1000000, lib / 1000 % 1000, lib % 1000, hv / 1000000, hv / 1000 % 1000,
            hv % 1000);
    mx_accel accel = mx_accel_probe(hc->accel);
    const char *type = accel.domain_type;
    char *caps = virConnectGetCapabilities(conn);
    mx_autofree char *want = mx_xasprintf("<domain type='%s'", type);
    if (!caps)
        say(v, "FAIL", "libvirt capabilities: %s", mx_virt_error());
    else if (!strstr(caps, want))
        say(v, "FAIL", "libvirt at %s cannot run domain type %s (is qemu-system-x86 installed?)",
            hc->libvirt_uri, type);
    else if (strcmp(type, "kvm") == 0)
        say(v, "ok", "domain type kvm: %s", accel.why);
    else
        say(v, "warn", "domain type qemu: guests are emulated and boot several times slower: %s",
            accel.why);
    if (caps && strstr(caps, want)) check_qemu_user(v, caps, type);
    free(caps);
    mx_cap used;
    if (mx_capacity_usage(conn, &used, &err) < 0) {
        say(v, "FAIL", "capacity in use: %s", err.msg);
    } else {
        mx_host_caps host;
        mx_host_caps_read(&host);
        mx_cap total = mx_capacity_total(hc, &host);
        say(v, "ok", "capacity: %ld/%ld vCPUs, %ld/%ld MiB in use (host.yaml capacity:)",
            used.vcpus, total.vcpus, used.memory_mib, total.memory_mib);
    }
    virConnectClose(conn);
}

static void check_dirs(verdicts *v, const mx_host_config *hc)
{
    mx_err err;
    const char *dirs[][2] = {{hc->state_dir, "job state"}, {hc->image_store, "image store"}};
    for (size_t i = 0; i < 2; i++) {
        if (mx_mkdir_p(dirs[i][0], 0700, &err) < 0)
            say(v, "FAIL", "%s %s: %s", dirs[i][1], dirs[i][0], err.msg);
        else if (access(dirs[i][0], W_OK) < 0)
            say(v, "FAIL", "%s %s is not writable", dirs[i][1], dirs[i][0]);
        else
            say(v, "ok", "%s: %s", dirs[i][1], dirs[i][0]);
    }
}

static void check_images(verdicts *v, const mx_host_config *hc)
{
    mx_err err;
    mx_catalog cat;
    if (mx_catalog_load(hc->images_dir, &cat, &err) < 0) {
        say(v, "FAIL", "%s", err.msg);
        return;
    }
    int built = 0;
    for (size_t i = 0; i < cat.images->n; i++) {
        mx_image img;
        if (mx_catalog_resolve(&cat, hc, cat.images->keys[i]->value, &img, &err) < 0) {
            say(v, "FAIL", "%s", err.msg);
            continue;
        }
        if (img.built)
            say(v, "ok", "image %s: built (%s)", img.ref, img.dir);
        else
            say(v, "warn", "image %s: not built (mexec image build %s)", img.ref, img.ref);
        built += img.built;
        mx_image_free(&img);
    }
    if (!built) say(v, "FAIL", "no machine image is built: jobs cannot run");
    mx_catalog_free(&cat);
}

int mx_cmd_doctor(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs("usage: mexec doctor\n", stderr);
        return MX_USAGE;
    }
    verdicts v = {0, 0};
    mx_host_config hc;
    mx_err err;
    const char *path = getenv("MEXEC_HOST_CONFIG");
    if (!path || !*path) path = MX_HOST_CONFIG_DEFAULT;
    if (mx_host_config_load(&hc, &err) < 0) {
        say(&v, "FAIL", "%s", err.msg);
        mx_host_config_free(&hc);
        return MX_INFRA;
    }
    say(&v, "ok", "host settings: %s%s", path,
        access(path, R_OK) == 0 ? "" : " (absent: defaults)");
    check_libvirt(&v, &hc);
    check_dirs(&v, &hc);
    check_images(&v, &hc);
    check_tools(&v);
    check_guest_net(&v);
    mx_autofree char *agent = mx_agent_binary(&err);
    if (agent)
        say(&v, "ok", "guest agent: %s", agent);
    else
        say(&v, "FAIL", "%s", err.msg);
    mx_host_config_free(&hc);
    printf("\n%s: %d problem%s, %d warning%s\n", v.failed ? "jobs cannot run" : "jobs can run",
           v.failed, v.failed == 1 ? "" : "s", v.warned, v.warned == 1 ? "" : "s");
    return v.failed ? MX_INFRA : MX_OK;
}
