/* Cache key templates: what is asked of the guest, and rendering as CircleCI renders. */
#include "test_util.h"

#include "cache_key.h"

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void test_needs(void **state)
{
    (void)state;
    char **files = NULL;
    size_t n = 0;
    int arch = 0;
    mx_err err;
    assert_int_equal(
        mx_cache_key_needs("v1-{{ checksum \"a.lock\" }}-{{.Branch}}", &files, &n, &arch, &err), 0);
    assert_int_equal(mx_cache_key_needs("{{ arch }}-{{checksum `b`}}-{{ checksum \"a.lock\" }}",
                                        &files, &n, &arch, &err),
                     0);
    assert_int_equal(n, 2); /* a.lock once */
    assert_string_equal(files[0], "a.lock");
    assert_string_equal(files[1], "b");
    assert_int_equal(arch, 1);
    assert_int_equal(mx_cache_key_needs("v1-{{ .Nope }}", &files, &n, &arch, &err), -1);
    tu_assert_contains(err.msg, "unknown template action \"{{ .Nope }}\"");
    assert_int_equal(mx_cache_key_needs("v1-{{ checksum }}", &files, &n, &arch, &err), -1);
    assert_int_equal(mx_cache_key_needs("v1-{{ .Branch ", &files, &n, &arch, &err), -1);
    tu_assert_contains(err.msg, "without \"}}\"");
    free_strv(files, n);
}

static void test_render(void **state)
{
    (void)state;
    mx_envlist env = {0};
    mx_envlist_set(&env, "CIRCLE_JOB", "build");
    mx_envlist_set(&env, "CIRCLE_BUILD_NUM", "7");
    const char *files[] = {"a.lock", "missing"};
    const char *sums[] = {"uDV8d1h6uygK3EgBoZ2rs0pjEoHH9yDCZ6S0rHj9I3U=", NULL};
    const char *errs[] = {NULL, "no such file"};
    mx_key_facts f = {.branch = "main",
                      .revision = "abc123",
                      .env = &env,
                      .epoch = 1700000000,
                      .arch = "linux-amd64-6_85",
                      .files = files,
                      .sums = sums,
                      .sum_errors = errs,
                      .nfiles = 2};
    char *out = NULL;
    mx_err err;
    assert_int_equal(
        mx_cache_key_render("v1-{{ .Branch }}-{{.Revision}}-{{ .Environment.CIRCLE_JOB "
                            "}}-{{ .Environment.UNSET }}-{{ epoch }}-{{ arch }}-{{ "
                            ".BuildNum }}-{{ checksum \"a.lock\" }}",
                            &f, &out, &err),
        0);
    assert_string_equal(out, "v1-main-abc123-build-<no value>-1700000000-linux-amd64-6_85-7-"
                             "uDV8d1h6uygK3EgBoZ2rs0pjEoHH9yDCZ6S0rHj9I3U=");
    free(out);
    /* no actions: the text itself; trim markers */
    assert_int_equal(mx_cache_key_render("plain-key", &f, &out, &err), 0);
    assert_string_equal(out, "plain-key");
    free(out);
    assert_int_equal(mx_cache_key_render("a-{{- .Branch -}}-b", &f, &out, &err), 0);
    assert_string_equal(out, "a-main-b");
    free(out);
    /* a tag build has no branch */
    f.branch = NULL;
    assert_int_equal(mx_cache_key_render("v1-{{ .Branch }}-x", &f, &out, &err), 0);
    assert_string_equal(out, "v1--x");
    free(out);
    /* a file the guest could not read fails the key, saying why */
    assert_int_equal(mx_cache_key_render("v1-{{ checksum \"missing\" }}", &f, &out, &err), -1);
    tu_assert_contains(err.msg, "checksum \"missing\": no such file");
    assert_int_equal(mx_cache_key_render("{{ checksum \"other\" }}", &f, &out, &err), -1);
    assert_int_equal(mx_cache_key_render("{{ .Environment.UNSET }}", &f, &out, &err), 0);
    assert_string_equal(out, "<no value>");
    free(out);
    mx_envlist_free(&env);
}

static void test_render_limits(void **state)
{
    (void)state;
    mx_envlist env = {0};
    char *big = mx_xcalloc(MX_CACHE_KEY_MAX + 2, 1);
    memset(big, 'x', MX_CACHE_KEY_MAX + 1);
    mx_envlist_set(&env, "BIG", big);
    mx_key_facts f = {.env = &env};
    char *out = NULL;
    mx_err err;
    assert_int_equal(mx_cache_key_render("{{ .Environment.BIG }}", &f, &out, &err), -1);
    tu_assert_contains(err.msg, "at most");
    assert_int_equal(mx_cache_key_render("{{ .Branch }}", &f, &out, &err), -1);
    tu_assert_contains(err.msg, "renders to nothing");
    assert_int_equal(mx_cache_key_render("{{ arch }}", &f, &out, &err), -1);
    free(big);
    mx_envlist_free(&env);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_needs),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_render_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
