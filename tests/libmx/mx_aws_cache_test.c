/* The ECR token cache: freshness rule (expiresAt, the 12 h cap, the refresh margin) and the
 * file it keeps. */
#include "test_util.h"
#include "mx_aws.h"

static void test_freshness(void **state)
{
    (void)state;
    const time_t t0 = 1800000000;
    mx_ecr_token t = {.password = "x", .obtained_at = t0, .expires_at = t0 + 12 * 3600};
    assert_true(mx_ecr_token_fresh(&t, t0, 3600));
    assert_true(mx_ecr_token_fresh(&t, t0 + 11 * 3600 - 1, 3600));
    assert_false(mx_ecr_token_fresh(&t, t0 + 11 * 3600, 3600)); /* inside the margin */
    assert_false(mx_ecr_token_fresh(&t, t0 + 13 * 3600, 3600));
    /* an expiresAt beyond 12 h is not believed */
    t.expires_at = t0 + 48 * 3600;
    assert_false(mx_ecr_token_fresh(&t, t0 + 11 * 3600 + 1, 3600));
    /* an earlier expiresAt wins */
    t.expires_at = t0 + 3600;
    assert_false(mx_ecr_token_fresh(&t, t0 + 1, 3600));
    assert_true(mx_ecr_token_fresh(&t, t0 + 1, 60));
    t.password = NULL;
    assert_false(mx_ecr_token_fresh(&t, t0, 0));
}

static void test_store_load(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    const time_t t0 = 1800000000;
    mx_ecr_token t = {.username = "AWS",
                      .password = "cached-ecr-password",
                      .obtained_at = t0,
                      .expires_at = t0 + 43200,
                      .proxy_endpoint = "https://123456789012.dkr.ecr.eu-west-1.amazonaws.com"};
    mx_err err = {0};
    assert_int_equal(mx_aws_cache_store(dir, "123456789012", "eu-west-1", &t, &err), 0);
    char *file = mx_path_join(dir, "ecr-123456789012-eu-west-1.json");
    assert_int_equal(tu_mode(file), 0600);
    mx_ecr_token got;
    assert_int_equal(mx_aws_cache_load(dir, "123456789012", "eu-west-1", t0 + 60, 3600, &got, &err),
                     1);
    assert_string_equal(got.password, "cached-ecr-password");
    assert_int_equal(got.expires_at, t0 + 43200);
    mx_ecr_token_free(&got);
    /* stale: a miss, never handed out */
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "eu-west-1", t0 + 40000, 3600, &got, &err), 0);
    assert_null(got.password);
    /* other region: a miss */
    assert_int_equal(mx_aws_cache_load(dir, "123456789012", "us-east-1", t0, 3600, &got, &err), 0);
    /* a corrupt file is a miss, not an error */
    tu_write_free(dir, "ecr-123456789012-us-east-2.json", "{not json");
    assert_int_equal(mx_aws_cache_load(dir, "123456789012", "us-east-2", t0, 3600, &got, &err), 0);
    /* names that could leave the directory are refused */
    assert_int_equal(mx_aws_cache_load(dir, "../../etc", "us-east-1", t0, 3600, &got, &err), -1);
    assert_int_equal(mx_aws_cache_store(dir, "123456789012", "../x", &t, &err), -1);
    free(file);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_store_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
