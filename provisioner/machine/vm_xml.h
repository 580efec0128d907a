/* libvirt domain XML for one job's VM, built with escaping (never by pasting strings). */
#ifndef MX_VM_XML_H
#define MX_VM_XML_H

#define MX_METADATA_NS "https://mexec.dev/xmlns/job/1"
#define MX_METADATA_PREFIX "mexec"
#define MX_DOMAIN_PREFIX "mexec-"

typedef struct mx_vm_spec {
    const char *name;        /* domain name */
    const char *domain_type; /* "kvm" or "qemu" */
    int vcpus;
    int memory_mib;
    const char *kernel, *initrd, *cmdline;
    /* NULL: direct kernel boot of kernel/initrd/cmdline.  "bios": boot the disk through the
     * firmware (SeaBIOS) as a stock cloud image expects, with its own bootloader and kernel; the
     * SMBIOS serial "ds=nocloud" points cloud-init at the NoCloud seed. */
    const char *firmware;
    const char *disk; /* per-job overlay (qcow2) */
    const char *seed; /* NoCloud seed image (raw ISO9660), or NULL: none (snapshots) */
    /* instant starts (snapshot.h): the host's unix socket QEMU connects the guest's
     * org.mexec.seed virtio-serial port to, or NULL: no such port (cold boots) */
    const char *channel;
    /* NULL: libvirt picks.  A restored snapshot gets a fresh uuid (libvirt refuses a second
     * domain with the same one) and a fresh VM generation id (vmgenid: Linux >= 5.18 reseeds
     * its RNG when it changes) */
    const char *uuid, *genid;
    const char *console; /* serial console log file */
    int ssh_port;        /* host 127.0.0.1 port forwarded to the guest's 22 (vm_net.h) */
    /* the guest network (vm_net.h): libvirt starts QEMU (qemu) through the wrapper
     * (emulator), which enters the namespace net_pid holds and shows QEMU net_resolv as its
     * resolv.conf */
    const char *emulator, *qemu, *net_resolv;
    long net_pid;
    /* the DAC label QEMU runs under (vm_user.h); with relabel='no', libvirt chowns nothing */
    long qemu_uid, qemu_gid;
    /* metadata, so `mexec gc` and `mexec ps` can tell our domains and their owners (the
     * ssh_port above is recorded too) */
    const char *job_id, *job_name, *job_dir;
    long owner_pid;
    /* how it started, for the metadata; NULL: from the fields above (boot, snapshot,
     * snapshot-source); warm spares (spare.h) say "spare", and "warm" once a job claimed one */
    const char *start;
} mx_vm_spec;

/* Returns the XML (caller frees). */
char *mx_vm_domain_xml(const mx_vm_spec *s);
/* The metadata element alone (virDomainSetMetadata / parsing tests). */
char *mx_vm_metadata_xml(const mx_vm_spec *s);
/* The same without prefix or namespace, as virDomainSetMetadata takes it (it adds both). */
char *mx_vm_metadata_bare_xml(const mx_vm_spec *s);
/* Reads a field of our metadata element ("<mexec:owner-pid>123</...>" in our domain XML,
 * "<owner-pid>123</...>" as virDomainGetMetadata returns it); caller frees. */
char *mx_vm_metadata_field(const char *xml, const char *field);
#endif
