/* The GitLab driver's pieces that need no VM: the job key, the config stage's JSON, exit
 * codes, what is masked, which registries the guest logs in to, and the VM state file that
 * carries a job from `prepare` to `run` and `cleanup`. */
#include "test_util.h"

#include "gitlab.h"
#include "host_config.h"
#include "mx_b64.h"
#include "mx_fs.h"
#include "vm.h"

#include <jansson.h>
#include <sys/stat.h>

/* A fake environment: pairs of name, value. */
static const char *const *fake_env;
static const char *fenv(const char *name)
{
    for (size_t i = 0; fake_env[i]; i += 2)
        if (strcmp(fake_env[i], name) == 0) return fake_env[i + 1];
    return NULL;
}

static void job_key(void **state)
{
    (void)state;
    mx_err err;
    static const char *const a[] = {"CUSTOM_ENV_CI_JOB_ID", "42", "CUSTOM_ENV_CI_RUNNER_ID", "7",
                                    NULL};
    fake_env = a;
    char *k = mx_gitlab_job_key(fenv, &err);
    assert_string_equal(k, "gitlab-r7-j42");
    free(k);
    /* a second runner's job 42 is another VM */
    static const char *const b[] = {"CUSTOM_ENV_CI_JOB_ID", "42", "CUSTOM_ENV_CI_RUNNER_ID", "8",
                                    NULL};
    fake_env = b;
    k = mx_gitlab_job_key(fenv, &err);
    assert_string_equal(k, "gitlab-r8-j42");
    free(k);
    static const char *const none[] = {NULL};
    fake_env = none;
    assert_null(mx_gitlab_job_key(fenv, &err));
    assert_non_null(strstr(err.msg, "CI_JOB_ID"));
    static const char *const evil[] = {"CUSTOM_ENV_CI_JOB_ID", "../../etc", NULL};
    fake_env = evil;
    assert_null(mx_gitlab_job_key(fenv, &err));
}

static void config_json(void **state)
{
    (void)state;
    static const char *const a[] = {"CUSTOM_ENV_CI_JOB_ID", "42", "CUSTOM_ENV_CI_RUNNER_ID", "7",
                                    NULL};
    fake_env = a;
    char *text = mx_gitlab_config_json(fenv, "1.2.3");
    json_error_t je;
    json_t *doc = json_loads(text, 0, &je);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "builds_dir")),
                        "/home/circleci/builds");
    assert_string_equal(json_string_value(json_object_get(doc, "cache_dir")),
                        "/home/circleci/cache");
    assert_true(json_is_false(json_object_get(doc, "builds_dir_is_shared")));
    assert_string_equal(json_string_value(json_object_get(doc, "hostname")), "mexec-gitlab-r7-j42");
    json_t *drv = json_object_get(doc, "driver");
    assert_string_equal(json_string_value(json_object_get(drv, "name")), "mexec");
    assert_string_equal(json_string_value(json_object_get(drv, "version")), "1.2.3");
    assert_true(json_is_object(json_object_get(doc, "job_env")));
    assert_string_equal(json_string_value(json_object_get(doc, "shell")), "bash");
    assert_null(strchr(text, '\n')); /* one line */
    json_decref(doc);
    free(text);
}

static void exit_codes(void **state)
{
    (void)state;
    static const char *const a[] = {"BUILD_FAILURE_EXIT_CODE", "17", "SYSTEM_FAILURE_EXIT_CODE",
                                    "18", NULL};
    fake_env = a;
    assert_int_equal(mx_gitlab_build_failure(fenv), 17);
    assert_int_equal(mx_gitlab_system_failure(fenv), 18);
    static const char *const bad[] = {"BUILD_FAILURE_EXIT_CODE", "x", NULL};
    fake_env = bad;
    assert_int_equal(mx_gitlab_build_failure(fenv), 1);
    assert_int_equal(mx_gitlab_system_failure(fenv), 2);
}

