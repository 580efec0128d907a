/* Data-driven config tests (cfg_job_test, cfg_process_test): a directory of NAME.yml files, each
 * with a NAME.expected beside it holding either the exact output, or "error: TEXT" on its first
 * line: processing must fail, as the user's error (MX_USAGE), with TEXT in the message (%DIR% in
 * TEXT stands for the fixture directory).  Each NAME.yml runs as one cmocka test named NAME.yml.
 */
#ifndef MX_TEST_CFG_FIXTURE_H
#define MX_TEST_CFG_FIXTURE_H

#include "test_util.h"

#include <dirent.h>

typedef struct cfg_fixture {
    char *yml;       /* dir/NAME.yml */
    const char *dir; /* the fixture directory */
    int kind;        /* passed through from cfg_fixture_run_dir, for the test function */
} cfg_fixture;

/* text[0, len) with every %DIR% replaced by dir. */
static inline char *cfg_fixture_expand_dir(const char *text, size_t len, const char *dir)
{
    mx_buf b;
    mx_buf_init(&b);
    const char *end = text + len;
    while (text < end) {
        const char *at = strstr(text, "%DIR%");
        if (!at || at >= end) at = end;
        mx_buf_add(&b, text, (size_t)(at - text));
        if (at == end) break;
        mx_buf_adds(&b, dir);
        text = at + 5;
    }
    return mx_buf_steal(&b);
}

/* Checks the outcome of processing f->yml against its .expected: rc and err as processing
 * returned them, got its output (used only when rc == 0).  Returns 1 when the fixture expects
 * success (and got the expected output), 0 when it expects (and got) the error. */
static inline int cfg_fixture_check(const cfg_fixture *f, int rc, const mx_err *err,
                                    const char *got)
{
    char *exp_path = mx_xasprintf("%.*s.expected", (int)(strlen(f->yml) - 4), f->yml);
    if (!mx_path_exists(exp_path)) fail_msg("%s has no %s", f->yml, exp_path);
    char *expected = tu_read(exp_path);
    const char *etag = "error: ";
    int success = strncmp(expected, etag, strlen(etag)) != 0;
    if (!success) {
        const char *e = expected + strlen(etag);
        char *want = cfg_fixture_expand_dir(e, strcspn(e, "\n"), f->dir);
        if (rc == 0)
            fail_msg("%s: succeeded, but expected the error \"%s\"; got:\n%s", f->yml, want,
                     got ? got : "");
        if (!strstr(err->msg, want))
            fail_msg("%s:\n  error:    %s\n  expected: %s", f->yml, err->msg, want);
        /* a config error is the user's to fix */
        assert_int_equal(err->status, MX_USAGE);
        free(want);
    } else {
        if (rc < 0 || !got)
            fail_msg("%s: %s", f->yml, err->msg);
        else if (strcmp(got, expected) != 0)
            fail_msg("%s: output differs from %s\n--- got:\n%s--- expected:\n%s", f->yml, exp_path,
                     got, expected);
    }
    free(expected);
    free(exp_path);
    return success;
}

static inline int cfg_fixture_cmp(const void *a, const void *b)
{
    return strcmp(((const cfg_fixture *)a)->yml, ((const cfg_fixture *)b)->yml);
}

/* Runs fn on every NAME.yml in dir (in name order) as the cmocka group `group`; returns the
 * number of failures.  Fewer than min fixtures, or a .expected without its .yml, is a failure
 * too: a runner that finds nothing must not pass. */
static inline int cfg_fixture_run_dir(const char *group, const char *dir, int kind, size_t min,
                                      CMUnitTestFunction fn)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "cannot open %s\n", dir);
        return 1;
    }
    cfg_fixture *fx = NULL;
    size_t n = 0, nexpected = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l > 9 && strcmp(e->d_name + l - 9, ".expected") == 0) nexpected++;
        if (l <= 4 || strcmp(e->d_name + l - 4, ".yml") != 0) continue;
        fx = mx_xrealloc(fx, (n + 1) * sizeof *fx);
        fx[n++] = (cfg_fixture){mx_path_join(dir, e->d_name), dir, kind};
    }
    closedir(d);
    if (n) qsort(fx, n, sizeof *fx, cfg_fixture_cmp);
    struct CMUnitTest *tests = mx_xcalloc(n, sizeof *tests);
    for (size_t i = 0; i < n; i++) {
        tests[i].name = strrchr(fx[i].yml, '/') + 1;
        tests[i].test_func = fn;
        tests[i].initial_state = &fx[i];
    }
    int failed = 0;
    if (n < min || nexpected != n) {
        fprintf(stderr, "%zu fixtures and %zu .expected files in %s\n", n, nexpected, dir);
        failed = 1;
    }
    failed += _cmocka_run_group_tests(group, tests, n, NULL, NULL);
    for (size_t i = 0; i < n; i++)
        free(fx[i].yml);
    free(fx);
    free(tests);
    return failed;
}

#endif
