/* mexec: runs CircleCI machine-executor jobs in libvirt VMs. */
#include "cli.h"
#include "mx_err.h"
#include "mx_mask.h"
#include "signals.h"
#include "vm.h"

#include <curl/curl.h>
#include <libssh2.h>
#include <libvirt/libvirt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#ifndef MX_VERSION
#define MX_VERSION "dev"
#endif

static const char usage[] =
    "usage: mexec COMMAND [ARGS]\n"
    "\n"
    "  run [-c CONFIG] (--job NAME | --workflow NAME) [-e KEY=VALUE]... [--context NAME]...\n"
    "      [--param KEY=VALUE]... [--branch B | --tag T] [--fit-to-host] [--keep-on-failure]\n"
    "      [--cold]            (--cold: boot from scratch, not from the image's snapshot)\n"
    "                          run a job, or a workflow's jobs, each in a fresh VM\n"
    "  image build NAME:TAG    build a machine image from its recipe\n"
    "  image list              list the catalog and what is built\n"
    "  image path NAME:TAG     print the directory of a built image\n"
    "  image prepare NAME:TAG [CLASS]  make the instant-start snapshot (else the first run does)\n"
    "  image import NAME:TAG FILE [--sha256 HEX]  import a stock cloud image (qcow2/raw disk)\n"
    "  image rm NAME:TAG       remove an imported image\n"
    "  config validate|process [-c CONFIG] [--param K=V]  check or expand a config, offline\n"
    "  gitlab config|prepare|run|cleanup  GitLab Runner custom-executor driver (docs/gitlab.md)\n"
    "  ps                      list running mexec VMs and the host capacity they use\n"
    "  ssh JOB [-- COMMAND...] a shell (or COMMAND) in a running job's VM (JOB: id or name)\n"
    "  gc                      remove VMs and files of mexec runs that died\n"
    "  doctor                  check that this host can run jobs, and say what to fix\n"
    "  version                 print the version\n"
    "\n"
    "Exit status: 0 job passed, 1 job failed, 2 usage or config error, 3 infrastructure\n"
    "failure, 128+N interrupted by signal N (see docs/exit-codes.md).\n";

int main(int argc, char **argv)
{
    /* job directories hold keys and disks: nothing we create is for other users */
    umask(077);
    mx_err perr;
    if (mx_secrets_protect_process(&perr) < 0) {
        fprintf(stderr, "mexec: %s\n", perr.msg);
        return MX_INFRA;
    }
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? MX_USAGE : MX_OK;
    }
    if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("mexec %s\n", MX_VERSION);
        return MX_OK;
    }
    mx_cli_sink_install();
    mx_signals_install();
    mx_virt_quiet();
    if (libssh2_init(0) != 0) {
        fputs("mexec: libssh2_init failed\n", stderr);
        return MX_INFRA;
    }
    if (virInitialize() < 0) {
        fprintf(stderr, "mexec: libvirt initialization failed: %s\n", mx_virt_error());
        libssh2_exit();
        return MX_INFRA;
    }
    int rc;
    if (strcmp(argv[1], "__watch-vm") == 0) return mx_vm_watch_main(argc - 1, argv + 1);
    if (strcmp(argv[1], "__spare") == 0) return mx_cmd_spare(argc - 1, argv + 1);
    if (strcmp(argv[1], "run") == 0)
        rc = mx_cmd_run(argc - 1, argv + 1);
    else if (strcmp(argv[1], "image") == 0)
        rc = mx_cmd_image(argc - 1, argv + 1);
    else if (strcmp(argv[1], "config") == 0)
        rc = mx_cmd_config(argc - 1, argv + 1);
    else if (strcmp(argv[1], "gitlab") == 0)
        rc = mx_cmd_gitlab(argc - 1, argv + 1);
    else if (strcmp(argv[1], "gc") == 0)
        rc = mx_cmd_gc(argc - 1, argv + 1);
    else if (strcmp(argv[1], "ps") == 0)
        rc = mx_cmd_ps(argc - 1, argv + 1);
    else if (strcmp(argv[1], "ssh") == 0)
        rc = mx_cmd_ssh(argc - 1, argv + 1);
    else if (strcmp(argv[1], "doctor") == 0)
        rc = mx_cmd_doctor(argc - 1, argv + 1);
    else {
        fprintf(stderr, "mexec: unknown command \"%s\"\n\n%s", argv[1], usage);
        rc = MX_USAGE;
    }
    libssh2_exit();
    return rc;
}
