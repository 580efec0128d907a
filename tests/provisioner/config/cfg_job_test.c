/* cfg_job: the config fixtures in tests/fixtures/config, one data-driven runner (curl style).
 *
 * For each NAME.yml there is a NAME.expected.  The runner loads the YAML, then the job "build"
 * (or the one named by a first line "# job: NAME"), and compares:
 *   - "error: TEXT" (first line): loading must fail and TEXT must occur in the message
 *     (%DIR% in TEXT stands for this directory);
 *   - anything else: the whole canonical dump of the job model, below, must equal the file.
 * To add a case, add NAME.yml and NAME.expected; nothing here changes. */
#include "cfg_fixture.h"

#include "cfg_job.h"
#include "cfg_process.h"
#include "cfg_yaml.h"

#ifndef MX_FIXTURES_DIR
#error "MX_FIXTURES_DIR must name tests/fixtures/config"
#endif

/* Strings are dumped quoted with C escapes so whitespace and newlines are visible; NULL is "-". */
static void dump_str(mx_buf *b, const char *s)
{
    if (!s) {
        mx_buf_adds(b, "-");
        return;
    }
    mx_buf_adds(b, "\"");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '\n':
            mx_buf_adds(b, "\\n");
            break;
        case '\t':
            mx_buf_adds(b, "\\t");
            break;
        case '"':
            mx_buf_adds(b, "\\\"");
            break;
        case '\\':
            mx_buf_adds(b, "\\\\");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f)
                mx_buf_printf(b, "\\x%02x", *p);
            else
                mx_buf_add(b, p, 1);
        }
    }
    mx_buf_adds(b, "\"");
}

static void dump_field(mx_buf *b, const char *indent, const char *name, const char *value)
{
    mx_buf_printf(b, "%s%s: ", indent, name);
    dump_str(b, value);
    mx_buf_adds(b, "\n");
}

static void dump_env(mx_buf *b, const char *indent, const mx_envlist *e)
{
    mx_buf_printf(b, "%senv: %zu\n", indent, e->n);
    for (size_t i = 0; i < e->n; i++) {
        mx_buf_printf(b, "%s  %s=", indent, e->v[i].key);
        dump_str(b, e->v[i].value);
        mx_buf_adds(b, "\n");
    }
}

static const char *kind_name(enum mx_job_step_kind k)
{
    switch (k) {
    case MX_JOB_STEP_RUN:
        return "run";
    case MX_JOB_STEP_CHECKOUT:
        return "checkout";
    case MX_JOB_STEP_SKIP:
        return "skip";
    case MX_JOB_STEP_DOCKER_CHECK:
        return "docker-check";
    case MX_JOB_STEP_DOCKER_PULL:
        return "docker-pull";
    case MX_JOB_STEP_PERSIST:
        return "persist";
    case MX_JOB_STEP_ATTACH:
        return "attach";
    case MX_JOB_STEP_SAVE_CACHE:
        return "save-cache";
    case MX_JOB_STEP_RESTORE_CACHE:
        return "restore-cache";
    case MX_JOB_STEP_ARTIFACTS:
        return "artifacts";
    case MX_JOB_STEP_TEST_RESULTS:
        return "test-results";
    case MX_JOB_STEP_SSH_KEYS:
        return "ssh-keys";
    case MX_JOB_STEP_REMOTE_DOCKER:
        return "remote-docker";
    }
    return "?";
}

static void dump_words(mx_buf *b, const char *name, char *const *v, size_t n, int has)
{
    if (!has) return;
    mx_buf_printf(b, "  %s:", name);
    for (size_t i = 0; i < n; i++) {
        mx_buf_adds(b, " ");
        dump_str(b, v[i]);
    }
    mx_buf_adds(b, "\n");
}

