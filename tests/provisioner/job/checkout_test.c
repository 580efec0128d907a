/* checkout against real git repositories in temporary directories: what the archive holds
 * (the work tree as git sees it), that the .git/config files it carries have no credentials
 * left and still work, that nested repositories lose their config, and that a directory
 * outside git is packed only when named (issue 11, item 7). */
#include "test_util.h"

#include "checkout.h"

/* Runs a shell command line (only fixed text and paths of our temporary directories). */
static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = NULL;
    if (vasprintf(&cmd, fmt, ap) < 0) fail_msg("vasprintf");
    va_end(ap);
    int st = system(cmd);
    if (st != 0) fail_msg("`%s` failed (%d)", cmd, st);
    free(cmd);
}

/* The first line of a command's output (trailing newline dropped); caller frees. */
static char *sh_out(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[4096] = "";
    if (!fgets(line, sizeof line, p)) line[0] = '\0';
    pclose(p);
    line[strcspn(line, "\n")] = '\0';
    return mx_xstrdup(line);
}

static int setup(void **state)
{
    (void)state;
    /* nothing of this host's git configuration may take part */
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
    setenv("GIT_AUTHOR_NAME", "t", 1);
    setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
    setenv("GIT_COMMITTER_NAME", "t", 1);
    setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
    return 0;
}

/* Every secret the fixture repository holds; none may be in the archive. */
static const char *const secrets[] = {"ghp_Tok3nInUrl",   "U0VDUkVUaGVhZGVy", "x-oauth-Tok3n",
                                      "gitconfig-secret", "pushPassw0rd",     "subTok3n",
                                      "nestedTok3n"};

static void test_work_tree_without_credentials(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *repo = mx_path_join(dir, "repo");
    sh("git init -q -b main %s", repo);
    tu_write_free(repo, "tracked.txt", "v1\n");
    tu_write_free(repo, ".gitignore", "ignored.log\n");
    sh("git -C %s add -A && git -C %s commit -q -m one", repo, repo);
    tu_write_free(repo, "tracked.txt", "v2, not committed\n");
    tu_write_free(repo, "untracked.txt", "new\n");
    tu_write_free(repo, "ignored.log", "ignored\n");
    const char *cfg[][2] = {
        {"remote.origin.url", "https://ci-bot:ghp_Tok3nInUrl@github.com/o/r.git"},
        {"remote.origin.pushurl", "ssh://git:pushPassw0rd@git.example.com/o/r.git"},
        {"remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"},
        {"credential.helper", "store"},
        {"credential.https://github.com.username", "ci-bot"},
        {"http.https://github.com/.extraheader", "AUTHORIZATION: basic U0VDUkVUaGVhZGVy"},
        {"http.extraheader", "X-Token: U0VDUkVUaGVhZGVy"},
        {"url.https://x-oauth-Tok3n@github.com/.insteadof", "https://github.com/"},
        {"include.path", "/home/someone/.gitconfig-secret"},
        {"branch.main.remote", "origin"},
        {"core.weird", "a \"quoted\" \\ back\tslash"},
        {"http.proxy", "http://proxyuser:pushPassw0rd@proxy.example:3128"},
    };
    for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++)
        sh("git -C %s config --add '%s' '%s'", repo, cfg[i][0], cfg[i][1]);
    /* a submodule's git dir, as git keeps it */
    char *mod = mx_path_join(repo, ".git/modules/libs/sub");
    tu_mkdir(mod, 0755);
    sh("git init -q --bare %s && git --git-dir=%s config remote.origin.url "
       "https://subTok3n@example.com/sub.git",
       mod, mod);
    /* a branch named "config" in it is a ref, not a config file: it stays as it is */
    tu_write_free(mod, "refs/heads/config", "0000000000000000000000000000000000000000\n");
    /* a nested repository git lists as an untracked directory */
    char *nested = mx_path_join(repo, "vendor/lib");
    sh("git init -q %s && git -C %s config remote.origin.url https://nestedTok3n@example.com/l",
       nested, nested);
    tu_write_free(nested, "lib.c", "int x;\n");

    char *archive = mx_path_join(dir, "checkout.tar");
    mx_err err = {0};
    assert_int_equal(mx_checkout_check(repo, 0, &err), 0);
    if (mx_checkout_archive(repo, 0, archive, &err) < 0) fail_msg("%s", err.msg);
    char *out = mx_path_join(dir, "out");
    tu_mkdir(out, 0755);
    sh("tar -x -f %s -C %s", archive, out);

    /* the work tree as git sees it */
    tu_assert_file(out, "tracked.txt", "v2, not committed\n");
    tu_assert_file(out, "untracked.txt", "new\n");
    tu_assert_file(out, "vendor/lib/lib.c", "int x;\n");
    char *ignored = mx_path_join(out, "ignored.log");
    assert_false(mx_path_exists(ignored));
    /* no secret anywhere in the archive, and no staging or list file left beside it */
    mx_buf tar;
    mx_buf_init(&tar);
    if (mx_read_file(archive, &tar, &err) < 0) fail_msg("%s", err.msg);
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        if (memmem(tar.data, tar.len, secrets[i], strlen(secrets[i])))
            fail_msg("the archive holds %s", secrets[i]);
    mx_buf_free(&tar);
    char *count = mx_xasprintf("tar -t -f %s | grep -c '^.git/config$'", archive);
    char *n = sh_out(count);
    assert_string_equal(n, "1");
    char *left = mx_xasprintf("ls -A %s", dir);
    char *listing = sh_out(left);
    tu_assert_not_contains(listing, ".gitcfg");
    tu_assert_not_contains(listing, ".list");

    /* what stays, as git reads it */
    char *gc = mx_path_join(out, ".git/config");
    const char *want[][2] = {
        {"remote.origin.url", "https://github.com/o/r.git"},
        {"remote.origin.pushurl", "ssh://git@git.example.com/o/r.git"},
        {"remote.origin.fetch", "+refs/heads/*:refs/remotes/origin/*"},
        {"branch.main.remote", "origin"},
        {"core.weird", "a \"quoted\" \\ back\tslash"},
        {"url.https://github.com/.insteadof", "https://github.com/"},
        {"http.proxy", "http://proxy.example:3128"},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        char *cmd = mx_xasprintf("git config --file %s --get '%s'", gc, want[i][0]);
        char *got = sh_out(cmd);
        if (strcmp(got, want[i][1]) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", want[i][0], got, want[i][1]);
        free(got);
        free(cmd);
    }
    char *all = mx_xasprintf("git config --file %s --list | grep -ciE "
                             "'^(credential|include|http\\..*extraheader)' || true",
                             gc);
    char *dropped = sh_out(all);
    assert_string_equal(dropped, "0");
    /* git still works in the copy */
    char *log = mx_xasprintf("git -C %s log --format=%%s -1", out);
    char *subject = sh_out(log);
    assert_string_equal(subject, "one");
    char *sub_url = mx_xasprintf("git config --file %s/.git/modules/libs/sub/config --get "
                                 "remote.origin.url",
                                 out);
    char *su = sh_out(sub_url);
    assert_string_equal(su, "https://example.com/sub.git");
    tu_assert_file(out, ".git/modules/libs/sub/refs/heads/config",
                   "0000000000000000000000000000000000000000\n");
    char *nested_cfg = mx_path_join(out, "vendor/lib/.git/config");
    assert_false(mx_path_exists(nested_cfg));

    free(nested_cfg), free(su), free(sub_url), free(subject), free(log), free(dropped);
    free(all), free(gc), free(listing), free(left), free(n), free(count);
    free(ignored), free(out), free(archive), free(nested), free(mod), free(repo);
    tu_rmdir(dir);
}

