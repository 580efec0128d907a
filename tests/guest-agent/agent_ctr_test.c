/* agent_ctr: the real mexec-agent running container steps against a fake dockerd
 * (fixtures/fake_dockerd_ctr.py) whose execs run here, with the agent itself as the wrapper a
 * container would run (the fake maps /.mexec/mexec-agent to it).  What the agent asked the
 * Engine API for is read back from the fake's request log; the exec's stream is framed as
 * dockerd frames it, so the relay, the wrapper, cancel and timeouts are exercised for real. */
#include "agent_harness.h"

#include "mx_b64.h"
#include "mx_proc.h"

#include <jansson.h>
#include <sys/stat.h>

#ifndef MX_FAKE_DOCKERD_CTR
#error "MX_FAKE_DOCKERD_CTR must name fixtures/fake_dockerd_ctr.py"
#endif

#define PRIMARY "mexec-job"
#define IMG_PRIVATE "reg.example:5000/team/tools:1"
#define IMG_SERVICE "reg.example:5000/team/cache:7"
#define REG_USER "robot"
#define REG_PW "reg-S3cret-pw"
#define SECRET_MARK "S3cret"

typedef struct fixture {
    agent a;
    char *home;    /* the "container"'s home (HOME of its execs) */
    char *vm_home; /* the agent's HOME */
    char *sock, *log, *archives;
    pid_t fake;
} fixture;

static int sock_exists(void *arg)
{
    return mx_path_exists(arg);
}

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    agent_init(&f->a);
    f->home = mx_path_join(f->a.dir, "ctr-home");
    f->vm_home = mx_path_join(f->a.dir, "vm-home");
    f->archives = mx_path_join(f->a.dir, "archives");
    mx_err err;
    if (mx_mkdir_p(f->home, 0700, &err) < 0 || mx_mkdir_p(f->vm_home, 0700, &err) < 0 ||
        mx_mkdir_p(f->archives, 0700, &err) < 0)
        fail_msg("%s", err.msg);
    f->sock = mx_path_join(f->a.dir, "docker.sock");
    f->log = mx_path_join(f->a.dir, "requests.log");
    char *auth = mx_xasprintf("{\"username\": \"" REG_USER "\", \"password\": \"" REG_PW
                              "\", \"serveraddress\": \"reg.example:5000\"}");
    char *cfg = mx_xasprintf("{\"home\": \"%s\", \"archives\": \"%s\", \"images\": {"
                             "\"reg.example:5000/team/tools:1\": {\"auth\": %s},"
                             "\"reg.example:5000/team/cache:7\": {\"auth\": null}}}",
                             f->home, f->archives, auth);
    char *path = tu_write(f->a.dir, "fake.json", cfg);
    free(cfg);
    free(auth);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        execl("/usr/bin/python3", "python3", MX_FAKE_DOCKERD_CTR, f->sock, path, f->log,
              MX_AGENT_PATH, (char *)NULL);
        _exit(127);
    }
    free(path);
    f->fake = pid;
    /* steps other than the containers step do not wait for the daemon to come up */
    agent_await(sock_exists, f->sock, "the fake dockerd's socket");
    mx_kv env[] = {
        {"HOME", f->vm_home}, {"MEXEC_DOCKER_SOCK", f->sock}, {"MEXEC_DOCKER_WAIT_S", "60"}};
    agent_start(&f->a, env, sizeof env / sizeof env[0]);
    agent_hello(&f->a);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    kill(f->fake, SIGKILL);
    waitpid(f->fake, NULL, 0);
    agent_cleanup(&f->a);
    free(f->home);
    free(f->vm_home);
    free(f->sock);
    free(f->log);
    free(f->archives);
    free(f);
    return 0;
}

