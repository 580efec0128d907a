/* host.yaml's settings of the job steps: sizes, the cache directory, the SSH keys a job may be
 * given, and their errors. */
#include "test_util.h"

#include "host_config.h"

static char *dir;

static int load(const char *text, mx_host_config *hc, mx_err *err)
{
    char *path = tu_write(dir, "host.yaml", text);
    setenv("MEXEC_HOST_CONFIG", path, 1);
    free(path);
    return mx_host_config_load(hc, err);
}

static void test_defaults_and_sizes(void **state)
{
    (void)state;
    mx_host_config hc;
    mx_err err;
    assert_int_equal(load("boot_timeout: 30\n", &hc, &err), 0);
    assert_true(hc.steps.cache_max_bytes == 10LL << 30);
    assert_true(hc.steps.artifacts_max_bytes == 1LL << 30);
    assert_true(hc.steps.test_results_max_bytes == 64LL << 20);
    assert_int_equal(hc.steps.nssh_keys, 0);
    mx_host_config_free(&hc);
    assert_int_equal(load("cache_dir: /srv/cache\ncache_max_bytes: 512M\n"
                          "artifacts_max_bytes: 1000\ntest_results_max_bytes: 2GiB\n",
                          &hc, &err),
                     0);
    assert_string_equal(hc.steps.cache_dir, "/srv/cache");
    char *d = mx_host_steps_cache_dir(&hc.steps);
    assert_string_equal(d, "/srv/cache");
    free(d);
    assert_true(hc.steps.cache_max_bytes == 512LL << 20);
    assert_true(hc.steps.artifacts_max_bytes == 1000);
    assert_true(hc.steps.test_results_max_bytes == 2LL << 30);
    mx_host_config_free(&hc);
    assert_true(mx_parse_bytes("3K") == 3072);
    assert_true(mx_parse_bytes("1TB") == 1LL << 40);
    assert_true(mx_parse_bytes("1.5G") == -1);
    assert_true(mx_parse_bytes("-1") == -1);
    assert_true(mx_parse_bytes("9999999999999T") == -1);
}

static void test_ssh_keys(void **state)
{
    (void)state;
    mx_host_config hc;
    mx_err err;
    assert_int_equal(load("ssh_keys:\n  \"b7:35:a6\": /etc/mexec/keys/a\n"
                          "  deploy: {path: /k/b, hostname: git.example.com}\n",
                          &hc, &err),
                     0);
    assert_int_equal(hc.steps.nssh_keys, 2);
    assert_string_equal(hc.steps.ssh_keys[0].name, "b7:35:a6");
    assert_string_equal(hc.steps.ssh_keys[0].path, "/etc/mexec/keys/a");
    assert_null(hc.steps.ssh_keys[0].hostname);
    assert_string_equal(hc.steps.ssh_keys[1].hostname, "git.example.com");
    mx_host_config_free(&hc);
}

static void fails(const char *text, const char *want)
{
    mx_host_config hc;
    mx_err err;
    int rc = load(text, &hc, &err);
    mx_host_config_free(&hc);
    if (rc == 0) fail_msg("accepted:\n%s", text);
    tu_assert_contains(err.msg, want);
}

static void test_errors(void **state)
{
    (void)state;
    fails("cache_dir: relative/dir\n", ":1:12: cache_dir must be an absolute path");
    fails("cache_max_bytes: lots\n", ":1:18: cache_max_bytes must be a size in bytes");
    fails("ssh_keys: [a]\n", ":1:11: ssh_keys must be a map");
    fails("ssh_keys:\n  k: keys/k\n", ":2:6: ssh key k: the key file must be an absolute path");
    fails("ssh_keys:\n  k: {file: /x}\n", ":2:7: unknown ssh_keys setting \"file\"");
    fails("ssh_keys:\n  k: {path: /x, hostname: \"a b\"}\n",
          "ssh key k: hostname must be one host name");
}

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unsetenv("MEXEC_HOST_CONFIG");
    tu_rmdir(dir);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_sizes),
        cmocka_unit_test(test_ssh_keys),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
