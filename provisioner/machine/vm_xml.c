#include "vm_xml.h"
#include "mx_buf.h"
#include "mx_cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void elem(mx_buf *b, const char *indent, const char *tag, const char *text)
{
    mx_buf_printf(b, "%s<%s>", indent, tag);
    mx_buf_add_xml(b, text);
    mx_buf_printf(b, "</%s>\n", tag);
}

/* Our metadata element: prefixed, with its namespace (in a domain's XML), or bare (p = "":
 * virDomainSetMetadata puts it in the namespace itself and refuses one already there). */
static void add_metadata(mx_buf *b, const mx_vm_spec *s, const char *indent, const char *p)
{
    char pid[32], port[16];
    snprintf(pid, sizeof pid, "%ld", s->owner_pid);
    snprintf(port, sizeof port, "%d", s->ssh_port);
    if (*p)
        mx_buf_printf(b, "%s<%s:job xmlns:%s='%s'>\n", indent, p, p, MX_METADATA_NS);
    else
        mx_buf_printf(b, "%s<job>\n", indent);
    const char *sep = *p ? ":" : "";
    mx_buf i2;
    mx_buf_init(&i2);
    mx_buf_printf(&i2, "%s  ", indent);
    const char *start =
        s->start ? s->start
                 : (s->uuid && s->channel ? "snapshot" : (s->channel ? "snapshot-source" : "boot"));
    const char *fields[][2] = {
        {"id", s->job_id},
        {"name", s->job_name},
        {"dir", s->job_dir},
        {"owner-pid", pid},
        /* for `mexec ps`, and whoever wants to reach the guest without the job's files */
        {"ssh-port", port},
        /* how it started: booted, restored from a snapshot (or a warm spare of one), or the VM
         * a snapshot is made of */
        {"start", start},
    };
    for (size_t i = 0; i < sizeof fields / sizeof *fields; i++) {
        mx_autofree char *tag = mx_xasprintf("%s%s%s", p, sep, fields[i][0]);
        elem(b, i2.data, tag, fields[i][1]);
    }
    mx_buf_free(&i2);
    mx_buf_printf(b, "%s</%s%sjob>\n", indent, p, sep);
}

// cppcheck-suppress unusedFunction ; capacity_test gives its domains the metadata mexec writes
char *mx_vm_metadata_xml(const mx_vm_spec *s)
{
    mx_buf b;
    mx_buf_init(&b);
    add_metadata(&b, s, "", MX_METADATA_PREFIX);
    return mx_buf_steal(&b);
}

char *mx_vm_metadata_bare_xml(const mx_vm_spec *s)
{
    mx_buf b;
    mx_buf_init(&b);
    add_metadata(&b, s, "", "");
    return mx_buf_steal(&b);
}

static void disk(mx_buf *b, const char *type, const char *file, const char *dev, int readonly,
                 int boot)
{
    /* cache=unsafe: the overlay dies with the job, so flushes buy nothing and cost boot time */
    mx_buf_printf(b,
                  "    <disk type='file' device='disk'>\n"
                  "      <driver name='qemu' type='%s' cache='unsafe'/>\n"
                  "      <source file='",
                  type);
    mx_buf_add_xml(b, file);
    mx_buf_printf(b, "'/>\n      <target dev='%s' bus='virtio'/>\n%s%s    </disk>\n", dev,
                  readonly ? "      <readonly/>\n" : "", boot ? "      <boot order='1'/>\n" : "");
}