/* The fake's request log: every entry whose method is `method` and path ends with `path`. */
static json_t *requests(fixture *f, const char *method, const char *path)
{
    json_t *all = json_array();
    if (!mx_path_exists(f->log)) return all;
    char *text = tu_read(f->log);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        json_t *o = json_loads(line, 0, NULL);
        if (!o) fail_msg("bad log line %s", line);
        const char *p = json_string_value(json_object_get(o, "path"));
        const char *m = json_string_value(json_object_get(o, "method"));
        size_t n = strlen(p), k = strlen(path);
        if (strcmp(m, method) == 0 && n >= k && strcmp(p + n - k, path) == 0)
            assert_int_equal(json_array_append_new(all, o), 0);
        else
            json_decref(o);
    }
    free(text);
    return all;
}

static void run(fixture *f, const mx_msg *step, agent_result *r)
{
    agent_run(&f->a, step, r);
    tu_assert_not_contains(r->out.data, SECRET_MARK);
    tu_assert_not_contains(r->err.data, SECRET_MARK);
    if (r->end.message) tu_assert_not_contains(r->end.message, SECRET_MARK);
}

static const char *jstr(json_t *o, const char *path)
{
    /* "a.b.c" */
    char *copy = mx_xstrdup(path);
    json_t *cur = o;
    for (char *k = strtok(copy, "."); k && cur; k = strtok(NULL, "."))
        cur = json_object_get(cur, k);
    free(copy);
    return json_string_value(cur);
}

/* The containers of a CircleCI job: a private primary (steps, a user) and a named service. */
static void start_circleci(fixture *f, int docker_socket, agent_result *r)
{
    char *cmd[] = {"redis-server", "--port", "6380"};
    char *alias[] = {"cache"};
    mx_kv env[] = {{"TZ", "UTC"}};
    mx_container_spec cs[] = {
        {.name = PRIMARY,
         .image = IMG_PRIVATE,
         .steps = 1,
         .user = "circleci",
         .env = env,
         .nenv = 1},
        {.name = "mexec-svc-1",
         .image = IMG_SERVICE,
         .aliases = alias,
         .naliases = 1,
         .command = cmd,
         .ncommand = 3,
         .has_command = 1},
    };
    char *images[] = {IMG_PRIVATE, IMG_SERVICE};
    mx_docker_auth auths[] = {
        {.registry = "reg.example:5000/team/tools", .username = REG_USER, .password = REG_PW}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_CONTAINERS,
                .containers = cs,
                .ncontainers = 2,
                .docker_socket = docker_socket,
                .docker = {.images = images, .nimages = 2, .auths = auths, .nauths = 1}};
    run(f, &m, r);
}

