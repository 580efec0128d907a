/* config.json: parsing with shape checks, byte-exact rendering as the docker CLI writes it,
 * auth changes, atomic 0600 save. */
#include "test_util.h"
#include "mx_dockercfg.h"

#include <dirent.h>

static int setup(void **state)
{
    *state = tu_mkdtemp();
    return 0;
}

static int teardown(void **state)
{
    tu_rmdir(*state);
    return 0;
}

static void parse_ok(mx_dockercfg *cfg, const char *text)
{
    mx_err err = {0};
    if (mx_dockercfg_parse(cfg, text, strlen(text), "test", &err) < 0) fail_msg("%s", err.msg);
}

static void assert_renders(const mx_dockercfg *cfg, const char *want)
{
    size_t len;
    char *got = mx_dockercfg_render(cfg, &len);
    assert_int_equal(len, strlen(got));
    if (strcmp(got, want) != 0) fail_msg("rendered:\n%s\nwanted:\n%s", got, want);
    free(got);
}

/* A file as the docker CLI writes it comes back byte for byte. */
static void test_round_trip_byte_exact(void **state)
{
    (void)state;
    char *fixture = tu_read(MX_CRED_FIXTURES "/docker-config.json");
    mx_dockercfg cfg;
    parse_ok(&cfg, fixture);
    assert_renders(&cfg, fixture);
    mx_dockercfg_free(&cfg);
    free(fixture);
}

static void test_login_changes_only_its_entry(void **state)
{
    (void)state;
    char *fixture = tu_read(MX_CRED_FIXTURES "/docker-config.json");
    char *want = tu_read(MX_CRED_FIXTURES "/docker-config-after-login.json");
    mx_dockercfg cfg;
    parse_ok(&cfg, fixture);
    /* the old quay.io entry (with its email) is replaced, nothing else changes */
    mx_dockercfg_set_auth(&cfg, "quay.io", "robot", "robot-Secret-4", NULL);
    assert_renders(&cfg, want);
    mx_dockercfg_free(&cfg);
    free(fixture);
    free(want);
}

static void test_same_registry_other_spelling_is_replaced(void **state)
{
    (void)state;
    mx_dockercfg cfg;
    parse_ok(&cfg, "{\"auths\":{\"https://Index.Docker.io/v1/\":{\"auth\":\"b2xkOnN0YWxl\"},"
                   "\"docker.io\":{\"auth\":\"b2xkOnN0YWxl\"}}}");
    mx_dockercfg_set_auth(&cfg, "https://index.docker.io/v1/", "new", "fresh", "idtok");
    assert_renders(&cfg, "{\n\t\"auths\": {\n\t\t\"https://index.docker.io/v1/\": {\n"
                         "\t\t\t\"auth\": \"bmV3OmZyZXNo\",\n\t\t\t\"identitytoken\": \"idtok\"\n"
                         "\t\t}\n\t}\n}");
    assert_int_equal(mx_dockercfg_remove_auth(&cfg, "docker.io"), 1);
    mx_dockercfg_set_placeholder(&cfg, "quay.io");
    mx_dockercfg_set_creds_store(&cfg, "pass");
    assert_renders(&cfg,
                   "{\n\t\"auths\": {\n\t\t\"quay.io\": {}\n\t},\n\t\"credsStore\": \"pass\"\n}");
    mx_dockercfg_free(&cfg);
}

/* username/password become `auth`, as the docker CLI rewrites them; unknown keys are kept,
 * sorted after the known ones; empty omitempty fields and a User-Agent header disappear. */
static void test_docker_normalizations_and_unknown_keys(void **state)
{
    (void)state;
    mx_dockercfg cfg;
    parse_ok(&cfg, "{\"zzz\":{\"b\":1,\"a\":[1,2.5,true,null,\"<x>\"]},\"credsStore\":\"\","
                   "\"HttpHeaders\":{\"User-Agent\":\"x\"},\"detachKeys\":\"ctrl-p\","
                   "\"auths\":{\"r.example\":{\"username\":\"u\",\"password\":\"p\","
                   "\"serveraddress\":\"r.example\"}},\"aaa\":\"\\u2028\\u0001\"}");
    assert_renders(&cfg, "{\n"
                         "\t\"auths\": {\n"
                         "\t\t\"r.example\": {\n"
                         "\t\t\t\"auth\": \"dTpw\"\n"
                         "\t\t}\n"
                         "\t},\n"
                         "\t\"detachKeys\": \"ctrl-p\",\n"
                         "\t\"aaa\": \"\\u2028\\u0001\",\n"
                         "\t\"zzz\": {\n"
                         "\t\t\"a\": [\n"
                         "\t\t\t1,\n"
                         "\t\t\t2.5,\n"
                         "\t\t\ttrue,\n"
                         "\t\t\tnull,\n"
                         "\t\t\t\"\\u003cx\\u003e\"\n"
                         "\t\t],\n"
                         "\t\t\"b\": 1\n"
                         "\t}\n"
                         "}");
    mx_dockercfg_free(&cfg);
    mx_dockercfg_init(&cfg);
    assert_renders(&cfg, "{\n\t\"auths\": {}\n}");
    mx_dockercfg_free(&cfg);
}

