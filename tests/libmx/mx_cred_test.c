/* Credential resolution in GitLab Runner's precedence: reference normalization, namespace
 * keys, docker.io aliases, source order, credsStore and credHelpers (fake helper programs in a
 * temporary directory), missing and disallowed helpers, path traversal, bad JSON, and no
 * secret in any error message. */
#include "test_util.h"
#include "mx_cred.h"
#include "mx_cred_helper.h"
#include "mx_cred_ref.h"

#include <sys/stat.h>

/* Every secret used below; no error message may contain any of them. */
static const char *const secrets[] = {"hub-Secret-1",   "ns-Secret-2",     "host-Secret-3",
                                      "file-Secret-4",  "store-Secret-5",  "refresh-Token-6",
                                      "env-Secret-7",   "ecr-Secret-8",    "hunter2-Secret",
                                      "stale-Secret-9", "dGVhbTp0ZWFtLVNl"};

static void no_secret(const char *msg)
{
    for (size_t i = 0; i < sizeof secrets / sizeof *secrets; i++)
        tu_assert_not_contains(msg, secrets[i]);
}

typedef struct fixture {
    char *dir;
    char *bin; /* fake docker-credential-* programs */
} fixture;

static void helper(const char *bin, const char *name, const char *script)
{
    char *file = mx_xasprintf("docker-credential-%s", name);
    char *path = tu_write(bin, file, script);
    assert_int_equal(chmod(path, 0755), 0);
    free(path);
    free(file);
}

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    f->bin = mx_path_join(f->dir, "bin");
    /* a store that knows Docker Hub and one private registry */
    helper(f->bin, "teststore",
           "#!/bin/sh\n"
           "read -r server\n"
           "case \"$1\" in\n"
           "list) echo '{\"https://index.docker.io/v1/\":\"storeuser\","
           "\"registry.store.example\":\"storeuser\",\"gcr.io\":\"storeuser\"}';;\n"
           "get) case \"$server\" in\n"
           "  https://index.docker.io/v1/|registry.store.example|gcr.io)\n"
           "    printf '{\"ServerURL\":\"%s\",\"Username\":\"storeuser\","
           "\"Secret\":\"store-Secret-5\"}' \"$server\";;\n"
           "  *) echo 'credentials not found in native keychain'; exit 1;;\n"
           "  esac;;\n"
           "esac\n");
    /* a helper answering with an identity token */
    helper(
        f->bin, "tokenhelper",
        "#!/bin/sh\nread -r server\n"
        "printf '{\"ServerURL\":\"%s\",\"Username\":\"<token>\",\"Secret\":\"refresh-Token-6\"}' "
        "\"$server\"\n");
    helper(f->bin, "broken", "#!/bin/sh\necho 'keychain is locked'\nexit 3\n");
    helper(f->bin, "garbage", "#!/bin/sh\necho 'store-Secret-5 is not JSON'\n");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    free(f->bin);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Every fake helper above (and one that is not installed): tests that are not about the
 * allow-list allow them all. */
static const char *const all_helpers[] = {"teststore", "tokenhelper", "broken",
                                          "garbage",   "nosuch",      NULL};

static mx_cred_resolver *resolver(fixture *f, const char *const *allowed)
{
    mx_cred_opts o = {.allowed_helpers = allowed, .helper_path = f->bin};
    return mx_cred_resolver_new(&o);
}

static void add_text(mx_cred_resolver *r, const char *text)
{
    mx_err err = {0};
    if (mx_cred_add_config_text(r, text, "$DOCKER_AUTH_CONFIG", &err) < 0) fail_msg("%s", err.msg);
}

/* Resolves image and checks "user:password" (or "<token>:TOKEN") and a source fragment. */
static void expect(mx_cred_resolver *r, const char *image, const char *want, const char *source)
{
    mx_cred c;
    mx_err err = {0};
    int got = mx_cred_resolve(r, image, &c, &err);
    if (got < 0) fail_msg("%s: %s", image, err.msg);
    if (!want) {
        if (got != 0) fail_msg("%s: expected no credentials, got %s", image, c.username);
        return;
    }
    if (got != 1) fail_msg("%s: expected %s, found nothing", image, want);
    char *have = c.identity_token ? mx_xasprintf("<token>:%s", c.identity_token)
                                  : mx_xasprintf("%s:%s", c.username, c.password);
    if (strcmp(have, want) != 0) fail_msg("%s: got %s want %s", image, have, want);
    if (source) tu_assert_contains(c.source, source);
    free(have);
    mx_cred_clear(&c);
}

