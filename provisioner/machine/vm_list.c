#include "vm_list.h"
#include "virt_error.h"
#include "vm_xml.h"

#include <libvirt/virterror.h>
#include <stdlib.h>

static int vanished(void)
{
    virErrorPtr e = virGetLastError();
    return e && e->code == VIR_ERR_NO_DOMAIN;
}

/* 1 visited (or skipped as not ours / gone), -1 error. */
static int visit(virDomainPtr dom, mx_vm_visit_fn fn, void *ud, mx_err *err)
{
    mx_vm_entry e = {.dom = dom, .name = virDomainGetName(dom)};
    if (!e.name) return vanished() ? 1 : mx_fail(err, MX_INFRA, "domain name: %s", mx_virt_error());
    char *meta = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, MX_METADATA_NS, 0);
    if (!meta) {
        virErrorPtr ve = virGetLastError();
        if (ve && (ve->code == VIR_ERR_NO_DOMAIN_METADATA || ve->code == VIR_ERR_NO_DOMAIN))
            return 1;
        return mx_fail(err, MX_INFRA, "read metadata of %s: %s", e.name, mx_virt_error());
    }
    e.meta = meta;
    virDomainInfo info;
    int rc = 1;
    if (virDomainGetInfo(dom, &info) < 0) {
        if (!vanished())
            rc = mx_fail(err, MX_INFRA, "read size of %s: %s", e.name, mx_virt_error());
    } else {
        e.vcpus = info.nrVirtCpu;
        e.memory_mib = (long)((info.maxMem + 1023) / 1024); /* libvirt reports KiB */
        if (fn(&e, ud, err) < 0) rc = -1;
    }
    free(meta);
    return rc;
}

int mx_vm_list_each(virConnectPtr conn, unsigned int flags, mx_vm_visit_fn fn, void *ud,
                    mx_err *err)
{
    virDomainPtr *doms = NULL;
    int n = virConnectListAllDomains(conn, &doms, flags);
    if (n < 0) return mx_fail(err, MX_INFRA, "list domains: %s", mx_virt_error());
    int rc = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && visit(doms[i], fn, ud, err) < 0) rc = -1;
        virDomainFree(doms[i]);
    }
    free(doms);
    return rc;
}
