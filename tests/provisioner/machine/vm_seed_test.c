/* vm_seed: the cloud-config user-data is "#cloud-config" then a JSON document cloud-init reads. */
#include "test_util.h"

#include "host_config.h"
#include "mx_b64.h"
#include "vm_seed.h"

#include <jansson.h>

static const char auth_key[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ+test mexec-job\n";
static const char host_key[] =
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2\n"
    "-----END OPENSSH PRIVATE KEY-----\n";
static const char host_pub[] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHost \"quoted\" \\ host\n";

static json_t *parse_user_data(const char *ud)
{
    const char *magic = "#cloud-config\n";
    assert_memory_equal(ud, magic, strlen(magic));
    json_error_t jerr;
    json_t *doc = json_loads(ud + strlen(magic), JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) fail_msg("user-data is not JSON: %s (line %d)\n%s", jerr.text, jerr.line, ud);
    assert_true(json_is_object(doc));
    return doc;
}

static void test_user_data(void **state)
{
    (void)state;
    char *ud = mx_vm_seed_cloud_config(auth_key, host_key, host_pub, NULL, 0);
    json_t *doc = parse_user_data(ud);

    json_t *users = json_object_get(doc, "users");
    assert_true(json_is_array(users));
    assert_int_equal(json_array_size(users), 1);
    json_t *u = json_array_get(users, 0);
    assert_string_equal(json_string_value(json_object_get(u, "name")), "circleci");
    assert_string_equal(json_string_value(json_object_get(u, "shell")), "/bin/bash");
    assert_true(json_is_true(json_object_get(u, "lock_passwd")));
    assert_string_equal(json_string_value(json_object_get(u, "sudo")), "ALL=(ALL) NOPASSWD:ALL");
    json_t *groups = json_object_get(u, "groups");
    assert_int_equal(json_array_size(groups), 2);
    assert_string_equal(json_string_value(json_array_get(groups, 0)), "docker");
    assert_string_equal(json_string_value(json_array_get(groups, 1)), "sudo");
    json_t *keys = json_object_get(u, "ssh_authorized_keys");
    assert_true(json_is_array(keys));
    assert_int_equal(json_array_size(keys), 1);
    assert_string_equal(json_string_value(json_array_get(keys, 0)), auth_key);

    json_t *ssh_keys = json_object_get(doc, "ssh_keys");
    assert_true(json_is_object(ssh_keys));
    assert_string_equal(json_string_value(json_object_get(ssh_keys, "ed25519_private")), host_key);
    assert_string_equal(json_string_value(json_object_get(ssh_keys, "ed25519_public")), host_pub);
    /* the image must not make keys of its own: the host pins the one it handed over */
    assert_true(json_is_true(json_object_get(doc, "ssh_deletekeys")));
    /* ssh_keys installs an ed25519 key, so listing that type makes none (and keeps the
     * schema of cloud-init 22.4+, which wants one entry, quiet) */
    json_t *gen = json_object_get(doc, "ssh_genkeytypes");
    assert_true(json_is_array(gen));
    assert_int_equal(json_array_size(gen), 1);
    assert_string_equal(json_string_value(json_array_get(gen, 0)), "ed25519");
    /* sudo resolves the hostname without DNS; no locale generation */
    assert_string_equal(json_string_value(json_object_get(doc, "manage_etc_hosts")), "localhost");
    assert_string_equal(json_string_value(json_object_get(doc, "locale")), "C.UTF-8");
    assert_null(json_object_get(doc, "write_files"));
    json_decref(doc);
    free(ud);
}

static void test_unicode_survives(void **state)
{
    (void)state;
    const char *key = "ssh-ed25519 AAAA j\xc3\xb6rg@h\xc3\xb6st";
    char *ud = mx_vm_seed_cloud_config(key, "k", "p", NULL, 0);
    json_t *doc = parse_user_data(ud);
    json_t *u = json_array_get(json_object_get(doc, "users"), 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(u, "ssh_authorized_keys"), 0)), key);
    json_decref(doc);
    free(ud);
}

/* a key that is not UTF-8 (a damaged file) is refused, not an abort */
static void test_not_utf8_refused(void **state)
{
    (void)state;
    assert_null(mx_vm_seed_cloud_config("ssh-ed25519 AAAA j\xf6rg", "k", "p", NULL, 0));
    /* nor a write_files path */
    mx_seed_file f = {.path = "/etc/j\xf6rg", .data = "x", .len = 1};
    assert_null(mx_vm_seed_cloud_config("ssh-ed25519 AAAA k", "k", "p", &f, 1));
}

/* Cloud images get the guest dockerd's settings through write_files (base64: a CA may be any
 * bytes). */