static void expect_error(mx_cred_resolver *r, const char *image, const char *want)
{
    mx_cred c;
    mx_err err = {0};
    assert_int_equal(mx_cred_resolve(r, image, &c, &err), -1);
    tu_assert_contains(err.msg, want);
    no_secret(err.msg);
}

static void test_normalization(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"ubuntu", "docker.io/library/ubuntu"},
        {"ubuntu:22.04", "docker.io/library/ubuntu"},
        {"library/ubuntu@sha256:0123", "docker.io/library/ubuntu"},
        {"myorg/app:1", "docker.io/myorg/app"},
        {"index.docker.io/myorg/app", "docker.io/myorg/app"},
        {"registry-1.docker.io/library/redis:7", "docker.io/library/redis"},
        {"Docker.IO/redis", "docker.io/library/redis"},
        {"Registry.Example.com:5000/Team/App:tag@sha256:ab", "registry.example.com:5000/Team/App"},
        {"localhost/app", "localhost/app"},
        {"localhost:5000/a/b/c:1", "localhost:5000/a/b/c"},
        {"quay.io/org/img", "quay.io/org/img"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mx_err err = {0};
        char *p = mx_cred_image_path(cases[i][0], &err);
        if (!p || strcmp(p, cases[i][1]) != 0)
            fail_msg("%s -> %s, want %s", cases[i][0], p ? p : err.msg, cases[i][1]);
        free(p);
    }
    static const char *const keys[][2] = {
        {"https://index.docker.io/v1/", "docker.io"},
        {"http://Registry.Example.com/v2/", "registry.example.com"},
        {"index.docker.io", "docker.io"},
        {"registry-1.docker.io/myorg", "docker.io/myorg"},
        {"Registry.Example.com:5000/team/", "registry.example.com:5000/team"},
        {"registry.example.com/team/app:latest", "registry.example.com/team/app"},
    };
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        char *p = mx_cred_key_path(keys[i][0]);
        if (!p || strcmp(p, keys[i][1]) != 0)
            fail_msg("key %s -> %s, want %s", keys[i][0], p ? p : "(null)", keys[i][1]);
        free(p);
    }
    mx_err err = {0};
    assert_null(mx_cred_image_path("bad ref", &err));
    tu_assert_contains(err.msg, "invalid image reference");
    assert_null(mx_cred_image_path("", &err));
}

/* GitLab's namespace support: the most specific key wins. */
static void test_namespace_keys(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    add_text(r, "{\"auths\":{"
                "\"registry.example.com\":{\"auth\":\"aG9zdDpob3N0LVNlY3JldC0z\"},"
                "\"registry.example.com/team/\":{\"username\":\"ns\",\"password\":\"ns-Secret-2\"},"
                "\"registry.example.com/team/sub\":{\"username\":\"sub\",\"password\":\"x\"}}}");
    expect(r, "registry.example.com/team/app:1", "ns:ns-Secret-2", "$DOCKER_AUTH_CONFIG");
    expect(r, "REGISTRY.example.com/team/app", "ns:ns-Secret-2", NULL);
    expect(r, "registry.example.com/team/sub/deep/img", "sub:x", NULL);
    expect(r, "registry.example.com/teamx/app", "host:host-Secret-3", NULL);
    expect(r, "registry.example.com/other/app@sha256:00", "host:host-Secret-3", NULL);
    expect(r, "registry.example.com:5000/team/app", NULL, NULL); /* another port: other host */
    expect(r, "quay.io/team/app", NULL, NULL);
    mx_cred_resolver_free(r);
}

