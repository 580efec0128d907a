#include "vm_guest.h"
#include "mx_buf.h"

mx_ssh_target mx_vm_ssh_target(const mx_vm *vm)
{
    return (mx_ssh_target){.port = vm->ssh_port,
                           .user = MX_GUEST_USER,
                           .host_pub = vm->host_pub,
                           .client_key = vm->client_key,
                           .client_pub = vm->client_pub,
                           /* a restored guest is up at once: no 1 s between tries */
                           .retry_ms = vm->restored ? 100 : 0};
}

char *mx_vm_agent_path(const mx_vm *vm)
{
    if (vm->agent) return mx_xstrdup(vm->agent); /* a restored snapshot's, installed already */
    return mx_xasprintf("/tmp/mexec-agent-%s", vm->job_id);
}
