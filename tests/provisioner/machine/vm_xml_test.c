/* vm_xml: the domain XML libvirt gets, for KVM and TCG, escaped and valid against libvirt's
 * own schema (virt-xml-validate, from libvirt-clients, when it is installed). */
#include "test_util.h"

#include "mx_proc.h"
#include "vm_xml.h"

#include <fcntl.h>

#define NASTY "a&b<c>d'e\"f"

static mx_vm_spec spec(const char *type, const char *dir)
{
    return (mx_vm_spec){
        .name = "mexec-" NASTY,
        .domain_type = type,
        .vcpus = 4,
        .memory_mib = 15360,
        .kernel = dir, /* replaced below: the paths live in the test's directory */
        .initrd = dir,
        .cmdline = "console=ttyS0 root=/dev/vda rw quiet x=\"1\" y='2' <&>",
        .disk = dir,
        .seed = dir,
        .console = dir,
        .ssh_port = 40222,
        .emulator = dir,
        .qemu = "/usr/bin/qemu-system-x86_64",
        .net_resolv = dir,
        .net_pid = 31337,
        .qemu_uid = 64055,
        .qemu_gid = 64056,
        .job_id = "0123abcd-" NASTY,
        .job_name = "build & test <all>",
        .job_dir = dir,
        .owner_pid = 424242,
    };
}

typedef struct paths {
    char *dir, *kernel, *initrd, *disk, *seed, *console, *job_dir, *wrapper, *resolv;
} paths;

static void make_paths(paths *p)
{
    p->dir = tu_mkdtemp();
    /* every path carries the characters XML must escape */
    p->kernel = mx_path_join(p->dir, "vmlinux " NASTY);
    p->initrd = mx_path_join(p->dir, "initrd " NASTY ".img");
    p->disk = mx_path_join(p->dir, "disk " NASTY ".qcow2");
    p->seed = mx_path_join(p->dir, "seed " NASTY ".iso");
    p->console = mx_path_join(p->dir, "console " NASTY ".log");
    p->job_dir = mx_path_join(p->dir, "job " NASTY);
    p->wrapper = mx_path_join(p->dir, "bin " NASTY "/mexec-qemu");
    p->resolv = mx_path_join(p->dir, "job " NASTY "/net/resolv.conf");
}

static void free_paths(paths *p)
{
    free(p->kernel);
    free(p->initrd);
    free(p->disk);
    free(p->seed);
    free(p->console);
    free(p->job_dir);
    free(p->wrapper);
    free(p->resolv);
    tu_rmdir(p->dir);
}

static mx_vm_spec full_spec(const char *type, const paths *p)
{
    mx_vm_spec s = spec(type, p->dir);
    s.kernel = p->kernel;
    s.initrd = p->initrd;
    s.disk = p->disk;
    s.seed = p->seed;
    s.console = p->console;
    s.job_dir = p->job_dir;
    s.emulator = p->wrapper;
    s.net_resolv = p->resolv;
    return s;
}

static char *escaped(const char *s)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add_xml(&b, s);
    return mx_buf_steal(&b);
}

static void assert_has_escaped(const char *xml, const char *before, const char *raw,
                               const char *after)
{
    char *e = escaped(raw);
    char *want = mx_xasprintf("%s%s%s", before, e, after);
    tu_assert_contains(xml, want);
    free(want);
    free(e);
}

/* Runs virt-xml-validate on the XML; returns 0 if valid, -1 if the tool is missing. */
static int validate(const char *dir, const char *xml)
{
    const char *probe[] = {"sh", "-c", "command -v virt-xml-validate", NULL};
    mx_err err = {0};
    if (mx_proc_run(probe, NULL, NULL, &err) != 0) return -1;
    char *file = tu_write(dir, "domain.xml", xml);
    const char *argv[] = {"virt-xml-validate", file, "domain", NULL};
    mx_buf out;
    mx_buf_init(&out);
    int rc = mx_proc_check(argv, NULL, &out, &err);
    if (rc != 0) fail_msg("virt-xml-validate refused the domain: %s\n%s", err.msg, xml);
    mx_buf_free(&out);
    free(file);
    return 0;
}

