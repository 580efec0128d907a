/* The watchdog of a restored VM (vm.h: mx_vm_watch_start).
 *
 * libvirt auto-destroys a domain when the connection that created it with
 * VIR_DOMAIN_START_AUTODESTROY closes, which is how a SIGKILLed mexec leaves no cold-booted VM
 * running; virDomainRestoreFlags has no such flag.  So a restored VM gets a watchdog: a process
 * of its own session (the terminal's Ctrl-C does not reach it) that holds the read end of a
 * pipe whose write end only the owner holds.  When the owner is gone, however it ended, the
 * read sees end-of-file, and the watchdog destroys the domain if it still exists and still
 * names the owner in its metadata.  On a normal exit the owner has destroyed it already and the
 * watchdog finds nothing. */
#include "mx_cleanup.h"
#include "sink.h"
#include "vm.h"
#include "vm_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/virterror.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WATCH_FD 3

int mx_vm_watch_start(mx_vm *vm, const mx_host_config *hc, mx_err *err)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return mx_fail_errno(err, MX_INFRA, "pipe");
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", (long)getpid());
    char *const argv[] = {"mexec",         "__watch-vm", (char *)hc->libvirt_uri,
                          vm->domain_name, pid,          NULL};
    pid_t child = fork();
    if (child < 0) {
        close(p[0]);
        close(p[1]);
        return mx_fail_errno(err, MX_INFRA, "fork");
    }
    if (child == 0) {
        /* only async-signal-safe calls between fork and exec */
        setsid();
        if (dup2(p[0], WATCH_FD) < 0) _exit(127);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
        }
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    close(p[0]);
    vm->watch_fd = p[1];
    vm->watch_pid = child;
    return 0;
}

int mx_vm_watch_main(int argc, char **argv)
{
    if (argc != 4) return 2;
    const char *uri = argv[1], *name = argv[2], *owner = argv[3];
    /* the owner's signals are not ours: only the end of the pipe ends the wait */
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    char c;
    while (read(WATCH_FD, &c, 1) != 0)
        if (errno != EINTR) break;
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn) return 1;
    virDomainPtr dom = virDomainLookupByName(conn, name);
    int rc = 0;
    if (dom) {
        char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, MX_METADATA_NS, 0);
        mx_autofree char *pid = meta ? mx_vm_metadata_field(meta, "owner-pid") : NULL;
        free(meta);
        /* still the dead owner's (not handed over to another process) */
        if (pid && strcmp(pid, owner) == 0 && virDomainDestroy(dom) < 0) {
            mx_sink_note("watchdog: destroy VM %s: %s", name, mx_virt_error());
            rc = 1;
        }
        virDomainFree(dom);
    }
    virConnectClose(conn);
    return rc;
}
