/* mx_reg_ref: the docker CLI's naming rules (Docker Hub defaults, domains, ports, digests). */
#include "test_util.h"

#include "mx_reg_ref.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void expect(const char *in, const char *domain, const char *host, const char *path,
                   const char *tag, const char *digest, const char *full)
{
    mx_reg_ref r;
    mx_err err;
    if (mx_reg_ref_parse(in, &r, &err) < 0) fail_msg("%s: %s", in, err.msg);
    assert_string_equal(r.domain, domain);
    assert_string_equal(r.host, host);
    assert_string_equal(r.path, path);
    if (tag)
        assert_string_equal(r.tag, tag);
    else
        assert_null(r.tag);
    if (digest)
        assert_string_equal(r.digest, digest);
    else
        assert_null(r.digest);
    char *s = mx_reg_ref_string(&r);
    assert_string_equal(s, full);
    free(s);
    mx_reg_ref_free(&r);
}

static void test_docker_hub(void **state)
{
    (void)state;
    expect("busybox", "docker.io", "registry-1.docker.io", "library/busybox", "latest", NULL,
           "registry-1.docker.io/library/busybox:latest");
    expect("busybox:1.36", "docker.io", "registry-1.docker.io", "library/busybox", "1.36", NULL,
           "registry-1.docker.io/library/busybox:1.36");
    expect("docker.io/busybox", "docker.io", "registry-1.docker.io", "library/busybox", "latest",
           NULL, "registry-1.docker.io/library/busybox:latest");
    expect("index.docker.io/library/busybox", "docker.io", "registry-1.docker.io",
           "library/busybox", "latest", NULL, "registry-1.docker.io/library/busybox:latest");
    expect("acme/private-db:1.2.3", "docker.io", "registry-1.docker.io", "acme/private-db", "1.2.3",
           NULL, "registry-1.docker.io/acme/private-db:1.2.3");
    expect("cimg/base:2024.01", "docker.io", "registry-1.docker.io", "cimg/base", "2024.01", NULL,
           "registry-1.docker.io/cimg/base:2024.01");
}

static void test_other_registries(void **state)
{
    (void)state;
    expect("ghcr.io/o/n", "ghcr.io", "ghcr.io", "o/n", "latest", NULL, "ghcr.io/o/n:latest");
    expect("quay.io/project/image:tag", "quay.io", "quay.io", "project/image", "tag", NULL,
           "quay.io/project/image:tag");
    expect("localhost/foo", "localhost", "localhost", "foo", "latest", NULL,
           "localhost/foo:latest");
    expect("localhost:5000/foo/bar:v1", "localhost:5000", "localhost:5000", "foo/bar", "v1", NULL,
           "localhost:5000/foo/bar:v1");
    expect("127.0.0.1:5000/ns/name@sha256:" D64, "127.0.0.1:5000", "127.0.0.1:5000", "ns/name",
           NULL, "sha256:" D64, "127.0.0.1:5000/ns/name@sha256:" D64);
    expect("host:5000/ns/name:v2@sha256:" D64, "host:5000", "host:5000", "ns/name", "v2",
           "sha256:" D64, "host:5000/ns/name:v2@sha256:" D64);
    expect("[::1]:5000/foo", "[::1]:5000", "[::1]:5000", "foo", "latest", NULL,
           "[::1]:5000/foo:latest");
    /* an upper-case first component can only be a host name */
    expect("Registry/foo", "Registry", "Registry", "foo", "latest", NULL, "Registry/foo:latest");
    expect("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1",
           "123456789012.dkr.ecr.us-east-1.amazonaws.com",
           "123456789012.dkr.ecr.us-east-1.amazonaws.com", "app", "1", NULL,
           "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:1");
    /* separators inside path components */
    expect("a/b.c/d_e/f__g/h--i", "docker.io", "registry-1.docker.io", "a/b.c/d_e/f__g/h--i",
           "latest", NULL, "registry-1.docker.io/a/b.c/d_e/f__g/h--i:latest");
}

static void test_invalid(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "empty"},
        {":tag", "invalid repository"},
        {"foo:", "invalid tag"},
        {"foo@sha256:abc", "digest"},
        {"foo@md5:" D64, "digest"},
        {"foo@sha256:"
         "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef",
         "digest"},
        {"Busybox", "lowercase"},
        {"acme/Private", "lowercase"},
        {"foo/../bar", "invalid repository"},
        {"a..b", "invalid repository"},
        {"a___b", "invalid repository"},
        {"a._b", "invalid repository"},
        {"-a", "invalid repository"},
        {"a-", "invalid repository"},
        {"foo:bad tag", "invalid tag"},
        {"foo:.tag", "invalid tag"},
        {"host:5000/", "invalid repository"},
        {"foo//bar", "invalid repository"},
        {"host:port/foo", "invalid registry"},
        {"-host.io/foo", "invalid registry"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mx_reg_ref r;
        mx_err err = {0};
        if (mx_reg_ref_parse(bad[i].in, &r, &err) != -1) fail_msg("accepted: [%s]", bad[i].in);
        assert_int_equal(err.status, MX_USAGE);
        tu_assert_contains(err.msg, bad[i].why);
        assert_null(r.path);
    }
    char tag[200];
    memset(tag, 'a', sizeof tag);
    strcpy(tag, "foo:");
    memset(tag + 4, 't', 129);
    tag[4 + 129] = '\0';
    mx_reg_ref r;
    mx_err err;
    assert_int_equal(mx_reg_ref_parse(tag, &r, &err), -1);
    tag[4 + 128] = '\0';
    assert_int_equal(mx_reg_ref_parse(tag, &r, &err), 0);
    mx_reg_ref_free(&r);
}

static void test_digest_valid(void **state)
{
    (void)state;
    assert_true(mx_reg_digest_valid("sha256:" D64));
    assert_false(mx_reg_digest_valid("sha256:" D64 "0"));
    assert_false(mx_reg_digest_valid("sha256:../../../../etc/passwd"));
    assert_false(mx_reg_digest_valid("sha512:" D64));
    assert_false(mx_reg_digest_valid(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docker_hub),
        cmocka_unit_test(test_other_registries),
        cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_digest_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
