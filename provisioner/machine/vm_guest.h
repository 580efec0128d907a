/* How mexec reaches a job's guest: one helper per fact, for every path that connects to a VM
 * (mexec run, GitLab's prepare and run stages, image import). */
#ifndef MX_VM_GUEST_H
#define MX_VM_GUEST_H

#include "ssh.h"
#include "vm.h"

/* The user every guest has (the images' recipes and the cloud-init seed create it). */
#define MX_GUEST_USER "circleci"

/* SSH to the guest: its forwarded port on 127.0.0.1 as MX_GUEST_USER, the job's client key,
 * the host key generated for the job pinned.  Points into vm: valid while vm is. */
mx_ssh_target mx_vm_ssh_target(const mx_vm *vm);
/* Where mexec-agent is in the guest: a restored snapshot's (vm->agent: nothing to upload), else
 * where it is uploaded, one per job.  Caller frees. */
char *mx_vm_agent_path(const mx_vm *vm);

#endif
