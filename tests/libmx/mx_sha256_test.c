/* mx_sha256: the digest helper against known vectors (FIPS 180-2), one shot and streamed. */
#include "test_util.h"

#include "mx_sha256.h"

static void test_sha256(void **state)
{
    (void)state;
    char d[MX_SHA256_DIGEST_LEN];
    mx_err err;
    assert_int_equal(mx_sha256_digest("", 0, d, &err), 0);
    assert_string_equal(d,
                        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_int_equal(mx_sha256_digest("abc", 3, d, &err), 0);
    assert_string_equal(d,
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    /* streamed in pieces == one shot */
    mx_sha256 h;
    assert_int_equal(mx_sha256_init(&h, &err), 0);
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    for (const char *p = msg; *p; p++)
        mx_sha256_update(&h, p, 1);
    assert_int_equal(mx_sha256_final(&h, d, &err), 0);
    assert_string_equal(d,
                        "sha256:248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    mx_sha256_free(&h); /* harmless after final */
    mx_sha256 z = {0};
    mx_sha256_free(&z);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
