/* agent_docker: the real mexec-agent binary running docker-check and docker-pull steps against
 * a fake dockerd (fixtures/fake_dockerd.py) on a unix socket in a temp dir, driven over pipes as
 * the host drives it.  The fake checks what a real daemon would see (the /auth body, the
 * X-Registry-Auth header per registry) and logs every request, so attempts are counted, not
 * timed.  Every test also checks that no password or token appears in anything the agent sent. */
#include "agent_harness.h"

#include "mx_b64.h"

#include <jansson.h>

#ifndef MX_FAKE_DOCKERD
#error "MX_FAKE_DOCKERD must name fixtures/fake_dockerd.py"
#endif

#define HUB "https://index.docker.io/v1/"
#define HUB_USER "alice"
#define HUB_PW "hub-S3cret-pw"
#define REG "registry.example.com:5000"
#define REG_USER "robot"
#define REG_PW "reg-S3cret-pw"
#define REG_TOKEN "tok-S3cret-refresh"
/* every secret above contains this: the leak check looks for it */
#define SECRET_MARK "S3cret"

/* What a fake knows: logins, and which image needs which X-Registry-Auth. */
static const char *const base_config =
    "{\"logins\": ["
    "  {\"serveraddress\": \"" HUB "\", \"username\": \"" HUB_USER "\", \"password\": \"" HUB_PW
    "\"},"
    "  {\"serveraddress\": \"" REG "\", \"username\": \"" REG_USER "\", \"password\": \"" REG_PW
    "\"}],"
    " \"auth_fail_first\": %d,"
    " \"images\": {"
    "  \"docker.io/library/busybox:latest\": {\"auth\": null, \"layers\": 2},"
    "  \"docker.io/acme/private-db:1.2.3\": {\"auth\": {\"username\": \"" HUB_USER
    "\", \"password\": \"" HUB_PW "\", \"serveraddress\": \"" HUB "\"}, \"layers\": 3},"
    "  \"" REG "/team/app@sha256:" /* 64 hex digits */
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\": {\"auth\": "
    "{\"identitytoken\": \"" REG_TOKEN "\", \"serveraddress\": \"" REG "\"}, \"layers\": 1},"
    "  \"docker.io/library/hang:1\": {\"auth\": null, \"hang\": true},"
    "  \"docker.io/library/flaky:1\": {\"auth\": null, \"fail_first\": %d, \"fail_mode\": \"%s\"}"
    " }}";

typedef struct fixture {
    agent a; /* a.dir holds everything below */
    char *home;
    char *sock;
    char *log;
    pid_t fake;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    agent_init(&f->a);
    f->home = mx_path_join(f->a.dir, "home");
    mx_err err;
    if (mx_mkdir_p(f->home, 0700, &err) < 0) fail_msg("%s", err.msg);
    f->sock = mx_path_join(f->a.dir, "docker.sock");
    f->log = mx_path_join(f->a.dir, "requests.log");
    f->fake = -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->fake > 0) {
        kill(f->fake, SIGKILL);
        waitpid(f->fake, NULL, 0);
    }
    agent_cleanup(&f->a);
    free(f->home);
    free(f->sock);
    free(f->log);
    free(f);
    return 0;
}

static void fake_start(fixture *f, int auth_fail_first, int pull_fail_first, const char *mode)
{
    char *cfg = mx_xasprintf(base_config, auth_fail_first, pull_fail_first, mode);
    char *path = tu_write(f->a.dir, "fake.json", cfg);
    free(cfg);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", MX_FAKE_DOCKERD, f->sock, path, f->log, (char *)NULL);
        _exit(127);
    }
    free(path);
    f->fake = pid;
}

/* Starts the agent and says hello; wait_s: its bound on waiting for the daemon
 * (MEXEC_DOCKER_WAIT_S). */
static void hello(fixture *f, const char *wait_s)
{
    /* the credential-store test's fake helper lives in the temp dir */
    char *path = mx_xasprintf("%s:/usr/bin:/bin", f->a.dir);
    mx_kv env[] = {{"HOME", f->home},
                   {"DOCKER_CONFIG", NULL},
                   {"MEXEC_DOCKER_SOCK", f->sock},
                   {"MEXEC_DOCKER_WAIT_S", (char *)wait_s},
                   {"PATH", path}};
    agent_start(&f->a, env, sizeof env / sizeof env[0]);
    free(path);
    agent_hello(&f->a);
}

