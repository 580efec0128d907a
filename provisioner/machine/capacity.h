/* Host capacity admission: several jobs (a workflow's, other mexec processes', GitLab's) must
 * never start more VMs than the host holds.
 *
 * Usage is never a stored counter, which a SIGKILLed process would leak: it is recomputed from
 * libvirt each time as the sum over the running domains that carry mexec metadata (so it also
 * counts GitLab VMs between their stages, when no mexec process owns them).  A flock'ed file,
 * STATE_PARENT/capacity.lock, only serialises admission: the admitted process keeps it until
 * virDomainCreateXML has returned, so the next one sees the new domain in its sum. */
#ifndef MX_CAPACITY_H
#define MX_CAPACITY_H

#include "host_config.h"
#include "mx_err.h"
#include "resource_class.h"
#include "vm_list.h"

#include <libvirt/libvirt.h>
#include <signal.h>

/* An amount of vCPUs and memory: a VM's size, a usage or a capacity. */
typedef struct mx_cap {
    long vcpus;
    long memory_mib;
} mx_cap;

/* Memory left to the host itself by the default capacity. */
#define MX_CAPACITY_RESERVE_MIB 1024
#define MX_CAPACITY_MIN_MIB 512

/* The capacity for this host: host.yaml's capacity: values where set, else the host's online
 * CPUs and its memory minus MX_CAPACITY_RESERVE_MIB (at least MX_CAPACITY_MIN_MIB). */
mx_cap mx_capacity_total(const mx_host_config *hc, const mx_host_caps *caps);
/* 1 if need fits beside used within total, else 0. */
int mx_capacity_fits(mx_cap need, mx_cap used, mx_cap total);
/* An MX_INFRA error if a VM of class class_name (size need) exceeds total even on an idle
 * host: waiting would never end. */
int mx_capacity_check_size(const char *class_name, mx_cap need, mx_cap total, mx_err *err);
/* The one note (sink.h) when a job starts waiting (no newline); caller frees. */
char *mx_capacity_wait_message(const char *job_name, mx_cap need, mx_cap used, mx_cap total);

/* A mx_vm_list_each visitor adding the domain's size to *(mx_cap *)used. */
int mx_capacity_count(const mx_vm_entry *e, void *used, mx_err *err);
/* The sum over conn's running mexec domains. */
int mx_capacity_usage(virConnectPtr conn, mx_cap *used, mx_err *err);

typedef struct mx_cap_wait {
    volatile sig_atomic_t *stop; /* set (by a signal handler): give up waiting */
    /* Called before every pause while waiting for the lock or for room; may be NULL.  Lets a
     * test act at the moment admission is known to be waiting. */
    void (*on_wait)(void *ud);
    void *ud;
    /* Called when the VM does not fit, before waiting; may be NULL.  Frees room if it can (ends
     * warm spares, spare.h) and returns how many VMs it ended: more than 0, look again at once. */
    int (*make_room)(const void *room_ud);
    const void *room_ud;
    /* Set: fail at once ("no room") instead of waiting (a warm spare takes only idle room). */
    int no_wait;
} mx_cap_wait;

/* Waits until a VM of class class_name (size need) fits, then returns 0 holding the admission
 * lock in *lock_fd: start the domain, then mx_capacity_release.  Sends
 * mx_capacity_wait_message once as a note (sink.h) if it has to wait for room.  Fails with MX_INFRA
 * when the VM can never fit, or when *w->stop is set while waiting. */
int mx_capacity_admit(virConnectPtr conn, const mx_host_config *hc, const char *job_name,
                      const char *class_name, mx_cap need, const mx_cap_wait *w, int *lock_fd,
                      mx_err *err);
/* Releases the lock taken by mx_capacity_admit; safe on -1. */
void mx_capacity_release(int *lock_fd);

#endif