static const char payload[] =
    "{\"id\": 42, \"token\": \"job-token-abcdef\","
    " \"variables\": ["
    "  {\"key\": \"PLAIN\", \"value\": \"visible-value\", \"public\": true, \"masked\": false},"
    "  {\"key\": \"SECRET\", \"value\": \"hidden-value-1\", \"public\": false, \"masked\": true}],"
    " \"credentials\": ["
    "  {\"type\": \"registry\", \"url\": \"registry.example.com\", \"username\": "
    "\"gitlab-ci-token\", \"password\": \"payload-pass\"},"
    "  {\"type\": \"registry\", \"url\": \"other.example.com:5000\", \"username\": \"bob\", "
    "\"password\": \"bob-pass-1\"}]}";

static void secrets_and_logins(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *jrf = tu_write(dir, "job.json", payload);
    char *auth = mx_b64_encode("alice:dac-pass", 14);
    char *dac = mx_xasprintf("{\"auths\": {\"registry.example.com\": {\"auth\": \"%s\"}}}", auth);

    mx_secrets s;
    mx_secrets_init(&s);
    s.replacement = MX_GITLAB_MASK_TEXT;
    mx_err err;
    assert_int_equal(mx_gitlab_secrets(dac, jrf, &s, &err), 0);
    char *in = mx_xasprintf("a dac-pass b %s c hidden-value-1 d visible-value e payload-pass "
                            "f job-token-abcdef",
                            auth);
    char *out = mx_secrets_mask(&s, in);
    assert_string_equal(out, "a [MASKED] b [MASKED] c [MASKED] d visible-value e [MASKED] "
                             "f [MASKED]");
    free(in);
    free(out);
    mx_secrets_free(&s);
    /* CircleCI's default stays */
    mx_secrets_init(&s);
    mx_secrets_add(&s, "secret");
    out = mx_secrets_mask(&s, "a secret");
    assert_string_equal(out, "a ********");
    free(out);
    mx_secrets_free(&s);

    /* DOCKER_AUTH_CONFIG beats the payload for the same registry; the payload's other one
     * stays */
    mx_gitlab_creds c;
    char *skipped = NULL;
    assert_int_equal(mx_gitlab_logins(dac, jrf, NULL, &c, &skipped, &err), 0);
    assert_null(skipped);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0].registry, "registry.example.com");
    assert_string_equal(c.v[0].username, "alice");
    assert_string_equal(c.v[0].password, "dac-pass");
    assert_string_equal(c.v[1].registry, "other.example.com:5000");
    assert_string_equal(c.v[1].username, "bob");
    mx_gitlab_creds_free(&c);
    /* payload alone */
    assert_int_equal(mx_gitlab_logins(NULL, jrf, NULL, &c, &skipped, &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.v[0].username, "gitlab-ci-token");
    assert_string_equal(c.v[0].password, "payload-pass");
    mx_gitlab_creds_free(&c);
    /* nothing at all */
    assert_int_equal(mx_gitlab_logins(NULL, NULL, NULL, &c, &skipped, &err), 0);
    assert_int_equal(c.n, 0);
    /* a helper the job's DOCKER_AUTH_CONFIG names would run on the runner's host: only when
     * the host allows it (issue 11, item 4); none is allowed by default */
    const char *helper_dac = "{\"credHelpers\": {\"registry.example.com\": \"evil\"}}";
    assert_int_equal(mx_gitlab_logins(helper_dac, NULL, NULL, &c, &skipped, &err), -1);
    tu_assert_contains(err.msg, "credential helper \"evil\" is not allowed on this host");
    const char *other[] = {"pass", NULL};
    assert_int_equal(mx_gitlab_logins(helper_dac, NULL, other, &c, &skipped, &err), -1);
    tu_assert_contains(err.msg, "credential helper \"evil\" is not allowed on this host");
    /* a bad DOCKER_AUTH_CONFIG is an error that does not quote it */
    mx_secrets_init(&s);
    assert_int_equal(mx_gitlab_secrets("{\"auths\": secret-text", NULL, &s, &err), -1);
    assert_null(strstr(err.msg, "secret-text"));
    mx_secrets_free(&s);

    free(dac);
    free(auth);
    free(jrf);
    tu_rmdir(dir);
}

