/* Where the registry client sends Basic credentials when a registry answers with a Bearer
 * challenge: the realm is named by the registry, so over plain http only its own host may get
 * them (issue 11, item 8).  The same rule against a live server: mx_reg_pull_test. */
#include "test_util.h"

#include "mx_reg_int.h"

static void yes(const char *base, const char *realm)
{
    if (!mx_reg_realm_gets_credentials(base, realm))
        fail_msg("%s -> %s: credentials refused, should go", base, realm);
}

static void no(const char *base, const char *realm)
{
    if (mx_reg_realm_gets_credentials(base, realm))
        fail_msg("%s -> %s: credentials would go, must not", base, realm);
}

static void test_realm_rule(void **state)
{
    (void)state;
    /* https: any host (Docker Hub's realm is auth.docker.io, GHCR's its own host) */
    yes("https://registry-1.docker.io", "https://auth.docker.io/token");
    yes("https://ghcr.io", "https://ghcr.io/token");
    yes("http://10.0.2.2:5002", "https://auth.example.com/token");
    yes("https://r.example", "HTTPS://Auth.Example/token?x=1");
    /* plain http: the registry's own host (any port), and only if the registry is plain http */
    yes("http://127.0.0.1:5002", "http://127.0.0.1:5004/token");
    yes("http://Registry.Example:5000", "http://registry.example/token");
    no("http://127.0.0.1:5002", "http://127.0.0.2:5004/token");
    no("http://registry.example", "http://evil.example/token");
    no("http://registry.example", "http://registry.example.evil.example/token");
    no("https://registry.example", "http://registry.example/token"); /* no downgrade */
    no("https://registry-1.docker.io", "http://auth.docker.io/token");
    /* userinfo does not make another host look like the registry */
    no("http://registry.example", "http://registry.example@evil.example/token");
    /* not a URL, or not http(s) */
    no("https://registry.example", "auth.example.com/token");
    no("https://registry.example", "ftp://registry.example/token");
    no("https://registry.example", "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_realm_rule),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
