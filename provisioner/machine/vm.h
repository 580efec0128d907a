/* One job's VM, from job directory to destroyed domain.
 *
 * Everything a job creates on the host lives in its job directory (STATE_DIR/JOB_ID, mode 0700):
 * overlay disk, seed image, keys, console log.  The owner holds an exclusive flock on
 * JOB_DIR/lock for its whole life; `mexec gc` treats a directory whose lock it can take as
 * orphaned (its owner died, e.g. SIGKILL), which — unlike a pid check — survives pid reuse. */
#ifndef MX_VM_H
#define MX_VM_H

#include "catalog.h"
#include "host_config.h"
#include "mx_err.h"
#include "resource_class.h"
#include "virt_error.h" /* mx_virt_error, mx_virt_connect: used with every mx_vm */

#include <libvirt/libvirt.h>

typedef struct mx_vm {
    char *job_id;
    char *job_name;
    char *dir;
    int lock_fd;
    char *overlay, *seed, *console;
    char *client_key, *client_pub, *host_pub;
    char *domain_name;
    int ssh_port;
    virConnectPtr conn;
    virDomainPtr dom;
    /* Set before mx_vm_boot: start the domain without auto-destroy, so it outlives this process
     * (the GitLab driver boots in `prepare` and uses the VM from later processes). */
    int outlive_owner;
    /* instant starts (snapshot.h): JOB_DIR/seed.sock, the host's end of the seed channel */
    char *channel;
    /* the agent's path in the guest when the guest has it already (a restored snapshot's), else
     * NULL: the job uploads it */
    char *agent;
    int restored; /* started from a snapshot: no auto-destroy (see mx_vm_restore) */
    /* a restored VM's watchdog (vm_watch.c): its pid (0: none) and the pipe's write end */
    pid_t watch_pid;
    int watch_fd;
    /* Set before starting: frees room when the host is full (spare.h: ends warm spares); see
     * mx_cap_wait.make_room.  NULL: only wait. */
    int (*make_room)(const void *room_ud);
    const void *room_ud;
} mx_vm;

/* How mx_vm_start_domain starts a domain (cold boot, snapshot source, restore). */
typedef struct mx_vm_start {
    const char *disk;         /* NULL: vm->overlay */
    int seed;                 /* attach vm->seed (the NoCloud ISO) */
    int channel;              /* add the seed channel; *chan_fd gets the listening socket */
    const char *restore_from; /* a save image (a snapshot's): restore it instead of booting */
    const char *share;        /* another image-store file QEMU must read (a snapshot's disk) */
    int *chan_fd;
    /* a warm spare (spare.h): labelled "spare", never waits for capacity */
    int spare;
} mx_vm_start;
/* Admits against capacity, starts the guest network and the domain as o says. */
int mx_vm_start_domain(mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                       const mx_rclass *rc, const mx_vm_start *o, mx_err *err);

/* Creates the job directory and keys. */
int mx_vm_prepare(mx_vm *vm, const mx_host_config *hc, const char *job_name, mx_err *err);
/* Like mx_vm_prepare with a chosen id (the job directory's name and the domain's name after
 * MX_DOMAIN_PREFIX) instead of a random one; id is [A-Za-z0-9_.-]+. */
int mx_vm_prepare_id(mx_vm *vm, const mx_host_config *hc, const char *job_name, const char *id,
                     mx_err *err);
/* Creates the overlay and seed, then starts the transient domain. */
int mx_vm_boot(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
               mx_err *err);
struct mx_snapshot;
/* Instead of mx_vm_boot: restores the snapshot (snapshot.h) as this job's VM on a fresh overlay
 * and hands the guest its identity over the seed channel; returns once the guest has applied
 * it (its sshd starts then).  The domain has no auto-destroy. */
int mx_vm_restore(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                  const struct mx_snapshot *snap, mx_err *err);
/* A warm spare (spare.h): mx_vm_restore, with the spare's own keys, that never waits for
 * capacity and keeps the seed channel open in *chan_fd (the guest waits there for a refresh),
 * for mx_vm_start_claimed in the process that claims it. */
int mx_vm_restore_spare(mx_vm *vm, const mx_host_config *hc, const mx_image *img,
                        const mx_rclass *rc, const struct mx_snapshot *snap, int *chan_fd,
                        mx_err *err);
/* Resumes a claimed spare (mx_vm_adopt; its holder paused it) and refreshes its clock and
 * random state over chan_fd; closes chan_fd. */
int mx_vm_start_claimed(mx_vm *vm, const mx_host_config *hc, int chan_fd, mx_err *err);
/* Makes vm (prepared, not started) the VM of spare, a warm spare this process claimed:
 * vm's own directory is removed and vm takes spare's directory (its lock, keys, disk),
 * domain, SSH port and watchdog; vm keeps its job id and name.  spare is emptied. */
void mx_vm_adopt(mx_vm *vm, mx_vm *spare);
/* Fills *vm with what names a spare's VM in dir: paths, domain name (MX_DOMAIN_PREFIX and
 * the directory's name), port; no lock, no connection. */
int mx_vm_spare_fields(mx_vm *vm, const char *dir, int port, mx_err *err);
/* Starts the watchdog that destroys a restored VM when this process is gone (vm_watch.c). */
int mx_vm_watch_start(mx_vm *vm, const mx_host_config *hc, mx_err *err);
/* `mexec __watch-vm URI DOMAIN OWNER_PID`, the watchdog itself (fd 3: the pipe). */
int mx_vm_watch_main(int argc, char **argv);
/* Undoes a failed mx_vm_restore (domain, network, overlay) so that mx_vm_boot can follow. */
void mx_vm_unrestore(mx_vm *vm);
/* Destroys the domain and removes the job directory.  Safe on a partly built vm, and twice. */
void mx_vm_teardown(mx_vm *vm);
/* Records what a later process needs to reattach (id, name, domain, SSH port) in DIR/vm.json,
 * mode 0600.  Paths are not recorded: they follow from the directory. */
int mx_vm_save(const mx_vm *vm, mx_err *err);
/* Fills *vm from dir/vm.json and takes the job lock (waiting while another process holds it).
 * Does not connect to libvirt. */
int mx_vm_load(mx_vm *vm, const char *dir, mx_err *err);
/* Releases memory, connection and lock but leaves the domain and files (another process goes
 * on with them). */
void mx_vm_detach(mx_vm *vm);
/* Destroys the domain named name if it exists.  Returns 1 destroyed, 0 none, -1 error. */
int mx_vm_destroy_by_name(const mx_host_config *hc, const char *name, mx_err *err);

/* The last lines of the guest's serial console (to explain a boot that failed); caller frees. */
char *mx_vm_console_tail(const mx_vm *vm, int lines);

#endif
