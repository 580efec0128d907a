/* The job steps in the real agent, over pipes: checksum (as CircleCI's {{ checksum }}), arch,
 * pack and unpack of a cache (a round trip through "/"), collect of a tree, a file and nothing,
 * ssh-keys (modes, config appended, bad names refused), and the circleci command on PATH. */
#include "agent_harness.h"

static int setup(void **state)
{
    agent *a = mx_xcalloc(1, sizeof *a);
    agent_init(a);
    mx_kv env[] = {{"HOME", a->dir}};
    agent_start(a, env, 1);
    agent_hello(a);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    agent *a = *state;
    agent_bye(a);
    agent_cleanup(a);
    free(a);
    return 0;
}

static char *sh_out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *sh_out(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    assert_true(vasprintf(&cmd, fmt, ap) > 0);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    mx_buf b;
    mx_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        mx_buf_add(&b, chunk, n);
    assert_int_equal(pclose(p), 0);
    free(cmd);
    mx_buf_adds(&b, "");
    return mx_buf_steal(&b);
}

static void test_checksum_and_arch(void **state)
{
    agent *a = *state;
    tu_write_free(a->dir, "proj/package-lock.json", "{\"lockfileVersion\": 3}\n");
    char *paths[] = {"package-lock.json", "~/proj/package-lock.json", "missing"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_CHECKSUM,
                .workdir = "~/proj",
                .paths = paths,
                .npaths = 3};
    agent_result r;
    agent_run(a, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_int_equal(r.end.nvalues, 3);
    /* the reference: Python's digest, base64 encoded as Go's template does */
    char *want = sh_out("python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib."
                        "sha256(open(sys.argv[1],\"rb\").read()).digest()).decode(), end=\"\")' "
                        "'%s/proj/package-lock.json'",
                        a->dir);
    char *want_v = mx_xasprintf("sha256:%s", want);
    assert_string_equal(r.end.values[0], want_v);
    assert_string_equal(r.end.values[1], want_v);
    tu_assert_contains(r.end.values[2], "error:");
    tu_assert_contains(r.end.values[2], "No such file or directory");
    assert_non_null(r.end.arch);
    assert_true(strncmp(r.end.arch, "linux-amd64-", 12) == 0 ||
                strncmp(r.end.arch, "linux-arm64-", 12) == 0);
    tu_assert_contains(r.end.arch + 12, "_");
    free(want);
    free(want_v);
    agent_result_free(&r);
}

static void test_pack_unpack_round_trip(void **state)
{
    agent *a = *state;
    tu_write_free(a->dir, "proj/node_modules/x/index.js", "x\n");
    tu_write_free(a->dir, "proj/node_modules/.bin/tool", "t\n");
    tu_write_free(a->dir, ".npm/_cacache/a", "cached\n");
    char *archive = mx_path_join(a->dir, "cache.tar");
    char *paths[] = {"node_modules", "~/.np*", "nothing-here"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 2,
                .kind = MX_STEP_PACK,
                .workdir = "~/proj",
                .archive = archive,
                .paths = paths,
                .npaths = 3};
    agent_result r;
    agent_run(a, &m, &r);
    if (r.end.exit_status != 0) fail_msg("pack: %s%s", r.out.data, r.err.data);
    assert_int_equal(r.end.nvalues, 0);
    tu_assert_contains(r.out.data, "nothing-here: no such file or directory, skipped");
    assert_int_equal(tu_mode(archive), 0600);
    agent_result_free(&r);
    /* names are from "/" so that the cache comes back where it was */
    char *members = sh_out("tar -tf '%s' | sort", archive);
    char *want = mx_xasprintf("./%s/.npm/\n./%s/.npm/_cacache/\n./%s/.npm/_cacache/a\n", a->dir + 1,
                              a->dir + 1, a->dir + 1);
    tu_assert_contains(members, want);
    free(want);
    free(members);
    char *gone = mx_path_join(a->dir, "proj/node_modules");
    assert_int_equal(mx_rm_rf(gone, NULL), 0);
    mx_msg u = {
        .type = MX_MSG_STEP, .id = 3, .kind = MX_STEP_UNPACK, .workdir = "/", .archive = archive};
    agent_run(a, &u, &r);
    if (r.end.exit_status != 0) fail_msg("unpack: %s%s", r.out.data, r.err.data);
    agent_result_free(&r);
    tu_assert_file(a->dir, "proj/node_modules/.bin/tool", "t\n");
    assert_false(mx_path_exists(archive)); /* the upload is consumed */
    /* nothing matched: no archive, and the host hears "empty" */
    char *none[] = {"nope/*"};
    mx_msg e = {.type = MX_MSG_STEP,
                .id = 4,
                .kind = MX_STEP_PACK,
                .workdir = "~",
                .archive = archive,
                .paths = none,
                .npaths = 1};
    agent_run(a, &e, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_int_equal(r.end.nvalues, 1);
    assert_string_equal(r.end.values[0], "empty");
    assert_false(mx_path_exists(archive));
    agent_result_free(&r);
    free(gone);
    free(archive);
}

static void test_collect(void **state)
{
    agent *a = *state;
    tu_write_free(a->dir, "proj/results/unit/a.xml", "<testsuite/>");
    tu_write_free(a->dir, "proj/out.log", "log\n");
    char *archive = mx_path_join(a->dir, "c.tar");
    char *dir[] = {"results"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 5,
                .kind = MX_STEP_COLLECT,
                .workdir = "~/proj",
                .archive = archive,
                .paths = dir,
                .npaths = 1};
    agent_result r;
    agent_run(a, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.end.values[0], "dir");
    agent_result_free(&r);
    char *members = sh_out("tar -tf '%s' | sort", archive);
    assert_string_equal(members, "./\n./unit/\n./unit/a.xml\n");
    free(members);
    char *file[] = {"~/proj/out.log"};
    m.paths = file;
    agent_run(a, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.end.values[0], "file");
    agent_result_free(&r);
    members = sh_out("tar -tf '%s'", archive);
    assert_string_equal(members, "out.log\n");
    free(members);
    char *missing[] = {"/nonexistent/dir"};
    m.paths = missing;
    agent_run(a, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.end.values[0], "empty");
    tu_assert_contains(r.out.data, "nothing to upload");
    agent_result_free(&r);
    free(archive);
}

static void test_ssh_keys(void **state)
{
    agent *a = *state;
    mx_kv keys[] = {{"id_rsa_b735a6", "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n"},
                    {"config", "Host git.example.com\n  IdentityFile ~/.ssh/id_rsa_b735a6\n"}};
    mx_msg m = {.type = MX_MSG_STEP, .id = 6, .kind = MX_STEP_SSH_KEYS, .keys = keys, .nkeys = 2};
    agent_result r;
    agent_run(a, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_not_contains(r.out.data, "BEGIN"); /* the key is never echoed */
    agent_result_free(&r);
    char *ssh = mx_path_join(a->dir, ".ssh");
    assert_int_equal(tu_mode(ssh), 0700);
    char *key = mx_path_join(ssh, "id_rsa_b735a6");
    assert_int_equal(tu_mode(key), 0600);
    agent_run(a, &m, &r); /* again: config is appended, the key rewritten */
    agent_result_free(&r);
    char *cfg = mx_path_join(ssh, "config");
    char *text = tu_read(cfg);
    assert_int_equal(strlen(text), 2 * strlen(keys[1].value));
    free(text);
    mx_kv bad[] = {{"../escape", "x"}};
    mx_msg b = {.type = MX_MSG_STEP, .id = 7, .kind = MX_STEP_SSH_KEYS, .keys = bad, .nkeys = 1};
    agent_run(a, &b, &r);
    assert_int_equal(r.end.exit_status, 1);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    agent_result_free(&r);
    free(cfg);
    free(key);
    free(ssh);
}

/* Steps find the circleci command on PATH: the agent itself, by that name. */
static void test_circleci_on_path(void **state)
{
    agent *a = *state;
    tu_write_free(a->dir, "t/a_test.py", "");
    tu_write_free(a->dir, "t/b_test.py", "");
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 8,
                .kind = MX_STEP_RUN,
                .workdir = "~",
                .command = "circleci tests glob 't/**/*_test.py' | circleci tests split"};
    mx_kv env[] = {{"CIRCLE_NODE_INDEX", "1"}, {"CIRCLE_NODE_TOTAL", "2"}};
    m.env = env;
    m.nenv = 2;
    agent_result r;
    agent_run(a, &m, &r);
    if (r.end.exit_status != 0) fail_msg("circleci: %s%s", r.out.data, r.err.data);
    assert_string_equal(r.out.data, "t/b_test.py\n");
    agent_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checksum_and_arch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pack_unpack_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ssh_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_circleci_on_path, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
