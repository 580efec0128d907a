/* Registry client against real servers (label "registry"): run by
 * tests/registry/with-registries.sh, which starts Debian's docker-registry with htpasswd over
 * TLS, with token auth, and without auth, plus a deliberately flaky server, and pushes the test
 * images.  Retry waits go through a recording hook, so nothing here depends on timing. */
#include "test_util.h"

#include "mx_reg.h"
#include "mx_sha256.h"

#include <dirent.h>

typedef struct sleeps {
    long ms[16];
    int n;
} sleeps;

static void record_sleep(void *arg, long ms)
{
    sleeps *s = arg;
    if (s->n < 16) s->ms[s->n] = ms;
    s->n++;
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    if (!v || !*v) fail_msg("%s is not set: run under tests/registry/with-registries.sh", name);
    return v;
}

static mx_reg_client *client(const char *reg_env, const char *user, const char *pass, int tls,
                             sleeps *s)
{
    mx_reg_creds creds = {user, pass};
    mx_reg_opts o = {.insecure_http = !tls, .sleep_ms = record_sleep, .sleep_arg = s};
    if (tls) o.ca_file = env("MX_REG_TLS_CA");
    mx_err err;
    mx_reg_client *c = mx_reg_client_new(env(reg_env), user ? &creds : NULL, &o, &err);
    if (!c) fail_msg("%s", err.msg);
    return c;
}

static mx_reg_ref ref_on(const char *reg_env, const char *name)
{
    char *s = mx_xasprintf("%s/%s", env(reg_env), name);
    mx_reg_ref r;
    mx_err err;
    if (mx_reg_ref_parse(s, &r, &err) < 0) fail_msg("%s", err.msg);
    free(s);
    return r;
}

/* Every blob in an OCI layout hashes to its file name. */
static void check_layout(const char *dir, size_t expect_blobs)
{
    char *idx = mx_path_join(dir, "index.json");
    char *text = tu_read(idx);
    tu_assert_contains(text, "\"org.opencontainers.image.ref.name\":\"v1\"");
    free(text);
    free(idx);
    char *bdir = mx_xasprintf("%s/blobs/sha256", dir);
    size_t n = 0;
    DIR *d = opendir(bdir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *name = de->d_name;
        if (name[0] == '.') continue;
        tu_assert_not_contains(name, "partial");
        char *p = mx_path_join(bdir, name);
        mx_buf b;
        mx_buf_init(&b);
        mx_err err;
        if (mx_read_file(p, &b, &err) < 0) fail_msg("%s", err.msg);
        char dg[MX_SHA256_DIGEST_LEN];
        assert_int_equal(mx_sha256_digest(b.data ? b.data : "", b.len, dg, &err), 0);
        assert_string_equal(dg + 7, name);
        mx_buf_free(&b);
        free(p);
        n++;
    }
    closedir(d);
    assert_int_equal(n, expect_blobs);
    free(bdir);
}

static void test_ping(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    int auth = -1;
    mx_reg_client *c = client("MX_REG_OPEN", NULL, NULL, 0, &s);
    assert_int_equal(mx_reg_ping(c, &auth, &err), 0);
    assert_int_equal(auth, 0);
    mx_reg_client_free(c);
    c = client("MX_REG_TLS", NULL, NULL, 1, &s);
    assert_int_equal(mx_reg_ping(c, &auth, &err), 0);
    assert_int_equal(auth, 1);
    mx_reg_client_free(c);
    /* without the registry's CA the TLS handshake must fail, and say where */
    mx_reg_opts o = {0};
    c = mx_reg_client_new(env("MX_REG_TLS"), NULL, &o, &err);
    assert_non_null(c);
    assert_int_equal(mx_reg_ping(c, NULL, &err), -1);
    tu_assert_contains(err.msg, env("MX_REG_TLS"));
    tu_assert_contains(err.msg, "certificate");
    mx_reg_client_free(c);
    assert_int_equal(s.n, 0);
}