static void vm_state_roundtrip(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *jobs = mx_xasprintf("%s/jobs", dir);
    mx_host_config hc;
    memset(&hc, 0, sizeof hc);
    hc.state_dir = jobs;
    mx_vm vm;
    mx_err err;
    assert_int_equal(mx_vm_prepare_id(&vm, &hc, "build job", "gitlab-r7-j42", &err), 0);
    assert_string_equal(vm.domain_name, "mexec-gitlab-r7-j42");
    vm.ssh_port = 40123;
    assert_int_equal(mx_vm_save(&vm, &err), 0);
    struct stat st;
    char *path = mx_xasprintf("%s/gitlab-r7-j42/vm.json", jobs);
    assert_int_equal(tu_mode(path), 0600);
    char *vdir = mx_xstrdup(vm.dir);
    mx_vm_detach(&vm); /* as prepare leaves it: files stay */
    assert_int_equal(stat(path, &st), 0);

    mx_vm back;
    assert_int_equal(mx_vm_load(&back, vdir, &err), 0);
    assert_string_equal(back.job_id, "gitlab-r7-j42");
    assert_string_equal(back.job_name, "build job");
    assert_string_equal(back.domain_name, "mexec-gitlab-r7-j42");
    assert_int_equal(back.ssh_port, 40123);
    assert_string_equal(back.dir, vdir);
    char *key = mx_xasprintf("%s/client_key", vdir);
    assert_string_equal(back.client_key, key);
    assert_int_equal(stat(back.host_pub, &st), 0);
    free(key);
    mx_vm_teardown(&back); /* no domain (never booted): removes the directory */
    assert_int_equal(stat(vdir, &st), -1);

    /* a missing or corrupt state file is an error, not a crash */
    assert_int_equal(mx_vm_load(&back, vdir, &err), -1);
    mx_vm_detach(&back);
    assert_int_equal(mx_vm_prepare_id(&vm, &hc, "j", "gitlab-r7-j43", &err), 0);
    char *bad = mx_xasprintf("%s/vm.json", vm.dir);
    tu_write_free(vm.dir, "vm.json",
                  "{\"id\": \"../x\", \"name\": \"j\", \"domain\": \"d\", "
                  "\"ssh_port\": 1}");
    char *vdir2 = mx_xstrdup(vm.dir);
    mx_vm_detach(&vm);
    assert_int_equal(mx_vm_load(&back, vdir2, &err), -1);
    mx_vm_teardown(&back);
    /* ids that could escape the state directory are refused */
    assert_int_equal(mx_vm_prepare_id(&vm, &hc, "j", "../x", &err), -1);
    mx_vm_detach(&vm);

    free(bad);
    free(vdir2);
    free(vdir);
    free(path);
    free(jobs);
    tu_rmdir(dir);
}

static void service_aliases(void **state)
{
    (void)state;
    char **v = NULL;
    /* GitLab's two derived names, after any given alias */
    size_t n = mx_gitlab_service_aliases("registry.example.com/tutum/wordpress:latest", NULL, &v);
    assert_int_equal(n, 2);
    assert_string_equal(v[0], "registry.example.com__tutum__wordpress");
    assert_string_equal(v[1], "registry.example.com-tutum-wordpress");
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    n = mx_gitlab_service_aliases("postgres:latest", "db, pg", &v);
    assert_int_equal(n, 3);
    assert_string_equal(v[0], "db");
    assert_string_equal(v[1], "pg");
    assert_string_equal(v[2], "postgres");
    assert_null(v[3]);
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
    /* a registry with a port and a digest: the derived names are not host names, the alias is */
    n = mx_gitlab_service_aliases("10.0.2.2:5002/private/app@sha256:abcd", "cache", &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "cache");
    free(v[0]);
    free(v);
    n = mx_gitlab_service_aliases("redis", "bad/alias", &v);
    assert_int_equal(n, 1);
    assert_string_equal(v[0], "redis");
    free(v[0]);
    free(v);
}