/* Nothing the agent sent may hold a secret, plainly or in config.json's base64 form. */
static void assert_no_secret(const char *text)
{
    if (!text) return;
    tu_assert_not_contains(text, SECRET_MARK);
    const char *pairs[] = {HUB_USER ":" HUB_PW, REG_USER ":" REG_PW};
    for (size_t i = 0; i < 2; i++) {
        char *b64 = mx_b64_encode(pairs[i], strlen(pairs[i]));
        tu_assert_not_contains(text, b64);
        free(b64);
    }
}

/* Runs a step and checks that nothing it sent back holds a secret. */
static void run(fixture *f, const mx_msg *step, agent_result *r)
{
    agent_run(&f->a, step, r);
    assert_no_secret(r->out.data);
    assert_no_secret(r->err.data);
    assert_no_secret(r->end.message);
}

static mx_msg check_step(int id, const char *registry, const char *user, const char *pw)
{
    return (mx_msg){
        .type = MX_MSG_STEP,
        .id = id,
        .kind = MX_STEP_DOCKER_CHECK,
        .docker = {.registry = (char *)registry, .username = (char *)user, .password = (char *)pw}};
}

/* A string member of a logged request (NULL when absent). */
static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The fake's request log: every entry whose path ends with `path`. */
static json_t *requests(fixture *f, const char *path)
{
    json_t *all = json_array();
    if (!mx_path_exists(f->log)) return all;
    char *text = tu_read(f->log);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!o) fail_msg("bad log line %s", line);
        const char *p = str_of(o, "path");
        size_t n = strlen(p), k = strlen(path);
        if (n >= k && strcmp(p + n - k, path) == 0)
            assert_int_equal(json_array_append_new(all, o), 0);
        else
            json_decref(o);
    }
    free(text);
    return all;
}

/* The fake got exactly n requests to paths ending with `path`. */
static void assert_requests(fixture *f, const char *path, size_t n)
{
    json_t *all = requests(f, path);
    assert_int_equal(json_array_size(all), n);
    json_decref(all);
}

/* docker's config.json, under the agent's HOME */
#define CONFIG_JSON ".docker/config.json"

static char *config_path(fixture *f)
{
    return mx_path_join(f->home, CONFIG_JSON);
}

/* ---- docker-check ---- */

