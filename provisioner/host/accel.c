#include "accel.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int mx_accel_mode_parse(const char *s, mx_accel_mode *out)
{
    static const struct {
        const char *name;
        mx_accel_mode mode;
    } names[] = {{"auto", MX_ACCEL_AUTO}, {"kvm", MX_ACCEL_KVM}, {"tcg", MX_ACCEL_TCG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].name) == 0) {
            *out = names[i].mode;
            return 0;
        }
    return -1;
}

/* 1 when a "flags" line of cpuinfo names vmx or svm as a whole word. */
static int cpu_has_hw_virt(const char *cpuinfo)
{
    FILE *f = fopen(cpuinfo, "re");
    if (!f) return 0;
    char line[8192];
    int found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, "flags", 5) != 0) continue;
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *save = NULL;
        for (char *w = strtok_r(colon + 1, " \t\n", &save); w && !found;
             w = strtok_r(NULL, " \t\n", &save))
            found = strcmp(w, "vmx") == 0 || strcmp(w, "svm") == 0;
    }
    fclose(f);
    return found;
}

static int can_open(const char *dev)
{
    int fd = open(dev, O_RDWR | O_CLOEXEC);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

mx_accel mx_accel_probe_at(mx_accel_mode mode, const char *kvm_dev, const char *cpuinfo)
{
    mx_accel a = {.domain_type = "qemu"};
    if (mode == MX_ACCEL_TCG) {
        snprintf(a.why, sizeof a.why, "TCG (host.yaml accel: tcg)");
        return a;
    }
    if (mode == MX_ACCEL_KVM) {
        a.domain_type = "kvm";
        snprintf(a.why, sizeof a.why, "KVM (host.yaml accel: kvm)");
        return a;
    }
    int dev = can_open(kvm_dev), hw = cpu_has_hw_virt(cpuinfo);
    if (dev && hw) {
        a.domain_type = "kvm";
        snprintf(a.why, sizeof a.why, "KVM (%s, CPU has hardware virtualization)", kvm_dev);
    } else if (dev) {
        snprintf(a.why, sizeof a.why,
                 "TCG: %s exists but the CPU has no vmx/svm flag (a software KVM that cannot run "
                 "stock guest kernels); host.yaml accel: kvm forces it",
                 kvm_dev);
    } else {
        snprintf(a.why, sizeof a.why, "TCG: no usable %s", kvm_dev);
    }
    return a;
}

mx_accel mx_accel_probe(mx_accel_mode mode)
{
    return mx_accel_probe_at(mode, "/dev/kvm", "/proc/cpuinfo");
}