static void test_docker_hub_aliases(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    add_text(r, "{\"auths\":{\"https://index.docker.io/v1/\":{\"username\":\"hub\","
                "\"password\":\"hub-Secret-1\"},"
                "\"docker.io/myorg\":{\"username\":\"org\",\"password\":\"ns-Secret-2\"},"
                "\"docker.io/redis\":{\"username\":\"gitlab-style\",\"password\":\"x\"}}}");
    const char *hub[] = {"ubuntu",
                         "ubuntu:22.04",
                         "library/ubuntu",
                         "docker.io/library/ubuntu",
                         "index.docker.io/library/ubuntu:1",
                         "registry-1.docker.io/other/app@sha256:ab"};
    for (size_t i = 0; i < sizeof hub / sizeof *hub; i++)
        expect(r, hub[i], "hub:hub-Secret-1", NULL);
    expect(r, "myorg/app", "org:ns-Secret-2", NULL);
    expect(r, "index.docker.io/myorg/app:2", "org:ns-Secret-2", NULL);
    /* GitLab writes official images without library/: that key still matches */
    expect(r, "redis:7", "gitlab-style:x", NULL);
    mx_cred cred;
    mx_err err = {0};
    assert_int_equal(mx_cred_resolve_registry(r, "docker.io", &cred, &err), 1);
    assert_string_equal(cred.password, "hub-Secret-1");
    mx_cred_clear(&cred);
    mx_cred_resolver_free(r);
}

static const char *env_of(void *ctx, const char *name)
{
    const char *const *kv = ctx;
    for (; kv[0]; kv += 2)
        if (strcmp(kv[0], name) == 0) return kv[1];
    return NULL;
}

/* explicit env > DOCKER_AUTH_CONFIG > ~/.docker/config.json; per key, first source wins; the
 * longest key wins across all sources (GitLab). */
static void test_source_precedence(void **state)
{
    fixture *f = *state;
    mx_cred_resolver *r = resolver(f, all_helpers);
    const char *env[] = {"QUAY_USERNAME", "quayenv", "QUAY_PASSWORD", "env-Secret-7", NULL};
    mx_err err = {0};
    if (mx_cred_add_env(r, "quay.io", "QUAY_USERNAME", "QUAY_PASSWORD", env_of, (void *)env, &err) <
        0)
        fail_msg("%s", err.msg);
    add_text(r, "{\"auths\":{\"quay.io\":{\"username\":\"dac\",\"password\":\"x\"},"
                "\"ghcr.io\":{\"username\":\"dac\",\"password\":\"hub-Secret-1\"},"
                "\"r.example\":{\"username\":\"dac\",\"password\":\"host-Secret-3\"}}}");
    char *file = tu_write(f->dir, "home/.docker/config.json",
                          "{\"auths\":{\"ghcr.io\":{\"username\":\"file\",\"password\":\"x\"},"
                          "\"r.example/team\":{\"username\":\"file\",\"password\":"
                          "\"file-Secret-4\"},\"lab.example\":{\"username\":\"file\","
                          "\"password\":\"file-Secret-4\"}}}");
    if (mx_cred_add_config_file(r, file, &err) < 0) fail_msg("%s", err.msg);
    char *missing = mx_path_join(f->dir, "nowhere/config.json");
    assert_int_equal(mx_cred_add_config_file(r, missing, &err), 0);
    expect(r, "quay.io/org/img", "quayenv:env-Secret-7", "QUAY_USERNAME");
    expect(r, "ghcr.io/org/img", "dac:hub-Secret-1", "$DOCKER_AUTH_CONFIG");
    expect(r, "lab.example/img", "file:file-Secret-4", file);
    expect(r, "r.example/other/img", "dac:host-Secret-3", NULL);
    expect(r, "r.example/team/img", "file:file-Secret-4", NULL); /* longer key, lower source */
    /* a missing variable is named, its value never shown */
    const char *partial[] = {"DOCKER_LOGIN", "someone", NULL};
    assert_int_equal(mx_cred_add_env(r, "docker.io", "DOCKER_LOGIN", "DOCKER_PASSWORD", env_of,
                                     (void *)partial, &err),
                     -1);
    tu_assert_contains(err.msg, "environment variable DOCKER_PASSWORD");
    tu_assert_contains(err.msg, "is not set");
    free(missing);
    free(file);
    mx_cred_resolver_free(r);
}

