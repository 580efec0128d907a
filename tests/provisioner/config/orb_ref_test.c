/* Orb references, versions, the cache and the lock file (orb_ref.c, orb_cache.c,
 * orb_resolve.c) without a registry; orb_registry_test.sh covers the API end to end. */
#include "test_util.h"

#include "orb_registry.h"

static void test_refs(void **state)
{
    (void)state;
    char *id, *v;
    assert_int_equal(mx_orb_ref_split("circleci/node@5.2.0", &id, &v), 0);
    assert_string_equal(id, "circleci/node");
    assert_string_equal(v, "5.2.0");
    free(id), free(v);
    assert_int_equal(mx_orb_ref_split("ns/name", &id, &v), 0);
    assert_string_equal(v, "volatile");
    free(id), free(v);
    assert_int_equal(mx_orb_ref_split("ns/name@dev:alpha", &id, &v), 0);
    free(id), free(v);
    /* what would leave the cache directory, or is no reference */
    static const char *const bad[] = {"node@5",  "ns/@1",    "/name@1",  "ns/../x@1",
                                      "ns/.x@1", "ns/a/b@1", "ns/a@..",  "ns/a@1/2",
                                      "ns/a@",   "n s/a@1",  "ns/a@1..2"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        if (mx_orb_ref_split(bad[i], &id, &v) == 0) fail_msg("accepted %s", bad[i]);
}

static void test_versions(void **state)
{
    (void)state;
    assert_true(mx_orb_version_exact("1.2.3"));
    assert_true(mx_orb_version_exact("dev:blue"));
    assert_false(mx_orb_version_exact("1.2"));
    assert_false(mx_orb_version_exact("volatile"));
    assert_false(mx_orb_version_exact("1.2.3.4"));
    assert_false(mx_orb_version_exact("1..3"));
    assert_true(mx_orb_version_matches("5.2.0", "5"));
    assert_true(mx_orb_version_matches("5.2.0", "5.2"));
    assert_true(mx_orb_version_matches("5.2.0", "volatile"));
    assert_true(mx_orb_version_matches("5.2.0", "5.2.0"));
    assert_false(mx_orb_version_matches("5.2.0", "5.1"));
    assert_false(mx_orb_version_matches("15.0.0", "1"));
    assert_false(mx_orb_version_matches("dev:x", "volatile"));
    assert_true(mx_orb_version_cmp("5.10.0", "5.9.9") > 0);
    assert_true(mx_orb_version_cmp("1.0.0", "1.0.1") < 0);
    assert_int_equal(mx_orb_version_cmp("2.0.0", "2.0.0"), 0);
}

static void test_cache(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_err err;
    char d1[MX_SHA256_DIGEST_LEN], d2[MX_SHA256_DIGEST_LEN];
    const char *src = "version: 2.1\n";
    assert_int_equal(mx_orb_cache_put(dir, "acme/x", "1.2.0", src, strlen(src), d1, &err), 0);
    assert_int_equal(mx_orb_cache_put(dir, "acme/x", "1.10.0", src, strlen(src), d1, &err), 0);
    assert_int_equal(mx_orb_cache_put(dir, "acme/x", "2.0.0", src, strlen(src), d1, &err), 0);
    mx_buf b;
    mx_buf_init(&b);
    char *why = NULL;
    assert_int_equal(mx_orb_cache_get(dir, "acme/x", "1.2.0", &b, d2, &why, &err), 1);
    assert_string_equal(d1, d2);
    assert_int_equal(b.len, strlen(src));
    mx_buf_free(&b);
    char *n = mx_orb_cache_newest(dir, "acme/x", "1");
    assert_string_equal(n, "1.10.0");
    free(n);
    n = mx_orb_cache_newest(dir, "acme/x", "volatile");
    assert_string_equal(n, "2.0.0");
    free(n);
    assert_null(mx_orb_cache_newest(dir, "acme/x", "3"));
    assert_null(mx_orb_cache_newest(dir, "acme/none", "1"));
    /* an edited copy no longer matches its digest: not used */
    char *p = mx_xasprintf("%s/acme/x/1.2.0.yml", dir);
    FILE *f = fopen(p, "a");
    assert_non_null(f);
    fputs("# edited\n", f);
    fclose(f);
    mx_buf_init(&b);
    assert_int_equal(mx_orb_cache_get(dir, "acme/x", "1.2.0", &b, d2, &why, &err), 0);
    assert_non_null(strstr(why, "does not match its digest"));
    free(why);
    mx_buf_free(&b);
    assert_int_equal(mx_orb_cache_get(dir, "acme/x", "9.9.9", &b, d2, &why, &err), 0);
    assert_null(why);
    free(p);
    tu_rmdir(dir);
}

static void lock_fails(const char *dir, const char *text, const char *want)
{
    char *path = tu_write(dir, "mexec-orbs.lock", text);
    mx_orb_resolver r;
    mx_err err;
    int rc = mx_orb_resolver_init(&r, NULL, dir, path, &err);
    mx_orb_resolver_free(&r);
    if (rc == 0) fail_msg("accepted lock file:\n%s", text);
    assert_int_equal(err.status, MX_USAGE);
    if (!strstr(err.msg, want)) fail_msg("error \"%s\", want \"%s\"", err.msg, want);
    free(path);
}

/* Offline with a lock: the pinned version from the cache; nothing pinned and nothing cached is
 * missing, with the reason; the lock file is written back only when something changed. */
static void test_lock_offline(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    mx_err err;
    char d[MX_SHA256_DIGEST_LEN];
    const char *src = "version: 2.1\ndescription: pinned\n";
    assert_int_equal(mx_orb_cache_put(dir, "acme/x", "1.2.0", src, strlen(src), d, &err), 0);
    assert_int_equal(mx_orb_cache_put(dir, "acme/x", "1.3.0", "x: 1\n", 5, d, &err), 0);
    char *lock = mx_xasprintf("%s/mexec-orbs.lock", dir);
    char *text = NULL;
    {
        char pinned[MX_SHA256_DIGEST_LEN];
        assert_int_equal(mx_sha256_digest(src, strlen(src), pinned, &err), 0);
        text = mx_xasprintf("acme/x@1:\n  version: 1.2.0\n  digest: %s\n", pinned);
    }
    free(tu_write(dir, "mexec-orbs.lock", text));
    mx_orb_resolver r;
    assert_int_equal(mx_orb_resolver_init(&r, NULL, dir, lock, &err), 0);
    enum mx_orb_how how;
    char *version = NULL, *why = NULL;
    mx_buf b;
    mx_buf_init(&b);
    assert_int_equal(mx_orb_resolve(&r, "acme/x@1", &how, &version, &b, &why, &err), 0);
    assert_int_equal(how, MX_ORB_FROM_CACHE);
    assert_string_equal(version, "1.2.0"); /* the lock's, not the newest cached */
    free(version);
    mx_buf_free(&b);
    assert_int_equal(mx_orb_resolve(&r, "acme/x@1.3", &how, &version, &b, &why, &err), 0);
    assert_string_equal(version, "1.3.0");
    free(version);
    mx_buf_free(&b);
    assert_int_equal(mx_orb_resolve(&r, "acme/y@1", &how, &version, &b, &why, &err), 0);
    assert_int_equal(how, MX_ORB_MISSING);
    assert_non_null(strstr(why, "offline (no orb registry)"));
    free(why);
    mx_buf_free(&b);
    assert_int_equal(mx_orb_resolver_save(&r, &err), 0);
    mx_orb_resolver_free(&r);
    char *saved = tu_read(lock);
    assert_non_null(strstr(saved, "acme/x@1:"));
    assert_non_null(strstr(saved, "acme/x@1.3:\n  version: 1.3.0\n"));
    free(saved);

    lock_fails(dir, "- a list\n", "an orb lock file is a map");
    lock_fails(dir, "acme/x@1: {version: 1.2}\n", "orb lock entry \"acme/x@1\" is not");
    lock_fails(dir, "acme/x@1: {version: 1.2.0, digest: md5:00}\n", "orb lock entry");
    lock_fails(dir, "../x@1: {version: 1.2.0, digest: sha256:00}\n", "orb lock entry");
    free(text);
    free(lock);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_lock_offline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
