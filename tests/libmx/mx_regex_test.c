/* mx_regex: whole-subject matching, and the guard against patterns glibc's engine takes
 * exponential time on, before regcomp ever sees them. */
#include "test_util.h"

#include "mx_regex.h"

#include <string.h>

static void test_match_whole(void **state)
{
    (void)state;
    mx_regex r;
    mx_err err;
    assert_int_equal(mx_regex_compile(&r, "release-.*|main", "/x/", &err), 0);
    assert_true(mx_regex_match(&r, "main"));
    assert_true(mx_regex_match(&r, "release-1.2"));
    assert_false(mx_regex_match(&r, "xmain"));   /* anchored at the start */
    assert_false(mx_regex_match(&r, "release")); /* and whole */
    mx_regex_free(&r);
    mx_regex_free(&r); /* twice is fine */
    mx_regex z = {0};
    mx_regex_free(&z);
    assert_false(mx_regex_match(&z, ""));
}

static void test_refused(void **state)
{
    (void)state;
    static const struct {
        const char *re, *why;
    } cases[] = {
        {"a++", "quantifier applied to a quantifier"},
        {"(a+)*+b", "quantifier applied to a quantifier"},
        {"a{2}{3}", "quantifier applied to a quantifier"},
        {"(a{1000}){1000}", "repetition bound over 100"},
        {"a{1,101}", "repetition bound over 100"},
        {"a{99999999999999999999}", "repetition bound over 100"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mx_regex r;
        mx_err err;
        assert_int_equal(mx_regex_compile(&r, cases[i].re, "/p/", &err), -1);
        assert_int_equal(err.status, MX_USAGE);
        assert_non_null(strstr(err.msg, "regular expression /p/ has a"));
        assert_non_null(strstr(err.msg, cases[i].why));
        mx_regex_free(&r);
    }
    char long_re[MX_REGEX_MAX_LEN + 2];
    memset(long_re, 'a', sizeof long_re - 1);
    long_re[sizeof long_re - 1] = '\0';
    mx_regex r;
    mx_err err;
    assert_int_equal(mx_regex_compile(&r, long_re, "/p/", &err), -1);
    assert_non_null(strstr(err.msg, "longer than 1024 characters"));
}

static void test_allowed(void **state)
{
    (void)state;
    /* escaped and bracketed quantifiers are literals; a bound of 100 is fine */
    static const char *const ok[] = {"a\\++", "[+*]+", "[]+]*", "a{100}", "a{2,100}", "v[0-9]+"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        mx_regex r;
        mx_err err;
        assert_int_equal(mx_regex_compile(&r, ok[i], "/p/", &err), 0);
        mx_regex_free(&r);
    }
}

static void test_bad(void **state)
{
    (void)state;
    mx_regex r;
    mx_err err;
    assert_int_equal(mx_regex_compile(&r, "release-(.*", "/release-(.*/", &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    assert_string_equal(err.msg, "bad regular expression /release-(.*/: Unmatched ( or \\(");
    mx_regex_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_match_whole),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_allowed),
        cmocka_unit_test(test_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
