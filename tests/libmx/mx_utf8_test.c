/* mx_utf8: jansson's idea of UTF-8, so what passes here encodes, and the repair of the rest. */
#include "test_util.h"

#include "mx_utf8.h"

#include <jansson.h>

static void test_valid(void **state)
{
    (void)state;
    static const char *const good[] = {"",
                                       "ascii",
                                       "gr\xc3\xbc\xc3\x9f",
                                       "\xe2\x82\xac",
                                       "\xf0\x9f\x98\x80",
                                       "\xf4\x8f\xbf\xbf",
                                       "\xed\x9f\xbf"};
    static const char *const bad[] = {"\xff",
                                      "\xc0\x80", /* overlong NUL */
                                      "\xc3",
                                      "\xe0\x80\x80", /* overlong */
                                      "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80", /* surrogate; above U+10FFFF */
                                      "\xf8\x88\x80\x80\x80",
                                      "a\x80",
                                      "\xe2\x82"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        assert_true(mx_utf8_valid(good[i], strlen(good[i])));
        json_t *j = json_string(good[i]);
        assert_non_null(j); /* jansson agrees */
        json_decref(j);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (mx_utf8_valid(bad[i], strlen(bad[i]))) fail_msg("accepted bad[%zu]", i);
        assert_null(json_string(bad[i])); /* jansson agrees */
    }
    assert_int_equal(mx_utf8_seq((const unsigned char *)"\xe2\x82", 2), MX_UTF8_SHORT);
    assert_int_equal(mx_utf8_seq((const unsigned char *)"\xe2\x82\xac", 3), 3);
    assert_int_equal(mx_utf8_seq((const unsigned char *)"\xe2(", 2), 0);
}

static void test_lossy(void **state)
{
    (void)state;
    char *s = mx_utf8_lossy("br\xe4nch-\xc3\xa4\xff");
    assert_string_equal(s, "br\xef\xbf\xbdnch-\xc3\xa4\xef\xbf\xbd");
    assert_true(mx_utf8_valid(s, strlen(s)));
    free(s);
    s = mx_utf8_lossy("");
    assert_string_equal(s, "");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_lossy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