static void test_check_login_writes_config(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    agent_result r;
    mx_msg hub = check_step(1, "docker.io", HUB_USER, HUB_PW);
    run(f, &hub, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    assert_null(r.end.message);
    tu_assert_contains(r.out.data, "Login Succeeded");
    tu_assert_contains(r.err.data, "WARNING! Your password will be stored unencrypted");
    agent_result_free(&r);

    /* the daemon saw what `docker login` sends */
    json_t *auth = requests(f, "/auth");
    assert_int_equal(json_array_size(auth), 1);
    json_t *body = json_object_get(json_array_get(auth, 0), "body");
    assert_string_equal(str_of(body, "serveraddress"), HUB);
    assert_string_equal(str_of(body, "username"), HUB_USER);
    json_decref(auth);

    /* byte for byte what the docker CLI writes: tabs, no trailing newline, 0600 */
    char *path = config_path(f);
    tu_assert_file(f->home, CONFIG_JSON,
                   "{\n"
                   "\t\"auths\": {\n"
                   "\t\t\"https://index.docker.io/v1/\": {\n"
                   "\t\t\t\"auth\": \"YWxpY2U6aHViLVMzY3JldC1wdw==\"\n"
                   "\t\t}\n"
                   "\t}\n"
                   "}");
    assert_int_equal(tu_mode(path), 0600);

    /* a second registry, with retries allowed: added next to the first, keyed host:port */
    mx_msg reg = check_step(2, REG, REG_USER, REG_PW);
    reg.docker.retries = 2;
    run(f, &reg, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "Attempt 1/3: docker login");
    tu_assert_not_contains(r.out.data, "Attempt 2/3");
    agent_result_free(&r);
    tu_assert_file(f->home, CONFIG_JSON,
                   "{\n"
                   "\t\"auths\": {\n"
                   "\t\t\"https://index.docker.io/v1/\": {\n"
                   "\t\t\t\"auth\": \"YWxpY2U6aHViLVMzY3JldC1wdw==\"\n"
                   "\t\t},\n"
                   "\t\t\"registry.example.com:5000\": {\n"
                   "\t\t\t\"auth\": \"cm9ib3Q6cmVnLVMzY3JldC1wdw==\"\n"
                   "\t\t}\n"
                   "\t}\n"
                   "}");
    assert_int_equal(tu_mode(path), 0600);
    free(path);
    agent_bye(&f->a);
}

static void test_check_wrong_password(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    agent_result r;
    mx_msg bad = check_step(1, NULL, HUB_USER, "wrong-S3cret");
    bad.docker.retries = 3; /* a refused password is not retried */
    run(f, &bad, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 1);
    assert_string_equal(r.end.message, "Error response from daemon: Get "
                                       "\"https://registry-1.docker.io/v2/\": unauthorized: "
                                       "incorrect username or password");
    tu_assert_contains(r.err.data, "unauthorized: incorrect username or password");
    agent_result_free(&r);
    assert_requests(f, "/auth", 1);
    char *path = config_path(f);
    assert_false(mx_path_exists(path));
    free(path);

    /* nothing to log in with: the step says so (the host names the variable before this) */
    mx_msg none = check_step(2, NULL, HUB_USER, "");
    run(f, &none, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.end.message, "no password given");
    agent_result_free(&r);
    agent_bye(&f->a);
}

static void test_check_retries(void **state)
{
    fixture *f = *state;
    fake_start(f, 2, 0, "http"); /* the first two /auth calls fail with a 500 */
    hello(f, "60");
    agent_result r;
    mx_msg few = check_step(1, "docker.io", HUB_USER, HUB_PW);
    few.docker.retries = 1;
    run(f, &few, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.end.message, "Error response from daemon: ");
    tu_assert_contains(r.end.message, "TLS handshake timeout");
    tu_assert_contains(r.out.data, "Retrying in 0 second(s)...");
    agent_result_free(&r);
    assert_requests(f, "/auth", 2);

    mx_msg enough = check_step(2, "docker.io", HUB_USER, HUB_PW);
    enough.docker.retries = 3;
    run(f, &enough, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "Login Succeeded");
    agent_result_free(&r);
    assert_requests(f, "/auth", 3);
    agent_bye(&f->a);
}

static void test_check_no_daemon(void **state)
{
    fixture *f = *state;
    hello(f, "1"); /* no fake: the socket never appears */
    agent_result r;
    mx_msg step = check_step(1, NULL, HUB_USER, HUB_PW);
    run(f, &step, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.out.data, "Waiting for the Docker daemon");
    char *want = mx_xasprintf("Cannot connect to the Docker daemon at unix://%s. Is the docker "
                              "daemon running? (no socket after waiting 1 s)",
                              f->sock);
    assert_string_equal(r.end.message, want);
    free(want);
    agent_result_free(&r);
    agent_bye(&f->a);
}

static void test_check_daemon_starts_late(void **state)
{
    fixture *f = *state;
    hello(f, "60");
    mx_msg step = check_step(1, NULL, HUB_USER, HUB_PW);
    agent_send(&f->a, &step);
    /* the agent is waiting once it says so; only then does dockerd come up */
    agent_result r;
    agent_wait_output(&f->a, 1, &r, "Waiting for the Docker daemon");
    fake_start(f, 0, 0, "http");
    agent_collect(&f->a, 1, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "Login Succeeded");
    agent_result_free(&r);
    agent_bye(&f->a);
}

static void test_check_credentials_store(void **state)
{
    fixture *f = *state;
    /* a stand-in for docker-credential-pass: records what it was given */
    char *stored = mx_path_join(f->a.dir, "helper-stdin");
    char *script = mx_xasprintf("#!/bin/sh\n[ \"$1\" = store ] || exit 3\ncat > '%s'\n", stored);
    char *helper = tu_write(f->a.dir, "docker-credential-pass", script);
    assert_int_equal(chmod(helper, 0755), 0);
    free(script);
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    agent_result r;
    mx_msg step = check_step(1, REG, REG_USER, REG_PW);
    step.docker.credentials_store = 1;
    run(f, &step, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_not_contains(r.err.data, "WARNING!");
    agent_result_free(&r);
    tu_assert_file(f->a.dir, "helper-stdin",
                   "{\"ServerURL\":\"" REG "\",\"Username\":\"" REG_USER "\",\"Secret\":\"" REG_PW
                   "\"}");
    char *path = config_path(f);
    tu_assert_file(f->home, CONFIG_JSON,
                   "{\n"
                   "\t\"auths\": {\n"
                   "\t\t\"registry.example.com:5000\": {}\n"
                   "\t},\n"
                   "\t\"credsStore\": \"pass\"\n"
                   "}");
    assert_int_equal(tu_mode(path), 0600);

    /* a failing helper fails the step and leaves config.json alone */
    free(tu_write(f->a.dir, "docker-credential-pass",
                  "#!/bin/sh\necho 'pass not initialized'\nexit 1\n"));
    assert_int_equal(chmod(helper, 0755), 0);
    mx_msg again = check_step(2, "docker.io", HUB_USER, HUB_PW);
    again.docker.credentials_store = 1;
    run(f, &again, &r);
    assert_int_equal(r.end.exit_status, 1);
    assert_string_equal(r.end.message, "error storing credentials - err: pass not initialized");
    agent_result_free(&r);
    char *got = tu_read(path);
    tu_assert_not_contains(got, HUB);
    free(got);
    free(path);
    free(helper);
    free(stored);
    agent_bye(&f->a);
}

/* ---- docker-pull ---- */

#define DIGEST "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static mx_msg pull_step(int id, char **images, size_t n)
{
    return (mx_msg){.type = MX_MSG_STEP,
                    .id = id,
                    .kind = MX_STEP_DOCKER_PULL,
                    .docker = {.images = images, .nimages = n}};
}

static void test_pull_with_auths(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    char *images[] = {"busybox", "acme/private-db:1.2.3",
                      ("Registry.Example.com:5000/team/app@" DIGEST)};
    mx_docker_auth auths[] = {
        {.registry = "index.docker.io", .username = HUB_USER, .password = HUB_PW},
        {.registry = "registry.example.com:5000",
         .username = "<token>",
         .identitytoken = REG_TOKEN},
        /* a longer key for another path on the same host must not be chosen */
        {.registry = "registry.example.com:5000/other", .username = "x", .password = "y-S3cret"},
    };
    mx_msg step = pull_step(1, images, 3);
    step.docker.auths = auths;
    step.docker.nauths = 3;
    agent_result r;
    run(f, &step, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    if (r.end.exit_status != 0) fail_msg("pull failed: %s", r.end.message);
    /* condensed like the CLI's non-terminal output: no byte-count progress lines */
    tu_assert_contains(r.out.data, "Pulling busybox\n"
                                   "latest: Pulling from library/busybox\n"
                                   "0000000000a1: Pulling fs layer\n");
    tu_assert_contains(r.out.data, "0000000000a1: Download complete\n");
    tu_assert_contains(r.out.data, "0000000000a2: Pull complete\n");
    tu_assert_contains(r.out.data, "Digest: sha256:abab");
    tu_assert_contains(r.out.data, "Status: Downloaded newer image for busybox:latest\n"
                                   "docker.io/library/busybox:latest\n");
    tu_assert_contains(r.out.data, "Status: Downloaded newer image for acme/private-db:1.2.3\n");
    tu_assert_contains(r.out.data, "docker.io/acme/private-db:1.2.3\n");
    tu_assert_contains(r.out.data, "registry.example.com:5000/team/app@" DIGEST "\n");
    tu_assert_not_contains(r.out.data, "Downloading");
    tu_assert_not_contains(r.out.data, "Extracting");
    agent_result_free(&r);

    /* what the daemon got: the CLI's query and the right credentials per registry */
    json_t *req = requests(f, "/images/create");
    assert_int_equal(json_array_size(req), 3);
    json_t *q0 = json_object_get(json_array_get(req, 0), "query");
    assert_string_equal(str_of(q0, "fromImage"), "busybox");
    assert_string_equal(str_of(q0, "tag"), "latest");
    /* public images on Docker Hub get the hub credentials too, as with the docker CLI */
    for (size_t i = 0; i < 2; i++) {
        json_t *a = json_object_get(json_array_get(req, i), "auth");
        assert_string_equal(str_of(a, "serveraddress"), HUB);
        assert_string_equal(str_of(a, "username"), HUB_USER);
    }
    json_t *q2 = json_object_get(json_array_get(req, 2), "query");
    assert_string_equal(str_of(q2, "tag"), DIGEST);
    json_t *a2 = json_object_get(json_array_get(req, 2), "auth");
    assert_string_equal(str_of(a2, "identitytoken"), REG_TOKEN);
    assert_null(json_object_get(a2, "username"));
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(req, i), "status")),
                         200);
    json_decref(req);
    agent_bye(&f->a);
}

