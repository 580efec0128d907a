/* CircleCI's Linux machine resource classes, as vCPUs and memory for a VM. */
#ifndef MX_RESOURCE_CLASS_H
#define MX_RESOURCE_CLASS_H

#include "mx_err.h"

#include <stddef.h>

typedef struct mx_rclass {
    char *name;
    int vcpus;
    int memory_mib;
    int arm; /* needs an arm64 host */
} mx_rclass;

typedef struct mx_rclass_table {
    mx_rclass *v;
    size_t n;
} mx_rclass_table;

/* The built-in table (CircleCI's published Linux machine sizes). */
void mx_rclass_defaults(mx_rclass_table *t);
/* Adds or replaces a class (host config overrides). */
void mx_rclass_set(mx_rclass_table *t, const char *name, int vcpus, int memory_mib, int arm);
void mx_rclass_free(mx_rclass_table *t);

typedef struct mx_host_caps {
    int cpus;
    long memory_mib;
    const char *arch; /* "x86_64", "aarch64" */
} mx_host_caps;

void mx_host_caps_read(mx_host_caps *caps);

/* Resolves `name` for this host into *out (vcpus/memory).  A class larger than the host is an
 * error unless fit is set, in which case it is shrunk to the host and *fitted is set. */
int mx_rclass_resolve(const mx_rclass_table *t, const char *name, const mx_host_caps *host, int fit,
                      mx_rclass *out, int *fitted, mx_err *err);

/* CircleCI's docker executor sizes, for the VM that holds a docker job's containers: the
 * host's table (host.yaml resource_classes) under "docker.NAME" first, then the built-in docker
 * table, then the host's table under NAME (a class only the host defines, such as test.small).
 * Same contract as mx_rclass_resolve. */
int mx_rclass_resolve_docker(const mx_rclass_table *t, const char *name, const mx_host_caps *host,
                             int fit, mx_rclass *out, int *fitted, mx_err *err);

#endif