/* The metadata field `name` in xml must read back as want. */
static void assert_field(const char *xml, const char *name, const char *want)
{
    char *got = mx_vm_metadata_field(xml, name);
    if (!got || strcmp(got, want) != 0)
        fail_msg("%s \"%s\" came back as \"%s\" from\n%s", name, want, got ? got : "(null)", xml);
    free(got);
}

static void check_domain(const char *type)
{
    paths p;
    make_paths(&p);
    mx_vm_spec s = full_spec(type, &p);
    char *xml = mx_vm_domain_xml(&s);
    char *head = mx_xasprintf("<domain type='%s' ", type);
    assert_memory_equal(xml, head, strlen(head));
    free(head);
    assert_has_escaped(xml, "<name>", s.name, "</name>");
    tu_assert_contains(xml, "<name>mexec-a&amp;b&lt;c&gt;d&apos;e&quot;f</name>");
    tu_assert_contains(xml, "<memory unit='MiB'>15360</memory>");
    tu_assert_contains(xml, "<vcpu>4</vcpu>");
    assert_has_escaped(xml, "<kernel>", p.kernel, "</kernel>");
    assert_has_escaped(xml, "<initrd>", p.initrd, "</initrd>");
    assert_has_escaped(xml, "<cmdline>", s.cmdline, "</cmdline>");
    assert_has_escaped(xml, "<source file='", p.disk, "'/>");
    assert_has_escaped(xml, "<source file='", p.seed, "'/>");
    assert_has_escaped(xml, "<source path='", p.console, "'/>");
    tu_assert_contains(xml, "<driver name='qemu' type='qcow2'");
    tu_assert_contains(xml, "<driver name='qemu' type='raw'");
    tu_assert_contains(xml, "<target dev='vda' bus='virtio'/>");
    tu_assert_contains(xml, "<target dev='vdb' bus='virtio'/>\n      <readonly/>");
    /* QEMU's user networking, started through mexec-qemu in the job's namespace: the
     * namespace's holder and the files it needs reach it in its environment */
    assert_has_escaped(xml, "<devices>\n    <emulator>", p.wrapper, "</emulator>");
    tu_assert_contains(xml, "<qemu:arg value='-netdev'/>\n"
                            "    <qemu:arg value='user,id=net0,hostfwd=tcp:127.0.0.1:40222-:22'/>");
    tu_assert_contains(xml, "<qemu:arg value='virtio-net-pci,netdev=net0,bus=pcie.0,addr=0x0a'/>");
    tu_assert_contains(xml, "<qemu:env name='MEXEC_NET_PID' value='31337'/>");
    tu_assert_contains(xml, "<qemu:env name='MEXEC_QEMU' value='/usr/bin/qemu-system-x86_64'/>");
    assert_has_escaped(xml, "<qemu:env name='MEXEC_NET_RESOLV' value='", p.resolv, "'/>");
    tu_assert_not_contains(xml, "<interface");
    /* QEMU as the QEMU user, and libvirt chowns nothing (the shared base image above all) */
    tu_assert_contains(xml, "<seclabel type='static' model='dac' relabel='no'>\n"
                            "    <label>+64055:+64056</label>\n  </seclabel>");
    tu_assert_contains(xml, "<on_reboot>destroy</on_reboot>");
    if (strcmp(type, "kvm") == 0) {
        tu_assert_contains(xml, "<cpu mode='host-passthrough'/>");
        tu_assert_not_contains(xml, "mode='maximum'");
    } else {
        tu_assert_contains(xml, "<cpu mode='maximum'/>");
        tu_assert_not_contains(xml, "host-passthrough");
    }
    /* no raw special character from the spec leaks into the document */
    tu_assert_not_contains(xml, "<c>");
    tu_assert_not_contains(xml, "d'e");
    tu_assert_not_contains(xml, "e\"f");
    tu_assert_not_contains(xml, "a&b");
    tu_assert_not_contains(xml, "<&>");

    /* the metadata inside the domain reads back as written */
    assert_field(xml, "id", s.job_id);
    assert_field(xml, "name", s.job_name);
    assert_field(xml, "dir", p.job_dir);
    assert_field(xml, "owner-pid", "424242");
    assert_field(xml, "ssh-port", "40222");
    tu_assert_contains(xml, "<mexec:job xmlns:mexec='" MX_METADATA_NS "'>");

    if (validate(p.dir, xml) < 0)
        fprintf(stderr, "virt-xml-validate not installed: schema check skipped\n");
    free(xml);
    free_paths(&p);
}