static void test_pull_uses_config_from_check(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    char *images[] = {"acme/private-db:1.2.3"};
    agent_result r;
    /* before any login: the daemon refuses, with its message */
    mx_msg anon = pull_step(1, images, 1);
    run(f, &anon, &r);
    assert_int_equal(r.end.exit_status, 1);
    assert_string_equal(r.end.message,
                        "Error response from daemon: pull access denied for "
                        "acme/private-db, repository does not exist or may require "
                        "'docker login': denied: requested access to the resource is "
                        "denied");
    agent_result_free(&r);

    mx_msg login = check_step(2, "docker.io", HUB_USER, HUB_PW);
    run(f, &login, &r);
    assert_int_equal(r.end.exit_status, 0);
    agent_result_free(&r);
    mx_msg pull = pull_step(3, images, 1);
    run(f, &pull, &r);
    if (r.end.exit_status != 0) fail_msg("pull failed: %s", r.end.message);
    tu_assert_contains(r.out.data, "Status: Downloaded newer image for acme/private-db:1.2.3");
    agent_result_free(&r);
    json_t *req = requests(f, "/images/create");
    assert_int_equal(json_array_size(req), 2);
    json_t *a = json_object_get(json_array_get(req, 1), "auth");
    assert_string_equal(str_of(a, "username"), HUB_USER);
    assert_string_equal(str_of(a, "serveraddress"), HUB);
    json_decref(req);
    agent_bye(&f->a);
}