static void test_write_files(void **state)
{
    (void)state;
    mx_seed_file files[] = {
        {.path = "/etc/docker/daemon.json", .data = "{\"a\": 1}", .len = 8},
        {.path = "/etc/docker/certs.d/10.0.2.2:5443/ca.crt", .data = "\x00\xff-----", .len = 7},
    };
    char *ud = mx_vm_seed_cloud_config("ssh-ed25519 AAAA k", "k", "p", files, 2);
    json_t *doc = parse_user_data(ud);
    json_t *wf = json_object_get(doc, "write_files");
    assert_int_equal(json_array_size(wf), 2);
    for (size_t i = 0; i < 2; i++) {
        json_t *e = json_array_get(wf, i);
        assert_string_equal(json_string_value(json_object_get(e, "path")), files[i].path);
        assert_string_equal(json_string_value(json_object_get(e, "encoding")), "b64");
        assert_string_equal(json_string_value(json_object_get(e, "permissions")), "0644");
        size_t len = 0;
        unsigned char *data = mx_b64_decode(json_string_value(json_object_get(e, "content")), &len);
        assert_non_null(data);
        assert_int_equal(len, files[i].len);
        assert_memory_equal(data, files[i].data, len);
        free(data);
    }
    json_decref(doc);
    free(ud);
}

static void test_daemon_json(void **state)
{
    (void)state;
    mx_host_config hc;
    memset(&hc, 0, sizeof hc);
    /* nothing configured: the image's own dockerd settings stay */
    assert_null(mx_vm_seed_daemon_json(&hc));

    mx_registry_cfg regs[] = {
        {.host = "10.0.2.2:5000", .insecure = 1},
        {.host = "10.0.2.2:5443", .ca = "/x/ca.crt"}, /* a CA is not "insecure" */
    };
    char *mirrors[] = {"http://10.0.2.2:5001"};
    hc.registries = regs;
    hc.nregistries = 2;
    hc.mirrors = mirrors;
    hc.nmirrors = 1;
    char *text = mx_vm_seed_daemon_json(&hc);
    assert_non_null(text);
    json_error_t e;
    json_t *doc = json_loads(text, 0, &e);
    assert_non_null(doc);
    json_t *ins = json_object_get(doc, "insecure-registries");
    assert_int_equal(json_array_size(ins), 1);
    assert_string_equal(json_string_value(json_array_get(ins, 0)), "10.0.2.2:5000");
    json_t *mir = json_object_get(doc, "registry-mirrors");
    assert_int_equal(json_array_size(mir), 1);
    assert_string_equal(json_string_value(json_array_get(mir, 0)), "http://10.0.2.2:5001");
    assert_int_equal(json_object_size(doc), 2);
    json_decref(doc);
    free(text);
}

static void test_hosts(void **state)
{
    (void)state;
    mx_host_config hc;
    memset(&hc, 0, sizeof hc);
    mx_registry_cfg none[] = {{.host = "10.0.2.2:5000", .insecure = 1}};
    hc.registries = none;
    hc.nregistries = 1;
    /* no address: the image's /etc/hosts stays */
    assert_null(mx_vm_seed_hosts(&hc, "mexec-j1"));
    mx_registry_cfg regs[] = {
        {.host = "10.0.2.2:5000", .insecure = 1},
        {.host = "123456789012.dkr.ecr.us-east-1.amazonaws.com", .address = "10.0.2.2"},
        {.host = "reg.example:5443", .address = "10.0.2.2"},
        {.host = "[fd00::1]:5000", .address = "fd00::1"},
    };
    hc.registries = regs;
    hc.nregistries = 4;
    char *text = mx_vm_seed_hosts(&hc, "mexec-j1");
    assert_non_null(text);
    /* the whole file: localhost and the VM's own name stay resolvable */
    tu_assert_contains(text, "127.0.0.1\tlocalhost\n");
    tu_assert_contains(text, "127.0.1.1\tmexec-j1\n");
    tu_assert_contains(text, "::1\tlocalhost");
    tu_assert_contains(text, "10.0.2.2\t123456789012.dkr.ecr.us-east-1.amazonaws.com\n");
    /* a name, without the port */
    tu_assert_contains(text, "10.0.2.2\treg.example\n");
    tu_assert_not_contains(text, "[fd00::1]"); /* an address needs no name */
    tu_assert_not_contains(text, "10.0.2.2:5000");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_data),        cmocka_unit_test(test_write_files),
        cmocka_unit_test(test_unicode_survives), cmocka_unit_test(test_not_utf8_refused),
        cmocka_unit_test(test_daemon_json),      cmocka_unit_test(test_hosts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
