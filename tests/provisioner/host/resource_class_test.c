/* resource_class: CircleCI's table, and fitting a class to the host it runs on. */
#include "test_util.h"

#include "resource_class.h"

static const mx_host_caps big_x86 = {.cpus = 64, .memory_mib = 262144, .arch = "x86_64"};

static void resolve_ok(const mx_rclass_table *t, const char *name, const mx_host_caps *host,
                       int fit, int vcpus, int mem, int want_fitted)
{
    mx_rclass out;
    int fitted = -1;
    mx_err err = {0};
    if (mx_rclass_resolve(t, name, host, fit, &out, &fitted, &err) < 0)
        fail_msg("resolve %s: %s", name, err.msg);
    if (out.vcpus != vcpus || out.memory_mib != mem || fitted != want_fitted)
        fail_msg("%s: %d vCPUs %d MiB fitted=%d, want %d %d fitted=%d", name, out.vcpus,
                 out.memory_mib, fitted, vcpus, mem, want_fitted);
    assert_string_equal(out.name, name);
}

static void resolve_fails(const mx_rclass_table *t, const char *name, const mx_host_caps *host,
                          int fit, const char *want)
{
    mx_rclass out;
    int fitted = 0;
    mx_err err = {0};
    if (mx_rclass_resolve(t, name, host, fit, &out, &fitted, &err) == 0)
        fail_msg("resolved %s", name);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, want);
}

static void test_table_values(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    resolve_ok(&t, "medium", &big_x86, 0, 2, 7680, 0);
    resolve_ok(&t, "large", &big_x86, 0, 4, 15360, 0);
    resolve_ok(&t, "xlarge", &big_x86, 0, 8, 32768, 0);
    resolve_ok(&t, "2xlarge", &big_x86, 0, 16, 65536, 0);
    resolve_ok(&t, "2xlarge+", &big_x86, 0, 32, 65536, 0);
    size_t arm = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (t.v[i].arm) {
            arm++;
            assert_memory_equal(t.v[i].name, "arm.", 4);
        }
    }
    assert_int_equal(arm, 4);
    mx_rclass_free(&t);
    assert_int_equal(t.n, 0);
    assert_null(t.v);
}

static void test_unknown_lists_classes(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    resolve_fails(&t, "huge", &big_x86, 0,
                  "unknown resource class \"huge\" (known: medium, large, xlarge, 2xlarge, "
                  "2xlarge+, arm.medium, arm.large, arm.xlarge, arm.2xlarge)");
    resolve_fails(&t, "Medium", &big_x86, 0, "unknown resource class \"Medium\"");
    /* the docker executor's names are not machine classes */
    resolve_fails(&t, "small", &big_x86, 1, "unknown resource class \"small\"");
    mx_rclass_free(&t);
}

static void test_arch(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    resolve_fails(&t, "arm.medium", &big_x86, 1,
                  "resource class \"arm.medium\" needs an arm64 host; this host is x86_64");
    const mx_host_caps arm_host = {.cpus = 64, .memory_mib = 262144, .arch = "aarch64"};
    resolve_ok(&t, "arm.medium", &arm_host, 0, 2, 8192, 0);
    resolve_ok(&t, "arm.2xlarge", &arm_host, 0, 16, 65536, 0);
    resolve_fails(&t, "medium", &arm_host, 1, "needs an x86_64 host; this host is aarch64");
    const mx_host_caps arm64 = {.cpus = 4, .memory_mib = 16384, .arch = "arm64"};
    resolve_ok(&t, "arm.medium", &arm64, 0, 2, 8192, 0);
    mx_rclass_free(&t);
}

static void test_too_large_and_fit(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    const mx_host_caps small = {.cpus = 4, .memory_mib = 16000, .arch = "x86_64"};
    resolve_ok(&t, "medium", &small, 0, 2, 7680, 0);
    resolve_ok(&t, "large", &small, 0, 4, 15360, 0); /* fits exactly on CPUs */
    resolve_fails(&t, "xlarge", &small, 0,
                  "resource class \"xlarge\" (8 vCPUs, 32768 MiB) is larger than this host "
                  "(4 CPUs, 16000 MiB); pass --fit-to-host");
    /* fit: CPUs capped to the host, memory to three quarters of it */
    resolve_ok(&t, "xlarge", &small, 1, 4, 12000, 1);
    resolve_ok(&t, "2xlarge+", &small, 1, 4, 12000, 1);
    /* only memory too large */
    const mx_host_caps few_mem = {.cpus = 64, .memory_mib = 8000, .arch = "x86_64"};
    resolve_fails(&t, "large", &few_mem, 0, "is larger than this host");
    resolve_ok(&t, "large", &few_mem, 1, 4, 6000, 1);
    /* only CPUs too many */
    const mx_host_caps few_cpu = {.cpus = 1, .memory_mib = 262144, .arch = "x86_64"};
    resolve_fails(&t, "medium", &few_cpu, 0, "(2 vCPUs, 7680 MiB) is larger than this host");
    resolve_ok(&t, "medium", &few_cpu, 1, 1, 7680, 1);
    /* unknown host memory (0) is not held against a class */
    const mx_host_caps unknown_mem = {.cpus = 64, .memory_mib = 0, .arch = "x86_64"};
    resolve_ok(&t, "2xlarge", &unknown_mem, 0, 16, 65536, 0);
    mx_rclass_free(&t);
}

