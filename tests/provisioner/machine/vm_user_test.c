/* vm_user: the QEMU user from libvirt's capabilities, and what mexec opens up to it (and what
 * it does not). */
#include "test_util.h"

#include "vm_user.h"

static const char caps[] =
    "<capabilities>\n  <host>\n"
    "    <secmodel>\n      <model>none</model>\n      <doi>0</doi>\n    </secmodel>\n"
    "    <secmodel>\n      <model>dac</model>\n      <doi>0</doi>\n"
    "      <baselabel type='kvm'>+64055:+994</baselabel>\n"
    "      <baselabel type='qemu'>+999:+995</baselabel>\n"
    "    </secmodel>\n  </host>\n"
    "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='i686'>\n"
    "      <emulator>/usr/bin/qemu-system-i386</emulator>\n    </arch>\n  </guest>\n"
    "  <guest>\n    <os_type>hvm</os_type>\n    <arch name='x86_64'>\n      "
    "<wordsize>64</wordsize>\n"
    "      <emulator>/usr/bin/qemu-system-x86_64</emulator>\n    </arch>\n  </guest>\n"
    "</capabilities>\n";

static void test_parse(void **state)
{
    (void)state;
    mx_qemu_user u = {0};
    assert_int_equal(mx_qemu_user_parse(caps, "qemu", &u), 0);
    assert_int_equal(u.uid, 999);
    assert_int_equal(u.gid, 995);
    assert_int_equal(mx_qemu_user_parse(caps, "kvm", &u), 0);
    assert_int_equal(u.uid, 64055);
    assert_int_equal(u.gid, 994);
    /* root (an old qemu.conf) is a label like any other */
    assert_int_equal(
        mx_qemu_user_parse("<secmodel><model>dac</model><baselabel type='qemu'>+0:+0</baselabel>"
                           "</secmodel>",
                           "qemu", &u),
        0);
    assert_int_equal(u.uid, 0);
    /* no DAC model, no label for the type, labels that are not numbers */
    assert_int_equal(mx_qemu_user_parse(caps, "xen", &u), -1);
    assert_int_equal(mx_qemu_user_parse("<secmodel><model>none</model></secmodel>", "qemu", &u),
                     -1);
    assert_int_equal(mx_qemu_user_parse("<secmodel><model>dac</model><baselabel type='qemu'>"
                                        "qemu:kvm</baselabel></secmodel>",
                                        "qemu", &u),
                     -1);
    assert_int_equal(mx_qemu_user_parse("<secmodel><model>dac</model><baselabel type='qemu'>"
                                        "+1:+2:+3</baselabel></secmodel>",
                                        "qemu", &u),
                     -1);
    assert_int_equal(mx_qemu_user_parse("<secmodel><model>dac</model>", "qemu", &u), -1);
    assert_int_equal(mx_qemu_user_parse("", "qemu", &u), -1);
}

static void test_emulator(void **state)
{
    (void)state;
    mx_qemu_user u = {0};
    assert_int_equal(mx_qemu_emulator_parse(caps, &u), 0);
    assert_string_equal(u.emulator, "/usr/bin/qemu-system-x86_64");
    /* none for x86_64, a relative path, one that would need escaping in XML */
    assert_int_equal(mx_qemu_emulator_parse("<arch name='i686'><emulator>/q</emulator></arch>", &u),
                     -1);
    assert_int_equal(
        mx_qemu_emulator_parse("<arch name='x86_64'><emulator>qemu</emulator></arch>", &u), -1);
    assert_int_equal(
        mx_qemu_emulator_parse("<arch name='x86_64'><emulator>/a'b</emulator></arch>", &u), -1);
    assert_int_equal(
        mx_qemu_emulator_parse("<arch name='x86_64'></arch><emulator>/q</emulator>", &u), -1);
}

static void test_net_user_is_never_root(void **state)
{
    (void)state;
    mx_qemu_user q = {.uid = 999, .gid = 995}, net;
    mx_err err = {0};
    assert_int_equal(mx_qemu_net_user(&q, &net, &err), 0);
    assert_int_equal(net.uid, 999);
    q.uid = 0;
    q.gid = 0;
    if (mx_qemu_net_user(&q, &net, &err) == 0)
        assert_int_not_equal(net.uid, 0);
    else
        tu_assert_contains(err.msg, "nobody");
}

static void test_share_image(void **state)
{
    (void)state;
    char *store = tu_mkdtemp();
    char *dir = mx_path_join(store, "debian-12/abc");
    tu_mkdir(dir, 0700);
    char *base = tu_write(dir, "base.qcow2", "qcow");
    assert_int_equal(chmod(base, 0600), 0);
    assert_int_equal(chmod(store, 0700), 0);
    char *recipe = mx_path_join(store, "debian-12");
    mx_err err = {0};
    assert_int_equal(mx_qemu_user_share(store, base, &err), 0);
    /* readable, not writable; directories searchable, not listable */
    assert_int_equal(tu_mode(base), 0644);
    assert_int_equal(tu_mode(dir), 0711);
    assert_int_equal(tu_mode(recipe), 0711);
    assert_int_equal(tu_mode(store), 0711);
    /* nothing outside the store is touched */
    char *outside = mx_xasprintf("%s-x/f", store);
    assert_int_equal(mx_qemu_user_share(store, outside, &err), -1);
    tu_assert_contains(err.msg, "is not in the image store");
    char *dotdot = mx_xasprintf("%s/../etc/passwd", store);
    assert_int_equal(mx_qemu_user_share(store, dotdot, &err), -1);
    free(dotdot);
    free(outside);
    free(recipe);
    free(base);
    free(dir);
    tu_rmdir(store);
}

static void test_own_and_pass(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *f = tu_write(dir, "disk.qcow2", "x");
    mx_qemu_user u = {.uid = getuid(), .gid = getgid()};
    mx_err err = {0};
    assert_int_equal(mx_qemu_user_own(f, &u, 0600, &err), 0);
    assert_int_equal(tu_mode(f), 0600);
    assert_int_equal(chmod(dir, 0700), 0);
    assert_int_equal(mx_qemu_user_pass(dir, &err), 0);
    assert_int_equal(tu_mode(dir), 0711);
    char *missing = mx_path_join(dir, "missing");
    assert_int_equal(mx_qemu_user_own(missing, &u, 0600, &err), -1);
    free(missing);
    free(f);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_emulator),
        cmocka_unit_test(test_net_user_is_never_root),
        cmocka_unit_test(test_share_image),
        cmocka_unit_test(test_own_and_pass),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
