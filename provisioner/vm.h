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
} mx_vm;

/* Creates the job directory and keys. */
int mx_vm_prepare(mx_vm *vm, const mx_host_config *hc, const char *job_name, mx_err *err);
/* Creates the overlay and seed, then starts the transient domain. */
int mx_vm_boot(mx_vm *vm, const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
               mx_err *err);
/* Destroys the domain and removes the job directory.  Safe on a partly built vm, and twice. */
void mx_vm_teardown(mx_vm *vm);
/* The last lines of the guest's serial console (to explain a boot that failed); caller frees. */
char *mx_vm_console_tail(const mx_vm *vm, int lines);

/* libvirt prints its errors on stderr by default; mexec reports them itself. */
void mx_virt_quiet(void);
/* libvirt's last error message, or "unknown libvirt error". */
const char *mx_virt_error(void);

#endif