static void stages_in_container(void **state)
{
    (void)state;
    assert_true(mx_gitlab_stage_in_container("build_script"));
    assert_true(mx_gitlab_stage_in_container("after_script"));
    assert_true(mx_gitlab_stage_in_container("step_release"));
    /* GitLab's helper does these: here the VM, which has git */
    assert_false(mx_gitlab_stage_in_container("get_sources"));
    assert_false(mx_gitlab_stage_in_container("prepare_script"));
    assert_false(mx_gitlab_stage_in_container("archive_cache"));
    assert_false(mx_gitlab_stage_in_container("upload_artifacts_on_failure"));
}

static const char ctr_payload[] =
    "{\"id\": 43, \"token\": \"job-token-abcdef\","
    " \"image\": {\"name\": \"registry.example.com/team/app:1\"},"
    " \"services\": ["
    "  {\"name\": \"other.example.com:5000/db:15\", \"alias\": \"postgres\","
    "   \"command\": [\"postgres\", \"-c\", \"fsync=off\"],"
    "   \"variables\": [{\"key\": \"POSTGRES_USER\", \"value\": \"runner\"}]},"
    "  {\"name\": \"redis:latest\", \"entrypoint\": [\"\"]}],"
    " \"variables\": ["
    "  {\"key\": \"DATABASE_URL\", \"value\": \"postgres://runner:runner@postgres:5432/app\"},"
    "  {\"key\": \"POSTGRES_USER\", \"value\": \"overridden\"},"
    "  {\"key\": \"KUBECONFIG\", \"value\": \"/runner/host/path\", \"file\": true}],"
    " \"credentials\": ["
    "  {\"type\": \"registry\", \"url\": \"other.example.com:5000\", \"username\": \"bob\", "
    "\"password\": \"bob-pass-1\"}]}";

