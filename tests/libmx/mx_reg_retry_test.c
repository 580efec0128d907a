/* mx_reg_retry and mx_sha256: which failures are retried, how Retry-After is read, how the
 * wait grows (all computed, nothing slept), and the digest helper against known vectors. */
#include "test_util.h"

#include "mx_reg_retry.h"
#include "mx_sha256.h"

static void test_retryable(void **state)
{
    (void)state;
    static const long yes[] = {408, 429, 500, 502, 503, 504};
    static const long no[] = {200, 301, 400, 401, 403, 404, 416, 501, 505};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        assert_true(mx_reg_retryable_http(yes[i]));
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        assert_false(mx_reg_retryable_http(no[i]));
    assert_true(mx_reg_retryable_curl(CURLE_COULDNT_CONNECT));
    assert_true(mx_reg_retryable_curl(CURLE_RECV_ERROR));
    assert_true(mx_reg_retryable_curl(CURLE_GOT_NOTHING));
    assert_true(mx_reg_retryable_curl(CURLE_PARTIAL_FILE));
    assert_false(mx_reg_retryable_curl(CURLE_PEER_FAILED_VERIFICATION));
    assert_false(mx_reg_retryable_curl(CURLE_WRITE_ERROR));
    assert_false(mx_reg_retryable_curl(CURLE_URL_MALFORMAT));
}

static void test_retry_after(void **state)
{
    (void)state;
    time_t now = 1445412480; /* Wed, 21 Oct 2015 07:28:00 GMT */
    assert_int_equal(mx_reg_retry_after_ms("5", now), 5000);
    assert_int_equal(mx_reg_retry_after_ms(" 0 ", now), 0);
    assert_int_equal(mx_reg_retry_after_ms("120", now), 120000);
    assert_int_equal(mx_reg_retry_after_ms("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
    assert_int_equal(mx_reg_retry_after_ms("Wed, 21 Oct 2015 07:20:00 GMT", now), 0);
    assert_int_equal(mx_reg_retry_after_ms("99999999999999999999999", now), LONG_MAX);
    assert_int_equal(mx_reg_retry_after_ms(NULL, now), -1);
    assert_int_equal(mx_reg_retry_after_ms("", now), -1);
    assert_int_equal(mx_reg_retry_after_ms("soon", now), -1);
    assert_int_equal(mx_reg_retry_after_ms("5s", now), -1);
    assert_int_equal(mx_reg_retry_after_ms("-5", now), -1);
}

static void test_backoff(void **state)
{
    (void)state;
    const mx_reg_backoff b = {
        .max_retries = 4, .base_ms = 250, .max_ms = 8000, .retry_after_max_ms = 60000};
    const double top = 0.999999; /* jitter at its maximum: the full computed wait */
    assert_int_equal(mx_reg_backoff_ms(&b, 0, -1, top), 249);
    assert_in_range(mx_reg_backoff_ms(&b, 1, -1, top), 499, 500);
    assert_in_range(mx_reg_backoff_ms(&b, 2, -1, top), 999, 1000);
    assert_in_range(mx_reg_backoff_ms(&b, 10, -1, top), 7999, 8000); /* capped */
    assert_in_range(mx_reg_backoff_ms(&b, 1000, -1, top), 7999, 8000);
    /* jitter spreads over [50%, 100%] */
    assert_int_equal(mx_reg_backoff_ms(&b, 2, -1, 0.0), 500);
    assert_int_equal(mx_reg_backoff_ms(&b, 2, -1, -3.0), 500);
    assert_in_range(mx_reg_backoff_ms(&b, 2, -1, 7.0), 999, 1000);
    /* the server's Retry-After wins, capped */
    assert_int_equal(mx_reg_backoff_ms(&b, 0, 3000, top), 3000);
    assert_int_equal(mx_reg_backoff_ms(&b, 3, 0, top), 0);
    assert_int_equal(mx_reg_backoff_ms(&b, 0, LONG_MAX, top), 60000);
    assert_int_equal(mx_reg_backoff_default.max_retries, 4);
}

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
        cmocka_unit_test(test_retryable),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_sha256),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
