/* session: the host's side of the protocol against agents that misbehave (fake_agent.py) and
 * the real one, over pipes.  The host's own deadlines end every wait on the guest; what the
 * guest prints reaches our stdout/stderr masked and terminal-safe. */
#include "test_util.h"

#include "mx_cleanup.h"
#include "mx_term.h"
#include "session.h"
#include "sink.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#if !defined(MX_FAKE_AGENT) || !defined(MX_AGENT_PATH)
#error "MX_FAKE_AGENT and MX_AGENT_PATH must name the agents"
#endif

/* Short deadlines: each test waits for one of them to pass (nothing here measures time). */
static const mx_session_times quick = {.hello_ms = 1500,
                                       .send_stall_ms = 1500,
                                       .timeout_grace_ms = 500,
                                       .cancel_wait_ms = 1500,
                                       .quiet_max_ms = 1000};

static volatile sig_atomic_t no_stop;

typedef struct run {
    pid_t pid;
    mx_session se;
    mx_secrets secrets;
} run;

/* Starts argv with pipes on stdin, stdout, stderr and a session over them. */
static int start(run *r, const char *const *argv, mx_err *err)
{
    int in[2], out[2], er[2];
    assert_int_equal(pipe2(in, O_CLOEXEC), 0);
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    assert_int_equal(pipe2(er, O_CLOEXEC), 0);
    r->pid = fork();
    assert_true(r->pid >= 0);
    if (r->pid == 0) {
        if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(er[1], 2) < 0) _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(er[1]);
    mx_secrets_init(&r->secrets);
    mx_secrets_add(&r->secrets, "hunter22");
    return mx_session_start_fds(&r->se, in[1], out[0], er[0], r->pid, &quick, &r->secrets, &no_stop,
                                err);
}

static int start_fake(run *r, const char *mode, mx_err *err)
{
    const char *argv[] = {MX_FAKE_AGENT, mode, NULL};
    return start(r, argv, err);
}

/* What the session reports (sink.h), as a view would get it: the job's stdout, its stderr
 * with mexec's own lines (the agent's, notes), and how often a step's output ended. */
static mx_buf rec_out, rec_err;
static int rec_ends;

static void rec_output(void *ud, int stream, const char *bytes, size_t len)
{
    (void)ud;
    mx_buf_add(stream == 0 ? &rec_out : &rec_err, bytes, len);
}

static void rec_output_end(void *ud)
{
    (void)ud;
    rec_ends++;
}

static void rec_note(void *ud, const char *text)
{
    (void)ud;
    mx_buf_printf(&rec_err, "mexec: %s\n", text);
}

static void rec_agent(void *ud, const char *bytes, size_t len)
{
    (void)ud;
    mx_buf_printf(&rec_err, "mexec-agent: %.*s\n", (int)len, bytes);
}

static const mx_sink recorder = {
    .output = rec_output, .output_end = rec_output_end, .note = rec_note, .agent = rec_agent};

/* What the session reports is recorded until restore(). */
static void capture(run *r)
{
    (void)r;
    mx_buf_free(&rec_out);
    mx_buf_free(&rec_err);
    mx_buf_init(&rec_out);
    mx_buf_init(&rec_err);
    rec_ends = 0;
    mx_sink_set(&recorder);
}

/* What was reported meanwhile for fd 1 (the job's stdout) or 2 (the rest); caller frees. */
static char *restore(run *r, int fd)
{
    (void)r;
    mx_sink_set(NULL);
    const mx_buf *b = fd == 1 ? &rec_out : &rec_err;
    return mx_xstrndup(b->data ? b->data : "", b->len);
}

static void finish(run *r)
{
    mx_session_end(&r->se);
    if (r->pid > 0) {
        kill(r->pid, SIGKILL);
        waitpid(r->pid, NULL, 0);
    }
    mx_secrets_free(&r->secrets);
}

static mx_msg step(int id, int timeout_s, const char *command)
{
    return (mx_msg){.type = MX_MSG_STEP,
                    .id = id,
                    .kind = MX_STEP_RUN,
                    .name = "s",
                    .command = (char *)command,
                    .workdir = "/tmp",
                    .no_output_timeout_s = timeout_s};
}