/* Outside git: refused unless named; named, the directory is packed as it is. */
static void test_outside_git_only_when_named(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *proj = mx_path_join(dir, "home");
    tu_write_free(proj, ".ssh/id_ed25519", "PRIVATE KEY\n");
    tu_write_free(proj, ".circleci/config.yml", "version: 2.1\n");
    char *archive = mx_path_join(dir, "checkout.tar");
    mx_err err = {0};
    assert_int_equal(mx_checkout_check(proj, 0, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, "is not in a git work tree");
    tu_assert_contains(err.msg, "--project-dir");
    assert_int_equal(mx_checkout_archive(proj, 0, archive, &err), -1);
    tu_assert_contains(err.msg, "is not in a git work tree");
    assert_false(mx_path_exists(archive));
    /* named: all of it, as the user asked */
    assert_int_equal(mx_checkout_check(proj, 1, &err), 0);
    if (mx_checkout_archive(proj, 1, archive, &err) < 0) fail_msg("%s", err.msg);
    char *out = mx_path_join(dir, "out");
    tu_mkdir(out, 0755);
    sh("tar -x -f %s -C %s", archive, out);
    tu_assert_file(out, ".circleci/config.yml", "version: 2.1\n");
    tu_assert_file(out, ".ssh/id_ed25519", "PRIVATE KEY\n");
    free(out), free(archive), free(proj);
    tu_rmdir(dir);
}

static void test_url_credentials(void **state)
{
    (void)state;
    const char *cases[][2] = {
        {"https://user:token@github.com/o/r.git", "https://github.com/o/r.git"},
        {"https://ghp_token@github.com/o/r", "https://github.com/o/r"},
        {"HTTP://u:p@host:8080/x?q=a@b", "HTTP://host:8080/x?q=a@b"},
        {"https://u:p@ss@host/x", "https://host/x"}, /* the last '@' ends the user info */
        {"ftp://u:p@host/x", "ftp://host/x"},
        {"ssh://git@host/x", "ssh://git@host/x"},
        {"ssh://git:pw@host:22/x", "ssh://git@host:22/x"},
        {"git+ssh://me:pw@host/x", "git+ssh://me@host/x"},
        {"git@github.com:o/r.git", "git@github.com:o/r.git"},
        {"https://github.com/o/r@v1", "https://github.com/o/r@v1"},
        {"/srv/git/r.git", "/srv/git/r.git"},
        {"file:///srv/u@x/r.git", "file:///srv/u@x/r.git"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *got = mx_git_url_without_credentials(cases[i][0]);
        if (strcmp(got, cases[i][1]) != 0)
            fail_msg("%s: got %s, want %s", cases[i][0], got, cases[i][1]);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_work_tree_without_credentials),
        cmocka_unit_test(test_outside_git_only_when_named),
        cmocka_unit_test(test_url_credentials),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