/* docker executor jobs only, so older fixtures stand */
static void dump_containers(mx_buf *b, const mx_job *job)
{
    if (!job->ncontainers) return;
    mx_buf_printf(b, "containers: %zu\n", job->ncontainers);
    for (size_t i = 0; i < job->ncontainers; i++) {
        const mx_container *c = &job->containers[i];
        mx_buf_printf(b, "- at %d:%d\n", c->line, c->col);
        dump_field(b, "  ", "image", c->image);
        if (c->name) dump_field(b, "  ", "name", c->name);
        if (c->user) dump_field(b, "  ", "user", c->user);
        dump_words(b, "entrypoint", c->entrypoint, c->nentrypoint, c->has_entrypoint);
        dump_words(b, "command", c->command, c->ncommand, c->has_command);
        if (c->env.n) dump_env(b, "  ", &c->env);
        if (c->auth_username) {
            dump_field(b, "  ", "auth.username", c->auth_username);
            dump_field(b, "  ", "auth.password", c->auth_password);
        }
        if (c->has_aws_auth) {
            dump_field(b, "  ", "aws_auth.aws_access_key_id", c->aws_access_key_id);
            dump_field(b, "  ", "aws_auth.aws_secret_access_key", c->aws_secret_access_key);
            dump_field(b, "  ", "aws_auth.oidc_role_arn", c->aws_oidc_role_arn);
        }
    }
}

static char *dump_job(const mx_job *job)
{
    mx_buf b;
    mx_buf_init(&b);
    dump_field(&b, "", "job", job->name);
    mx_buf_printf(&b, "at: %d:%d\n", job->line, job->col);
    dump_field(&b, "", "image", job->image);
    dump_field(&b, "", "resource_class", job->resource_class);
    dump_field(&b, "", "workdir", job->workdir);
    dump_field(&b, "", "shell", job->shell);
    dump_env(&b, "", &job->env);
    dump_containers(&b, job);
    mx_buf_printf(&b, "steps: %zu\n", job->nsteps);
    for (size_t i = 0; i < job->nsteps; i++) {
        const mx_step *s = &job->steps[i];
        mx_buf_printf(&b, "- %s at %d:%d\n", kind_name(s->kind), s->line, s->col);
        dump_field(&b, "  ", "name", s->name);
        dump_field(&b, "  ", "command", s->command);
        dump_field(&b, "  ", "workdir", s->workdir);
        dump_field(&b, "  ", "shell", s->shell);
        dump_field(&b, "  ", "path", s->path);
        dump_env(&b, "  ", &s->env);
        mx_buf_printf(&b, "  no_output_timeout: %d\n", s->no_output_timeout_s);
        dump_field(&b, "  ", "skip", s->skip_reason);
        /* fields added with 2.1 support are dumped only when set, so older fixtures stand */
        if (s->background) mx_buf_adds(&b, "  background: 1\n");
        if (s->when != MX_WHEN_ON_SUCCESS)
            mx_buf_printf(&b, "  when: %s\n", s->when == MX_WHEN_ON_FAIL ? "on_fail" : "always");
        if (s->kind == MX_JOB_STEP_DOCKER_CHECK) {
            dump_field(&b, "  ", "registry", s->registry);
            dump_field(&b, "  ", "username_env", s->username_env);
            dump_field(&b, "  ", "password_env", s->password_env);
            mx_buf_printf(&b, "  use_credentials_store: %d\n", s->use_credentials_store);
        }
        if (s->kind == MX_JOB_STEP_DOCKER_PULL) {
            mx_buf_printf(&b, "  images: %zu\n", s->nimages);
            for (size_t k = 0; k < s->nimages; k++) {
                mx_buf_adds(&b, "    ");
                dump_str(&b, s->images[k]);
                mx_buf_adds(&b, "\n");
            }
            mx_buf_printf(&b, "  ignore_pull_error: %d\n", s->ignore_pull_error);
        }
        if (s->kind == MX_JOB_STEP_SAVE_CACHE) dump_field(&b, "  ", "key", s->key);
        if (s->kind == MX_JOB_STEP_ARTIFACTS) dump_field(&b, "  ", "destination", s->destination);
        if (s->nkeys) mx_buf_printf(&b, "  keys: %zu\n", s->nkeys);
        for (size_t k = 0; k < s->nkeys; k++) {
            mx_buf_adds(&b, "    ");
            dump_str(&b, s->keys[k]);
            mx_buf_adds(&b, "\n");
        }
        if (s->kind == MX_JOB_STEP_PERSIST || s->kind == MX_JOB_STEP_SAVE_CACHE) {
            dump_field(&b, "  ", "root", s->root);
            mx_buf_printf(&b, "  paths: %zu\n", s->npaths);
            for (size_t k = 0; k < s->npaths; k++) {
                mx_buf_adds(&b, "    ");
                dump_str(&b, s->paths[k]);
                mx_buf_adds(&b, "\n");
            }
        }
        if (s->kind == MX_JOB_STEP_ATTACH) dump_field(&b, "  ", "at", s->at);
    }
    return mx_buf_steal(&b);
}

