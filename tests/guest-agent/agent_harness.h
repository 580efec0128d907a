/* The real mexec-agent binary (MX_AGENT_PATH), driven over pipes exactly as the host drives it
 * over the SSH channel: one JSON-line message each way at a time.  Shared by the tests that run
 * the agent as built (agent_protocol_test, agent_docker_test, agent_static_test).
 *
 * Waits have a generous safety limit (AGENT_SAFETY_MS) so a broken agent fails the test instead
 * of hanging it; nothing asserts how fast anything happens.  Every function fails the test
 * (rather than returning an error) when the agent misbehaves. */
#ifndef MX_AGENT_HARNESS_H
#define MX_AGENT_HARNESS_H

#include "test_util.h"

#include "mx_proto.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#ifndef MX_AGENT_PATH
#error "MX_AGENT_PATH must name the built mexec-agent"
#endif

#define AGENT_SAFETY_MS 60000

typedef struct agent {
    char *dir; /* the test's temp dir (removed by agent_cleanup) */
    pid_t pid; /* -1 once reaped */
    int to;    /* the agent's stdin */
    int from;  /* the agent's stdout */
    mx_lines lines;
} agent;

/* A fresh temp dir; the agent is not started yet. */
static inline void agent_init(agent *a)
{
    a->dir = tu_mkdtemp();
    a->pid = -1;
    a->to = a->from = -1;
    mx_lines_init(&a->lines);
}

static inline void agent_cleanup(agent *a)
{
    if (a->to >= 0) close(a->to);
    if (a->from >= 0) close(a->from);
    if (a->pid > 0) { /* a test that failed half-way: do not leave the agent behind */
        kill(a->pid, SIGKILL);
        waitpid(a->pid, NULL, 0);
    }
    mx_lines_free(&a->lines);
    tu_rmdir(a->dir);
}

/* Starts the agent at path with the test's environment changed by env (a NULL value unsets);
 * in_child(arg), if given, runs in the child first (e.g. to change its root). */
