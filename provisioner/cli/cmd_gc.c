/* mexec gc: removes what runs that died (SIGKILL, host crash) left behind.
 *
 * A job is orphaned when the exclusive lock its owner held on JOB_DIR/lock can be taken: the
 * kernel drops flocks when a process dies, whatever its pid is reused for.  A job saved to
 * outlive its owner (JOB_DIR/vm.json: GitLab stages) is left alone for its job's timeout
 * (JOB_DIR/max-age) or PERSISTENT_MAX_AGE_S; one whose GitLab cleanup failed (JOB_DIR/
 * cleanup-failed) is removed at once.
 * Domains are ours when they carry mexec metadata; they are destroyed when their job is orphaned.
 * A job's guest network processes (JOB_DIR/net.pid, vm_net.h) end with its directory.
 * A workflow run's workspace (layers between its jobs) is orphaned in the same way: its run held
 * the lock on WORKSPACE/lock.
 */
#include "cache_store.h"
#include "mx_num.h"
#include "cli.h"
#include "snapshot.h"
#include "spare.h"
#include "gitlab.h"
#include "host_config.h"
#include "image_import.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "vm.h"
#include "vm_list.h"
#include "vm_net.h"
#include "vm_xml.h"
#include "workflow_ws.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A directory this young may be one whose owner has not taken its lock yet. */
#define GRACE_S 60
/* A VM saved to outlive its owner (GitLab's prepare -> run -> cleanup, vm.json) has no owner
 * between stages; it counts as orphaned only when older than any job could run. */
#define PERSISTENT_MAX_AGE_S (24 * 3600)

/* How long a saved VM in dir is left alone: its job's own timeout when it recorded one (GitLab
 * jobs may run for days), else PERSISTENT_MAX_AGE_S. */
static long long max_age(const char *dir)
{
    mx_autofree char *path = mx_path_join(dir, MX_GC_MAX_AGE);
    mx_buf b;
    mx_buf_init(&b);
    mx_err err;
    long long v = 0;
    if (mx_read_file(path, &b, &err) == 0 && b.data) {
        mx_buf_adds(&b, ""); /* terminated */
        const char *end;
        if (mx_parse_int_prefix(b.data, 1, LLONG_MAX, &v, &end) < 0 || (*end && *end != '\n'))
            v = 0;
    }
    mx_buf_free(&b);
    return v > 0 ? v : PERSISTENT_MAX_AGE_S;
}

/* What a failed GitLab cleanup said (caller frees), or NULL. */
static char *cleanup_failure(const char *dir)
{
    mx_autofree char *path = mx_path_join(dir, MX_CLEANUP_FAILED);
    mx_buf b;
    mx_buf_init(&b);
    mx_err err;
    if (mx_read_file(path, &b, &err) < 0) return NULL;
    mx_buf_adds(&b, "");
    return mx_buf_steal(&b);
}

/* 1 if the job in dir is orphaned (its owner is gone), 0 if alive. */
static int orphaned(const char *dir)
{
    struct stat st;
    if (stat(dir, &st) < 0) return 1; /* domain whose directory is gone */
    /* the runner has given the job up: nothing will come back for it */
    mx_autofree char *failed = cleanup_failure(dir);
    if (failed) return 1;
    mx_autofree char *lock = mx_path_join(dir, "lock");
    int held = mx_flock_held(lock);
    if (held < 0) return time(NULL) - st.st_mtime > GRACE_S;
    if (held) return 0;
    mx_autofree char *saved = mx_path_join(dir, "vm.json");
    struct stat vs;
    if (stat(saved, &vs) == 0) return time(NULL) - vs.st_mtime > max_age(dir);
    return 1;
}

