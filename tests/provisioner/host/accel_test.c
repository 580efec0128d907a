/* accel.c: KVM only where the device opens *and* the CPU has hardware virtualization; the
 * host setting overrides both ways.  The probe reads files given as parameters, so the cases run
 * on any machine. */
#include "accel.h"
#include "test_util.h"

typedef struct fixture {
    char *dir;
    char *dev;     /* a file that opens read-write, standing in for /dev/kvm */
    char *missing; /* a path that does not exist */
    char *cpu_hw, *cpu_sw, *cpu_word;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->dev = tu_write(f->dir, "kvm", "");
    f->missing = mx_path_join(f->dir, "none");
    f->cpu_hw = tu_write(f->dir, "cpu-hw", "processor\t: 0\nflags\t\t: fpu vme svm lm\n");
    /* as seen on a nested host with a software KVM: "hypervisor", no vmx/svm */
    f->cpu_sw = tu_write(f->dir, "cpu-sw", "processor\t: 0\nflags\t\t: fpu hypervisor lahf_lm\n");
    /* the flags must match as whole words, on the flags line */
    f->cpu_word = tu_write(f->dir, "cpu-word",
                           "processor\t: 0\nflags\t\t: fpu vmxe svmx\nmodel name\t: vmx svm\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->dev);
    free(f->missing);
    free(f->cpu_hw);
    free(f->cpu_sw);
    free(f->cpu_word);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void test_auto(void **state)
{
    fixture *f = *state;
    mx_accel a = mx_accel_probe_at(MX_ACCEL_AUTO, f->dev, f->cpu_hw);
    assert_string_equal(a.domain_type, "kvm");
    a = mx_accel_probe_at(MX_ACCEL_AUTO, f->dev, f->cpu_sw);
    assert_string_equal(a.domain_type, "qemu");
    assert_non_null(strstr(a.why, "no vmx/svm"));
    a = mx_accel_probe_at(MX_ACCEL_AUTO, f->dev, f->cpu_word);
    assert_string_equal(a.domain_type, "qemu");
    a = mx_accel_probe_at(MX_ACCEL_AUTO, f->missing, f->cpu_hw);
    assert_string_equal(a.domain_type, "qemu");
    assert_non_null(strstr(a.why, "no usable"));
    a = mx_accel_probe_at(MX_ACCEL_AUTO, f->dev, f->missing);
    assert_string_equal(a.domain_type, "qemu");
}

static void test_forced(void **state)
{
    fixture *f = *state;
    assert_string_equal(mx_accel_probe_at(MX_ACCEL_KVM, f->missing, f->cpu_sw).domain_type, "kvm");
    assert_string_equal(mx_accel_probe_at(MX_ACCEL_TCG, f->dev, f->cpu_hw).domain_type, "qemu");
}

static void test_parse(void **state)
{
    (void)state;
    mx_accel_mode m = MX_ACCEL_AUTO;
    assert_int_equal(mx_accel_mode_parse("tcg", &m), 0);
    assert_int_equal(m, MX_ACCEL_TCG);
    assert_int_equal(mx_accel_mode_parse("kvm", &m), 0);
    assert_int_equal(m, MX_ACCEL_KVM);
    assert_int_equal(mx_accel_mode_parse("auto", &m), 0);
    assert_int_equal(m, MX_ACCEL_AUTO);
    assert_int_equal(mx_accel_mode_parse("KVM", &m), -1);
    assert_int_equal(mx_accel_mode_parse("", &m), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_auto, setup, teardown),
        cmocka_unit_test_setup_teardown(test_forced, setup, teardown),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
