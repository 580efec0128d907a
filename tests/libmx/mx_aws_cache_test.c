/* The ECR token cache: freshness rule (expiresAt, the 12 h cap, the refresh margin), the
 * identity key a token is filed under, and the file it keeps. */
#include "test_util.h"
#include "mx_aws.h"

#define ID_A "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID_B "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"

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
    assert_int_equal(mx_aws_cache_store(dir, "123456789012", "eu-west-1", ID_A, &t, &err), 0);
    char *file = mx_path_join(dir, "ecr-123456789012-eu-west-1-" ID_A ".json");
    assert_int_equal(tu_mode(file), 0600);
    mx_ecr_token got;
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "eu-west-1", ID_A, t0 + 60, 3600, &got, &err), 1);
    assert_string_equal(got.password, "cached-ecr-password");
    assert_int_equal(got.expires_at, t0 + 43200);
    mx_ecr_token_free(&got);
    /* another identity: a miss, whatever the account and region */
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "eu-west-1", ID_B, t0 + 60, 3600, &got, &err), 0);
    assert_null(got.password);
    /* stale: a miss, never handed out */
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "eu-west-1", ID_A, t0 + 40000, 3600, &got, &err), 0);
    assert_null(got.password);
    /* other region: a miss */
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "us-east-1", ID_A, t0, 3600, &got, &err), 0);
    /* a corrupt file is a miss, not an error */
    tu_write_free(dir, "ecr-123456789012-us-east-2-" ID_A ".json", "{not json");
    assert_int_equal(
        mx_aws_cache_load(dir, "123456789012", "us-east-2", ID_A, t0, 3600, &got, &err), 0);
    /* names that could leave the directory are refused */
    assert_int_equal(mx_aws_cache_load(dir, "../../etc", "us-east-1", ID_A, t0, 3600, &got, &err),
                     -1);
    assert_int_equal(mx_aws_cache_store(dir, "123456789012", "../x", ID_A, &t, &err), -1);
    assert_int_equal(mx_aws_cache_store(dir, "123456789012", "us-east-1", "../../x", &t, &err), -1);
    free(file);
    tu_rmdir(dir);
}

/* Same credentials, same key; any difference (secret, session token, keys vs role, token),
 * another key; no credentials, no key. */
static void test_identity_key(void **state)
{
    (void)state;
    mx_aws_auth a = {.access_key_id = "AKIDEXAMPLE", .secret_access_key = "secret-1"};
    mx_aws_auth same = a, other_secret = a, with_session = a;
    other_secret.secret_access_key = "secret-2";
    with_session.session_token = "session-1";
    mx_aws_auth role = {.role_arn = "arn:aws:iam::123456789012:role/r"};
    /* the fields are length-prefixed: moving a character across a boundary is another identity */
    mx_aws_auth shifted = {.access_key_id = "AKIDEXAMPLEs", .secret_access_key = "ecret-1"};
    char *ka = mx_aws_identity_key(&a, NULL), *ks = mx_aws_identity_key(&same, NULL);
    char *ko = mx_aws_identity_key(&other_secret, NULL);
    char *kt = mx_aws_identity_key(&with_session, NULL);
    char *kr1 = mx_aws_identity_key(&role, "oidc-token-1");
    char *kr2 = mx_aws_identity_key(&role, "oidc-token-2");
    char *kh = mx_aws_identity_key(&shifted, NULL);
    assert_non_null(ka);
    assert_int_equal(strlen(ka), 64);
    assert_string_equal(ka, ks);
    const char *all[] = {ka, ko, kt, kr1, kr2, kh};
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++)
            assert_string_not_equal(all[i], all[j]);
    tu_assert_not_contains(ka, "secret-1");
    mx_aws_auth none = {.access_key_id = "AKIDEXAMPLE"};
    assert_null(mx_aws_identity_key(&none, NULL));
    assert_null(mx_aws_identity_key(&role, NULL));
    free(ka), free(ks), free(ko), free(kt), free(kr1), free(kr2), free(kh);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_freshness),
        cmocka_unit_test(test_identity_key),
        cmocka_unit_test(test_store_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
