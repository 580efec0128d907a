/* Runs one step as its own process group and streams its output back.
 *
 * The shell reads the command from a private file (not argv), so `ps` in the guest never shows
 * the command text.  The loop waits on three things at once: the step's stdout and stderr, the
 * host's channel (for cancel, or the host disappearing), and the step's exit via a pidfd. */
#include "agent.h"
#include "agent_ctr.h"
#include "agent_docker.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

typedef struct run_state {
    const mx_msg *step; /* NULL once the step message is gone (background runs) */
    int id;
    pid_t pid;
    int pidfd;
    int out[2]; /* read ends of stdout, stderr; -1 when closed */
    int exited;
    int wstatus;
    enum mx_end_reason reason;
    long long kill_deadline; /* 0: not killing */
    long long last_output;
} run_state;

static void forward_output(run_state *rs, int which)
{
    char chunk[65536];
    ssize_t n;
    do {
        n = read(rs->out[which], chunk, sizeof chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        close(rs->out[which]);
        rs->out[which] = -1;
        return;
    }
    rs->last_output = mx_agent_now_ms();
    mx_msg m = {.type = MX_MSG_OUTPUT,
                .id = rs->id,
                .stream = which == 0 ? MX_STREAM_STDOUT : MX_STREAM_STDERR,
                .data = (unsigned char *)chunk,
                .len = (size_t)n};
    mx_agent_send(&m);
}

static void start_kill(run_state *rs, enum mx_end_reason why)
{
    if (rs->kill_deadline) return;
    rs->reason = why;
    kill(-rs->pid, SIGTERM);
    rs->kill_deadline = mx_agent_now_ms() + MX_AGENT_KILL_GRACE_MS;
}

/* Goes through the lines from the host read so far while a step runs: a cancel starts the kill
 * now; any other line (undecodable ones too) is kept in in->deferred for after the step.  The
 * host leaving is handle_input's to see. */
static void scan_input(run_state *rs, mx_agent_in *in)
{
    char *line;
    size_t len;
    while (mx_lines_next(&in->lines, &line, &len)) {
        mx_msg m;
        mx_err err;
        int ok = mx_msg_decode(line, len, &m, &err) == 0;
        int cancel = ok && m.type == MX_MSG_CANCEL;
        if (ok) mx_msg_clear(&m);
        if (cancel) {
            start_kill(rs, MX_END_CANCELLED);
        } else {
            mx_err ignored;
            mx_lines_feed(&in->deferred, line, len, &ignored);
            mx_lines_feed(&in->deferred, "\n", 1, &ignored);
        }
        free(line);
    }
}

/* Reads what the host sent; -1 (and the step killed as cancelled) when the host left. */
static int handle_input(run_state *rs, mx_agent_in *in)
{
    if (mx_agent_in_fill(in) < 0 || in->eof) {
        start_kill(rs, MX_END_CANCELLED);
        return -1;
    }
    scan_input(rs, in);
    return 0;
}

/* What a step's child runs: argv in workdir with envp, or fn(ctx) in the forked agent. */
typedef struct child_spec {
    char *const *argv;
    const char *workdir;
    char *const *envp;
    mx_agent_child_fn fn;
    void *ctx;
} child_spec;

static int spawn(run_state *rs, const child_spec *cs, mx_err *err)
{
    pid_t pid = mx_proc_fork_piped(&rs->out[0], &rs->out[1], err);
    if (pid < 0) return -1;
    if (pid == 0) {
        setpgid(0, 0);
        if (cs->fn) _exit(cs->fn(cs->ctx));
        if (!cs->argv || !cs->argv[0]) _exit(127);
        if (cs->workdir && chdir(cs->workdir) < 0) {
            dprintf(2, "mexec-agent: cannot enter %s: %s\n", cs->workdir, strerror(errno));
            _exit(127);
        }
        signal(SIGPIPE, SIG_DFL);
        execvpe(cs->argv[0], cs->argv, cs->envp);
        dprintf(2, "mexec-agent: cannot run %s: %s\n", cs->argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid); /* also in the parent, so kill(-pid) works at once */
    rs->pid = pid;
    rs->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    return 0;
}

static void check_exit(run_state *rs)
{
    if (rs->exited) return;
    int st;
    pid_t r = waitpid(rs->pid, &st, WNOHANG);
    if (r == rs->pid) {
        rs->exited = 1;
        rs->wstatus = st;
    }
}

/* Background steps: started, reported at once, their output streamed (under their own id)
 * while later steps run and while the agent waits for the host; all of them end when the job
 * does (bye, or the host leaving), as on CircleCI. */
#define MAX_BACKGROUND 32

typedef struct bg_run {
    run_state rs;
    char *tmpdir; /* holds the step's script until the shell is gone */
} bg_run;

static bg_run bg[MAX_BACKGROUND];
static size_t nbg;

typedef struct bg_slot {
    size_t entry;
    int which; /* 0 stdout, 1 stderr */
} bg_slot;

static int bg_pollfds(struct pollfd *p, bg_slot *slots)
{
    int n = 0;
    for (size_t e = 0; e < nbg; e++)
        for (int w = 0; w < 2; w++)
            if (bg[e].rs.out[w] >= 0) {
                p[n] = (struct pollfd){bg[e].rs.out[w], POLLIN, 0};
                slots[n++] = (bg_slot){e, w};
            }
    return n;
}

static void bg_release(bg_run *b)
{
    kill(-b->rs.pid, SIGKILL); /* what the step left running in its group */
    for (int w = 0; w < 2; w++)
        if (b->rs.out[w] >= 0) close(b->rs.out[w]);
    if (b->rs.pidfd >= 0) close(b->rs.pidfd);
    if (b->tmpdir) mx_rm_rf(b->tmpdir, NULL);
    free(b->tmpdir);
}

/* Forwards what the background runs wrote, and forgets the ones that are finished. */
static void bg_handle(const struct pollfd *p, const bg_slot *slots, int n)
{
    for (int i = 0; i < n; i++)
        if (p[i].revents) forward_output(&bg[slots[i].entry].rs, slots[i].which);
    for (size_t e = 0; e < nbg;) {
        check_exit(&bg[e].rs);
        if (bg[e].rs.exited && bg[e].rs.out[0] < 0 && bg[e].rs.out[1] < 0) {
            bg_release(&bg[e]);
            bg[e] = bg[--nbg];
        } else {
            e++;
        }
    }
}

int mx_agent_wait_input(int fd)
{
    for (;;) {
        struct pollfd p[1 + 2 * MAX_BACKGROUND];
        bg_slot slots[2 * MAX_BACKGROUND];
        p[0] = (struct pollfd){fd, POLLIN, 0};
        int n = bg_pollfds(p + 1, slots);
        /* a tick, so finished background runs are reaped even when silent */
        int r = poll(p, (nfds_t)n + 1, nbg ? 1000 : -1);
        if (r < 0 && errno != EINTR) return -1;
        if (r > 0)
            bg_handle(p + 1, slots, n);
        else
            bg_handle(p + 1, slots, 0);
        if (r > 0 && p[0].revents) return 0;
    }
}

void mx_agent_stop_background(void)
{
    for (size_t e = 0; e < nbg; e++)
        kill(-bg[e].rs.pid, SIGTERM);
    long long deadline = mx_agent_now_ms() + MX_AGENT_KILL_GRACE_MS;
    for (size_t e = 0; e < nbg; e++) {
        while (!bg[e].rs.exited && mx_agent_now_ms() < deadline) {
            check_exit(&bg[e].rs);
            if (!bg[e].rs.exited) poll(NULL, 0, 50);
        }
        if (!bg[e].rs.exited) {
            kill(-bg[e].rs.pid, SIGKILL);
            while (waitpid(bg[e].rs.pid, &bg[e].rs.wstatus, 0) < 0 && errno == EINTR) {
            }
        }
        bg_release(&bg[e]);
    }
    nbg = 0;
}

/* Waits for the step; returns -1 if the host went away meanwhile. */
static int supervise(run_state *rs, mx_agent_in *in)
{
    int host_gone = 0;
    long long timeout_ms = (long long)rs->step->no_output_timeout_s * 1000;
    bg_slot slots[2 * MAX_BACKGROUND];
    rs->last_output = mx_agent_now_ms();
    scan_input(rs, in); /* a cancel may have arrived in the same read as its step */
    while (!rs->exited || rs->out[0] >= 0 || rs->out[1] >= 0) {
        struct pollfd p[4 + 2 * MAX_BACKGROUND];
        int np = 0, idx_out[2] = {-1, -1}, idx_in = -1, idx_pid = -1;
        for (int i = 0; i < 2; i++)
            if (rs->out[i] >= 0) idx_out[i] = np, p[np++] = (struct pollfd){rs->out[i], POLLIN, 0};
        if (!host_gone) idx_in = np, p[np++] = (struct pollfd){in->fd, POLLIN, 0};
        if (!rs->exited && rs->pidfd >= 0)
            idx_pid = np, p[np++] = (struct pollfd){rs->pidfd, POLLIN, 0};
        int base = np, nb = bg_pollfds(p + base, slots);
        np += nb;

        int wait = 1000; /* also the tick for exit checks when pidfd is unavailable */
        long long now = mx_agent_now_ms();
        if (rs->exited) {
            /* the shell is gone but something it started still holds its output open: give
             * that output a moment, then stop waiting for it */
            wait = 200;
        }
        if (timeout_ms > 0 && !rs->kill_deadline) {
            long long left = rs->last_output + timeout_ms - now;
            if (left < wait) wait = left < 0 ? 0 : (int)left;
        }
        if (rs->kill_deadline) {
            long long left = rs->kill_deadline - now;
            if (left < wait) wait = left < 0 ? 0 : (int)left;
        }
        int r = poll(p, (nfds_t)np, wait);
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && rs->exited) break;
        for (int i = 0; i < 2; i++)
            if (idx_out[i] >= 0 && p[idx_out[i]].revents) forward_output(rs, i);
        if (idx_in >= 0 && p[idx_in].revents && handle_input(rs, in) < 0) host_gone = 1;
        (void)idx_pid;
        bg_handle(p + base, slots, r > 0 ? nb : 0);
        check_exit(rs);
        now = mx_agent_now_ms();
        if (!rs->exited && timeout_ms > 0 && now - rs->last_output >= timeout_ms)
            start_kill(rs, MX_END_TIMEOUT);
        if (!rs->exited && rs->kill_deadline && now >= rs->kill_deadline) kill(-rs->pid, SIGKILL);
    }
    if (!rs->exited) {
        while (waitpid(rs->pid, &rs->wstatus, 0) < 0 && errno == EINTR) {
        }
        rs->exited = 1;
    }
    /* whatever the step left running in its group ends with the step */
    kill(-rs->pid, SIGKILL);
    for (int i = 0; i < 2; i++)
        if (rs->out[i] >= 0) close(rs->out[i]);
    if (rs->pidfd >= 0) close(rs->pidfd);
    return host_gone ? -1 : 0;
}

static int exit_code(int wstatus)
{
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return 255;
}

static int exec_spec(const mx_msg *step, mx_agent_in *in, const child_spec *cs, mx_agent_exit *ex)
{
    run_state rs = {
        .step = step, .id = step->id, .pidfd = -1, .out = {-1, -1}, .reason = MX_END_EXITED};
    memset(ex, 0, sizeof *ex);
    if (spawn(&rs, cs, &ex->why) < 0) {
        ex->code = 1;
        ex->reason = MX_END_FAILED;
        return 0;
    }
    int rc = supervise(&rs, in);
    ex->code = exit_code(rs.wstatus);
    ex->reason = rs.reason;
    if (ex->reason == MX_END_EXITED && WIFSIGNALED(rs.wstatus)) ex->reason = MX_END_SIGNALED;
    return rc;
}

int mx_agent_exec(const mx_msg *step, mx_agent_in *in, char *const *argv, const char *cwd,
                  char *const *envp, mx_agent_exit *ex)
{
    child_spec cs = {.argv = argv, .workdir = cwd, .envp = envp};
    return exec_spec(step, in, &cs, ex);
}

int mx_agent_exec_fn(const mx_msg *step, mx_agent_in *in, mx_agent_child_fn fn, void *ctx,
                     mx_agent_exit *ex)
{
    child_spec cs = {.fn = fn, .ctx = ctx};
    return exec_spec(step, in, &cs, ex);
}

/* Starts a background step; sends its step-end.  tmpdir (may be NULL) is the run's to remove
 * when it is over; it is taken, or removed here if the step could not start. */
static void start_background(const mx_msg *step, const child_spec *cs, char **tmpdir, long long t0)
{
    mx_err err;
    mx_err_clear(&err);
    run_state rs = {
        .step = step, .id = step->id, .pidfd = -1, .out = {-1, -1}, .reason = MX_END_EXITED};
    int started = nbg < MAX_BACKGROUND && spawn(&rs, cs, &err) == 0;
    if (started) {
        rs.step = NULL;
        bg[nbg++] = (bg_run){.rs = rs, .tmpdir = tmpdir ? mx_steal(tmpdir) : NULL};
    }
    mx_agent_send_end(
        step, started ? 0 : 1, started ? MX_END_BACKGROUND : MX_END_FAILED, mx_agent_now_ms() - t0,
        started ? NULL : (nbg >= MAX_BACKGROUND ? "too many background steps" : err.msg));
    if (tmpdir && *tmpdir) mx_rm_rf(*tmpdir, NULL);
}

void mx_agent_background_fn(const mx_msg *step, mx_agent_child_fn fn, void *ctx)
{
    child_spec cs = {.fn = fn, .ctx = ctx};
    start_background(step, &cs, NULL, mx_agent_now_ms());
}

static char **step_argv(const mx_msg *step, const char *script)
{
    char **argv;
    if (step->kind == MX_STEP_CHECKOUT) {
        argv = mx_xcalloc(6, sizeof *argv);
        argv[0] = mx_xstrdup("tar");
        argv[1] = mx_xstrdup("-xf");
        argv[2] = mx_xstrdup(step->archive);
        argv[3] = mx_xstrdup("--no-same-owner");
        return argv;
    }
    size_t n = mx_agent_split_shell(
        step->shell && *step->shell ? step->shell : MX_AGENT_DEFAULT_SHELL, &argv);
    argv[n] = mx_xstrdup(script);
    return argv;
}

int mx_agent_run_step(const mx_msg *step, mx_agent_in *in)
{
    long long t0 = mx_agent_now_ms();
    const char *home = getenv("HOME") ? getenv("HOME") : "/";
    mx_autofree char *workdir = mx_agent_expand_home(step->workdir, home);
    mx_autofree char *tmpdir = NULL;
    mx_autofree char *script = NULL;
    char **argv = NULL, **envp = NULL;
    mx_err err;
    int rc = 0;

    if (step->kind == MX_STEP_DOCKER_CHECK || step->kind == MX_STEP_DOCKER_PULL)
        return mx_agent_run_docker_step(step, in);
    if (step->kind == MX_STEP_CONTAINERS || step->container) return mx_agent_run_ctr_step(step, in);
    if (step->kind == MX_STEP_PERSIST || step->kind == MX_STEP_ATTACH)
        return mx_agent_run_workspace_step(step, in);
    if (step->kind >= MX_STEP_CHECKSUM && step->kind <= MX_STEP_SSH_KEYS)
        return mx_agent_run_job_step(step, in);
    if (step->kind == MX_STEP_RUN && !step->command) {
        mx_agent_send_end(step, 1, MX_END_FAILED, 0, "run step has no command");
        return 0;
    }
    if (step->kind == MX_STEP_CHECKOUT && !step->archive) {
        mx_agent_send_end(step, 1, MX_END_FAILED, 0, "checkout step has no archive");
        return 0;
    }
    if (mx_mkdir_p(workdir, 0755, &err) < 0) {
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
        return 0;
    }
    if (step->kind == MX_STEP_RUN) {
        char tmpl[] = "/tmp/mexec-step-XXXXXX";
        if (!mkdtemp(tmpl)) {
            mx_fail_errno(&err, MX_INFRA, "mkdtemp");
            mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
            return 0;
        }
        tmpdir = mx_xstrdup(tmpl);
        script = mx_path_join(tmpdir, "step.sh");
        if (mx_write_file(script, step->command, strlen(step->command), 0600, &err) < 0) {
            mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
            mx_rm_rf(tmpdir, NULL);
            return 0;
        }
    }
    argv = step_argv(step, script);
    envp = mx_agent_build_env(environ, step->env, step->nenv);

    if (step->kind == MX_STEP_RUN && step->background) {
        child_spec cs = {.argv = argv, .workdir = workdir, .envp = envp};
        start_background(step, &cs, &tmpdir, t0);
        mx_agent_free_strv(argv);
        mx_agent_free_strv(envp);
        return 0;
    }
    mx_agent_exit ex;
    rc = mx_agent_exec(step, in, argv, workdir, envp, &ex);
    /* the archive goes before step-end, so the host never sees a finished checkout whose
     * archive still exists */
    if (step->kind == MX_STEP_CHECKOUT) unlink(step->archive);
    if (rc == 0)
        mx_agent_send_end(step, ex.code, ex.reason, mx_agent_now_ms() - t0,
                          ex.reason == MX_END_FAILED ? ex.why.msg : NULL);
    if (tmpdir) mx_rm_rf(tmpdir, NULL);
    mx_agent_free_strv(argv);
    mx_agent_free_strv(envp);
    return rc;
}