static inline void agent_start_at(agent *a, const char *path, const mx_kv *env, size_t nenv,
                                  void (*in_child)(void *), void *arg)
{
    int in[2], out[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0) _exit(126);
        if (in_child) in_child(arg);
        for (size_t i = 0; i < nenv; i++) {
            if (env[i].value)
                setenv(env[i].key, env[i].value, 1);
            else
                unsetenv(env[i].key);
        }
        execl(path, "mexec-agent", (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    a->pid = pid;
    a->to = in[1];
    a->from = out[0];
}

/* Starts the agent as built (MX_AGENT_PATH). */
static inline void agent_start(agent *a, const mx_kv *env, size_t nenv)
{
    agent_start_at(a, MX_AGENT_PATH, env, nenv, NULL, NULL);
}

static inline void agent_send(agent *a, const mx_msg *m)
{
    size_t len;
    char *line = mx_msg_encode(m, &len);
    const char *p = line;
    while (len > 0) {
        ssize_t n = write(a->to, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) fail_msg("write to the agent: %s", strerror(errno));
        p += n;
        len -= (size_t)n;
    }
    free(line);
}

static inline void agent_send_raw(agent *a, const char *text)
{
    assert_int_equal(write(a->to, text, strlen(text)), (ssize_t)strlen(text));
}

/* The next message from the agent; -1 at end of its output. */
static inline int agent_recv(agent *a, mx_msg *m)
{
    for (;;) {
        char *line;
        size_t len;
        if (mx_lines_next(&a->lines, &line, &len)) {
            mx_err err;
            if (mx_msg_decode(line, len, m, &err) < 0)
                fail_msg("the agent sent a bad line (%s): %s", err.msg, line);
            free(line);
            return 0;
        }
        struct pollfd p = {.fd = a->from, .events = POLLIN};
        int r = poll(&p, 1, AGENT_SAFETY_MS);
        if (r < 0 && errno == EINTR) continue;
        if (r == 0) fail_msg("nothing from the agent within %d s", AGENT_SAFETY_MS / 1000);
        char buf[65536];
        ssize_t n = read(a->from, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        mx_err err;
        assert_int_equal(mx_lines_feed(&a->lines, buf, (size_t)n, &err), 0);
    }
}

static inline void agent_recv_type(agent *a, mx_msg *m, enum mx_msg_type type)
{
    if (agent_recv(a, m) < 0)
        fail_msg("the agent closed its output; want %s", mx_msg_type_name(type));
    if (m->type != type)
        fail_msg("got %s (%s), want %s", mx_msg_type_name(m->type), m->message ? m->message : "",
                 mx_msg_type_name(type));
}

/* Polls done(arg) until it holds; fails the test, saying what, after the safety limit. */
static inline void agent_await(int (*done)(void *), void *arg, const char *what)
{
    struct timespec t0, now;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!done(arg)) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((now.tv_sec - t0.tv_sec) * 1000 > AGENT_SAFETY_MS) fail_msg("%s", what);
        struct timespec nap = {0, 20 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
}

typedef struct agent_exit {
    agent *a;
    int status;
} agent_exit;

static inline int agent_exited(void *arg)
{
    agent_exit *e = arg;
    pid_t r = waitpid(e->a->pid, &e->status, WNOHANG);
    if (r == e->a->pid) {
        e->a->pid = -1;
        return 1;
    }
    assert_int_equal(r, 0);
    return 0;
}

/* Waits for the agent to exit; returns its wait status. */
static inline int agent_wait(agent *a)
{
    agent_exit e = {a, 0};
    agent_await(agent_exited, &e, "the agent did not exit");
    return e.status;
}

static inline void agent_hello(agent *a)
{
    mx_msg h = {.type = MX_MSG_HELLO, .version = MX_PROTO_VERSION};
    agent_send(a, &h);
    mx_msg r;
    agent_recv_type(a, &r, MX_MSG_HELLO);
    assert_int_equal(r.version, MX_PROTO_VERSION);
    mx_msg_clear(&r);
}

/* Sends bye and checks the agent leaves cleanly. */
static inline void agent_bye(agent *a)
{
    mx_msg b = {.type = MX_MSG_BYE};
    agent_send(a, &b);
    mx_msg m;
    assert_int_equal(agent_recv(a, &m), -1); /* nothing more, then end of output */
    int st = agent_wait(a);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* One step's output and its step-end. */
typedef struct agent_result {
    mx_buf out, err;
    mx_msg end;
} agent_result;

static inline void agent_result_free(agent_result *r)
{
    mx_buf_free(&r->out);
    mx_buf_free(&r->err);
    mx_msg_clear(&r->end);
}

/* Collects a step's output until its step-end (the step must have been sent); out and err are
 * NUL-terminated strings even when empty. */
static inline void agent_collect(agent *a, int id, agent_result *r)
{
    for (;;) {
        mx_msg m;
        if (agent_recv(a, &m) < 0) fail_msg("the agent closed its output during step %d", id);
        if (m.type == MX_MSG_OUTPUT) {
            assert_int_equal(m.id, id);
            mx_buf_add(m.stream == MX_STREAM_STDERR ? &r->err : &r->out, m.data, m.len);
            mx_msg_clear(&m);
            continue;
        }
        if (m.type == MX_MSG_STEP_END) {
            assert_int_equal(m.id, id);
            assert_true(m.duration_ms >= 0);
            r->end = m;
            if (!r->out.data) mx_buf_add(&r->out, "", 0);
            if (!r->err.data) mx_buf_add(&r->err, "", 0);
            return;
        }
        fail_msg("unexpected %s during step %d: %s", mx_msg_type_name(m.type), id,
                 m.message ? m.message : "");
    }
}

static inline void agent_run(agent *a, const mx_msg *step, agent_result *r)
{
    memset(r, 0, sizeof *r);
    agent_send(a, step);
    agent_collect(a, step->id, r);
}

/* Reads output of step id (and nothing else) until `text` has appeared on stdout. */
static inline void agent_wait_output(agent *a, int id, agent_result *r, const char *text)
{
    memset(r, 0, sizeof *r);
    while (!r->out.data || !strstr(r->out.data, text)) {
        mx_msg m;
        agent_recv_type(a, &m, MX_MSG_OUTPUT);
        assert_int_equal(m.id, id);
        mx_buf_add(m.stream == MX_STREAM_STDERR ? &r->err : &r->out, m.data, m.len);
        mx_msg_clear(&m);
    }
}

#endif