static void test_containers_circleci(void **state)
{
    fixture *f = *state;
    agent_result r;
    start_circleci(f, 1, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "Pulling " IMG_PRIVATE);
    tu_assert_contains(r.out.data,
                       "Starting container mexec-svc-1 (" IMG_SERVICE "), reachable as cache");
    agent_result_free(&r);

    /* each image pulled with its own credentials (the service anonymously) */
    json_t *pulls = requests(f, "POST", "/images/create");
    assert_int_equal(json_array_size(pulls), 2);
    assert_string_equal(jstr(json_array_get(pulls, 0), "auth.username"), REG_USER);
    assert_true(json_is_null(json_object_get(json_array_get(pulls, 1), "auth")));
    json_decref(pulls);

    json_t *made = requests(f, "POST", "/containers/create");
    assert_int_equal(json_array_size(made), 2);
    json_t *p = json_array_get(made, 0), *s = json_array_get(made, 1);
    assert_string_equal(jstr(p, "query.name"), PRIMARY);
    json_t *pb = json_object_get(p, "body"), *sb = json_object_get(s, "body");
    /* the primary is kept alive by the mounted agent, not its image's entrypoint */
    json_t *ep = json_object_get(pb, "Entrypoint");
    assert_int_equal(json_array_size(ep), 2);
    assert_string_equal(json_string_value(json_array_get(ep, 0)), "/.mexec/mexec-agent");
    assert_string_equal(json_string_value(json_array_get(ep, 1)), "--ctr-init");
    assert_int_equal(json_array_size(json_object_get(pb, "Cmd")), 0);
    assert_string_equal(jstr(pb, "User"), "circleci");
    assert_string_equal(json_string_value(json_array_get(json_object_get(pb, "Env"), 0)), "TZ=UTC");
    json_t *binds = json_object_get(json_object_get(pb, "HostConfig"), "Binds");
    char *agent_bind = mx_xasprintf("%s:/.mexec/mexec-agent:ro", MX_AGENT_PATH);
    char *sock_bind = mx_xasprintf("%s:/var/run/docker.sock", f->sock);
    assert_int_equal(json_array_size(binds), 2);
    assert_string_equal(json_string_value(json_array_get(binds, 0)), agent_bind);
    assert_string_equal(json_string_value(json_array_get(binds, 1)), sock_bind);
    free(agent_bind);
    free(sock_bind);
    assert_int_equal(
        json_array_size(json_object_get(json_object_get(pb, "HostConfig"), "GroupAdd")), 1);
    /* services answer on localhost; their names resolve there too */
    json_t *hosts = json_object_get(json_object_get(pb, "HostConfig"), "ExtraHosts");
    assert_int_equal(json_array_size(hosts), 1);
    assert_string_equal(json_string_value(json_array_get(hosts, 0)), "cache:127.0.0.1");
    assert_string_equal(jstr(sb, "HostConfig.NetworkMode"), "container:" PRIMARY);
    assert_null(json_object_get(sb, "Entrypoint"));
    assert_string_equal(json_string_value(json_array_get(json_object_get(sb, "Cmd"), 2)), "6380");
    assert_int_equal(json_array_size(json_object_get(json_object_get(sb, "HostConfig"), "Binds")),
                     0);
    json_decref(made);
    /* the primary starts first: the service joins its network namespace */
    json_t *starts = requests(f, "POST", "/start");
    assert_int_equal(json_array_size(starts), 2);
    assert_string_equal(jstr(json_array_get(starts, 0), "path"), "/containers/" PRIMARY "/start");
    json_decref(starts);
    /* containers users are anyone: the mounted agent must be theirs to run */
    struct stat st;
    assert_int_equal(stat(MX_AGENT_PATH, &st), 0);
    assert_int_equal(st.st_mode & 0555, 0555);
}

static void test_containers_gitlab(void **state)
{
    fixture *f = *state;
    char *aliases[] = {"cache", "reg.example-team-cache"};
    char *binds[] = {"~/builds:/home/circleci/builds"};
    mx_container_spec cs[] = {
        {.name = PRIMARY, .image = IMG_PRIVATE, .steps = 1, .binds = binds, .nbinds = 1},
        {.name = "mexec-svc-1", .image = IMG_SERVICE, .aliases = aliases, .naliases = 2},
    };
    char *images[] = {IMG_PRIVATE, IMG_SERVICE};
    mx_docker_auth auths[] = {
        {.registry = "reg.example:5000", .username = REG_USER, .password = REG_PW}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_CONTAINERS,
                .containers = cs,
                .ncontainers = 2,
                .network = "mexec-job",
                .docker = {.images = images, .nimages = 2, .auths = auths, .nauths = 1}};
    agent_result r;
    run(f, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    agent_result_free(&r);
    json_t *nets = requests(f, "POST", "/networks/create");
    assert_int_equal(json_array_size(nets), 1);
    assert_string_equal(jstr(json_array_get(nets, 0), "body.Name"), "mexec-job");
    json_decref(nets);
    json_t *made = requests(f, "POST", "/containers/create");
    /* the services first: the job's script may reach them at once */
    assert_string_equal(jstr(json_array_get(made, 0), "query.name"), "mexec-svc-1");
    json_t *sb = json_object_get(json_array_get(made, 0), "body");
    assert_string_equal(jstr(sb, "HostConfig.NetworkMode"), "mexec-job");
    json_t *al = json_object_get(
        json_object_get(json_object_get(json_object_get(sb, "NetworkingConfig"), "EndpointsConfig"),
                        "mexec-job"),
        "Aliases");
    assert_int_equal(json_array_size(al), 2);
    assert_string_equal(json_string_value(json_array_get(al, 1)), "reg.example-team-cache");
    json_t *jb = json_object_get(json_array_get(made, 1), "body");
    /* the VM's builds directory, created as the VM's user, shared with the job container */
    char *builds = mx_path_join(f->vm_home, "builds");
    char *bind = mx_xasprintf("%s:/home/circleci/builds", builds);
    json_t *jbinds = json_object_get(json_object_get(jb, "HostConfig"), "Binds");
    assert_int_equal(json_array_size(jbinds), 2);
    assert_string_equal(json_string_value(json_array_get(jbinds, 1)), bind);
    assert_true(mx_path_exists(builds));
    free(builds);
    free(bind);
    json_decref(made);
}

static void test_pull_refused(void **state)
{
    fixture *f = *state;
    mx_container_spec cs[] = {{.name = PRIMARY, .image = IMG_PRIVATE, .steps = 1}};
    char *images[] = {IMG_PRIVATE};
    mx_docker_auth auths[] = {
        {.registry = "reg.example:5000", .username = REG_USER, .password = "wrong-S3cret"}};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_CONTAINERS,
                .containers = cs,
                .ncontainers = 1,
                .docker = {.images = images, .nimages = 1, .auths = auths, .nauths = 1}};
    agent_result r;
    run(f, &m, &r);
    /* the job's failure, naming the image, its registry and the registry's refusal */
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.err.data, "pull " IMG_PRIVATE " (registry reg.example:5000)");
    tu_assert_contains(r.err.data, "unauthorized: authentication required");
    agent_result_free(&r);
    json_t *made = requests(f, "POST", "/containers/create");
    assert_int_equal(json_array_size(made), 0);
    json_decref(made);
}

