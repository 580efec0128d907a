/* The host-side choices of the job steps that need no guest: which host key add_ssh_keys'
 * fingerprint names and its file name in ~/.ssh, and the end-of-run listing. */
#include "test_util.h"

#include "job_steps.h"
#include "run_outputs.h"
#include "sink.h"

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

static mx_buf logged;

static void record_log(void *ud, const char *text)
{
    (void)ud;
    mx_buf_printf(&logged, "%s\n", text);
}

/* What the host prints of the guest's words (file names, the agent's reasons for a failed
 * step): masked, no escape sequence, no C1 control, no byte that is not UTF-8. */
static void test_guest_text(void **state)
{
    (void)state;
    mx_secrets secrets;
    mx_secrets_init(&secrets);
    mx_secrets_add(&secrets, "hunter22");
    mx_job_steps_ctx ctx = {.hc = NULL, .secrets = &secrets};
    mx_host_config hc = {0};
    ctx.hc = &hc;
    mx_job_steps js;
    mx_job_steps_init(&js, &ctx);
    char *shown = mx_job_steps_clean(&js, "a\x1b]52;c;aGk=\x07 hunter22 \xc2\x9b"
                                          "2J \xff\n");
    assert_string_equal(shown, "a?]52;c;aGk=? ******** 2J \xef\xbf\xbd\n");
    free(shown);
    /* a failed step's reason, as a line of the job's log */
    mx_sink sink = {.log = record_log};
    mx_sink_set(&sink);
    mx_msg end = {
        .type = MX_MSG_STEP_END, .reason = MX_END_FAILED, .message = "cannot \x1b[2Jhunter22"};
    assert_int_equal(mx_job_steps_status(&js, &end), 1);
    mx_sink_set(NULL);
    assert_string_equal(logged.data, "mexec-agent could not run the step: cannot ?[2J********\n");
    mx_buf_free(&logged);
    mx_job_steps_free(&js);
    mx_secrets_free(&secrets);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key_selection),
        cmocka_unit_test(test_run_listing),
        cmocka_unit_test(test_guest_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
