/* libvirt's errors as mexec reports them, and connecting to libvirt. */
#ifndef MX_VIRT_ERROR_H
#define MX_VIRT_ERROR_H

#include "mx_err.h"

#include <libvirt/libvirt.h>

/* libvirt prints its errors on stderr by default; mexec reports them itself. */
void mx_virt_quiet(void);
/* libvirt's last error message, or "unknown libvirt error". */
const char *mx_virt_error(void);
/* virConnectOpen with an error that says what to check. */
virConnectPtr mx_virt_connect(const char *uri, mx_err *err);

#endif
