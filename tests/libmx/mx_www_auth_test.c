/* mx_www_auth: a corpus of WWW-Authenticate values as registries send them, RFC 7235's own
 * examples, and malformed ones that must be refused without crashing. */
#include "test_util.h"

#include "mx_www_auth.h"

static mx_www_auth parse_ok(const char *value)
{
    mx_www_auth a;
    mx_www_auth_init(&a);
    mx_err err;
    if (mx_www_auth_parse(&a, value, &err) < 0) fail_msg("%s: %s", value, err.msg);
    return a;
}

static void expect_param(const mx_www_challenge *c, const char *name, const char *value)
{
    const char *v = mx_www_param_get(c, name);
    if (!v || strcmp(v, value) != 0)
        fail_msg("param %s: expected \"%s\", got \"%s\"", name, value, v ? v : "(none)");
}

/* Real registries' single Bearer or Basic challenges. */
static void test_registry_corpus(void **state)
{
    (void)state;
    static const struct {
        const char *header, *scheme, *realm, *service, *scope;
    } cases[] = {
        /* Docker Hub */
        {"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
         "scope=\"repository:library/busybox:pull\"",
         "Bearer", "https://auth.docker.io/token", "registry.docker.io",
         "repository:library/busybox:pull"},
        /* GHCR */
        {"Bearer realm=\"https://ghcr.io/token\",service=\"ghcr.io\","
         "scope=\"repository:octo/app:pull\"",
         "Bearer", "https://ghcr.io/token", "ghcr.io", "repository:octo/app:pull"},
        /* Quay: no scope on /v2/ */
        {"Bearer realm=\"https://quay.io/v2/auth\",service=\"quay.io\"", "Bearer",
         "https://quay.io/v2/auth", "quay.io", NULL},
        /* ECR answers Basic with a service parameter */
        {"Basic realm=\"https://123456789012.dkr.ecr.us-east-1.amazonaws.com/\","
         "service=\"ecr.amazonaws.com\"",
         "Basic", "https://123456789012.dkr.ecr.us-east-1.amazonaws.com/", "ecr.amazonaws.com",
         NULL},
        /* GCR / Artifact Registry */
        {"Bearer realm=\"https://gcr.io/v2/token\",service=\"gcr.io\","
         "scope=\"repository:google-containers/pause:pull\"",
         "Bearer", "https://gcr.io/v2/token", "gcr.io", "repository:google-containers/pause:pull"},
        /* Artifactory */
        {"Bearer realm=\"https://acme.jfrog.io/artifactory/api/docker/docker/v2/token\","
         "service=\"acme.jfrog.io\",scope=\"repository:app:pull\"",
         "Bearer", "https://acme.jfrog.io/artifactory/api/docker/docker/v2/token", "acme.jfrog.io",
         "repository:app:pull"},
        /* distribution with htpasswd */
        {"Basic realm=\"mexec-test\"", "Basic", "mexec-test", NULL, NULL},
        /* a scope with several actions and a push+pull list */
        {"Bearer realm=\"http://127.0.0.1:5005/token\",service=\"mexec\","
         "scope=\"repository:a/b:pull,push repository:c:pull\"",
         "Bearer", "http://127.0.0.1:5005/token", "mexec",
         "repository:a/b:pull,push repository:c:pull"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        mx_www_auth a = parse_ok(cases[i].header);
        assert_int_equal(a.n, 1);
        assert_string_equal(a.ch[0].scheme, cases[i].scheme);
        assert_null(a.ch[0].token68);
        expect_param(&a.ch[0], "realm", cases[i].realm);
        if (cases[i].service)
            expect_param(&a.ch[0], "service", cases[i].service);
        else
            assert_null(mx_www_param_get(&a.ch[0], "service"));
        if (cases[i].scope)
            expect_param(&a.ch[0], "scope", cases[i].scope);
        else
            assert_null(mx_www_param_get(&a.ch[0], "scope"));
        mx_www_auth_free(&a);
    }
}

static void test_error_param(void **state)
{
    (void)state;
    mx_www_auth a = parse_ok("Bearer realm=\"http://127.0.0.1:5005/token\",service=\"mexec\","
                             "scope=\"repository:x:pull\",error=\"insufficient_scope\"");
    expect_param(&a.ch[0], "error", "insufficient_scope");
    mx_www_auth_free(&a);
    a = parse_ok("Bearer realm=\"https://ghcr.io/token\",error=\"invalid_token\","
                 "error_description=\"The access token expired\"");
    expect_param(&a.ch[0], "error_description", "The access token expired");
    mx_www_auth_free(&a);
}

/* Scheme and parameter names are case-insensitive; HTTP/2 peers and proxies vary them. */
static void test_case_insensitive(void **state)
{
    (void)state;
    mx_www_auth a = parse_ok("bearer REALM=\"https://r/token\",Service=\"svc\"");
    const mx_www_challenge *c = mx_www_auth_find(&a, "Bearer");
    assert_non_null(c);
    expect_param(c, "realm", "https://r/token");
    expect_param(c, "SERVICE", "svc");
    assert_string_equal(c->params[0].name, "realm");
    assert_null(mx_www_auth_find(&a, "Basic"));
    mx_www_auth_free(&a);
}

static void test_quoted_escapes_and_whitespace(void **state)
{
    (void)state;
    mx_www_auth a = parse_ok("Bearer  realm = \"a\\\"b\\\\c\" ,\tservice=\"with, comma=and space\""
                             ", empty=\"\", tok=plain-token_1.2");
    expect_param(&a.ch[0], "realm", "a\"b\\c");
    expect_param(&a.ch[0], "service", "with, comma=and space");
    expect_param(&a.ch[0], "empty", "");
    expect_param(&a.ch[0], "tok", "plain-token_1.2");
    assert_int_equal(a.ch[0].nparams, 4);
    mx_www_auth_free(&a);
}

/* RFC 7235 section 4.1's example: two challenges, one with a quoted escape, in one header. */
static void test_several_challenges_one_header(void **state)
{
    (void)state;
    mx_www_auth a = parse_ok("Newauth realm=\"apps\", type=1, title=\"Login to \\\"apps\\\"\", "
                             "Basic realm=\"simple\"");
    assert_int_equal(a.n, 2);
    assert_string_equal(a.ch[0].scheme, "Newauth");
    expect_param(&a.ch[0], "type", "1");
    expect_param(&a.ch[0], "title", "Login to \"apps\"");
    assert_string_equal(a.ch[1].scheme, "Basic");
    expect_param(&a.ch[1], "realm", "simple");
    mx_www_auth_free(&a);

    a = parse_ok("Basic realm=\"r1\", Bearer realm=\"https://t/token\",service=\"s\"");
    assert_int_equal(a.n, 2);
    const mx_www_challenge *b = mx_www_auth_find(&a, "bearer");
    assert_non_null(b);
    expect_param(b, "service", "s");
    mx_www_auth_free(&a);

    /* schemes without parameters, and token68 credentials */
    a = parse_ok("Negotiate, NTLM");
    assert_int_equal(a.n, 2);
    assert_string_equal(a.ch[1].scheme, "NTLM");
    mx_www_auth_free(&a);
    a = parse_ok("Negotiate YIIBhgYGKwYBBQUCoIIBejCCAXagMDAuBgkqhkiC9xIBAgIGCSqGSIb3EgECAgYKKwYB==,"
                 " Basic realm=\"x\"");
    assert_int_equal(a.n, 2);
    assert_string_equal(a.ch[0].token68, "YIIBhgYGKwYBBQUCoIIBejCCAXagMDAuBgkqhkiC9xIBAgIGCSqGSIb3E"
                                         "gECAgYKKwYB==");
    expect_param(&a.ch[1], "realm", "x");
    mx_www_auth_free(&a);
}

/* A response with several WWW-Authenticate headers: one parse call per header, appending. */
static void test_several_headers(void **state)
{
    (void)state;
    mx_www_auth a;
    mx_www_auth_init(&a);
    mx_err err;
    assert_int_equal(mx_www_auth_parse(&a, "Basic realm=\"one\"", &err), 0);
    assert_int_equal(mx_www_auth_parse(&a, "Bearer realm=\"https://two\"", &err), 0);
    assert_int_equal(a.n, 2);
    /* a bad header leaves what was parsed before untouched */
    assert_int_equal(mx_www_auth_parse(&a, "Bearer realm=\"unterminated", &err), -1);
    assert_int_equal(a.n, 2);
    expect_param(mx_www_auth_find(&a, "Bearer"), "realm", "https://two");
    mx_www_auth_free(&a);
}

static void test_empty_list_elements(void **state)
{
    (void)state;
    mx_www_auth a = parse_ok(" , Bearer realm=\"r\",, service=\"s\" ,, ");
    assert_int_equal(a.n, 1);
    expect_param(&a.ch[0], "service", "s");
    mx_www_auth_free(&a);
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "   ",
        ",,,",
        "Bearer realm=\"unterminated",
        "Bearer realm=\"ends with backslash\\",
        "Bearer realm=,service=\"x\"",
        "=foo",
        "\"quoted\" realm=x",
        "Bearer realm=\"x\" service=\"y\"", /* missing comma */
        "Bearer realm=\"x\";service=\"y\"",
        "Bearer/1 realm=x",
        "Bearer realm=\"x\", ;",
        "Bearer realm=@",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        mx_www_auth a;
        mx_www_auth_init(&a);
        mx_err err = {0};
        if (mx_www_auth_parse(&a, bad[i], &err) != -1) fail_msg("accepted: [%s]", bad[i]);
        assert_int_equal(a.n, 0);
        tu_assert_contains(err.msg, "WWW-Authenticate");
        mx_www_auth_free(&a);
    }
    mx_www_auth a;
    mx_www_auth_init(&a);
    assert_int_equal(mx_www_auth_parse(&a, NULL, NULL), -1);
    /* RFC 7235's grammar reads "realm=" as token68 credentials, not an empty parameter: it
     * parses, and the client then refuses a Bearer challenge that has no realm */
    a = parse_ok("Bearer realm=");
    assert_string_equal(a.ch[0].token68, "realm=");
    assert_null(mx_www_param_get(&a.ch[0], "realm"));
    mx_www_auth_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_corpus),
        cmocka_unit_test(test_error_param),
        cmocka_unit_test(test_case_insensitive),
        cmocka_unit_test(test_quoted_escapes_and_whitespace),
        cmocka_unit_test(test_several_challenges_one_header),
        cmocka_unit_test(test_several_headers),
        cmocka_unit_test(test_empty_list_elements),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