static void test_creds_store_and_helpers(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    add_text(r, "{\"auths\":{\"https://index.docker.io/v1/\":{},"
                "\"gcr.io\":{\"username\":\"static\",\"password\":\"x\"},"
                "\"static.example\":{\"username\":\"static\",\"password\":\"x\"}},"
                "\"credsStore\":\"teststore\","
                "\"credHelpers\":{\"gcr.io\":\"tokenhelper\"}}");
    /* credsStore's listing answers for Docker Hub (the auths entry is a placeholder) */
    expect(r, "ubuntu", "storeuser:store-Secret-5", "docker-credential-teststore");
    expect(r, "registry.store.example/a/b", "storeuser:store-Secret-5", NULL);
    /* credHelpers beat credsStore, which beats auths */
    expect(r, "gcr.io/project/img", "<token>:refresh-Token-6", "docker-credential-tokenhelper");
    expect(r, "static.example/img", "static:x", NULL);
    expect(r, "elsewhere.example/img", NULL, NULL);
    mx_cred_resolver_free(r);
}

static void test_missing_failing_and_disallowed_helpers(void **state)
{
    fixture *f = *state;
    mx_cred_resolver *r = resolver(f, all_helpers);
    add_text(r, "{\"auths\":{\"ok.example\":{\"username\":\"u\",\"password\":\"hub-Secret-1\"}},"
                "\"credHelpers\":{\"ghcr.io\":\"nosuch\",\"broken.example\":\"broken\","
                "\"garbage.example\":\"garbage\"}}");
    expect_error(r, "ghcr.io/org/img", "credential helper \"nosuch\" is not installed");
    expect_error(r, "ghcr.io/org/img", "docker-credential-nosuch");
    expect_error(r, "broken.example/img",
                 "docker-credential-broken get for broken.example failed (exit 3): keychain is "
                 "locked");
    expect_error(r, "garbage.example/img", "reply is not a JSON object");
    expect(r, "ok.example/img", "u:hub-Secret-1", NULL); /* others still resolve */
    mx_cred_resolver_free(r);

    const char *allowed[] = {"teststore", NULL};
    r = resolver(f, allowed);
    add_text(r, "{\"credHelpers\":{\"gcr.io\":\"tokenhelper\"},\"credsStore\":\"teststore\"}");
    expect_error(r, "gcr.io/p/i",
                 "credential helper \"tokenhelper\" is not allowed on this host (host settings: "
                 "credential_helpers: [tokenhelper] allows it)");
    mx_cred_resolver_free(r);
    /* an empty list and no list both allow none (issue 11: NULL once meant "any") */
    const char *none[] = {NULL};
    const char *const *lists[] = {none, NULL};
    for (size_t i = 0; i < 2; i++) {
        r = resolver(f, lists[i]);
        add_text(r, "{\"credsStore\":\"teststore\"}");
        expect_error(r, "ubuntu", "credsStore: credential helper \"teststore\" is not allowed");
        mx_cred_resolver_free(r);
        r = resolver(f, lists[i]);
        add_text(r, "{\"credHelpers\":{\"gcr.io\":\"tokenhelper\"}}");
        expect_error(r, "gcr.io/p/i", "credential helper \"tokenhelper\" is not allowed");
        mx_cred_resolver_free(r);
    }
}

static void test_path_traversal_refused(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    const char *bad[] = {
        "{\"credHelpers\":{\"x.example\":\"../../../bin/sh\"}}",
        "{\"credHelpers\":{\"x.example\":\"/usr/bin/id\"}}",
        "{\"credHelpers\":{\"x.example\":\"..\"}}",
        "{\"credsStore\":\"../evil\"}",
        "{\"credsStore\":\"...\"}",
        "{\"credsStore\":\"a b\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mx_err err = {0};
        assert_int_equal(mx_cred_add_config_text(r, bad[i], "$DOCKER_AUTH_CONFIG", &err), -1);
        tu_assert_contains(err.msg, "$DOCKER_AUTH_CONFIG: ");
        if (i < 5) tu_assert_contains(err.msg, "path traversal is not allowed");
    }
    /* nothing of a refused configuration is used */
    expect(r, "x.example/img", NULL, NULL);
    mx_cred_resolver_free(r);
    mx_err err = {0};
    assert_int_equal(mx_cred_helper_check_name("ecr-login", &err), 0);
    assert_int_equal(mx_cred_helper_check_name("osxkeychain", &err), 0);
}