static mx_msg run_step(int id, const char *command, const char *workdir, mx_kv *env, size_t nenv)
{
    return (mx_msg){.type = MX_MSG_STEP,
                    .id = id,
                    .kind = MX_STEP_RUN,
                    .command = (char *)command,
                    .workdir = (char *)workdir,
                    .env = env,
                    .nenv = nenv,
                    .container = PRIMARY,
                    .user = "circleci"};
}

static void test_run_in_container(void **state)
{
    fixture *f = *state;
    agent_result r;
    start_circleci(f, 0, &r);
    agent_result_free(&r);
    mx_kv env[] = {{"A", "one"}, {"TOKEN", "tok-S3cret"}};
    mx_msg m = run_step(2, "echo out; echo err >&2; echo \"a=$A\"; pwd; echo \"$-\"; exit 5", "~/w",
                        env, 2);
    run(f, &m, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 5);
    char *where = mx_xasprintf("a=one\n%s/w\n", f->home);
    tu_assert_contains(r.out.data, where);
    free(where);
    tu_assert_contains(r.out.data, "out\n");
    /* bash -eo pipefail: the default shell when the image has bash */
    tu_assert_contains(r.out.data, "e");
    tu_assert_contains(r.err.data, "err\n");
    agent_result_free(&r);
    json_t *ex = requests(f, "POST", "/containers/" PRIMARY "/exec");
    assert_int_equal(json_array_size(ex), 1);
    json_t *b = json_object_get(json_array_get(ex, 0), "body");
    assert_string_equal(jstr(b, "User"), "circleci");
    assert_true(json_is_true(json_object_get(b, "AttachStdin")));
    char *cmd = json_dumps(json_object_get(b, "Cmd"), JSON_COMPACT);
    /* the script travels on stdin, never on a command line */
    assert_string_equal(cmd, "[\"/.mexec/mexec-agent\",\"--ctr-step\",\"~/w\"]");
    free(cmd);
    char *envs = json_dumps(json_object_get(b, "Env"), JSON_COMPACT);
    assert_string_equal(envs, "[\"A=one\",\"TOKEN=tok-S3cret\"]");
    free(envs);
    json_decref(ex);

    /* a shell named by the step */
    mx_msg sh = run_step(3, "echo \"[$0]\"", NULL, NULL, 0);
    sh.shell = "/bin/sh -e";
    run(f, &sh, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "[/proc/self/fd/");
    agent_result_free(&r);
}