static void test_basic_tls_login_and_pull(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_TLS", "alice", "secret", 1, &s);
    if (mx_reg_login(c, &err) < 0) fail_msg("%s", err.msg);
    mx_reg_ref r = ref_on("MX_REG_TLS", "private/app:v1");
    char *dir = tu_mkdtemp();
    char *out = mx_path_join(dir, "img");
    if (mx_reg_pull_to_dir(c, &r, NULL, out, &err) < 0) fail_msg("%s", err.msg);
    check_layout(out, 4); /* manifest, config, 2 layers */
    mx_reg_manifest m;
    if (mx_reg_get_manifest(c, &r, NULL, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(m.media_type, MX_REG_MT_OCI_MANIFEST);
    assert_int_equal(m.nlayers, 2);
    assert_null(m.index_digest);
    /* the same manifest by digest */
    mx_reg_ref byd = ref_on("MX_REG_TLS", "private/app");
    free(byd.tag);
    byd.tag = NULL;
    byd.digest = mx_xstrdup(m.digest);
    mx_reg_manifest m2;
    if (mx_reg_get_manifest(c, &byd, NULL, &m2, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(m2.digest, m.digest);
    mx_reg_manifest_free(&m2);
    mx_reg_ref_free(&byd);
    mx_reg_manifest_free(&m);
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
    free(out);
    tu_rmdir(dir);
}

static void test_basic_wrong_password(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_TLS", "alice", "wrong", 1, &s);
    assert_int_equal(mx_reg_login(c, &err), -1);
    tu_assert_contains(err.msg, env("MX_REG_TLS"));
    tu_assert_contains(err.msg, "HTTP 401");
    mx_reg_ref r = ref_on("MX_REG_TLS", "private/app:v1");
    mx_reg_manifest m;
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, "registry "
                                "127.0.0.1");
    tu_assert_contains(err.msg, "HTTP 401 Unauthorized");
    assert_int_equal(err.status, MX_USAGE);
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
    /* no credentials at all */
    c = client("MX_REG_TLS", NULL, NULL, 1, &s);
    r = ref_on("MX_REG_TLS", "private/app:v1");
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, "HTTP 401");
    assert_int_equal(mx_reg_login(c, &err), -1);
    tu_assert_contains(err.msg, "needs a username");
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
    assert_int_equal(s.n, 0); /* a 401 is not retried */
}

static int log_has(const char *needle)
{
    char *t = tu_read(env("MX_REG_TOKEN_LOG"));
    int has = strstr(t, needle) != NULL;
    free(t);
    return has;
}

static void test_token_login_and_pull(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_TOKEN", "alice", "secret", 0, &s);
    if (mx_reg_login(c, &err) < 0) fail_msg("%s", err.msg);
    /* a login asks for a token with no scope */
    assert_true(log_has("{\"account\": \"alice\", \"ok\": true, \"scopes\": []"));
    mx_reg_ref r = ref_on("MX_REG_TOKEN", "private/app:v1");
    char *dir = tu_mkdtemp();
    if (mx_reg_pull_to_dir(c, &r, NULL, dir, &err) < 0) fail_msg("%s", err.msg);
    check_layout(dir, 4);
    assert_true(log_has("\"scopes\": [\"repository:private/app:pull\"]"));
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
    tu_rmdir(dir);
    /* a server that replies with access_token only */
    c = client("MX_REG_TOKEN", "oauth", "pw", 0, &s);
    r = ref_on("MX_REG_TOKEN", "private/oauth:v1");
    mx_reg_manifest m;
    if (mx_reg_get_manifest(c, &r, NULL, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(m.nlayers, 2);
    mx_reg_manifest_free(&m);
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
}

static void test_token_wrong_password(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_TOKEN", "alice", "nope", 0, &s);
    assert_int_equal(mx_reg_login(c, &err), -1);
    tu_assert_contains(err.msg, "registry "
                                "127.0.0.1");
    tu_assert_contains(err.msg, env("MX_REG_TOKEN"));
    tu_assert_contains(err.msg, "HTTP 401 Unauthorized");
    tu_assert_contains(err.msg, "incorrect username or password");
    mx_reg_client_free(c);
}

static void test_token_insufficient_scope(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    const char *users[][2] = {{"bob", "builder"}, {NULL, NULL}};
    for (int i = 0; i < 2; i++) {
        mx_reg_client *c = client("MX_REG_TOKEN", users[i][0], users[i][1], 0, &s);
        mx_reg_ref r = ref_on("MX_REG_TOKEN", "private/app:v1");
        mx_reg_manifest m;
        assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
        tu_assert_contains(err.msg, env("MX_REG_TOKEN"));
        tu_assert_contains(err.msg, "HTTP 401");
        tu_assert_contains(err.msg, "insufficient_scope");
        mx_reg_ref_free(&r);
        mx_reg_client_free(c);
    }
}

static int buf_write(void *arg, const void *data, size_t len)
{
    mx_buf_add(arg, data, len);
    return 0;
}

static int buf_reset(void *arg)
{
    ((mx_buf *)arg)->len = 0;
    return 0;
}

static const char *config_arch(mx_reg_client *c, const mx_reg_ref *r, const mx_reg_manifest *m,
                               char *out, size_t outlen)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_reg_sink sink = {buf_write, buf_reset, &b};
    mx_err err;
    if (mx_reg_fetch_blob(c, r->path, m->config.digest, m->config.size, &sink, &err) < 0)
        fail_msg("%s", err.msg);
    const char *a = strstr(b.data, "\"architecture\": \"");
    assert_non_null(a);
    a += strlen("\"architecture\": \"");
    snprintf(out, outlen, "%.*s", (int)strcspn(a, "\""), a);
    mx_buf_free(&b);
    return out;
}

static void test_manifest_list_platforms(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_OPEN", NULL, NULL, 0, &s);
    mx_reg_ref r = ref_on("MX_REG_OPEN", "multi/app:v1");
    mx_reg_manifest m;
    char arch[32];
    if (mx_reg_get_manifest(c, &r, NULL, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(m.config.digest, env("MX_REG_MULTI_AMD64_CONFIG"));
    assert_string_equal(m.index_media_type, MX_REG_MT_OCI_INDEX);
    assert_non_null(m.index_digest);
    assert_string_equal(config_arch(c, &r, &m, arch, sizeof arch), "amd64");
    mx_reg_manifest_free(&m);

    const mx_reg_platform arm64 = {"linux", "arm64", NULL}, armv8 = {"linux", "aarch64", "v8"},
                          armv7 = {"linux", "arm", "v7"}, armv6 = {"linux", "arm", "v6"},
                          s390 = {NULL, "s390x", NULL};
    if (mx_reg_get_manifest(c, &r, &arm64, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(config_arch(c, &r, &m, arch, sizeof arch), "arm64");
    mx_reg_manifest_free(&m);
    if (mx_reg_get_manifest(c, &r, &armv8, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(config_arch(c, &r, &m, arch, sizeof arch), "arm64");
    mx_reg_manifest_free(&m);
    if (mx_reg_get_manifest(c, &r, &armv7, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(config_arch(c, &r, &m, arch, sizeof arch), "arm");
    mx_reg_manifest_free(&m);
    assert_int_equal(mx_reg_get_manifest(c, &r, &armv6, &m, &err), -1);
    tu_assert_contains(err.msg, "no manifest for platform linux/arm/v6");
    assert_int_equal(mx_reg_get_manifest(c, &r, &s390, &m, &err), -1);
    tu_assert_contains(err.msg, "linux/s390x");
    mx_reg_ref_free(&r);

    /* a Docker manifest list resolves the same way */
    r = ref_on("MX_REG_OPEN", "multi/docker:v1");
    if (mx_reg_get_manifest(c, &r, NULL, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(m.index_media_type, MX_REG_MT_DOCKER_LIST);
    assert_string_equal(m.media_type, MX_REG_MT_DOCKER_MANIFEST);
    assert_string_equal(m.config.digest, env("MX_REG_MULTI_AMD64_CONFIG"));
    mx_reg_manifest_free(&m);
    if (mx_reg_get_manifest(c, &r, &arm64, &m, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(config_arch(c, &r, &m, arch, sizeof arch), "arm64");
    mx_reg_manifest_free(&m);
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
}

static void test_digest_mismatch(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_client *c = client("MX_REG_OPEN", NULL, NULL, 0, &s);
    mx_reg_ref r = ref_on("MX_REG_OPEN", "corrupt/img:v1");
    const char *bad = env("MX_REG_CORRUPT_DIGEST");
    char *dir = tu_mkdtemp();
    assert_int_equal(mx_reg_pull_to_dir(c, &r, NULL, dir, &err), -1);
    tu_assert_contains(err.msg, env("MX_REG_OPEN"));
    tu_assert_contains(err.msg, "digest mismatch");
    tu_assert_contains(err.msg, bad);
    /* nothing unverified is left under the blob's name */
    char *p = mx_xasprintf("%s/blobs/sha256/%s", dir, bad + 7);
    assert_false(mx_path_exists(p));
    char *partial = mx_xasprintf("%s.partial", p);
    assert_false(mx_path_exists(partial));
    free(partial);
    /* the serial path too */
    assert_int_equal(mx_reg_fetch_blob_to_file(c, r.path, bad, -1, p, &err), -1);
    tu_assert_contains(err.msg, "digest mismatch");
    assert_false(mx_path_exists(p));
    free(p);
    mx_reg_ref_free(&r);
    mx_reg_client_free(c);
    tu_rmdir(dir);
    assert_int_equal(s.n, 0); /* corruption is not transient */
}

static void test_retries(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    /* two 503s with Retry-After: 1, then 200 */
    mx_reg_client *c = client("MX_REG_FLAKY", NULL, NULL, 0, &s);
    if (mx_reg_ping(c, NULL, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.ms[0], 1000);
    assert_int_equal(s.ms[1], 1000);
    /* always 429: gives up after the bounded number of retries, naming the status */
    s.n = 0;
    mx_reg_ref r = ref_on("MX_REG_FLAKY", "busy/app:v1");
    mx_reg_manifest m;
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, env("MX_REG_FLAKY"));
    tu_assert_contains(err.msg, "HTTP 429 Too Many Requests");
    tu_assert_contains(err.msg, "slow down");
    assert_int_equal(err.status, MX_INFRA);
    assert_int_equal(s.n, mx_reg_backoff_default.max_retries);
    for (int i = 0; i < s.n; i++)
        assert_int_equal(s.ms[i], 2000);
    mx_reg_ref_free(&r);
    /* a Retry-After date in the past: retry at once */
    s.n = 0;
    r = ref_on("MX_REG_FLAKY", "date/app:v1");
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, "HTTP 404 Not Found");
    assert_int_equal(s.n, 1);
    assert_int_equal(s.ms[0], 0);
    mx_reg_ref_free(&r);
    /* a blob cut off half-way: the sink is reset and the retry verified from the start */
    s.n = 0;
    mx_buf want, got;
    mx_buf_init(&want);
    mx_buf_init(&got);
    for (int i = 0; i < 4096; i++)
        mx_buf_adds(&want, "mexec-blob-content\n");
    char dg[MX_SHA256_DIGEST_LEN];
    assert_int_equal(mx_sha256_digest(want.data, want.len, dg, &err), 0);
    mx_reg_sink sink = {buf_write, buf_reset, &got};
    if (mx_reg_fetch_blob(c, "cut", dg, (long long)want.len, &sink, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(s.n, 1);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    mx_buf_free(&want);
    mx_buf_free(&got);
    mx_reg_client_free(c);

    /* connection refused: computed backoff, bounded */
    s.n = 0;
    c = client("MX_REG_DEAD", NULL, NULL, 0, &s);
    assert_int_equal(mx_reg_ping(c, NULL, &err), -1);
    tu_assert_contains(err.msg, env("MX_REG_DEAD"));
    assert_int_equal(s.n, mx_reg_backoff_default.max_retries);
    for (int i = 1; i < s.n; i++)
        assert_true(s.ms[i] <= mx_reg_backoff_default.max_ms);
    mx_reg_client_free(c);
}

/* A registry on plain http naming a token realm on another host (127.0.0.2, loopback still):
 * credentials are not sent there, and the refusal says why; without credentials the token is
 * fetched anonymously (issue 11, item 8; the rule itself: mx_reg_token_test). */
static void test_realm_on_another_host(void **state)
{
    (void)state;
    sleeps s = {0};
    mx_err err;
    mx_reg_ref r = ref_on("MX_REG_FLAKY", "realm-elsewhere/app:v1");
    mx_reg_manifest m;
    mx_reg_client *c = client("MX_REG_FLAKY", "alice", "secret", 0, &s);
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, "token realm http://127.0.0.2:");
    tu_assert_contains(err.msg, "is plain http on another host than the registry");
    tu_assert_not_contains(err.msg, "secret");
    mx_reg_client_free(c);
    c = client("MX_REG_FLAKY", NULL, NULL, 0, &s);
    assert_int_equal(mx_reg_get_manifest(c, &r, NULL, &m, &err), -1);
    tu_assert_contains(err.msg, "HTTP 404 Not Found"); /* got a token, then: no such image */
    mx_reg_client_free(c);
    mx_reg_ref_free(&r);
    /* the realm was asked once, anonymously; no Basic header ever reached it */
    char *log = tu_read(env("MX_REG_FLAKY_REALM_LOG"));
    assert_string_equal(log, "\"\"\n");
    free(log);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ping),
        cmocka_unit_test(test_basic_tls_login_and_pull),
        cmocka_unit_test(test_basic_wrong_password),
        cmocka_unit_test(test_token_login_and_pull),
        cmocka_unit_test(test_token_wrong_password),
        cmocka_unit_test(test_token_insufficient_scope),
        cmocka_unit_test(test_realm_on_another_host),
        cmocka_unit_test(test_manifest_list_platforms),
        cmocka_unit_test(test_digest_mismatch),
        cmocka_unit_test(test_retries),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