static void test_invalid_json(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    mx_err err = {0};
    assert_int_equal(mx_cred_add_config_text(r, "{\"auths\":{\"x\":{\"password\":\"hunter2-Secret",
                                             "$DOCKER_AUTH_CONFIG", &err),
                     -1);
    tu_assert_contains(err.msg, "$DOCKER_AUTH_CONFIG: invalid JSON at line 1, column");
    no_secret(err.msg);
    assert_int_equal(mx_cred_add_config_text(r, "{\"auths\":{\"x\":{\"auth\":\"hunter2-Secret\"}}}",
                                             "$DOCKER_AUTH_CONFIG", &err),
                     -1);
    tu_assert_contains(err.msg, "auths[\"x\"].auth is not base64");
    no_secret(err.msg);
    char *file = tu_write(((fixture *)*state)->dir, "bad.json", "{\"auths\": [hunter2-Secret]}");
    assert_int_equal(mx_cred_add_config_file(r, file, &err), -1);
    tu_assert_contains(err.msg, file);
    no_secret(err.msg);
    free(file);
    mx_cred_resolver_free(r);
}

/* An ECR token covers its whole host: a stale stored entry under a longer key is never used. */
static void test_host_wide_ecr_token(void **state)
{
    mx_cred_resolver *r = resolver(*state, all_helpers);
    const char *host = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
    mx_err err = {0};
    assert_int_equal(
        mx_cred_add_static(r, host, "AWS", "ecr-Secret-8", "ECR", MX_CRED_HOST_WIDE, &err), 0);
    add_text(r, "{\"auths\":{\"123456789012.dkr.ecr.us-east-1.amazonaws.com/team\":"
                "{\"username\":\"AWS\",\"password\":\"stale-Secret-9\"}}}");
    expect(r, "123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1", "AWS:ecr-Secret-8", "ECR");
    expect(r, "123456789012.dkr.ecr.us-east-1.amazonaws.com/other", "AWS:ecr-Secret-8", NULL);
    mx_cred_resolver_free(r);
}

/* Resolves image expecting nothing usable, with the host user's credentials for `server`
 * from a source containing `source` withheld. */
static void expect_withheld(mx_cred_resolver *r, const char *image, const char *server,
                            const char *source)
{
    mx_cred c;
    mx_err err = {0};
    int got = mx_cred_resolve(r, image, &c, &err);
    if (got < 0) fail_msg("%s: %s", image, err.msg);
    assert_int_equal(got, 0);
    assert_int_equal(c.withheld, 1);
    assert_string_equal(c.server, server);
    tu_assert_contains(c.source, source);
    assert_null(c.password);
    assert_null(c.username);
    mx_cred_clear(&c);
}

/* The host user's config.json counts only for forwarded registries; withheld ones do not hide
 * a job source's key, and its helpers run only for forwarded registries (issue 11, item 4). */
