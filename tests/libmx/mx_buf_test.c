/* mx_buf and the allocation helpers: growth, NUL termination, XML escaping, consume, steal. */
#include "test_util.h"

#include <errno.h>

static void test_add_and_grow(void **state)
{
    (void)state;
    mx_buf b;
    mx_buf_init(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    mx_buf_add(&b, "", 0);
    assert_non_null(b.data); /* even an empty add leaves a valid string */
    assert_string_equal(b.data, "");
    for (int i = 0; i < 1000; i++) {
        mx_buf_add(&b, "0123456789", 10);
        assert_int_equal(b.len, (size_t)(i + 1) * 10);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
    }
    assert_memory_equal(b.data + 9990, "0123456789", 10);
    mx_buf_add(&b, "a\0b", 3); /* binary data is kept as is */
    assert_int_equal(b.len, 10003);
    assert_memory_equal(b.data + 10000, "a\0b", 4);
    mx_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.cap, 0);
}

static void test_adds_printf(void **state)
{
    (void)state;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "x=");
    mx_buf_printf(&b, "%d,%s,%05.1f", 42, "str", 3.14159);
    assert_string_equal(b.data, "x=42,str,003.1");
    /* a formatted piece longer than the current capacity */
    char big[5000];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    mx_buf_printf(&b, "[%s]", big);
    assert_int_equal(b.len, 14 + 2 + 4999);
    assert_int_equal(b.data[14], '[');
    assert_int_equal(b.data[b.len - 1], ']');
    assert_int_equal(b.data[b.len], '\0');
    mx_buf_printf(&b, "%s", "");
    assert_int_equal(b.len, 14 + 2 + 4999);
    mx_buf_free(&b);
}

static void test_add_xml(void **state)
{
    (void)state;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_add_xml(&b, "a&b<c>d'e\"f \xc3\xa9 &amp;");
    assert_string_equal(b.data, "a&amp;b&lt;c&gt;d&apos;e&quot;f \xc3\xa9 &amp;amp;");
    mx_buf_free(&b);
    mx_buf_add_xml(&b, "");
    /* escaping nothing may leave no allocation, but never a dangling state */
    assert_int_equal(b.len, 0);
    mx_buf_free(&b);
}

static void test_consume(void **state)
{
    (void)state;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_consume(&b, 5); /* on an empty buffer: nothing happens */
    assert_int_equal(b.len, 0);
    mx_buf_adds(&b, "hello world");
    mx_buf_consume(&b, 0);
    assert_string_equal(b.data, "hello world");
    mx_buf_consume(&b, 6);
    assert_string_equal(b.data, "world");
    assert_int_equal(b.len, 5);
    mx_buf_consume(&b, 5);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    mx_buf_adds(&b, "abc");
    mx_buf_consume(&b, 100);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.data, "");
    mx_buf_adds(&b, "again");
    assert_string_equal(b.data, "again");
    mx_buf_free(&b);
}

static void test_steal(void **state)
{
    (void)state;
    mx_buf b;
    mx_buf_init(&b);
    char *s = mx_buf_steal(&b); /* nothing added: still a string */
    assert_string_equal(s, "");
    free(s);
    mx_buf_adds(&b, "owned");
    s = mx_buf_steal(&b);
    assert_string_equal(s, "owned");
    assert_null(b.data);
    assert_int_equal(b.len, 0);
    mx_buf_adds(&b, "new"); /* the buffer is reusable after a steal */
    assert_string_equal(b.data, "new");
    assert_string_equal(s, "owned");
    free(s);
    mx_buf_free(&b);
}

static void test_alloc_helpers(void **state)
{
    (void)state;
    char *p = mx_xmalloc(0); /* zero-size requests give a freeable pointer */
    assert_non_null(p);
    free(p);
    int *z = mx_xcalloc(16, sizeof *z);
    for (int i = 0; i < 16; i++)
        assert_int_equal(z[i], 0);
    z = mx_xrealloc(z, 1024 * sizeof *z);
    assert_int_equal(z[15], 0);
    free(z);
    p = mx_xcalloc(0, 0);
    assert_non_null(p);
    free(p);
    p = mx_xstrdup("dup");
    assert_string_equal(p, "dup");
    free(p);
    p = mx_xstrndup("abcdef", 3);
    assert_string_equal(p, "abc");
    free(p);
    p = mx_xstrndup("ab", 10);
    assert_string_equal(p, "ab");
    free(p);
    p = mx_xasprintf("%s-%d-%c", "x", -7, 'z');
    assert_string_equal(p, "x--7-z");
    free(p);
}

static void test_err(void **state)
{
    (void)state;
    mx_err e;
    mx_err_clear(&e);
    assert_int_equal(e.status, MX_OK);
    assert_string_equal(e.msg, "");
    assert_int_equal(mx_fail(&e, MX_USAGE, "bad %s %d", "thing", 3), -1);
    assert_int_equal(e.status, MX_USAGE);
    assert_string_equal(e.msg, "bad thing 3");
    assert_int_equal(mx_wrap(&e, "load %s", "x.yml"), -1);
    assert_string_equal(e.msg, "load x.yml: bad thing 3");
    assert_int_equal(e.status, MX_USAGE); /* wrapping keeps the status */
    assert_int_equal(mx_fail(NULL, MX_INFRA, "ignored"), -1);
    assert_int_equal(mx_wrap(NULL, "ignored"), -1);
    errno = ENOENT;
    assert_int_equal(mx_fail_errno(&e, MX_INFRA, "open %s", "/nope"), -1);
    assert_string_equal(e.msg, "open /nope: No such file or directory");
    assert_int_equal(errno, ENOENT);
    assert_int_equal(e.status, MX_INFRA);
    /* a very long message is cut, context first, and stays a string */
    char longer[4000];
    memset(longer, 'm', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    mx_fail(&e, MX_INFRA, "%s", longer);
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    mx_wrap(&e, "ctx");
    assert_int_equal(strlen(e.msg), sizeof e.msg - 1);
    assert_memory_equal(e.msg, "ctx: mmm", 8);
    memset(longer, 'c', sizeof longer - 1);
    mx_wrap(&e, "%s", longer);
    assert_true(strlen(e.msg) < sizeof e.msg);
    assert_int_equal(e.msg[0], 'c');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_add_and_grow), cmocka_unit_test(test_adds_printf),
        cmocka_unit_test(test_add_xml),      cmocka_unit_test(test_consume),
        cmocka_unit_test(test_steal),        cmocka_unit_test(test_alloc_helpers),
        cmocka_unit_test(test_err),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