/* "# job: NAME" on the first line picks the job; else "build". */
static char *job_name_of(const char *yaml_text)
{
    const char *tag = "# job: ";
    if (strncmp(yaml_text, tag, strlen(tag)) != 0) return mx_xstrdup("build");
    const char *p = yaml_text + strlen(tag);
    size_t n = strcspn(p, " \t\r\n");
    assert_true(n > 0);
    return mx_xstrndup(p, n);
}

static void run_fixture(void **state)
{
    const cfg_fixture *f = *state;
    char *text = tu_read(f->yml);
    char *job_name = job_name_of(text);
    mx_err err = {0};
    mx_node *root = NULL;
    mx_job job;
    memset(&job, 0, sizeof job);
    int rc = mx_yaml_load_file(f->yml, &root, &err);
    if (rc == 0) rc = mx_cfg_job_load_opts(root, job_name, NULL, &job, &err);
    /* the output compared is the canonical dump of the job model */
    char *got = rc == 0 ? dump_job(&job) : NULL;
    cfg_fixture_check(f, rc, &err, got);
    free(got);
    mx_job_free(&job);
    mx_node_free(root);
    free(job_name);
    free(text);
}

/* ---- the helpers the loader is made of ---- */

static void test_parse_duration(void **state)
{
    (void)state;
    const struct {
        const char *in;
        long want;
    } cases[] = {
        {"10m", 600},
        {"1h30m", 5400},
        {"45s", 45},
        {"2h", 7200},
        {"90", 90},
        {"0", 0},
        {"1h1m1s", 3661},
        {"5m30s", 330},
        {"", -1},
        {"m", -1},
        {"10x", -1},
        {"-5m", -1},
        {"10 m", -1},
        {" 10m", -1},
        {"1.5h", 5400},
        {"1.25h", 4500},
        {"0.5m30s", 60},
        {"1.h", -1},
        {"1.5", -1},
        {".5h", -1},
        {"1.1234567h", -1},
        {"10m5", -1},
        {"ten", -1},
        {"10M", -1},
        {"999999999999999999999h", -1},
        {"87600h", 315360000},
        {"87601h", -1},
        {"5256001m", -1},
        {"3000000h", -1},
        {"87599h60m", 315360000},
        {"87599h61m", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long got = mx_parse_duration(cases[i].in);
        if (got != cases[i].want)
            fail_msg("mx_parse_duration(\"%s\") = %ld, want %ld", cases[i].in, got, cases[i].want);
    }
    assert_int_equal(mx_parse_duration(NULL), -1);
}

static void test_envlist(void **state)
{
    (void)state;
    mx_envlist e = {0};
    assert_null(mx_envlist_get(&e, "A"));
    mx_envlist_set(&e, "A", "1");
    mx_envlist_set(&e, "B", "2");
    mx_envlist_set(&e, "A", "3"); /* replaced in place: order is of first definition */
    assert_int_equal(e.n, 2);
    assert_string_equal(e.v[0].key, "A");
    assert_string_equal(mx_envlist_get(&e, "A"), "3");
    assert_string_equal(mx_envlist_get(&e, "B"), "2");
    assert_null(mx_envlist_get(&e, "a"));
    mx_envlist_free(&e);
    assert_int_equal(e.n, 0);
    assert_null(e.v);
}

static void env_fails(const char *yaml, const char *want)
{
    mx_node *root = NULL;
    mx_err err = {0};
    if (mx_yaml_load_string("e.yml", yaml, strlen(yaml), &root, &err) < 0) fail_msg("%s", err.msg);
    mx_envlist e = {0};
    if (mx_cfg_env_parse(mx_node_get(root, "environment"), &e, &err) == 0)
        fail_msg("accepted environment: %s", yaml);
    tu_assert_contains(err.msg, want);
    mx_envlist_free(&e);
    mx_node_free(root);
}

static void test_env_parse_errors(void **state)
{
    (void)state;
    env_fails("environment: just a string\n", "e.yml:1:14: environment must be a map");
    env_fails("environment:\n  1BAD: x\n", "e.yml:2:3: \"1BAD\" is not a valid environment");
    env_fails("environment:\n  A-B: x\n", "\"A-B\" is not a valid environment variable name");
    env_fails("environment:\n  A: [1, 2]\n", "e.yml:2:6: an environment value must be a string");
    env_fails("environment:\n  - NOEQUALS\n", "e.yml:2:5: environment entries are NAME: value");
    env_fails("environment:\n  - 'BAD NAME=x'\n", "\"BAD NAME=x\" is not NAME=value");
    env_fails("environment:\n  - =x\n", "\"=x\" is not NAME=value");
    env_fails("environment:\n  - {A: 1, B: 2}\n", "environment entries are NAME: value");
}

static void test_root_not_a_map(void **state)
{
    (void)state;
    mx_node *root = NULL;
    mx_err err;
    assert_int_equal(mx_yaml_load_string("r.yml", "- a\n- b\n", 8, &root, &err), 0);
    mx_job job;
    assert_int_equal(mx_cfg_job_load_opts(root, "build", NULL, &job, &err), -1);
    assert_string_equal(err.msg, "r.yml:1:1: the config must be a map");
    mx_job_free(&job);
    mx_node_free(root);
}

static void test_split_words(void **state)
{
    (void)state;
    const char *cases[][5] = {
        {"redis-server --port 6380", "redis-server", "--port", "6380", NULL},
        {"  sh -c 'echo a  b'  ", "sh", "-c", "echo a  b", NULL},
        {"env \"A B=1\" x\\ y", "env", "A B=1", "x y", NULL},
        {"\"a\\\"b\" ''", "a\"b", "", NULL, NULL},
        {"", NULL, NULL, NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char **v = NULL;
        size_t n = 0;
        assert_int_equal(mx_cfg_split_words(cases[i][0], &v, &n), 0);
        size_t want = 0;
        while (want < 4 && cases[i][want + 1])
            want++;
        assert_int_equal(n, want);
        for (size_t k = 0; k < n; k++) {
            assert_string_equal(v[k], cases[i][k + 1]);
            free(v[k]);
        }
        assert_null(v[n]);
        free(v);
    }
    char **v = NULL;
    size_t n = 0;
    assert_int_equal(mx_cfg_split_words("sh -c 'unclosed", &v, &n), -1);
    assert_null(v);
    assert_int_equal(mx_cfg_split_words("a \"b", &v, &n), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_words),    cmocka_unit_test(test_parse_duration),
        cmocka_unit_test(test_envlist),        cmocka_unit_test(test_env_parse_errors),
        cmocka_unit_test(test_root_not_a_map),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    failed += cfg_fixture_run_dir("config fixtures", MX_FIXTURES_DIR, 0, 20, run_fixture);
    return failed ? 1 : 0;
}