static void test_host_config_only_for_forwarded(void **state)
{
    fixture *f = *state;
    char *file = tu_write(f->dir, "home/.docker/config.json",
                          "{\"auths\":{\"ghcr.io\":{\"username\":\"me\",\"password\":"
                          "\"file-Secret-4\"},\"https://index.docker.io/v1/\":{\"username\":"
                          "\"me\",\"password\":\"hub-Secret-1\"},\"quay.io/team\":{\"username\":"
                          "\"me\",\"password\":\"ns-Secret-2\"}},"
                          "\"credHelpers\":{\"gcr.io\":\"tokenhelper\"}}");
    mx_err err = {0};
    /* nothing forwarded: nothing of it is used, and each is reported */
    mx_cred_resolver *r = resolver(f, all_helpers);
    if (mx_cred_add_host_config_file(r, file, NULL, &err) < 0) fail_msg("%s", err.msg);
    expect_withheld(r, "ghcr.io/org/img", "ghcr.io", file);
    expect_withheld(r, "ubuntu", "https://index.docker.io/v1/", file);
    expect_withheld(r, "quay.io/team/app", "quay.io/team", file);
    expect_withheld(r, "gcr.io/p/i", "gcr.io", file);
    expect(r, "quay.io/other/app", NULL, NULL);
    mx_cred c;
    assert_int_equal(mx_cred_resolve(r, "quay.io/other/app", &c, &err), 0);
    assert_int_equal(c.withheld, 0);
    mx_cred_resolver_free(r);

    /* ghcr.io and Docker Hub (any spelling) forwarded; a job source wins a withheld key */
    const char *fwd[] = {"ghcr.io", "index.docker.io", "gcr.io", NULL};
    r = resolver(f, all_helpers);
    add_text(r, "{\"auths\":{\"quay.io\":{\"username\":\"job\",\"password\":\"env-Secret-7\"}}}");
    if (mx_cred_add_host_config_file(r, file, fwd, &err) < 0) fail_msg("%s", err.msg);
    expect(r, "ghcr.io/org/img", "me:file-Secret-4", file);
    expect(r, "ubuntu", "me:hub-Secret-1", file);
    expect(r, "gcr.io/p/i", "<token>:refresh-Token-6", "docker-credential-tokenhelper");
    /* quay.io/team stays withheld: the job's quay.io key answers */
    expect(r, "quay.io/team/app", "job:env-Secret-7", "$DOCKER_AUTH_CONFIG");
    mx_cred_resolver_free(r);

    /* forwarded, but its helper is not allowed: an error naming the host setting */
    const char *only_store[] = {"teststore", NULL};
    r = resolver(f, only_store);
    if (mx_cred_add_host_config_file(r, file, fwd, &err) < 0) fail_msg("%s", err.msg);
    expect_error(r, "gcr.io/p/i", "credential_helpers: [tokenhelper]");
    mx_cred_resolver_free(r);
    free(file);
}

/* The host user's credsStore is asked only for forwarded registries (never listed), as the
 * docker CLI asks it; for any other registry it is reported as withheld. */
static void test_host_creds_store(void **state)
{
    fixture *f = *state;
    char *dir = mx_path_join(f->dir, "store-home");
    char *file = tu_write(dir, "config.json", "{\"credsStore\":\"teststore\"}");
    mx_err err = {0};
    const char *fwd[] = {"docker.io", "elsewhere.example", NULL};
    mx_cred_resolver *r = resolver(f, all_helpers);
    if (mx_cred_add_host_config_file(r, file, fwd, &err) < 0) fail_msg("%s", err.msg);
    expect(r, "ubuntu", "storeuser:store-Secret-5", "docker-credential-teststore");
    expect(r, "elsewhere.example/img", NULL, NULL); /* the store has nothing for it */
    expect_withheld(r, "registry.store.example/a/b", "registry.store.example",
                    "(docker-credential-teststore)");
    mx_cred_resolver_free(r);
    /* nothing forwarded: the store is never run, so a disallowed one is no error */
    r = resolver(f, NULL);
    if (mx_cred_add_host_config_file(r, file, NULL, &err) < 0) fail_msg("%s", err.msg);
    expect_withheld(r, "ubuntu", "docker.io", file);
    mx_cred_resolver_free(r);
    free(file);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalization),
        cmocka_unit_test(test_namespace_keys),
        cmocka_unit_test(test_docker_hub_aliases),
        cmocka_unit_test(test_source_precedence),
        cmocka_unit_test(test_creds_store_and_helpers),
        cmocka_unit_test(test_missing_failing_and_disallowed_helpers),
        cmocka_unit_test(test_path_traversal_refused),
        cmocka_unit_test(test_invalid_json),
        cmocka_unit_test(test_host_wide_ecr_token),
        cmocka_unit_test(test_host_config_only_for_forwarded),
        cmocka_unit_test(test_host_creds_store),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