static void containers_step(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    char *jrf = tu_write(dir, "job.json", ctr_payload);
    char *auth = mx_b64_encode("alice:dac-pass", 14);
    char *dac = mx_xasprintf("{\"auths\": {\"registry.example.com\": {\"auth\": \"%s\"}}}", auth);
    static const char *const none[] = {NULL};
    fake_env = none;
    mx_gitlab_ctr_opts o = {.env = fenv, .docker_auth_config = dac};
    mx_secrets s;
    mx_secrets_init(&s);
    mx_msg m;
    char *log = NULL;
    mx_err err;
    if (mx_gitlab_containers_msg("registry.example.com/team/app:1", jrf, &o, &s, &m, &log, &err) <
        0)
        fail_msg("%s", err.msg);
    assert_int_equal(m.kind, MX_STEP_CONTAINERS);
    assert_string_equal(m.network, "mexec-job");
    assert_int_equal(m.ncontainers, 3);
    /* the job container: steps run there; the VM's builds and cache are shared with it */
    assert_string_equal(m.containers[0].name, "mexec-job");
    assert_int_equal(m.containers[0].steps, 1);
    assert_int_equal(m.containers[0].nbinds, 2);
    assert_string_equal(m.containers[0].binds[0], "~/builds:" MX_GITLAB_BUILDS_DIR);
    /* services: alias, command, the job's variables then their own, no file variables */
    mx_container_spec *pg = &m.containers[1];
    assert_string_equal(pg->name, "mexec-svc-1");
    assert_string_equal(pg->aliases[0], "postgres");
    assert_int_equal(pg->ncommand, 3);
    assert_int_equal(pg->has_entrypoint, 0);
    int user = 0, url = 0;
    for (size_t i = 0; i < pg->nenv; i++) {
        assert_string_not_equal(pg->env[i].key, "KUBECONFIG");
        if (strcmp(pg->env[i].key, "POSTGRES_USER") == 0)
            assert_string_equal(pg->env[i].value, "runner"), user = 1;
        if (strcmp(pg->env[i].key, "DATABASE_URL") == 0) url = 1;
    }
    assert_true(user && url);
    mx_container_spec *redis = &m.containers[2];
    assert_string_equal(redis->aliases[0], "redis");
    assert_int_equal(redis->has_entrypoint, 1);
    assert_int_equal(redis->nentrypoint, 1);
    /* each image with GitLab's precedence; the anonymous one without */
    assert_int_equal(m.docker.nimages, 3);
    assert_int_equal(m.docker.nauths, 2);
    assert_string_equal(m.docker.auths[0].registry, "registry.example.com/team/app");
    assert_string_equal(m.docker.auths[0].password, "dac-pass");
    assert_string_equal(m.docker.auths[1].registry, "other.example.com:5000/db");
    assert_string_equal(m.docker.auths[1].username, "bob");
    tu_assert_contains(log, "Authenticating with credentials from $DOCKER_AUTH_CONFIG\n");
    tu_assert_contains(log, "Authenticating with credentials from job payload (GitLab Registry)\n");
    free(log);
    mx_msg_clear(&m);

    /* no payload services: CI_JOB_SERVICES */
    char *empty = tu_write(dir, "empty.json", "{\"id\": 44}");
    static const char *const env2[] = {"CUSTOM_ENV_CI_JOB_SERVICES",
                                       "[{\"name\": \"redis:7\", \"alias\": \"cache\"}]", NULL};
    fake_env = env2;
    o.docker_auth_config = NULL;
    if (mx_gitlab_containers_msg("alpine:3", empty, &o, &s, &m, &log, &err) < 0)
        fail_msg("%s", err.msg);
    assert_int_equal(m.ncontainers, 2);
    assert_string_equal(m.containers[1].aliases[0], "cache");
    assert_null(log);
    mx_msg_clear(&m);

    /* a DOCKER_AUTH_CONFIG that is not JSON is the job's mistake */
    o.docker_auth_config = "{not json";
    assert_int_equal(mx_gitlab_containers_msg("alpine:3", empty, &o, &s, &m, &log, &err), -1);
    assert_int_not_equal(err.status, MX_INFRA);
    mx_secrets_free(&s);
    free(empty);
    free(jrf);
    free(auth);
    free(dac);
    tu_rmdir(dir);
}

static void container_image(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp();
    free(tu_write(dir, "catalog.yaml",
                  "default: debian-12:current\nimages:\n"
                  "  debian-12:current: { recipe: debian-12 }\n"));
    mx_host_config hc;
    memset(&hc, 0, sizeof hc);
    hc.images_dir = dir;
    assert_false(mx_gitlab_container_image(&hc, NULL));
    assert_false(mx_gitlab_container_image(&hc, ""));
    assert_false(mx_gitlab_container_image(&hc, "debian-12:current"));
    assert_true(mx_gitlab_container_image(&hc, "ruby:3.3"));
    assert_true(mx_gitlab_container_image(&hc, "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:1"));
    /* a catalog name with a tag it lacks is a mistyped machine image, not a Docker Hub image */
    assert_false(mx_gitlab_container_image(&hc, "debian-12:no-such-tag"));
    assert_true(mx_gitlab_container_image(&hc, "debian-120:current"));
    /* an imported stock cloud image is a machine image too */
    char *store = mx_path_join(dir, "store");
    hc.image_store = store;
    assert_true(mx_gitlab_container_image(&hc, "mine:v1"));
    char *imported = mx_path_join(dir, "store/imported/mine/v1");
    assert_int_equal(mx_mkdir_p(imported, 0700, NULL), 0);
    assert_false(mx_gitlab_container_image(&hc, "mine:v1"));
    free(imported);
    free(store);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(job_key),
        cmocka_unit_test(config_json),
        cmocka_unit_test(exit_codes),
        cmocka_unit_test(secrets_and_logins),
        cmocka_unit_test(vm_state_roundtrip),
        cmocka_unit_test(service_aliases),
        cmocka_unit_test(stages_in_container),
        cmocka_unit_test(containers_step),
        cmocka_unit_test(container_image),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