static void test_domain_qemu(void **state)
{
    (void)state;
    check_domain("qemu");
}

static void test_domain_kvm(void **state)
{
    (void)state;
    check_domain("kvm");
}

static void test_unknown_type_is_qemu(void **state)
{
    (void)state;
    paths p;
    make_paths(&p);
    mx_vm_spec s = full_spec("kvm' injected='1", &p);
    char *xml = mx_vm_domain_xml(&s);
    assert_memory_equal(xml, "<domain type='qemu' ", 20);
    free(xml);
    free_paths(&p);
}

/* A stock cloud image boots through the firmware from its own disk: no kernel, initrd or
 * cmdline in the XML, the disk first in the boot order (not the seed), and cloud-init told
 * "NoCloud" in the SMBIOS serial number. */
static void check_firmware_domain(const char *type)
{
    paths p;
    make_paths(&p);
    mx_vm_spec s = full_spec(type, &p);
    s.firmware = "bios";
    char *xml = mx_vm_domain_xml(&s);
    tu_assert_not_contains(xml, "<kernel>");
    tu_assert_not_contains(xml, "<initrd>");
    tu_assert_not_contains(xml, "<cmdline>");
    tu_assert_contains(xml, "<type arch='x86_64' machine='q35'>hvm</type>\n"
                            "    <smbios mode='sysinfo'/>\n  </os>");
    tu_assert_contains(xml, "<entry name='serial'>ds=nocloud</entry>");
    assert_has_escaped(xml, "<source file='", p.disk,
                       "'/>\n      <target dev='vda' bus='virtio'/>\n"
                       "      <boot order='1'/>\n    </disk>");
    assert_has_escaped(xml, "<source file='", p.seed,
                       "'/>\n      <target dev='vdb' bus='virtio'/>\n"
                       "      <readonly/>\n    </disk>");
    tu_assert_contains(xml, "hostfwd=tcp:127.0.0.1:40222-:22");
    assert_field(xml, "id", s.job_id);
    if (validate(p.dir, xml) < 0)
        fprintf(stderr, "virt-xml-validate not installed: schema check skipped\n");
    free(xml);
    free_paths(&p);
}

static void test_firmware_boot(void **state)
{
    (void)state;
    check_firmware_domain("qemu");
    check_firmware_domain("kvm");
}

/* Direct kernel boot has no boot order and no SMBIOS serial. */
static void test_kernel_boot_has_no_firmware_bits(void **state)
{
    (void)state;
    paths p;
    make_paths(&p);
    mx_vm_spec s = full_spec("qemu", &p);
    char *xml = mx_vm_domain_xml(&s);
    tu_assert_not_contains(xml, "<boot ");
    tu_assert_not_contains(xml, "smbios");
    tu_assert_not_contains(xml, "ds=nocloud");
    free(xml);
    free_paths(&p);
}

/* Instant starts (snapshot.h): the snapshot's domain and each restore's have the seed channel
 * and no seed disk; a restore's has its own uuid and VM generation id.  Both describe the same
 * devices, so one save image restores under the other XML. */
