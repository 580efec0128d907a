/* The one walk over mexec's libvirt domains (those carrying our metadata element), shared by
 * `gc`, `ps` and capacity admission so they agree on what is ours. */
#ifndef MX_VM_LIST_H
#define MX_VM_LIST_H

#include "mx_err.h"

#include <libvirt/libvirt.h>

typedef struct mx_vm_entry {
    virDomainPtr dom;
    const char *name; /* domain name */
    const char *meta; /* our metadata element (XML): read fields with mx_vm_metadata_field */
    int vcpus;
    long memory_mib; /* the domain's maximum memory, rounded up to whole MiB */
} mx_vm_entry;

/* Returns 0 to go on, -1 (with *err set) to stop the walk. */
typedef int (*mx_vm_visit_fn)(const mx_vm_entry *e, void *ud, mx_err *err);

/* Calls fn for each domain of conn with mexec metadata.  flags are virConnectListAllDomains's
 * (0: all, VIR_CONNECT_LIST_DOMAINS_ACTIVE: running ones).  A domain that disappears while it
 * is being read is skipped: it no longer uses anything. */
int mx_vm_list_each(virConnectPtr conn, unsigned int flags, mx_vm_visit_fn fn, void *ud,
                    mx_err *err);

#endif