static int gone(void *arg)
{
    return kill(*(pid_t *)arg, 0) < 0 && errno == ESRCH;
}

static pid_t read_pid(fixture *f, const char *name)
{
    char *path = mx_path_join(f->home, name);
    char *text = tu_read(path);
    pid_t pid = (pid_t)atoi(text);
    free(text);
    free(path);
    assert_true(pid > 1);
    return pid;
}

static void test_cancel_in_container(void **state)
{
    fixture *f = *state;
    agent_result r;
    start_circleci(f, 0, &r);
    agent_result_free(&r);
    /* a process the step started, in its group, must end with it */
    mx_msg m = run_step(2, "sleep 300 & echo $! >~/sleep.pid; echo started; wait", "~", NULL, 0);
    agent_send(&f->a, &m);
    agent_wait_output(&f->a, 2, &r, "started");
    agent_result_free(&r);
    pid_t sleeper = read_pid(f, "sleep.pid");
    mx_msg c = {.type = MX_MSG_CANCEL, .id = 2};
    agent_send(&f->a, &c);
    memset(&r, 0, sizeof r);
    agent_collect(&f->a, 2, &r);
    assert_int_equal(r.end.reason, MX_END_CANCELLED);
    assert_int_equal(r.end.exit_status, 143);
    agent_result_free(&r);
    agent_await(gone, &sleeper, "the step's background process to end");

    /* no_output_timeout: the same, for silence */
    mx_msg t = run_step(3, "sleep 300", "~", NULL, 0);
    t.no_output_timeout_s = 1;
    run(f, &t, &r);
    assert_int_equal(r.end.reason, MX_END_TIMEOUT);
    agent_result_free(&r);
}

/* An archive made by GNU tar with owners other than ours, and a member name over 100 bytes. */
static char *make_archive(fixture *f, const char *name, const char *format)
{
    char *src = mx_path_join(f->a.dir, "src");
    char *deep = mx_xasprintf("%s/%s", src,
                              "a-directory-with-a-rather-long-name/"
                              "and-another-one-below-it-also-long/and-a-third-to-pass-100");
    mx_err err;
    if (mx_mkdir_p(deep, 0755, &err) < 0) fail_msg("%s", err.msg);
    free(tu_write(deep, "file.txt", "deep\n"));
    free(tu_write(src, "hello.txt", "hello\n"));
    char *tar = mx_path_join(f->a.dir, name);
    char *fmt = mx_xasprintf("--format=%s", format);
    const char *argv[] = {"tar", "-C", src, "--owner=1234", "--group=5678", fmt, "-cf",
                          tar,   ".",  NULL};
    if (mx_proc_check(argv, NULL, NULL, &err) < 0) fail_msg("%s", err.msg);
    free(fmt);
    tu_rmdir(src);
    free(deep);
    return tar;
}

