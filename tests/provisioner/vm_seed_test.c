/* vm_seed: the cloud-config user-data is "#cloud-config" then a JSON document cloud-init reads. */
#include "test_util.h"

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
    char *ud = mx_vm_seed_user_data(auth_key, host_key, host_pub);
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
    json_t *gen = json_object_get(doc, "ssh_genkeytypes");
    assert_true(json_is_array(gen));
    assert_int_equal(json_array_size(gen), 0);
    json_decref(doc);
    free(ud);
}

static void test_unicode_survives(void **state)
{
    (void)state;
    const char *key = "ssh-ed25519 AAAA j\xc3\xb6rg@h\xc3\xb6st";
    char *ud = mx_vm_seed_user_data(key, "k", "p");
    json_t *doc = parse_user_data(ud);
    json_t *u = json_array_get(json_object_get(doc, "users"), 0);
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(u, "ssh_authorized_keys"), 0)), key);
    json_decref(doc);
    free(ud);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_data),
        cmocka_unit_test(test_unicode_survives),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
