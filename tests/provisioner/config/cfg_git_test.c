/* cfg_git: what a pipeline knows about its code, read from a real git repository made here
 * (branch, default branch, upstream, remote), and the remote URL forms git accepts. */
#include "test_util.h"

#include "cfg_git.h"
#include "mx_fs.h"
#include "mx_proc.h"

static void test_remote_parse(void **state)
{
    (void)state;
    const struct {
        const char *url, *host, *owner, *repo;
    } ok[] = {
        {"git@github.com:acme/widget.git", "github.com", "acme", "widget"},
        {"https://github.com/acme/widget", "github.com", "acme", "widget"},
        {"https://github.com/acme/widget.git/", "github.com", "acme", "widget"},
        {"ssh://git@github.com:22/acme/widget.git", "github.com", "acme", "widget"},
        {"https://user:token@gitlab.com/group/sub/widget.git", "gitlab.com", "group/sub", "widget"},
        {"git@bitbucket.org:team/repo", "bitbucket.org", "team", "repo"},
        {"https://git.example.org/x/y", "git.example.org", "x", "y"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        char *h, *o, *r;
        if (mx_git_remote_parse(ok[i].url, &h, &o, &r) != 0) fail_msg("%s: refused", ok[i].url);
        assert_string_equal(h, ok[i].host);
        assert_string_equal(o, ok[i].owner);
        assert_string_equal(r, ok[i].repo);
        free(h), free(o), free(r);
    }
    static const char *const bad[] = {"/srv/git/widget.git",       "widget",
                                      "https://github.com/",       "https://github.com/acme",
                                      "git@github.com:widget.git", "file:///srv/repo.git"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *h, *o, *r;
        if (mx_git_remote_parse(bad[i], &h, &o, &r) == 0) fail_msg("%s: accepted", bad[i]);
        assert_null(h);
    }
    /* credentials in a remote URL never reach a pipeline value or CIRCLE_REPOSITORY_URL */
    char *p = mx_git_remote_public("https://user:s3cret@gitlab.com/g/r.git");
    assert_string_equal(p, "https://gitlab.com/g/r.git");
    free(p);
    p = mx_git_remote_public("git@github.com:a/b.git");
    assert_string_equal(p, "git@github.com:a/b.git");
    free(p);
}

static void sh(const char *dir, const char *script)
{
    const char *argv[] = {"sh", "-ec", script, NULL};
    mx_err err;
    if (mx_proc_check(argv, dir, NULL, &err) != 0) fail_msg("%s: %s", script, err.msg);
}

static void test_read_repository(void **state)
{
    (void)state;
    char *tmp = tu_mkdtemp();
    char *work = mx_path_join(tmp, "widget");
    setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
    setenv("GIT_AUTHOR_NAME", "Ada", 1);
    setenv("GIT_AUTHOR_EMAIL", "ada@example.org", 1);
    setenv("GIT_COMMITTER_NAME", "Ada", 1);
    setenv("GIT_COMMITTER_EMAIL", "ada@example.org", 1);
    tu_mkdir(work, 0700);
    /* main is pushed (origin/main, origin's HEAD); feature is one commit ahead of it */
    sh(work, "git init -q -b main . && mkdir .circleci && echo 'version: 2.1' > "
             ".circleci/config.yml && git add . && git commit -q -m first && "
             "git remote add origin https://me:tok@github.com/acme/widget.git && "
             "git update-ref refs/remotes/origin/main HEAD && "
             "git symbolic-ref refs/remotes/origin/HEAD refs/remotes/origin/main && "
             "git checkout -q -b feature && echo x > x && git add x && "
             "git commit -q -m second -m 'the body' && "
             "git branch -q --set-upstream-to=origin/main");

    char *cfg = mx_path_join(work, ".circleci/config.yml");
    mx_pipeline_info pi;
    mx_pipeline_info_read(work, cfg, &pi);
    assert_non_null(pi.revision);
    assert_int_equal(strlen(pi.revision), 40);
    assert_string_equal(pi.branch, "feature");
    assert_string_equal(pi.default_branch, "main");
    assert_non_null(pi.base_revision);
    assert_int_not_equal(strcmp(pi.base_revision, pi.revision), 0); /* origin/main: one behind */
    assert_string_equal(pi.remote_url, "https://github.com/acme/widget.git");
    assert_string_equal(pi.vcs, "github");
    assert_string_equal(pi.owner, "acme");
    assert_string_equal(pi.repo, "widget");
    assert_string_equal(pi.commit_subject, "second");
    assert_string_equal(pi.commit_body, "the body");
    assert_string_equal(pi.author_email, "ada@example.org");
    assert_string_equal(pi.config_file, ".circleci/config.yml");
    assert_null(pi.id); /* only a run gets ids */
    char *url = mx_pipeline_git_url(&pi), *slug = mx_pipeline_slug(&pi);
    assert_string_equal(url, "https://github.com/acme/widget");
    assert_string_equal(slug, "gh/acme/widget");
    free(url), free(slug);
    mx_pipeline_info_new_ids(&pi);
    assert_int_equal(strlen(pi.id), 36);
    assert_int_equal(pi.id[14], '4');
    assert_int_not_equal(strcmp(pi.id, pi.workflow_id), 0);
    assert_int_equal(strlen(pi.received_at), 20);
    mx_pipeline_info_free(&pi);

    /* outside git: only the directory's name */
    mx_pipeline_info_read(tmp, NULL, &pi);
    assert_null(pi.revision);
    assert_null(pi.branch);
    assert_null(pi.remote_url);
    assert_null(mx_pipeline_slug(&pi));
    assert_non_null(pi.repo);
    mx_pipeline_info_free(&pi);

    free(cfg);
    free(work);
    tu_rmdir(tmp);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_remote_parse),
        cmocka_unit_test(test_read_repository),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