/* "uid/gid" of every member, as tar lists them. */
static char *owners(const char *tar)
{
    const char *argv[] = {"tar", "--numeric-owner", "-tvf", tar, NULL};
    mx_buf out;
    mx_buf_init(&out);
    mx_err err;
    if (mx_proc_check(argv, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    return mx_buf_steal(&out);
}

static void test_checkout_and_attach(void **state)
{
    fixture *f = *state;
    agent_result r;
    start_circleci(f, 0, &r);
    agent_result_free(&r);
    const char *formats[] = {"gnu", "pax"};
    for (int i = 0; i < 2; i++) {
        char *tar = make_archive(f, "checkout.tar", formats[i]);
        mx_msg m = {.type = MX_MSG_STEP,
                    .id = 2,
                    .kind = MX_STEP_CHECKOUT,
                    .archive = tar,
                    .workdir = "~/project",
                    .container = PRIMARY,
                    .user = "circleci"};
        run(f, &m, &r);
        assert_int_equal(r.end.exit_status, 0);
        agent_result_free(&r);
        /* the upload is gone from the VM */
        assert_false(mx_path_exists(tar));
        free(tar);
    }
    json_t *puts_ = requests(f, "PUT", "/archive");
    assert_int_equal(json_array_size(puts_), 2);
    char *want = mx_xasprintf("%s/project", f->home);
    char *ids = mx_xasprintf(" %u/%u ", (unsigned)getuid(), (unsigned)getgid());
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(puts_, i);
        /* into the directory the container's user made, with that user's owners */
        assert_string_equal(jstr(p, "query.path"), want);
        assert_string_equal(jstr(p, "content_type"), "application/x-tar");
        char *list = owners(jstr(p, "saved"));
        tu_assert_contains(list, "and-a-third-to-pass-100/file.txt");
        tu_assert_contains(list, ids);
        tu_assert_not_contains(list, "1234");
        tu_assert_not_contains(list, "5678");
        free(list);
    }
    json_decref(puts_);
    free(want);
    free(ids);
    char *project = mx_path_join(f->home, "project");
    assert_true(mx_path_exists(project));
    free(project);

    /* attach: every layer, in order, into `at` */
    char *l1 = make_archive(f, "layer1.tar", "gnu");
    char *l2 = make_archive(f, "layer2.tar", "pax");
    char *layers[] = {l1, l2};
    mx_msg at = {.type = MX_MSG_STEP,
                 .id = 3,
                 .kind = MX_STEP_ATTACH,
                 .archives = layers,
                 .narchives = 2,
                 .workdir = "~/ws",
                 .container = PRIMARY};
    run(f, &at, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "Attaching 2 workspace layers at");
    agent_result_free(&r);
    json_t *all = requests(f, "PUT", "/archive");
    assert_int_equal(json_array_size(all), 4);
    char *ws = mx_xasprintf("%s/ws", f->home);
    assert_string_equal(jstr(json_array_get(all, 3), "query.path"), ws);
    free(ws);
    json_decref(all);
    assert_false(mx_path_exists(l1));
    assert_false(mx_path_exists(l2));
    free(l1);
    free(l2);
}

static void test_persist_in_container(void **state)
{
    fixture *f = *state;
    agent_result r;
    start_circleci(f, 0, &r);
    agent_result_free(&r);
    char *proj = mx_path_join(f->home, "proj/out/sub");
    mx_err err;
    if (mx_mkdir_p(proj, 0755, &err) < 0) fail_msg("%s", err.msg);
    free(tu_write(proj, "a.txt", "a\n"));
    free(proj);
    char *archive = mx_path_join(f->a.dir, "layer.tar");
    char *paths[] = {"out", "missing-*"};
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 2,
                .kind = MX_STEP_PERSIST,
                .archive = archive,
                .paths = paths,
                .npaths = 1,
                .workdir = "~/proj",
                .container = PRIMARY};
    run(f, &m, &r);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.err.data, "Persisting to the workspace from");
    agent_result_free(&r);
    char *list = owners(archive);
    tu_assert_contains(list, "out/sub/a.txt");
    free(list);
    /* a pattern that matches nothing fails the step, and leaves no layer */
    m.npaths = 2;
    run(f, &m, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.err.data, "\"missing-*\" matches nothing");
    assert_false(mx_path_exists(archive));
    agent_result_free(&r);
    free(archive);
}

static void test_no_such_container(void **state)
{
    fixture *f = *state;
    mx_msg m = run_step(2, "echo never", "~", NULL, 0);
    agent_result r;
    run(f, &m, &r);
    assert_int_not_equal(r.end.exit_status, 0);
    tu_assert_contains(r.err.data, "No such container: " PRIMARY);
    tu_assert_not_contains(r.out.data, "never");
    agent_result_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_containers_circleci, setup, teardown),
        cmocka_unit_test_setup_teardown(test_containers_gitlab, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pull_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_in_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel_in_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkout_and_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_in_container, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_such_container, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
