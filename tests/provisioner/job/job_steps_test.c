/* The host-side choices of the job steps that need no guest: which host key add_ssh_keys'
 * fingerprint names and its file name in ~/.ssh, and the end-of-run listing. */
#include "test_util.h"

#include "job_steps.h"
#include "run_outputs.h"

static void test_key_selection(void **state)
{
    (void)state;
    mx_host_key keys[] = {{"b7:35:a6:4e:9b:0d", "/k/a", NULL},
                          {"deploy", "/k/b", "git.example.com"},
                          {"SHA256:rPzp7kChj9Z72jls+470/HfO0", "/k/c", NULL}};
    mx_host_steps hs = {.ssh_keys = keys, .nssh_keys = 3};
    assert_ptr_equal(mx_job_steps_find_key(&hs, "deploy"), &keys[1]);
    /* an MD5 fingerprint matches with or without colons, in either case */
    assert_ptr_equal(mx_job_steps_find_key(&hs, "B735A64E9B0D"), &keys[0]);
    assert_ptr_equal(mx_job_steps_find_key(&hs, "b7:35:a6:4e:9b:0d"), &keys[0]);
    assert_null(mx_job_steps_find_key(&hs, "b7:35:a6"));
    assert_null(mx_job_steps_find_key(&hs, "/k/a")); /* a path is never a key's name */
    assert_null(mx_job_steps_find_key(&hs, "Deploy2"));
    char *f = mx_job_steps_key_file("b7:35:a6:4e:9b:0d");
    assert_string_equal(f, "id_rsa_b735a64e9b0d"); /* CircleCI's name */
    free(f);
    f = mx_job_steps_key_file("SHA256:rPzp7kChj9Z72jls+470/HfO0");
    assert_string_equal(f, "id_rsa_rPzp7kChj9Z72jls_470_HfO0");
    free(f);
    f = mx_job_steps_key_file("../../etc/x");
    assert_string_equal(f, "id_rsa_.._.._etc_x"); /* one file name, never a path */
    free(f);
}

static void test_run_listing(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    tu_write_free(dir, "r1/build/0/artifacts/logs/b.log", "bb");
    tu_write_free(dir, "r1/build/0/artifacts/a.txt", "a");
    tu_write_free(dir, "r1/build/0/test-results/t/x.xml", "<x/>");
    tu_write_free(dir, "r2/other/0/artifacts/z", "zzz");
    tu_write_free(dir, "r3/j/0/artifacts/bad\x1b[2Jname", "e");
    char *out_path = mx_path_join(dir, "listing");
    FILE *out = fopen(out_path, "w");
    assert_non_null(out);
    assert_int_equal(mx_run_outputs_report(dir, "r1", out), 3);
    assert_int_equal(mx_run_outputs_report(dir, "none", out), 0);
    assert_int_equal(mx_run_outputs_report(dir, "r3", out), 1);
    fclose(out);
    char *text = tu_read(out_path);
    tu_assert_contains(text, "(3 files, 7 bytes)");
    tu_assert_contains(text, "             1  build/0/artifacts/a.txt\n"
                             "             2  build/0/artifacts/logs/b.log\n"
                             "             4  build/0/test-results/t/x.xml\n");
    tu_assert_not_contains(text, "other");
    tu_assert_contains(text, "j/0/artifacts/bad?[2Jname\n"); /* no escape reaches a terminal */
    free(text);
    free(out_path);
    char *id = mx_run_id_new();
    assert_int_equal(strlen(id) > 16, 1);
    free(id);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_selection),
        cmocka_unit_test(test_run_listing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
