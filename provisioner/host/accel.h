/* Which accelerator a job's VM gets: KVM where it can run a stock guest kernel, else TCG.
 *
 * An openable /dev/kvm is not enough.  Some nested cloud hosts expose a software KVM (e.g.
 * "kvm-pvm", which runs only guests whose kernel was built for it) on a CPU without hardware
 * virtualization: there QEMU either aborts on the first MSR write with a host-passthrough CPU or
 * hangs before the guest kernel prints anything.  Hardware KVM always comes with the CPU's
 * `vmx` (Intel) or `svm` (AMD) flag, so `auto` asks for both.  host.yaml `accel:` overrides. */
#ifndef MX_ACCEL_H
#define MX_ACCEL_H

typedef enum mx_accel_mode { MX_ACCEL_AUTO = 0, MX_ACCEL_KVM, MX_ACCEL_TCG } mx_accel_mode;

typedef struct mx_accel {
    const char *domain_type; /* libvirt domain type: "kvm" or "qemu" (TCG) */
    char why[160];           /* one line for `mexec doctor` and the boot message */
} mx_accel;

/* Parses host.yaml's accel: value ("auto", "kvm", "tcg"); -1 for anything else. */
int mx_accel_mode_parse(const char *s, mx_accel_mode *out);

/* Decides from the device and CPU flags (paths are parameters so tests can point elsewhere). */
mx_accel mx_accel_probe_at(mx_accel_mode mode, const char *kvm_dev, const char *cpuinfo);
/* mx_accel_probe_at(mode, "/dev/kvm", "/proc/cpuinfo") */
mx_accel mx_accel_probe(mx_accel_mode mode);

#endif