static void test_hello_deadline(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "silent", &err), -1);
    tu_assert_contains(err.msg, "agent hello: no answer within 1 s");
    finish(&r);
}

/* Everything the guest says is masked before it reaches the sink: output (also split
 * secrets), the agent's stderr (line by line), its error messages; the reason in its step-end
 * and its name are masked and made safe.  Escape sequences in output reach the sink as they
 * are: the view filters them (cli_sink_test). */
static void test_hostile_output(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "hostile", &err), 0);
    assert_string_equal(r.se.agent, "fake ");
    capture(&r);
    mx_msg m = step(1, 0, "x");
    assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
    mx_step_output so;
    mx_step_output_init(&so, &r.secrets);
    mx_msg end;
    int rc = mx_session_follow_step(&r.se, &so, &end, &err);
    mx_step_output_end(&so);
    mx_session_end(&r.se);
    char *out = restore(&r, 1), *errtext = restore(&r, 2);
    assert_int_equal(rc, 0);
    assert_int_equal(end.reason, MX_END_FAILED);
    mx_autofree char *why = mx_term_safe(&r.secrets, end.message);
    assert_string_equal(why, "cannot ********");
    mx_msg_clear(&end);
    assert_string_equal(out, "ok \x1b]52;c;b3duZWQ=\x07line\x1b[2K\rJOB | fake\n"
                             "\x1b[31mred\x1b[0m pw=********\n");
    tu_assert_contains(errtext, "to stderr \x1b[1A********\n");
    tu_assert_contains(errtext, "mexec-agent: agent diag \x1b]0;t\x07********\n");
    tu_assert_contains(errtext, "mexec-agent: no newline ********\n");
    tu_assert_contains(errtext, "mexec: agent: bad \x1b[2J********\n");
    tu_assert_not_contains(errtext, "hunter22");
    assert_int_equal(rec_ends, 1);
    free(out);
    free(errtext);
    finish(&r);
}

/* The agent does not end a step after its no_output_timeout: the host cancels it and reports
 * a timeout; an agent that ignores the cancel too fails the session. */
static void test_host_timeout(void **state)
{
    (void)state;
    for (int ignore_cancel = 0; ignore_cancel < 2; ignore_cancel++) {
        run r = {0};
        mx_err err = {0};
        assert_int_equal(start_fake(&r, ignore_cancel ? "ignore-cancel" : "ignore-timeout", &err),
                         0);
        capture(&r);
        mx_msg m = step(3, 1, "sleep 1000");
        assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
        mx_step_output so;
        mx_step_output_init(&so, &r.secrets);
        mx_msg end;
        int rc = mx_session_follow_step(&r.se, &so, &end, &err);
        mx_step_output_end(&so);
        char *errtext = restore(&r, 2);
        tu_assert_contains(errtext, "mexec: step 3: no output for 1 s (no_output_timeout) and the "
                                    "agent did not end it: cancelling");
        if (ignore_cancel) {
            assert_int_equal(rc, -1);
            assert_int_equal(err.status, MX_INFRA);
            tu_assert_contains(err.msg, "the agent did not end step 3 within 1 s of being "
                                        "cancelled");
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(end.reason, MX_END_TIMEOUT);
            mx_msg_clear(&end);
        }
        free(errtext);
        finish(&r);
    }
}

/* A step the host starts itself with no no_output_timeout (a containers step pulling images)
 * still ends: after times.quiet_max_ms without a message the host cancels it. */
static void test_host_quiet_max(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "ignore-timeout", &err), 0);
    capture(&r);
    mx_msg m = step(4, 0, NULL);
    m.kind = MX_STEP_DOCKER_PULL;
    assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
    mx_step_output so;
    mx_step_output_init(&so, &r.secrets);
    mx_msg end;
    int rc = mx_session_follow_step(&r.se, &so, &end, &err);
    mx_step_output_end(&so);
    char *errtext = restore(&r, 2);
    assert_int_equal(rc, 0);
    assert_int_equal(end.reason, MX_END_TIMEOUT);
    tu_assert_contains(errtext, "mexec: step 4: no output for 1 s (the host's limit for this "
                                "step) and the agent did not end it: cancelling");
    mx_msg_clear(&end);
    free(errtext);
    finish(&r);
}