static void test_pull_error_stops_or_is_ignored(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    char *images[] = {"nosuch/image:9", "busybox:latest"};
    agent_result r;
    /* the orb's loop under `bash -e`: the first failure ends the step */
    mx_msg stop = pull_step(1, images, 2);
    stop.docker.retries = 2;
    run(f, &stop, &r);
    assert_int_equal(r.end.exit_status, 1);
    assert_string_equal(r.end.message, "manifest for docker.io/nosuch/image:9 not found: manifest "
                                       "unknown: manifest unknown");
    tu_assert_not_contains(r.out.data, "Pulling busybox");
    agent_result_free(&r);
    /* an in-stream error is retried like the daemon's transient failures */
    assert_requests(f, "/images/create", 3);

    /* ignore_errors: reported, the next image pulled, status 0 */
    mx_msg ignore = pull_step(2, images, 2);
    ignore.docker.ignore_errors = 1;
    run(f, &ignore, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_null(r.end.message);
    tu_assert_contains(r.err.data, "manifest unknown");
    tu_assert_contains(r.out.data, "docker.io/library/busybox:latest");
    agent_result_free(&r);
    assert_requests(f, "/images/create", 5);
    agent_bye(&f->a);
}

static void pull_flaky(void **state, const char *mode)
{
    fixture *f = *state;
    fake_start(f, 0, 2, mode); /* flaky:1 fails twice, then pulls */
    hello(f, "60");
    char *images[] = {"flaky:1"};
    mx_msg step = pull_step(1, images, 1);
    step.docker.retries = 2;
    agent_result r;
    run(f, &step, &r);
    if (r.end.exit_status != 0) fail_msg("pull failed: %s", r.end.message);
    tu_assert_contains(r.out.data, "Retrying in 0 second(s) (attempt 2/3)...");
    tu_assert_contains(r.out.data, "Retrying in 0 second(s) (attempt 3/3)...");
    tu_assert_contains(r.out.data, "docker.io/library/flaky:1\n");
    agent_result_free(&r);
    assert_requests(f, "/images/create", 3);
    agent_bye(&f->a);
}

static void test_pull_retries_http(void **state)
{
    pull_flaky(state, "http");
}

static void test_pull_retries_stream(void **state)
{
    pull_flaky(state, "stream");
}

static void test_pull_no_images_and_bad_reference(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    agent_result r;
    mx_msg none = pull_step(1, NULL, 0);
    run(f, &none, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.end.message, "no images given");
    agent_result_free(&r);
    char *images[] = {"UPPER/Case:tag"};
    mx_msg bad = pull_step(2, images, 1);
    run(f, &bad, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.end.message, "invalid reference format");
    agent_result_free(&r);
    assert_requests(f, "/images/create", 0);
    agent_bye(&f->a);
}

static void test_pull_cancel(void **state)
{
    fixture *f = *state;
    fake_start(f, 0, 0, "http");
    hello(f, "60");
    char *images[] = {"hang:1", "busybox"};
    mx_msg step = pull_step(1, images, 2);
    agent_send(&f->a, &step);
    /* once the daemon's stream has started, the host cancels */
    agent_result r;
    agent_wait_output(&f->a, 1, &r, "1: Pulling from library/hang\n");
    mx_msg cancel = {.type = MX_MSG_CANCEL};
    agent_send(&f->a, &cancel);
    agent_collect(&f->a, 1, &r);
    assert_int_equal(r.end.reason, MX_END_CANCELLED);
    assert_int_equal(r.end.exit_status, 128 + SIGTERM);
    agent_result_free(&r);
    /* the next image was not started */
    assert_requests(f, "/images/create", 1);
    agent_bye(&f->a);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_check_login_writes_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_wrong_password, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_no_daemon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_daemon_starts_late, setup, teardown),
        cmocka_unit_test_setup_teardown(test_check_credentials_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_with_auths, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_uses_config_from_check, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_error_stops_or_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_retries_http, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_retries_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_no_images_and_bad_reference, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_cancel, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
