/* agent_protocol: the real mexec-agent binary, driven over pipes exactly as the host drives it
 * over the SSH channel: hello, steps (run, checkout, persist, attach), cancel, timeouts, end of
 * input. */
#include "agent_harness.h"

#include "agent.h"
#include "mx_proc.h"

static int setup(void **state)
{
    agent *a = mx_xcalloc(1, sizeof *a);
    agent_init(a);
    mx_kv env[] = {{"HOME", a->dir}}; /* the temp dir is the agent's HOME */
    agent_start(a, env, 1);
    *state = a;
    return 0;
}

static int teardown(void **state)
{
    agent *a = *state;
    agent_cleanup(a);
    free(a);
    return 0;
}

/* ---- tests ---- */

static void test_hello_version(void **state)
{
    agent *a = *state;
    mx_msg h = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    agent_send(a, &h);
    mx_msg r;
    agent_recv_type(a, &r, MX_MSG_HELLO);
    assert_int_equal(r.version, MX_PROTO_VERSION);
    assert_non_null(r.agent);
    assert_memory_equal(r.agent, "mexec-agent ", 12);
    assert_true(strlen(r.agent) > 12);
    mx_msg_clear(&r);
    /* cancel with nothing running is ignored */
    mx_msg c = {.type = MX_MSG_CANCEL};
    agent_send(a, &c);
    agent_bye(a);
}

static void test_version_flag(void **state)
{
    (void)state;
    mx_buf out;
    mx_buf_init(&out);
    mx_err err = {0};
    const char *argv[] = {MX_AGENT_PATH, "--version", NULL};
    assert_int_equal(mx_proc_check(argv, NULL, &out, &err), 0);
    assert_memory_equal(out.data, "mexec-agent ", 12);
    mx_buf_free(&out);
}

static void test_wrong_version(void **state)
{
    agent *a = *state;
    mx_msg h = {.type = MX_MSG_HELLO, .version = 99};
    agent_send(a, &h);
    mx_msg r;
    agent_recv_type(a, &r, MX_MSG_ERROR);
    tu_assert_contains(r.message, "protocol version 99 not supported");
    mx_msg_clear(&r);
    assert_int_equal(agent_recv(a, &r), -1);
    int st = agent_wait(a);
    assert_true(WIFEXITED(st));
    assert_true(WEXITSTATUS(st) != 0);
}

static void test_bad_lines_are_reported(void **state)
{
    agent *a = *state;
    agent_send_raw(a, "this is not json\n");
    mx_msg r;
    agent_recv_type(a, &r, MX_MSG_ERROR);
    tu_assert_contains(r.message, "bad protocol line");
    mx_msg_clear(&r);
    agent_send_raw(a, "{\"type\":\"launch\"}\n");
    agent_recv_type(a, &r, MX_MSG_ERROR);
    tu_assert_contains(r.message, "unknown message type \"launch\"");
    mx_msg_clear(&r);
    /* messages only the agent sends are refused, and the agent carries on */
    mx_msg out = {.type = MX_MSG_OUTPUT,
                  .id = 1,
                  .stream = MX_STREAM_STDOUT,
                  .data = (unsigned char *)"x",
                  .len = 1};
    agent_send(a, &out);
    agent_recv_type(a, &r, MX_MSG_ERROR);
    tu_assert_contains(r.message, "unexpected output message");
    mx_msg_clear(&r);
    agent_hello(a);
    agent_bye(a);
}