static void test_send_stall(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "no-read", &err), 0);
    /* more than any pipe holds */
    size_t n = 4u << 20;
    char *big = mx_xmalloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    mx_msg m = step(1, 0, big);
    assert_int_equal(mx_session_send(&r.se, &m, &err), -1);
    tu_assert_contains(err.msg, "the agent took nothing for 1 s: it stopped reading");
    free(big);
    finish(&r);
}

/* A line the host cannot decode is an error whose text is masked and safe. */
static void test_garbage_line(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "garbage", &err), 0);
    mx_msg m = step(1, 0, "x"), end;
    assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
    mx_step_output so;
    mx_step_output_init(&so, &r.secrets);
    assert_int_equal(mx_session_follow_step(&r.se, &so, &end, &err), -1);
    mx_step_output_end(&so);
    tu_assert_contains(err.msg, "from the agent: unknown message type \"********\"");
    finish(&r);
}

/* A step-end for another step does not end this one. */
static void test_other_step_end(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "other-end", &err), 0);
    capture(&r);
    mx_msg m = step(5, 0, "x");
    assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
    mx_step_output so;
    mx_step_output_init(&so, &r.secrets);
    mx_msg end;
    assert_int_equal(mx_session_follow_step(&r.se, &so, &end, &err), 0);
    mx_step_output_end(&so);
    char *out = restore(&r, 1);
    assert_int_equal(end.id, 5);
    assert_int_equal(end.exit_status, 7);
    assert_string_equal(out, "still mine\n");
    mx_msg_clear(&end);
    free(out);
    finish(&r);
}

/* Fields that must arrive exactly and are not UTF-8 are refused before anything is sent. */
static void test_send_refuses_bytes(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    assert_int_equal(start_fake(&r, "other-end", &err), 0);
    mx_msg m = step(1, 0, "echo \xff");
    assert_int_equal(mx_session_send(&r.se, &m, &err), -1);
    assert_int_equal(err.status, MX_USAGE);
    tu_assert_contains(err.msg, "step \"s\": the command is not valid UTF-8");
    finish(&r);
}

/* The real agent: a step whose environment holds bytes that are not UTF-8 gets them exactly,
 * and its output arrives byte for byte. */
static void test_real_agent(void **state)
{
    (void)state;
    run r = {0};
    mx_err err = {0};
    const char *argv[] = {MX_AGENT_PATH, NULL};
    assert_int_equal(start(&r, argv, &err), 0);
    capture(&r);
    mx_kv env[] = {{"RAW", "caf\xe9"}};
    mx_msg m = step(1, 0, "printf '%s' \"$RAW\" | od -An -tx1; printf 'a\\033]0;t\\007b\\r\\n'");
    m.env = env;
    m.nenv = 1;
    assert_int_equal(mx_session_send(&r.se, &m, &err), 0);
    mx_step_output so;
    mx_step_output_init(&so, &r.secrets);
    mx_msg end;
    assert_int_equal(mx_session_follow_step(&r.se, &so, &end, &err), 0);
    mx_step_output_end(&so);
    mx_session_end(&r.se);
    char *out = restore(&r, 1);
    assert_int_equal(end.exit_status, 0);
    mx_msg_clear(&end);
    assert_string_equal(out, " 63 61 66 e9\na\x1b]0;t\x07"
                             "b\r\n");
    free(out);
    finish(&r);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_deadline), cmocka_unit_test(test_hostile_output),
        cmocka_unit_test(test_host_timeout),   cmocka_unit_test(test_host_quiet_max),
        cmocka_unit_test(test_send_stall),     cmocka_unit_test(test_garbage_line),
        cmocka_unit_test(test_other_step_end), cmocka_unit_test(test_send_refuses_bytes),
        cmocka_unit_test(test_real_agent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