char *mx_vm_domain_xml(const mx_vm_spec *s)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_printf(&b,
                  "<domain type='%s' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n",
                  strcmp(s->domain_type, "kvm") == 0 ? "kvm" : "qemu");
    elem(&b, "  ", "name", s->name);
    if (s->uuid) elem(&b, "  ", "uuid", s->uuid);
    if (s->genid)
        elem(&b, "  ", "genid", s->genid);
    else if (s->channel)
        mx_buf_adds(&b, "  <genid/>\n"); /* the snapshot has one, so each restore can change it */
    mx_buf_adds(&b, "  <metadata>\n");
    add_metadata(&b, s, "    ", MX_METADATA_PREFIX);
    mx_buf_adds(&b, "  </metadata>\n");
    mx_buf_printf(&b, "  <memory unit='MiB'>%d</memory>\n  <vcpu>%d</vcpu>\n", s->memory_mib,
                  s->vcpus);
    mx_buf_adds(&b, "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n");
    if (s->firmware) {
        /* the disk's own bootloader (boot order on the disk, below); cloud-init finds "use
         * NoCloud" in the system serial number, so it probes no other datasource */
        mx_buf_adds(&b, "    <smbios mode='sysinfo'/>\n");
    } else {
        elem(&b, "    ", "kernel", s->kernel);
        elem(&b, "    ", "initrd", s->initrd);
        elem(&b, "    ", "cmdline", s->cmdline);
    }
    mx_buf_adds(&b, "  </os>\n");
    if (s->firmware)
        mx_buf_adds(&b, "  <sysinfo type='smbios'>\n    <system>\n"
                        "      <entry name='serial'>ds=nocloud</entry>\n"
                        "    </system>\n  </sysinfo>\n");
    mx_buf_adds(&b, "  <features><acpi/></features>\n");
    /* kvm: the host CPU as is; TCG: every feature QEMU can emulate */
    mx_buf_adds(&b, strcmp(s->domain_type, "kvm") == 0 ? "  <cpu mode='host-passthrough'/>\n"
                                                       : "  <cpu mode='maximum'/>\n");
    mx_buf_adds(&b, "  <clock offset='utc'/>\n"
                    "  <on_poweroff>destroy</on_poweroff>\n"
                    "  <on_reboot>destroy</on_reboot>\n"
                    "  <on_crash>destroy</on_crash>\n"
                    "  <devices>\n");
    elem(&b, "    ", "emulator", s->emulator);
    disk(&b, "qcow2", s->disk, "vda", 0, s->firmware != NULL);
    if (s->seed) disk(&b, "raw", s->seed, "vdb", 1, 0);
    mx_buf_adds(&b, "    <serial type='file'>\n      <source path='");
    mx_buf_add_xml(&b, s->console);
    mx_buf_adds(&b, "'/>\n      <target port='0'/>\n    </serial>\n");
    if (s->channel) {
        /* QEMU connects to mexec's socket: the host listens before the domain starts, so a
         * restored QEMU finds it at once */
        mx_buf_adds(&b, "    <channel type='unix'>\n      <source mode='connect' path='");
        mx_buf_add_xml(&b, s->channel);
        mx_buf_adds(&b, "'/>\n      <target type='virtio' name='org.mexec.seed'/>\n"
                        "    </channel>\n");
    }
    mx_buf_adds(&b,
                /* without entropy the guest's sshd waits ~1 s at start */
                "    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>\n"
                "    <memballoon model='none'/>\n"
                "  </devices>\n");
    /* QEMU runs as the QEMU user, and libvirt relabels nothing: mexec hands the job's files
     * to that user itself (vm_user.h says why) */
    mx_buf_printf(&b,
                  "  <seclabel type='static' model='dac' relabel='no'>\n"
                  "    <label>+%ld:+%ld</label>\n"
                  "  </seclabel>\n",
                  s->qemu_uid, s->qemu_gid);
    /* QEMU's user networking, run in the job's own namespace (vm_net.h): its 10.0.2.2 is that
     * namespace's loopback, and SSH is forwarded from there (pasta brings it to the host's
     * loopback).  Through <qemu:commandline>: Debian's libvirt 9.0 offers user networking
     * only via passt, which it has compiled out; and on q35 the NIC needs an explicit
     * bus/slot. */
    char pid[32];
    snprintf(pid, sizeof pid, "%ld", s->net_pid);
    mx_buf_printf(&b,
                  "  <qemu:commandline>\n"
                  "    <qemu:arg value='-netdev'/>\n"
                  "    <qemu:arg value='user,id=net0,hostfwd=tcp:127.0.0.1:%d-:22'/>\n"
                  "    <qemu:arg value='-device'/>\n"
                  "    <qemu:arg value='virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x0a'/>\n",
                  s->ssh_port);
    const char *env[][2] = {
        {"MEXEC_QEMU", s->qemu}, {"MEXEC_NET_PID", pid}, {"MEXEC_NET_RESOLV", s->net_resolv}};
    for (size_t i = 0; i < 3; i++) {
        mx_buf_printf(&b, "    <qemu:env name='%s' value='", env[i][0]);
        mx_buf_add_xml(&b, env[i][1]);
        mx_buf_adds(&b, "'/>\n");
    }
    mx_buf_adds(&b, "  </qemu:commandline>\n"
                    "</domain>\n");
    return mx_buf_steal(&b);
}

char *mx_vm_metadata_field(const char *xml, const char *field)
{
    /* virDomainGetMetadata hands the element back without its namespace prefix (<job><id>..);
     * the domain XML we write has it (<mexec:job><mexec:id>..) */
    const char *prefix = strstr(xml, "<" MX_METADATA_PREFIX ":") ? MX_METADATA_PREFIX ":" : "";
    char open_tag[128], close_tag[128];
    snprintf(open_tag, sizeof open_tag, "<%s%s>", prefix, field);
    snprintf(close_tag, sizeof close_tag, "</%s%s>", prefix, field);
    const char *a = strstr(xml, open_tag);
    if (!a) return NULL;
    a += strlen(open_tag);
    const char *z = strstr(a, close_tag);
    if (!z) return NULL;
    /* values we write are plain (ids, paths, pids): undo only the entities we escape */
    mx_buf out;
    mx_buf_init(&out);
    static const char *const ent[][2] = {
        {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&apos;", "'"}, {"&quot;", "\""}};
    while (a < z) {
        int done = 0;
        for (size_t i = 0; i < 5 && !done; i++) {
            size_t l = strlen(ent[i][0]);
            if ((size_t)(z - a) >= l && strncmp(a, ent[i][0], l) == 0) {
                mx_buf_adds(&out, ent[i][1]);
                a += l;
                done = 1;
            }
        }
        if (!done) mx_buf_add(&out, a++, 1);
    }
    return mx_buf_steal(&out);
}
