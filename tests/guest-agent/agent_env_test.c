/* agent_env: shell splitting, the child's environment, and "~" expansion. */
#include "test_util.h"

#include "agent.h"

static void check_split(const char *shell, const char *const *want)
{
    char **argv = NULL;
    size_t n = mx_agent_split_shell(shell, &argv);
    size_t nwant = 0;
    while (want[nwant])
        nwant++;
    if (n != nwant) {
        fail_msg("split \"%s\": %zu words, want %zu", shell, n, nwant);
        return;
    }
    for (size_t i = 0; i < n; i++)
        assert_string_equal(argv[i], want[i]);
    assert_null(argv[n]);
    /* room for the script path and the terminating NULL */
    argv[n] = mx_xstrdup("/tmp/step.sh");
    assert_null(argv[n + 1]);
    mx_agent_free_strv(argv);
}

static void test_split_shell(void **state)
{
    (void)state;
    check_split("/bin/bash -eo pipefail",
                (const char *const[]){"/bin/bash", "-eo", "pipefail", NULL});
    check_split(MX_AGENT_DEFAULT_SHELL,
                (const char *const[]){"/bin/bash", "-eo", "pipefail", NULL});
    check_split("/bin/sh", (const char *const[]){"/bin/sh", NULL});
    check_split("  \t/bin/sh \t -e  -u\t", (const char *const[]){"/bin/sh", "-e", "-u", NULL});
    check_split("", (const char *const[]){NULL});
    check_split("   ", (const char *const[]){NULL});
    /* many words: the vector grows and keeps its two spare slots */
    check_split("a b c d e f g h i j k l m n o p q",
                (const char *const[]){"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l",
                                      "m", "n", "o", "p", "q", NULL});
    for (int words = 0; words < 12; words++) {
        mx_buf b;
        mx_buf_init(&b);
        for (int i = 0; i < words; i++)
            mx_buf_printf(&b, "w%d ", i);
        char **argv;
        size_t n = mx_agent_split_shell(b.data ? b.data : "", &argv);
        assert_int_equal(n, (size_t)words);
        argv[n] = mx_xstrdup("script");
        assert_null(argv[n + 1]);
        mx_agent_free_strv(argv);
        mx_buf_free(&b);
    }
}

static size_t count(char **v)
{
    size_t n = 0;
    while (v[n])
        n++;
    return n;
}

static const char *lookup(char **v, const char *key)
{
    size_t kl = strlen(key);
    const char *found = NULL;
    for (; *v; v++) {
        if (strncmp(*v, key, kl) == 0 && (*v)[kl] == '=') {
            if (found) fail_msg("%s appears twice", key);
            found = *v + kl + 1;
        }
    }
    return found;
}

static void test_build_env(void **state)
{
    (void)state;
    char *base[] = {
        "PATH=/usr/bin:/bin", "HOME=/home/circleci", "FOO=base", "FOOBAR=keep", "EMPTY=", NULL};
    mx_kv env[] = {{"FOO", "step"},
                   {"NEW", "n"},
                   {"EMPTY", "now set"},
                   {"NEW", "last wins"},
                   {"WITH_EQ", "a=b"}};
    char **out = mx_agent_build_env(base, env, sizeof env / sizeof *env);
    assert_string_equal(lookup(out, "PATH"), "/usr/bin:/bin");
    assert_string_equal(lookup(out, "HOME"), "/home/circleci");
    assert_string_equal(lookup(out, "FOO"), "step");
    assert_string_equal(lookup(out, "FOOBAR"), "keep"); /* a longer name is another variable */
    assert_string_equal(lookup(out, "EMPTY"), "now set");
    assert_string_equal(lookup(out, "NEW"), "last wins");
    assert_string_equal(lookup(out, "WITH_EQ"), "a=b");
    assert_int_equal(count(out), 7);
    mx_agent_free_strv(out);

    /* no overrides: a copy of base */
    out = mx_agent_build_env(base, NULL, 0);
    assert_int_equal(count(out), 5);
    for (size_t i = 0; i < 5; i++) {
        assert_string_equal(out[i], base[i]);
        assert_ptr_not_equal(out[i], base[i]);
    }
    mx_agent_free_strv(out);

    /* no base at all */
    mx_kv one[] = {{"ONLY", "1"}, {"ONLY", "2"}};
    out = mx_agent_build_env(NULL, one, 2);
    assert_int_equal(count(out), 1);
    assert_string_equal(out[0], "ONLY=2");
    mx_agent_free_strv(out);
    mx_agent_free_strv(NULL);
}

static void check_expand(const char *path, const char *home, const char *want)
{
    char *got = mx_agent_expand_home(path, home);
    if (strcmp(got, want) != 0)
        fail_msg("expand(\"%s\", \"%s\") = \"%s\", want \"%s\"", path ? path : "(null)", home, got,
                 want);
    free(got);
}

static void test_expand_home(void **state)
{
    (void)state;
    check_expand("~", "/home/circleci", "/home/circleci");
    check_expand("~/", "/home/circleci", "/home/circleci/");
    check_expand("~/project", "/home/circleci", "/home/circleci/project");
    check_expand("~/a/~/b", "/home/c", "/home/c/a/~/b");
    check_expand("~other/x", "/home/c", "~other/x"); /* another user's home is not ours to guess */
    check_expand("/abs/path", "/home/c", "/abs/path");
    check_expand("rel/~", "/home/c", "rel/~");
    check_expand("", "/home/c", "/home/c");
    check_expand(NULL, "/home/c", "/home/c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_shell),
        cmocka_unit_test(test_build_env),
        cmocka_unit_test(test_expand_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
