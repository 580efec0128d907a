/* libvirt errors and connections, shared by everything that talks to libvirt (vm.c, vm_list.c,
 * the commands); on its own so that those files need not include each other. */
#include "virt_error.h"

#include <libvirt/virterror.h>
#include <stddef.h>

static void ignore_virt_error(void *ud, virErrorPtr e)
{
    (void)ud, (void)e;
}

void mx_virt_quiet(void)
{
    virSetErrorFunc(NULL, ignore_virt_error);
}

const char *mx_virt_error(void)
{
    const char *m = virGetLastErrorMessage();
    return m && *m ? m : "unknown libvirt error";
}

virConnectPtr mx_virt_connect(const char *uri, mx_err *err)
{
    virConnectPtr conn = virConnectOpen(uri);
    if (!conn)
        mx_fail(err, MX_INFRA,
                "connect to libvirt at %s: %s (is libvirtd running? scripts/setup-host.sh "
                "starts it)",
                uri, mx_virt_error());
    return conn;
}