static void test_snapshot_domains(void **state)
{
    (void)state;
    paths p;
    make_paths(&p);
    mx_vm_spec s = full_spec("qemu", &p);
    s.seed = NULL;
    s.channel = p.console; /* any path with characters to escape */
    char *saved = mx_vm_domain_xml(&s);
    tu_assert_not_contains(saved, "vdb");
    tu_assert_not_contains(saved, "<uuid>");
    tu_assert_contains(saved, "  <genid/>\n");
    assert_has_escaped(saved, "<channel type='unix'>\n      <source mode='connect' path='",
                       p.console,
                       "'/>\n      <target type='virtio' name='org.mexec.seed'/>\n"
                       "    </channel>");
    s.uuid = "5d3c9a0e-7f6b-4c1d-9e2a-0b1c2d3e4f50";
    s.genid = "0f1e2d3c-4b5a-4968-8776-655443322110";
    char *restored = mx_vm_domain_xml(&s);
    tu_assert_contains(restored, "<uuid>5d3c9a0e-7f6b-4c1d-9e2a-0b1c2d3e4f50</uuid>");
    tu_assert_contains(restored, "<genid>0f1e2d3c-4b5a-4968-8776-655443322110</genid>");
    tu_assert_not_contains(restored, "<genid/>");
    /* mexec ps tells them apart */
    assert_field(saved, "start", "snapshot-source");
    assert_field(restored, "start", "snapshot");
    /* the same devices: past the metadata the XML is the same */
    char *a = strstr(saved, "</metadata>"), *b = strstr(restored, "</metadata>");
    assert_non_null(a);
    assert_non_null(b);
    assert_string_equal(a, b);
    if (validate(p.dir, saved) < 0 || validate(p.dir, restored) < 0)
        fprintf(stderr, "virt-xml-validate not installed: schema check skipped\n");
    /* a cold boot has neither */
    s.channel = NULL;
    s.uuid = s.genid = NULL;
    s.seed = p.seed;
    char *cold = mx_vm_domain_xml(&s);
    tu_assert_not_contains(cold, "<channel");
    tu_assert_not_contains(cold, "genid");
    assert_field(cold, "start", "boot");
    free(cold);
    free(saved);
    free(restored);
    free_paths(&p);
}

static void test_metadata_round_trip(void **state)
{
    (void)state;
    const char *odd[] = {"plain",
                         "",
                         "&amp; literally",
                         "a&b",
                         "<mexec:id>inner</mexec:id>",
                         "quote ' and \"",
                         "&lt;&gt;",
                         "tail&"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        mx_vm_spec s = spec("qemu", "/tmp");
        s.job_id = odd[i];
        s.job_name = odd[(i + 1) % (sizeof odd / sizeof *odd)];
        s.job_dir = "/var/lib/mexec/jobs/x";
        s.owner_pid = -1;
        char *xml = mx_vm_metadata_xml(&s);
        assert_field(xml, "id", odd[i]);
        assert_field(xml, "name", s.job_name);
        assert_field(xml, "owner-pid", "-1");
        assert_null(mx_vm_metadata_field(xml, "missing"));
        free(xml);
    }
    /* as virDomainGetMetadata returns it: the namespace prefix removed */
    const char *bare =
        "<job>\n  <id>0123</id><name>a &amp; b</name>\n  <owner-pid>7</owner-pid>\n</job>";
    assert_field(bare, "id", "0123");
    assert_field(bare, "name", "a & b");
    assert_field(bare, "owner-pid", "7");
    assert_null(mx_vm_metadata_field(bare, "dir"));
    assert_null(mx_vm_metadata_field("<mexec:id>unterminated", "id"));
    assert_null(mx_vm_metadata_field("", "id"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_qemu),
        cmocka_unit_test(test_domain_kvm),
        cmocka_unit_test(test_unknown_type_is_qemu),
        cmocka_unit_test(test_metadata_round_trip),
        cmocka_unit_test(test_firmware_boot),
        cmocka_unit_test(test_kernel_boot_has_no_firmware_bits),
        cmocka_unit_test(test_snapshot_domains),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