static int collect(void *ctx, const char *key, const mx_cred *c)
{
    mx_buf *b = ctx;
    mx_buf_printf(b, "%s=%s:%s:%s;", key, c->username ? c->username : "-",
                  c->password ? c->password : "-", c->identity_token ? c->identity_token : "-");
    return 0;
}

static void test_each_auth(void **state)
{
    (void)state;
    char *fixture = tu_read(MX_CRED_FIXTURES "/docker-config.json");
    mx_dockercfg cfg;
    parse_ok(&cfg, fixture);
    mx_buf b;
    mx_buf_init(&b);
    mx_dockercfg_each_auth(&cfg, collect, &b);
    /* the credsStore placeholder (registry.example.com:5000: {}) carries nothing */
    assert_string_equal(b.data, "https://index.docker.io/v1/=hubuser:hub-Secret-1:-;"
                                "quay.io=quayuser:quay-Secret-2:-;"
                                "registry.example.com:5000/team=teamuser:team-Secret-3:"
                                "team-identity-token-0001;");
    assert_string_equal(mx_dockercfg_creds_store(&cfg), "pass");
    mx_buf_free(&b);
    mx_dockercfg_free(&cfg);
    free(fixture);
}

static void expect_error(const char *text, const char *want, const char *secret)
{
    mx_dockercfg cfg;
    mx_err err = {0};
    assert_int_equal(mx_dockercfg_parse(&cfg, text, strlen(text), "$DOCKER_AUTH_CONFIG", &err), -1);
    tu_assert_contains(err.msg, "$DOCKER_AUTH_CONFIG: ");
    tu_assert_contains(err.msg, want);
    if (secret) tu_assert_not_contains(err.msg, secret);
    assert_int_equal(err.status, MX_USAGE);
}

static void test_bad_documents(void **state)
{
    (void)state;
    expect_error("{\"auths\": {\"x\": {\"password\": \"hunter2-Secret\"", "invalid JSON at line 1",
                 "hunter2");
    expect_error("{\"auths\": {\"x\": {\"auth\": hunter2-Secret}}}", "invalid JSON", "hunter2");
    expect_error("[1]", "must be a JSON object", NULL);
    expect_error("{\"auths\": []}", "\"auths\" must be an object", NULL);
    expect_error("{\"auths\": {\"x\": {\"auth\": \"hunter2-Secret\"}}}",
                 "auths[\"x\"].auth is not base64", "hunter2");
    /* base64 of "nocolonsecret" */
    expect_error("{\"auths\": {\"x\": {\"auth\": \"bm9jb2xvbnNlY3JldA==\"}}}",
                 "auths[\"x\"].auth is not base64 of \"user:password\"", "bm9jb2xvbnNlY3JldA");
    expect_error("{\"auths\": {\"x\": {\"password\": 7}}}",
                 "auths[\"x\"].password must be a string", NULL);
    expect_error("{\"credHelpers\": {\"x\": 1}}", "credHelpers[\"x\"] must be a string", NULL);
    expect_error("{\"credsStore\": 1}", "\"credsStore\" must be a string", NULL);
    mx_dockercfg cfg;
    parse_ok(&cfg, "  \n"); /* empty: an empty configuration, as docker treats EOF */
    assert_renders(&cfg, "{\n\t\"auths\": {}\n}");
    mx_dockercfg_free(&cfg);
}

static size_t entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void test_save_private_atomic(void **state)
{
    const char *dir = *state;
    char *home_docker = mx_path_join(dir, "home/.docker");
    char *path = mx_path_join(home_docker, "config.json");
    mx_dockercfg cfg;
    mx_err err = {0};
    int found = -1;
    assert_int_equal(mx_dockercfg_load(&cfg, path, &found, &err), 0);
    assert_int_equal(found, 0);
    mx_dockercfg_set_auth(&cfg, "quay.io", "u", "p", NULL);
    if (mx_dockercfg_save(&cfg, path, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(tu_mode(path), 0600);
    assert_int_equal(tu_mode(home_docker), 0700);
    assert_int_equal(entries(home_docker), 1); /* no temporary file left */
    mx_dockercfg_free(&cfg);
    /* an existing wider mode is narrowed; a symlink is followed, not replaced */
    chmod(path, 0644);
    char *real = mx_path_join(dir, "real-config.json");
    assert_int_equal(rename(path, real), 0);
    assert_int_equal(symlink(real, path), 0);
    assert_int_equal(mx_dockercfg_load(&cfg, path, &found, &err), 0);
    assert_int_equal(found, 1);
    mx_dockercfg_set_auth(&cfg, "ghcr.io", "u2", "p2", NULL);
    if (mx_dockercfg_save(&cfg, path, &err) < 0) fail_msg("%s", err.msg);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    assert_int_equal(tu_mode(real), 0600);
    char *text = tu_read(real);
    tu_assert_contains(text, "\"ghcr.io\"");
    tu_assert_contains(text, "\"quay.io\"");
    free(text);
    mx_dockercfg_free(&cfg);
    free(real);
    free(path);
    free(home_docker);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_byte_exact),
        cmocka_unit_test(test_login_changes_only_its_entry),
        cmocka_unit_test(test_same_registry_other_spelling_is_replaced),
        cmocka_unit_test(test_docker_normalizations_and_unknown_keys),
        cmocka_unit_test(test_each_auth),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test_setup_teardown(test_save_private_atomic, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
