/* mx_b64: RFC 4648 vectors, binary round trips, and refusal of malformed input. */
#include "test_util.h"

#include "mx_b64.h"

static void test_rfc4648_vectors(void **state)
{
    (void)state;
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) {
        char *e = mx_b64_encode(plain[i], strlen(plain[i]));
        assert_string_equal(e, coded[i]);
        free(e);
        size_t n = 12345;
        unsigned char *d = mx_b64_decode(coded[i], &n);
        assert_non_null(d);
        assert_int_equal(n, strlen(plain[i]));
        assert_memory_equal(d, plain[i], n);
        assert_int_equal(d[n], '\0'); /* decoded text is NUL-terminated for convenience */
        free(d);
    }
}

static void test_empty_input(void **state)
{
    (void)state;
    char *e = mx_b64_encode(NULL, 0);
    assert_string_equal(e, "");
    free(e);
}

static void test_binary_round_trip(void **state)
{
    (void)state;
    unsigned char data[1024];
    unsigned x = 7;
    for (size_t i = 0; i < sizeof data; i++) {
        x = x * 1103515245u + 12345u;
        data[i] = (unsigned char)(x >> 16);
    }
    data[0] = 0;
    data[1] = 0xff;
    for (size_t len = 0; len <= sizeof data; len += len < 16 ? 1 : 61) {
        char *e = mx_b64_encode(data, len);
        assert_int_equal(strlen(e), 4 * ((len + 2) / 3));
        for (const char *p = e; *p; p++)
            assert_non_null(
                strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", *p));
        size_t n = 0;
        unsigned char *d = mx_b64_decode(e, &n);
        assert_non_null(d);
        assert_int_equal(n, len);
        if (len) assert_memory_equal(d, data, len);
        free(d);
        free(e);
    }
}

static void test_large_round_trip(void **state)
{
    (void)state;
    /* larger than one internal slice (3 MiB encode / 4 MiB decode) */
    size_t len = 7u * 1024 * 1024 + 1;
    unsigned char *data = mx_xmalloc(len);
    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 31 + (i >> 9));
    char *e = mx_b64_encode(data, len);
    assert_int_equal(strlen(e), 4 * ((len + 2) / 3));
    size_t n = 0;
    unsigned char *d = mx_b64_decode(e, &n);
    assert_non_null(d);
    assert_int_equal(n, len);
    assert_memory_equal(d, data, len);
    free(d);
    free(e);
    free(data);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"Z",     "Zg",       "Zg=",  "Zm9",  "Zg==\n",          "Zm 9v", " Zm9v",
                         "Zm9v ", "Zm9v\t",   "Zm9-", "Zm9_", "Zm9v!",           "====",  "Z===",
                         "Zg=v",  "Zg==Zg==", "=Zm9", "Z=g=", "\xc3\xa9\xc3\xa9"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        size_t n = 0;
        unsigned char *d = mx_b64_decode(bad[i], &n);
        if (d) {
            free(d);
            fail_msg("accepted malformed base64 \"%s\"", bad[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc4648_vectors),   cmocka_unit_test(test_empty_input),
        cmocka_unit_test(test_binary_round_trip), cmocka_unit_test(test_large_round_trip),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