static int gc_domain(const mx_vm_entry *e, void *removed, mx_err *err)
{
    (void)err;
    mx_autofree char *dir = mx_vm_metadata_field(e->meta, "dir");
    if (dir && !orphaned(dir)) return 0;
    mx_autofree char *failed = dir ? cleanup_failure(dir) : NULL;
    if (failed) printf("VM %s: its GitLab cleanup had failed: %s\n", e->name, failed);
    mx_autofree char *pid = mx_vm_metadata_field(e->meta, "owner-pid");
    if (virDomainIsActive(e->dom) == 1 && virDomainDestroy(e->dom) < 0)
        fprintf(stderr, "mexec: gc: destroy %s: %s\n", e->name, mx_virt_error());
    /* a persistent definition (never made by mexec, but possible) goes too */
    if (virDomainIsPersistent(e->dom) == 1 && virDomainUndefine(e->dom) < 0)
        fprintf(stderr, "mexec: gc: undefine %s: %s\n", e->name, mx_virt_error());
    printf("removed VM %s (owner pid %s gone)\n", e->name, pid ? pid : "?");
    (*(int *)removed)++;
    return 0;
}

static int gc_domains(const mx_host_config *hc, int *removed, mx_err *err)
{
    virConnectPtr conn = mx_virt_connect(hc->libvirt_uri, err);
    if (!conn) return -1;
    int rc = mx_vm_list_each(conn, 0, gc_domain, removed, err);
    virConnectClose(conn);
    return rc;
}

/* Removes the orphaned entries of parent: job directories, or workflow runs' workspaces. */
static int gc_dirs(const char *parent, const char *what, int *removed, mx_err *err)
{
    DIR *d = opendir(parent);
    if (!d) return errno == ENOENT ? 0 : mx_fail_errno(err, MX_INFRA, "read %s", parent);
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        mx_autofree char *dir = mx_path_join(parent, e->d_name);
        if (!orphaned(dir)) continue;
        mx_autofree char *failed = cleanup_failure(dir);
        if (failed) printf("%s: its GitLab cleanup had failed: %s\n", dir, failed);
        /* its guest network (vm_net.h): it outlives the domain, whose owner was killed */
        mx_net_stop(dir);
        if (mx_rm_rf(dir, err) < 0) {
            rc = -1;
            break;
        }
        printf("removed %s %s\n", what, dir);
        (*removed)++;
    }
    closedir(d);
    return rc;
}

static void said_removed(const char *path, void *ud)
{
    (void)ud;
    printf("removed unfinished instant-start snapshot %s\n", path);
}

int mx_cmd_gc(int argc, char **argv)
{
    (void)argv;
    if (argc != 1) {
        fputs("usage: mexec gc\n", stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_err err;
    int removed = 0;
    int rc = mx_host_config_load(&hc, &err);
    /* warm spares host.yaml no longer wants (spare.h): their holders end them */
    if (rc == 0) {
        int n = mx_spare_end_unwanted(&hc);
        if (n)
            printf("ended %d warm spare%s beyond host.yaml's warm_spares\n", n, n == 1 ? "" : "s");
        removed += n;
    }
    /* domains first: their disks live in the job directories */
    if (rc == 0) rc = gc_domains(&hc, &removed, &err);
    if (rc == 0) rc = gc_dirs(hc.state_dir, "job files", &removed, &err);
    if (rc == 0) {
        mx_autofree char *workspaces = mx_wf_ws_root(&hc);
        rc = gc_dirs(workspaces, "workspace", &removed, &err);
    }
    if (rc == 0) { /* imports that died: their work directories held a lock too */
        mx_autofree char *imports = mx_imported_work_root(&hc);
        rc = gc_dirs(imports, "unfinished image import", &removed, &err);
    }
    if (rc == 0) {
        /* the cache store: downloads and restore links of processes that are gone */
        mx_autofree char *caches = mx_host_steps_cache_dir(&hc.steps);
        int n = mx_cache_gc(caches);
        if (n)
            printf("removed %d unfinished cache transfer%s in %s\n", n, n == 1 ? "" : "s", caches);
        removed += n;
    }
    /* snapshots whose maker died (snapshot.h); finished ones stay until their key changes */
    if (rc == 0) removed += mx_snapshot_gc(hc.image_store, said_removed, NULL);
    mx_host_config_free(&hc);
    if (rc < 0) return mx_cli_report(&err);
    if (!removed) puts("nothing to remove");
    return MX_OK;
}