static void test_overrides(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    size_t n = t.n;
    mx_rclass_set(&t, "medium", 1, 2048, 0); /* replace */
    assert_int_equal(t.n, n);
    resolve_ok(&t, "medium", &big_x86, 0, 1, 2048, 0);
    mx_rclass_set(&t, "gpu.tiny", 3, 3000, 0); /* add */
    assert_int_equal(t.n, n + 1);
    resolve_ok(&t, "gpu.tiny", &big_x86, 0, 3, 3000, 0);
    mx_rclass_set(&t, "large", 4, 15360, 1); /* now needs arm */
    resolve_fails(&t, "large", &big_x86, 0, "needs an arm64 host");
    resolve_fails(&t, "nope", &big_x86, 0, "gpu.tiny)");
    mx_rclass_free(&t);
}

static void test_host_caps(void **state)
{
    (void)state;
    mx_host_caps caps;
    mx_host_caps_read(&caps);
    assert_true(caps.cpus >= 1);
    assert_true(caps.memory_mib > 0);
    assert_non_null(caps.arch);
    assert_true(strlen(caps.arch) > 0);
}

static void test_docker_classes(void **state)
{
    (void)state;
    mx_rclass_table t;
    mx_rclass_defaults(&t);
    /* CircleCI's docker sizes, not the machine ones of the same names */
    const struct {
        const char *name;
        int vcpus, mem;
    } want[] = {{"small", 1, 2048},     {"medium", 2, 4096},  {"medium+", 3, 6144},
                {"large", 4, 8192},     {"xlarge", 8, 16384}, {"2xlarge", 16, 32768},
                {"2xlarge+", 20, 40960}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        mx_rclass out;
        int fitted = -1;
        mx_err err;
        if (mx_rclass_resolve_docker(&t, want[i].name, &big_x86, 0, &out, &fitted, &err) < 0)
            fail_msg("%s: %s", want[i].name, err.msg);
        assert_int_equal(out.vcpus, want[i].vcpus);
        assert_int_equal(out.memory_mib, want[i].mem);
        assert_string_equal(out.name, want[i].name);
    }
    /* the host may resize a docker class (docker.NAME), and name classes of its own */
    mx_rclass_set(&t, "docker.small", 2, 3000, 0);
    mx_rclass_set(&t, "test.small", 1, 1536, 0);
    mx_rclass out;
    int fitted = 0;
    mx_err err;
    assert_int_equal(mx_rclass_resolve_docker(&t, "small", &big_x86, 0, &out, &fitted, &err), 0);
    assert_int_equal(out.memory_mib, 3000);
    assert_string_equal(out.name, "docker.small");
    assert_int_equal(mx_rclass_resolve_docker(&t, "test.small", &big_x86, 0, &out, &fitted, &err),
                     0);
    assert_int_equal(out.memory_mib, 1536);
    /* arm on x86, too large, unknown: as for machine classes */
    assert_int_equal(mx_rclass_resolve_docker(&t, "arm.medium", &big_x86, 0, &out, &fitted, &err),
                     -1);
    tu_assert_contains(err.msg, "needs an arm64 host");
    const mx_host_caps small_host = {.cpus = 2, .memory_mib = 4096, .arch = "x86_64"};
    assert_int_equal(mx_rclass_resolve_docker(&t, "large", &small_host, 0, &out, &fitted, &err),
                     -1);
    tu_assert_contains(err.msg, "pass --fit-to-host");
    assert_int_equal(mx_rclass_resolve_docker(&t, "large", &small_host, 1, &out, &fitted, &err), 0);
    assert_int_equal(fitted, 1);
    assert_int_equal(out.vcpus, 2);
    assert_int_equal(mx_rclass_resolve_docker(&t, "huge", &big_x86, 0, &out, &fitted, &err), -1);
    tu_assert_contains(err.msg, "unknown resource class \"huge\"");
    mx_rclass_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_values),   cmocka_unit_test(test_unknown_lists_classes),
        cmocka_unit_test(test_arch),           cmocka_unit_test(test_too_large_and_fit),
        cmocka_unit_test(test_overrides),      cmocka_unit_test(test_host_caps),
        cmocka_unit_test(test_docker_classes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
