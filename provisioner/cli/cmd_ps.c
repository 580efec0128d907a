/* mexec ps: the running mexec VMs on this host (whichever process or GitLab stage started them)
 * and how much of the host's capacity they use, as admission counts it. */
#include "capacity.h"
#include "cli.h"
#include "gitlab.h"
#include "mx_fs.h"
#include "host_config.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "vm.h"
#include "snapshot.h"
#include "vm_list.h"
#include "vm_xml.h"

#include <stdio.h>
#include <string.h>

typedef struct ps_state {
    mx_cap used;
    int rows;
    mx_cap spares; /* what warm spares hold (spare.h) */
    int nspares;
} ps_state;

static const char *or_dash(const char *s)
{
    return s && *s ? s : "-";
}

static int print_row(const mx_vm_entry *e, void *ud, mx_err *err)
{
    ps_state *st = ud;
    mx_autofree char *id = mx_vm_metadata_field(e->meta, "id");
    mx_autofree char *name = mx_vm_metadata_field(e->meta, "name");
    mx_autofree char *pid = mx_vm_metadata_field(e->meta, "owner-pid");
    /* domains started before mexec recorded the port have none */
    mx_autofree char *port = mx_vm_metadata_field(e->meta, "ssh-port");
    mx_autofree char *ssh = port ? mx_xasprintf("127.0.0.1:%s", port) : NULL;
    mx_autofree char *start = mx_vm_metadata_field(e->meta, "start");
    if (st->rows++ == 0)
        printf("%-16s %5s %8s %8s %-15s %-15s %s\n", "JOB ID", "VCPUS", "MIB", "OWNER", "SSH",
               "START", "JOB");
    printf("%-16s %5d %8ld %8s %-15s %-15s %s\n", or_dash(id), e->vcpus, e->memory_mib,
           or_dash(pid), or_dash(ssh), or_dash(start), or_dash(name));
    /* a GitLab job whose cleanup failed: the runner only logged it; say it where people look */
    mx_autofree char *dir = mx_vm_metadata_field(e->meta, "dir");
    mx_autofree char *mark = dir ? mx_path_join(dir, MX_CLEANUP_FAILED) : NULL;
    mx_buf why;
    mx_buf_init(&why);
    mx_err ignored;
    if (mark && mx_read_file(mark, &why, &ignored) == 0)
        printf("  ^ its GitLab cleanup failed: %s(`mexec gc` removes it)\n",
               why.data ? why.data : "");
    mx_buf_free(&why);
    if (start && strcmp(start, "spare") == 0) {
        st->nspares++;
        (void)mx_capacity_count(e, &st->spares, err);
    }
    return mx_capacity_count(e, &st->used, err);
}

int mx_cmd_ps(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs("usage: mexec ps\n", stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_err err;
    ps_state st = {{0, 0}, 0, {0, 0}, 0};
    virConnectPtr conn = NULL;
    int rc = mx_host_config_load(&hc, &err);
    if (rc == 0 && !(conn = mx_virt_connect(hc.libvirt_uri, &err))) rc = -1;
    if (rc == 0) rc = mx_vm_list_each(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE, print_row, &st, &err);
    if (rc == 0) {
        mx_host_caps caps;
        mx_host_caps_read(&caps);
        mx_cap total = mx_capacity_total(&hc, &caps);
        if (!st.rows) puts("no mexec VMs running");
        printf("capacity: %ld/%ld vCPUs, %ld/%ld MiB in use\n", st.used.vcpus, total.vcpus,
               st.used.memory_mib, total.memory_mib);
        /* what instant starts cost while nothing runs: warm spares' capacity, snapshots' disk */
        printf("warm spares: %d, holding %ld vCPUs/%ld MiB (paused: no CPU; host.yaml "
               "warm_spares)\n",
               st.nspares, st.spares.vcpus, st.spares.memory_mib);
        int n = 0;
        long long bytes = mx_snapshot_store_usage(hc.image_store, &n);
        printf("instant-start snapshots: %d, %.0f MiB on disk (per image: mexec image list)\n", n,
               (double)bytes / 1048576.0);
    }
    if (conn) virConnectClose(conn);
    mx_host_config_free(&hc);
    return rc < 0 ? mx_cli_report(&err) : MX_OK;
}
