#include "resource_class.h"
#include "mx_buf.h"
#include "mx_cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

void mx_rclass_set(mx_rclass_table *t, const char *name, int vcpus, int memory_mib, int arm)
{
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->v[i].name, name) == 0) {
            t->v[i].vcpus = vcpus;
            t->v[i].memory_mib = memory_mib;
            t->v[i].arm = arm;
            return;
        }
    }
    t->v = mx_xrealloc(t->v, (t->n + 1) * sizeof *t->v);
    t->v[t->n++] = (mx_rclass){mx_xstrdup(name), vcpus, memory_mib, arm};
}

void mx_rclass_defaults(mx_rclass_table *t)
{
    t->v = NULL;
    t->n = 0;
    /* https://circleci.com/docs/configuration-reference/#linuxvm-execution-environment */
    mx_rclass_set(t, "medium", 2, 7680, 0);
    mx_rclass_set(t, "large", 4, 15360, 0);
    mx_rclass_set(t, "xlarge", 8, 32768, 0);
    mx_rclass_set(t, "2xlarge", 16, 65536, 0);
    mx_rclass_set(t, "2xlarge+", 32, 65536, 0);
    mx_rclass_set(t, "arm.medium", 2, 8192, 1);
    mx_rclass_set(t, "arm.large", 4, 16384, 1);
    mx_rclass_set(t, "arm.xlarge", 8, 32768, 1);
    mx_rclass_set(t, "arm.2xlarge", 16, 65536, 1);
}

void mx_rclass_free(mx_rclass_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

void mx_host_caps_read(mx_host_caps *caps)
{
    static struct utsname u;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    caps->cpus = n > 0 ? (int)n : 1;
    struct sysinfo si;
    caps->memory_mib =
        sysinfo(&si) == 0 ? (long)((si.totalram * (unsigned long long)si.mem_unit) >> 20) : 0;
    caps->arch = uname(&u) == 0 ? u.machine : "unknown";
}

int mx_rclass_resolve(const mx_rclass_table *t, const char *name, const mx_host_caps *host, int fit,
                      mx_rclass *out, int *fitted, mx_err *err)
{
    const mx_rclass *rc = NULL;
    for (size_t i = 0; i < t->n && !rc; i++)
        if (strcmp(t->v[i].name, name) == 0) rc = &t->v[i];
    if (!rc) {
        mx_buf list;
        mx_buf_init(&list);
        for (size_t i = 0; i < t->n; i++)
            mx_buf_printf(&list, "%s%s", i ? ", " : "", t->v[i].name);
        mx_fail(err, MX_USAGE, "unknown resource class \"%s\" (known: %s)", name, list.data);
        mx_buf_free(&list);
        return -1;
    }
    int host_arm = strcmp(host->arch, "aarch64") == 0 || strcmp(host->arch, "arm64") == 0;
    if (rc->arm != host_arm)
        return mx_fail(err, MX_USAGE, "resource class \"%s\" needs an %s host; this host is %s",
                       name, rc->arm ? "arm64" : "x86_64", host->arch);
    *out = *rc;
    *fitted = 0;
    int too_many_cpus = rc->vcpus > host->cpus;
    int too_much_mem = host->memory_mib > 0 && rc->memory_mib > host->memory_mib;
    if (!too_many_cpus && !too_much_mem) return 0;
    if (!fit)
        return mx_fail(err, MX_USAGE,
                       "resource class \"%s\" (%d vCPUs, %d MiB) is larger than this host "
                       "(%d CPUs, %ld MiB); pass --fit-to-host to shrink it to the host",
                       name, rc->vcpus, rc->memory_mib, host->cpus, host->memory_mib);
    if (too_many_cpus) out->vcpus = host->cpus;
    /* leave a quarter of the host's memory to the host itself */
    if (too_much_mem) out->memory_mib = (int)(host->memory_mib * 3 / 4);
    *fitted = 1;
    return 0;
}

int mx_rclass_resolve_docker(const mx_rclass_table *t, const char *name, const mx_host_caps *host,
                             int fit, mx_rclass *out, int *fitted, mx_err *err)
{
    /* https://circleci.com/docs/configuration-reference/#docker-execution-environment */
    static const struct {
        const char *name;
        int vcpus, memory_mib, arm;
    } docker[] = {
        {"small", 1, 2048, 0},       {"medium", 2, 4096, 0},        {"medium+", 3, 6144, 0},
        {"large", 4, 8192, 0},       {"xlarge", 8, 16384, 0},       {"2xlarge", 16, 32768, 0},
        {"2xlarge+", 20, 40960, 0},  {"arm.medium", 2, 8192, 1},    {"arm.large", 4, 16384, 1},
        {"arm.xlarge", 8, 32768, 1}, {"arm.2xlarge", 16, 65536, 1},
    };
    mx_rclass_table dt = {0};
    const char *stable = NULL; /* the name *out keeps: outlives this call */
    mx_autofree char *host_name = mx_xasprintf("docker.%s", name);
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, host_name) == 0) {
            mx_rclass_set(&dt, name, t->v[i].vcpus, t->v[i].memory_mib, t->v[i].arm);
            stable = t->v[i].name;
        }
    for (size_t i = 0; dt.n == 0 && i < sizeof docker / sizeof *docker; i++)
        if (strcmp(docker[i].name, name) == 0) {
            mx_rclass_set(&dt, name, docker[i].vcpus, docker[i].memory_mib, docker[i].arm);
            stable = docker[i].name;
        }
    int rc;
    if (dt.n == 0) {
        rc = mx_rclass_resolve(t, name, host, fit, out, fitted, err);
    } else {
        rc = mx_rclass_resolve(&dt, name, host, fit, out, fitted, err);
        out->name = (char *)stable; /* not into dt, which goes now */
    }
    mx_rclass_free(&dt);
    return rc;
}