static void test_run_step_env_workdir(void **state)
{
    agent *a = *state;
    agent_hello(a);
    char *workdir = mx_path_join(a->dir, "work dir/nested"); /* created by the agent */
    mx_kv env[] = {{"FOO", "bar baz"}, {"SECRET_ISH", "a'b\"c$d"}, {"HOME", a->dir}};
    mx_msg step = {.type = MX_MSG_STEP,
                   .id = 7,
                   .kind = MX_STEP_RUN,
                   .name = "env and workdir",
                   .command = "echo \"FOO=$FOO\"\n"
                              "printf '%s\\n' \"$SECRET_ISH\"\n"
                              "pwd -P\n"
                              "echo to-stderr >&2\n"
                              "printf 'bin\\000ary\\377'\n",
                   .workdir = workdir,
                   .env = env,
                   .nenv = 3};
    agent_result r;
    agent_run(a, &step, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    assert_null(r.end.message);
    char *want = mx_xasprintf("FOO=bar baz\na'b\"c$d\n%s\nbin%cary\xff", workdir, 0);
    size_t want_len = strlen(want) + 1 + strlen("ary\xff");
    assert_int_equal(r.out.len, want_len);
    assert_memory_equal(r.out.data, want, want_len);
    assert_string_equal(r.err.data, "to-stderr\n");
    free(want);
    agent_result_free(&r);

    /* "~" in workdir is the agent's HOME; the default shell is bash */
    mx_msg home = {.type = MX_MSG_STEP,
                   .id = 8,
                   .kind = MX_STEP_RUN,
                   .command = "pwd -P; echo \"$BASH_VERSION\" | cut -c1",
                   .workdir = "~/proj"};
    agent_run(a, &home, &r);
    assert_int_equal(r.end.exit_status, 0);
    char *proj = mx_xasprintf("%s/proj\n", a->dir);
    assert_memory_equal(r.out.data, proj, strlen(proj));
    assert_true(r.out.len > strlen(proj) + 1); /* a bash version digit follows */
    free(proj);
    agent_result_free(&r);

    /* an explicit shell */
    mx_msg sh = {.type = MX_MSG_STEP,
                 .id = 9,
                 .kind = MX_STEP_RUN,
                 .shell = "/bin/sh -eu",
                 .command = "echo \"${UNSET_VAR:-default}\"",
                 .workdir = a->dir};
    agent_run(a, &sh, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.out.data, "default\n");
    agent_result_free(&r);
    free(workdir);
    agent_bye(a);
}

static void test_failing_steps(void **state)
{
    agent *a = *state;
    agent_hello(a);
    agent_result r;
    mx_msg s3 = {
        .type = MX_MSG_STEP, .id = 1, .kind = MX_STEP_RUN, .command = "exit 3", .workdir = a->dir};
    agent_run(a, &s3, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 3);
    agent_result_free(&r);

    /* the default shell stops at the first failure, pipelines included */
    mx_msg e = {.type = MX_MSG_STEP,
                .id = 2,
                .kind = MX_STEP_RUN,
                .command = "echo before\nfalse | true\necho not reached\n",
                .workdir = a->dir};
    agent_run(a, &e, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 1);
    assert_string_equal(r.out.data, "before\n");
    agent_result_free(&r);

    mx_msg sig = {.type = MX_MSG_STEP,
                  .id = 3,
                  .kind = MX_STEP_RUN,
                  .command = "kill -TERM $$",
                  .workdir = a->dir};
    agent_run(a, &sig, &r);
    assert_int_equal(r.end.reason, MX_END_SIGNALED);
    assert_int_equal(r.end.exit_status, 128 + SIGTERM);
    agent_result_free(&r);

    /* a missing shell: the step fails, the agent goes on */
    mx_msg noshell = {.type = MX_MSG_STEP,
                      .id = 4,
                      .kind = MX_STEP_RUN,
                      .shell = "/nonexistent/shell",
                      .command = "true",
                      .workdir = a->dir};
    agent_run(a, &noshell, &r);
    assert_int_equal(r.end.exit_status, 127);
    tu_assert_contains(r.err.data, "/nonexistent/shell");
    agent_result_free(&r);

    /* a workdir that cannot be made: failed, with the reason */
    char *file = tu_write(a->dir, "plain-file", "x");
    char *under = mx_path_join(file, "sub");
    mx_msg nodir = {
        .type = MX_MSG_STEP, .id = 5, .kind = MX_STEP_RUN, .command = "true", .workdir = under};
    agent_run(a, &nodir, &r);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    assert_true(r.end.exit_status != 0);
    tu_assert_contains(r.end.message, under);
    agent_result_free(&r);
    free(under);
    free(file);

    /* a run step without a command */
    mx_msg nocmd = {.type = MX_MSG_STEP, .id = 6, .kind = MX_STEP_RUN, .workdir = a->dir};
    agent_run(a, &nocmd, &r);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    tu_assert_contains(r.end.message, "no command");
    agent_result_free(&r);
    agent_bye(a);
}

static void test_no_output_timeout(void **state)
{
    agent *a = *state;
    agent_hello(a);
    mx_msg step = {.type = MX_MSG_STEP,
                   .id = 11,
                   .kind = MX_STEP_RUN,
                   .command = "echo start\nsleep 30\necho never\n",
                   .workdir = a->dir,
                   .no_output_timeout_s = 1};
    agent_result r;
    agent_run(a, &step, &r);
    assert_int_equal(r.end.reason, MX_END_TIMEOUT);
    assert_true(r.end.exit_status != 0);
    assert_string_equal(r.out.data, "start\n");
    agent_result_free(&r);
    /* a step that prints keeps running: the timeout counts silence, not run time (the 0.2 s
     * gaps are far below the 3 s allowed, so a slow machine does not change the outcome) */
    mx_msg chatty = {.type = MX_MSG_STEP,
                     .id = 12,
                     .kind = MX_STEP_RUN,
                     .command = "for i in 1 2 3 4 5 6; do echo $i; sleep 0.2; done",
                     .workdir = a->dir,
                     .no_output_timeout_s = 3};
    agent_run(a, &chatty, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.out.data, "1\n2\n3\n4\n5\n6\n");
    agent_result_free(&r);
    agent_bye(a);
}

static void test_cancel(void **state)
{
    agent *a = *state;
    agent_hello(a);
    mx_msg step = {.type = MX_MSG_STEP,
                   .id = 21,
                   .kind = MX_STEP_RUN,
                   .command = "echo started\nsleep 30\necho never\n",
                   .workdir = a->dir};
    agent_send(a, &step);
    agent_result r;
    agent_wait_output(a, 21, &r, "started\n");
    mx_msg cancel = {.type = MX_MSG_CANCEL};
    agent_send(a, &cancel);
    mx_msg_clear(&r.end);
    agent_collect(a, 21, &r);
    assert_int_equal(r.end.reason, MX_END_CANCELLED);
    assert_true(r.end.exit_status != 0);
    tu_assert_not_contains(r.out.data, "never");
    agent_result_free(&r);

    /* a message sent while a step runs waits for it, then is answered */
    mx_msg next = {.type = MX_MSG_STEP,
                   .id = 22,
                   .kind = MX_STEP_RUN,
                   .command = "echo go; sleep 1; echo done",
                   .workdir = a->dir};
    agent_send(a, &next);
    agent_wait_output(a, 22, &r, "go\n");
    mx_msg h = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    agent_send(a, &h);
    mx_msg_clear(&r.end);
    agent_collect(a, 22, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_string_equal(r.out.data, "go\ndone\n");
    agent_result_free(&r);
    mx_msg reply;
    agent_recv_type(a, &reply, MX_MSG_HELLO);
    mx_msg_clear(&reply);
    agent_bye(a);
}

static void test_checkout(void **state)
{
    agent *a = *state;
    agent_hello(a);
    /* a project tree, packed the way the host packs it */
    char *src = mx_path_join(a->dir, "src");
    tu_write_free(src, "README.md", "# project\n");
    tu_write_free(src, "sub/dir/file.txt", "nested\n");
    char *script = tu_write(src, "run.sh", "#!/bin/sh\necho ran\n");
    assert_int_equal(chmod(script, 0755), 0);
    char *archive = mx_path_join(a->dir, "checkout.tar");
    mx_err err = {0};
    const char *tar[] = {"tar", "-cf", archive, "-C", src, ".", NULL};
    if (mx_proc_check(tar, NULL, NULL, &err) < 0) fail_msg("%s", err.msg);

    char *dest = mx_path_join(a->dir, "home/project");
    mx_msg co = {.type = MX_MSG_STEP,
                 .id = 31,
                 .kind = MX_STEP_CHECKOUT,
                 .name = "Checkout code",
                 .archive = archive,
                 .workdir = dest};
    agent_result r;
    agent_run(a, &co, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    agent_result_free(&r);
    tu_assert_file(dest, "README.md", "# project\n");
    tu_assert_file(dest, "sub/dir/file.txt", "nested\n");
    char *p = mx_path_join(dest, "run.sh");
    assert_int_equal(access(p, X_OK), 0); /* modes survive */
    free(p);

    /* and the next step runs in the checked-out tree */
    mx_msg use = {.type = MX_MSG_STEP,
                  .id = 32,
                  .kind = MX_STEP_RUN,
                  .command = "./run.sh && cat sub/dir/file.txt",
                  .workdir = dest};
    agent_run(a, &use, &r);
    assert_int_equal(r.end.exit_status, 0);
    assert_string_equal(r.out.data, "ran\nnested\n");
    agent_result_free(&r);
    /* the uploaded archive is consumed (the agent removes it after reporting the step, so
     * look once the next step has ended) */
    assert_false(mx_path_exists(archive));

    /* a missing archive fails the step */
    mx_msg missing = {.type = MX_MSG_STEP,
                      .id = 33,
                      .kind = MX_STEP_CHECKOUT,
                      .archive = archive,
                      .workdir = dest};
    agent_run(a, &missing, &r);
    assert_true(r.end.exit_status != 0);
    agent_result_free(&r);
    mx_msg none = {.type = MX_MSG_STEP, .id = 34, .kind = MX_STEP_CHECKOUT, .workdir = dest};
    agent_run(a, &none, &r);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    tu_assert_contains(r.end.message, "no archive");
    agent_result_free(&r);
    free(dest);
    free(archive);
    free(script);
    free(src);
    agent_bye(a);
}

/* The members of a tar file, sorted, one per line (readdir order is not stable). */
static char *tar_members(const char *archive)
{
    mx_buf out;
    mx_buf_init(&out);
    mx_err err = {0};
    const char *argv[] = {"sh", "-c", "tar -t -f \"$1\" | LC_ALL=C sort", "sh", archive, NULL};
    if (mx_proc_check(argv, NULL, &out, &err) < 0) fail_msg("%s", err.msg);
    if (!out.data) mx_buf_adds(&out, "");
    return mx_buf_steal(&out);
}

/* persist: plain files, directories (recursively) and globs (which match dotfiles) under a
 * root given with "~", into a private tar file holding names relative to the root. */
static void test_persist(void **state)
{
    agent *a = *state;
    agent_hello(a);
    char *root = mx_path_join(a->dir, "proj");
    tu_write_free(root, "file.txt", "f\n");
    tu_write_free(root, "dir/a", "a\n");
    tu_write_free(root, "dir/sub/b", "b\n");
    tu_write_free(root, "logs/x.log", "x\n");
    tu_write_free(root, "logs/y.log", "y\n");
    tu_write_free(root, "logs/.dot.log", ".\n");
    tu_write_free(root, "logs/z.txt", "not persisted\n");
    tu_write_free(root, "-dash", "an option-like name\n");
    tu_write_free(root, "other", "not persisted\n");
    char *archive = mx_path_join(a->dir, "layer.tar");
    char *paths[] = {"file.txt", "dir", "logs/*.log", "-dash"};
    mx_msg p = {.type = MX_MSG_STEP,
                .id = 60,
                .kind = MX_STEP_PERSIST,
                .workdir = "~/proj",
                .archive = archive,
                .paths = paths,
                .npaths = 4};
    agent_result r;
    agent_run(a, &p, &r);
    if (r.end.exit_status != 0) fail_msg("persist failed: %s%s", r.out.data, r.err.data);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    tu_assert_contains(r.out.data, root);
    tu_assert_contains(r.out.data, "  file.txt (1 match)\n");
    tu_assert_contains(r.out.data, "  logs/*.log (3 matches)\n");
    agent_result_free(&r);
    assert_int_equal(tu_mode(archive), 0600);
    char *members = tar_members(archive);
    assert_string_equal(members, "./-dash\n"
                                 "dir/\n"
                                 "dir/a\n"
                                 "dir/sub/\n"
                                 "dir/sub/b\n"
                                 "file.txt\n"
                                 "logs/.dot.log\n"
                                 "logs/x.log\n"
                                 "logs/y.log\n");
    free(members);
    free(archive);
    free(root);
    agent_bye(a);
}

static void test_persist_errors(void **state)
{
    agent *a = *state;
    agent_hello(a);
    char *root = mx_path_join(a->dir, "proj");
    tu_write_free(root, "file.txt", "f\n");
    char *archive = mx_path_join(a->dir, "layer.tar");
    agent_result r;

    /* a path that matches nothing fails the step, naming the path and the root */
    char *nomatch[] = {"file.txt", "build/*.bin"};
    mx_msg p = {.type = MX_MSG_STEP,
                .id = 61,
                .kind = MX_STEP_PERSIST,
                .workdir = root,
                .archive = archive,
                .paths = nomatch,
                .npaths = 2};
    agent_run(a, &p, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 1);
    char *want = mx_xasprintf(
        "The specified paths did not match any files in %s: \"build/*.bin\" matches nothing\n",
        root);
    tu_assert_contains(r.err.data, want);
    free(want);
    assert_false(mx_path_exists(archive));
    agent_result_free(&r);

    /* the root must exist: it is not created */
    char *missing = mx_path_join(a->dir, "no-such-root");
    p.id = 62;
    p.workdir = missing;
    agent_run(a, &p, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.err.data, missing);
    tu_assert_contains(r.err.data, "No such file or directory");
    assert_false(mx_path_exists(missing));
    agent_result_free(&r);
    free(missing);

    /* nothing outside the root */
    char *outside[] = {"../proj/file.txt"};
    p.id = 63;
    p.workdir = root;
    p.paths = outside;
    p.npaths = 1;
    agent_run(a, &p, &r);
    assert_int_equal(r.end.exit_status, 1);
    tu_assert_contains(r.err.data, "leaves the root");
    agent_result_free(&r);

    /* a layer that cannot be written: the agent says why */
    char *ok[] = {"file.txt"};
    p.id = 64;
    p.paths = ok;
    p.archive = "/nonexistent-dir/layer.tar";
    agent_run(a, &p, &r);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    tu_assert_contains(r.end.message, "/nonexistent-dir/layer.tar");
    agent_result_free(&r);

    /* a message without paths is refused */
    mx_msg none = {.type = MX_MSG_STEP,
                   .id = 65,
                   .kind = MX_STEP_PERSIST,
                   .workdir = root,
                   .archive = archive};
    agent_run(a, &none, &r);
    assert_int_equal(r.end.reason, MX_END_FAILED);
    tu_assert_contains(r.end.message, "needs a root, paths and an archive");
    agent_result_free(&r);
    free(archive);
    free(root);
    agent_bye(a);
}

/* Persists root/name into archive through the agent. */
static void persist_one(agent *a, int id, char *root, char *name, char *archive)
{
    char *paths[] = {name};
    mx_msg p = {.type = MX_MSG_STEP,
                .id = id,
                .kind = MX_STEP_PERSIST,
                .workdir = root,
                .archive = archive,
                .paths = paths,
                .npaths = 1};
    agent_result r;
    agent_run(a, &p, &r);
    if (r.end.exit_status != 0) fail_msg("persist %s: %s", name, r.err.data);
    agent_result_free(&r);
}

/* attach: layers unpacked in order (a later one's file replaces an earlier one's), the
 * uploads removed, the directory created. */
static void test_attach(void **state)
{
    agent *a = *state;
    agent_hello(a);
    char *one = mx_path_join(a->dir, "one"), *two = mx_path_join(a->dir, "two");
    tu_write_free(one, "out/shared.txt", "from layer 1\n");
    tu_write_free(one, "out/only-one.txt", "1\n");
    tu_write_free(two, "out/shared.txt", "from layer 2\n");
    tu_write_free(two, "out/deep/only-two.txt", "2\n");
    char *l1 = mx_path_join(a->dir, "l1.tar"), *l2 = mx_path_join(a->dir, "l2.tar");
    persist_one(a, 70, one, "out", l1);
    persist_one(a, 71, two, "out", l2);

    char *archives[] = {l1, l2};
    mx_msg at = {.type = MX_MSG_STEP,
                 .id = 72,
                 .kind = MX_STEP_ATTACH,
                 .workdir = "~/ws/attached",
                 .archives = archives,
                 .narchives = 2};
    agent_result r;
    agent_run(a, &at, &r);
    if (r.end.exit_status != 0) fail_msg("attach failed: %s%s", r.out.data, r.err.data);
    tu_assert_contains(r.out.data, "Attaching 2 workspace layers at ");
    agent_result_free(&r);
    char *dest = mx_path_join(a->dir, "ws/attached");
    tu_assert_file(dest, "out/shared.txt", "from layer 2\n");
    tu_assert_file(dest, "out/only-one.txt", "1\n");
    tu_assert_file(dest, "out/deep/only-two.txt", "2\n");
    assert_false(mx_path_exists(l1));
    assert_false(mx_path_exists(l2));

    /* the same two in the other order: the other file wins */
    persist_one(a, 73, one, "out", l1);
    persist_one(a, 74, two, "out", l2);
    char *reversed[] = {l2, l1};
    char *dest2 = mx_path_join(a->dir, "ws2");
    at.id = 75;
    at.workdir = dest2;
    at.archives = reversed;
    agent_run(a, &at, &r);
    assert_int_equal(r.end.exit_status, 0);
    agent_result_free(&r);
    tu_assert_file(dest2, "out/shared.txt", "from layer 1\n");

    /* a layer that fails stops the attach: what follows is not unpacked, yet removed */
    persist_one(a, 76, two, "out", l2);
    char *missing = mx_path_join(a->dir, "missing.tar");
    char *broken[] = {missing, l2};
    char *dest3 = mx_path_join(a->dir, "ws3");
    at.id = 77;
    at.workdir = dest3;
    at.archives = broken;
    agent_run(a, &at, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_true(r.end.exit_status != 0);
    tu_assert_contains(r.err.data, "missing.tar");
    agent_result_free(&r);
    char *never = mx_path_join(dest3, "out");
    assert_false(mx_path_exists(never));
    assert_false(mx_path_exists(l2));

    /* no layers: an empty workspace, which is not an error */
    at.id = 78;
    at.archives = NULL;
    at.narchives = 0;
    agent_run(a, &at, &r);
    assert_int_equal(r.end.reason, MX_END_EXITED);
    assert_int_equal(r.end.exit_status, 0);
    tu_assert_contains(r.out.data, "The workspace is empty: the upstream jobs persisted nothing");
    agent_result_free(&r);
    free(never);
    free(dest3);
    free(missing);
    free(dest2);
    free(dest);
    free(l1);
    free(l2);
    free(one);
    free(two);
    agent_bye(a);
}

/* 1 while pid is a live process (a zombie counts as dead). */
static int alive(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

static int gone(void *pid)
{
    return !alive(*(pid_t *)pid);
}

/* Waits until pid has died (a killed process may take a moment to be reaped by init). */
static void await_gone(pid_t pid, const char *what)
{
    char *msg = mx_xasprintf("%s %d survived", what, (int)pid);
    agent_await(gone, &pid, msg);
    free(msg);
}

static void test_stdin_eof_kills_step(void **state)
{
    agent *a = *state;
    agent_hello(a);
    mx_msg step = {.type = MX_MSG_STEP,
                   .id = 41,
                   .kind = MX_STEP_RUN,
                   .command = "sleep 30 &\necho \"pid=$!\"\nwait\necho never\n",
                   .workdir = a->dir};
    agent_send(a, &step);
    agent_result r;
    agent_wait_output(a, 41, &r, "\n");
    int pid = 0;
    assert_int_equal(sscanf(r.out.data, "pid=%d", &pid), 1);
    assert_true(pid > 0);
    assert_true(alive(pid));
    agent_result_free(&r);

    close(a->to); /* the host is gone */
    a->to = -1;
    mx_msg m;
    while (agent_recv(a, &m) == 0) {
        if (m.type == MX_MSG_OUTPUT) tu_assert_not_contains((const char *)m.data, "never");
        mx_msg_clear(&m);
    }
    int st = agent_wait(a);
    assert_true(WIFEXITED(st));
    /* the step's whole process group went with it */
    await_gone(pid, "sleep");
}

static void test_stdin_eof_when_idle(void **state)
{
    agent *a = *state;
    agent_hello(a);
    close(a->to);
    a->to = -1;
    mx_msg m;
    assert_int_equal(agent_recv(a, &m), -1);
    int st = agent_wait(a);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* A background step is reported at once, keeps running while the next step runs (the two
 * hand a file back and forth), streams its output under its own id, and ends with the job. */
static void test_background_step(void **state)
{
    agent *a = *state;
    agent_hello(a);
    mx_msg bgstep = {.type = MX_MSG_STEP,
                     .id = 50,
                     .kind = MX_STEP_RUN,
                     .background = 1,
                     .command = "echo \"pid=$$\"\n"
                                "while [ ! -e go ]; do sleep 0.05; done\n"
                                "echo bg-after-go\n"
                                "touch printed\n"
                                "sleep 300\n",
                     .workdir = a->dir};
    agent_send(a, &bgstep);
    mx_msg m;
    agent_recv_type(a, &m, MX_MSG_STEP_END);
    assert_int_equal(m.id, 50);
    assert_int_equal(m.reason, MX_END_BACKGROUND);
    assert_int_equal(m.exit_status, 0);
    mx_msg_clear(&m);

    mx_msg fg = {.type = MX_MSG_STEP,
                 .id = 51,
                 .kind = MX_STEP_RUN,
                 .command = "touch go\nwhile [ ! -e printed ]; do sleep 0.05; done\necho fg-done\n",
                 .workdir = a->dir};
    agent_send(a, &fg);
    mx_buf bgout, fgout;
    mx_buf_init(&bgout);
    mx_buf_init(&fgout);
    int fg_ended = 0;
    while (!fg_ended || !bgout.data || !strstr(bgout.data, "bg-after-go")) {
        if (agent_recv(a, &m) < 0) fail_msg("the agent closed its output");
        if (m.type == MX_MSG_OUTPUT) {
            assert_true(m.id == 50 || m.id == 51);
            mx_buf_add(m.id == 50 ? &bgout : &fgout, m.data, m.len);
        } else if (m.type == MX_MSG_STEP_END) {
            assert_int_equal(m.id, 51);
            assert_int_equal(m.exit_status, 0);
            fg_ended = 1;
        } else {
            fail_msg("unexpected %s", mx_msg_type_name(m.type));
        }
        mx_msg_clear(&m);
    }
    tu_assert_contains(fgout.data, "fg-done");
    int pid = 0;
    assert_int_equal(sscanf(bgout.data, "pid=%d", &pid), 1);
    assert_true(alive(pid));
    mx_buf_free(&bgout);
    mx_buf_free(&fgout);

    agent_bye(a); /* the job ends: so does the background step */
    await_gone(pid, "background step");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* a dead agent shows up as a write error, not a dead test */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_hello_version, setup, teardown),
        cmocka_unit_test(test_version_flag),
        cmocka_unit_test_setup_teardown(test_wrong_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_lines_are_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(test_run_step_env_workdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failing_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_output_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_checkout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist, setup, teardown),
        cmocka_unit_test_setup_teardown(test_persist_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_eof_kills_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stdin_eof_when_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_background_step, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
