/* mexec gitlab config|prepare|run|cleanup: the four stages of GitLab Runner's custom executor.
 *
 *   config   prints the JSON the runner reads (builds_dir, hostname, driver, shell...).
 *   prepare  boots the job's VM without auto-destroy (it must outlive this process), uploads
 *            the agent, logs the guest's dockerd in, and records the VM in its job directory.
 *   run      runs one runner-generated script (one sub-stage) in the VM through the agent.
 *   cleanup  destroys the VM and removes its directory, whatever happened; never fails.
 * Lives in mx_host (like cfg_cli.c) so tests can link it. */
#include "catalog.h"
#include "mx_num.h"
#include "cli.h"
#include "gitlab.h"
#include "host_config.h"
#include "image_build.h"
#include "job_containers.h"
#include "job_run.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_mask.h"
#include "mx_term.h"
#include "resource_class.h"
#include "session.h"
#include "signals.h"
#include "snapshot.h"
#include "ssh.h"
#include "vm.h"
#include "vm_guest.h"
#include "vm_net.h"
#include "vm_xml.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef MX_VERSION
#define MX_VERSION "dev"
#endif

/* The guest is already up when `run` connects: this only bounds a VM that died meanwhile. */
#define RUN_CONNECT_TIMEOUT_S 60
/* After SIGTERM: how long to wait for the agent to confirm the cancelled step.  The runner's
 * graceful_kill_timeout is longer by default; a slow guest must not make us miss it. */
#define CANCEL_WAIT_S 5
/* A script longer than this cannot travel in one protocol line (mx_proto.h). */
#define MAX_CTR_SCRIPT (6 * 1024 * 1024)

static const char gitlab_usage[] =
    "usage: mexec gitlab config | prepare | run SCRIPT STAGE | cleanup\n"
    "GitLab Runner's custom executor calls these (see docs/gitlab.md).\n";

typedef struct gl_ctx {
    mx_host_config hc;
    char *key;
    char *dir;
    mx_secrets secrets;
    int build_fail, sys_fail;
} gl_ctx;

static const char *env_get(const char *name)
{
    return getenv(name);
}

static const char *nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static void say(const gl_ctx *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(const gl_ctx *g, const char *fmt, ...)
{
    char msg[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* messages may quote the runner's input (registry names, libvirt errors) or the guest's
     * (the agent's reasons): masked and safe for a terminal, like output */
    mx_autofree char *safe = mx_term_safe(&g->secrets, msg);
    fprintf(stderr, "mexec: %s\n", safe);
}

static volatile sig_atomic_t alarm_fired;
static void on_alarm(int sig)
{
    (void)sig;
    alarm_fired = 1;
}

/* The step was interrupted by the runner: ask the agent to cancel it and wait (briefly) for it
 * to say so, still streaming what the step prints meanwhile. */
static void cancel_step(mx_session *se, int id, mx_step_output *so)
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, &old) < 0) return;
    alarm_fired = 0;
    se->stop = &alarm_fired;
    alarm(CANCEL_WAIT_S);
    mx_err err;
    mx_msg c = {.type = MX_MSG_CANCEL, .id = id};
    mx_msg end;
    if (mx_session_send(se, &c, &err) == 0 && mx_session_follow_step(se, so, &end, &err) == 0)
        mx_msg_clear(&end);
    alarm(0);
    sigaction(SIGALRM, &old, NULL);
    /* the session is over: keep mx_session_end from saying bye to a cancelled agent */
    se->stop = &mx_stop;
}

enum { STEP_DONE = 0, STEP_BROKEN = -1, STEP_INTERRUPTED = -2 };

/* Sends step m and streams its output (masked) until it ends: STEP_DONE with *status and
 * *reason, STEP_BROKEN (err set) or STEP_INTERRUPTED (the agent was told to cancel). */
static int run_agent_step(gl_ctx *g, mx_session *se, const mx_msg *m, int *status,
                          enum mx_end_reason *reason, char **message, mx_err *err)
{
    *message = NULL;
    if (mx_session_send(se, m, err) < 0) return mx_stop ? STEP_INTERRUPTED : STEP_BROKEN;
    mx_step_output so;
    mx_step_output_init(&so, &g->secrets);
    mx_msg r;
    int rc = STEP_BROKEN;
    if (mx_session_follow_step(se, &so, &r, err) == 0) {
        *status = r.exit_status;
        *reason = r.reason;
        if (r.message) *message = mx_xstrdup(r.message);
        mx_msg_clear(&r);
        rc = STEP_DONE;
    } else if (mx_stop) {
        cancel_step(se, m->id, &so);
        rc = STEP_INTERRUPTED;
    }
    mx_step_output_end(&so);
    return rc;
}

/* Destroys whatever a job key has (domain by its deterministic name, then files).  Returns 0,
 * or -1 when something could not be removed (logged, and said in *why when given). */
static int destroy_job(gl_ctx *g, mx_buf *why)
{
    int rc = 0;
    mx_err err;
    struct stat st;
    int lock_fd = -1;
    if (stat(g->dir, &st) == 0) {
        mx_autofree char *lock = mx_path_join(g->dir, "lock");
        lock_fd = open(lock, O_RDWR | O_CLOEXEC);
        /* a stage that still runs (e.g. a prepare the runner gave up on) finishes first */
        while (lock_fd >= 0 && flock(lock_fd, LOCK_EX) < 0 && errno == EINTR) {
        }
    }
    mx_autofree char *domain = mx_xasprintf(MX_DOMAIN_PREFIX "%s", g->key);
    int d = mx_vm_destroy_by_name(&g->hc, domain, &err);
    if (d < 0) {
        say(g, "cleanup: %s", err.msg);
        if (why) mx_buf_printf(why, "%s; ", err.msg);
        rc = -1;
    } else if (d == 1) {
        say(g, "destroyed VM %s", domain);
    }
    if (stat(g->dir, &st) == 0) {
        mx_net_stop(g->dir); /* the guest network's processes outlive the domain */
        if (mx_rm_rf(g->dir, &err) < 0) {
            say(g, "cleanup: %s", err.msg);
            if (why) mx_buf_printf(why, "%s; ", err.msg);
            rc = -1;
        }
    }
    if (lock_fd >= 0) close(lock_fd);
    return rc;
}

/* Logs the guest's dockerd in to each registry that has credentials (the agent's
 * docker-check: `docker login` as the docker CLI does it, config.json included).
 * Returns 0, 1 (a registry refused: the job's problem), -1 (infrastructure; err set). */
static int docker_logins(gl_ctx *g, mx_session *se, const mx_gitlab_creds *creds, mx_err *err)
{
    for (size_t i = 0; i < creds->n; i++) {
        const mx_gitlab_login *l = &creds->v[i];
        mx_autofree char *name = mx_xasprintf("docker login %s", l->registry);
        mx_msg m = {.type = MX_MSG_STEP,
                    .id = (int)i + 1,
                    .kind = MX_STEP_DOCKER_CHECK,
                    .name = name,
                    .workdir = "~",
                    .docker = {.registry = l->registry,
                               .username = l->username,
                               .password = l->password,
                               .retries = 2,
                               .retry_delay_s = 3}};
        say(g, "logging the guest's dockerd in to %s as %s", l->registry, l->username);
        int status = 0;
        enum mx_end_reason reason = MX_END_EXITED;
        mx_autofree char *message = NULL;
        int r = run_agent_step(g, se, &m, &status, &reason, &message, err);
        if (r == STEP_INTERRUPTED) return mx_fail(err, MX_INFRA, "interrupted");
        if (r != STEP_DONE) return -1;
        if (reason == MX_END_FAILED)
            return mx_fail(err, MX_INFRA, "docker login %s: %s", l->registry,
                           message ? message : "agent failed");
        if (status != 0) {
            say(g, "docker login to %s failed (exit status %d)", l->registry, status);
            return 1;
        }
    }
    return 0;
}

/* gc leaves a saved VM alone this long past the job's own timeout. */
#define GC_MARGIN_S 3600

/* JOB_DIR/max-age: how long `mexec gc` leaves this saved VM alone (cmd_gc.c): the job's timeout
 * (CI_JOB_TIMEOUT, seconds) and a margin; without one, gc's default stands. */
static int write_max_age(gl_ctx *g, mx_err *err)
{
    const char *t = nonempty("CUSTOM_ENV_CI_JOB_TIMEOUT");
    long long s;
    if (!t || mx_parse_int(t, 1, 366LL * 24 * 3600, &s) < 0) return 0;
    char text[32];
    int n = snprintf(text, sizeof text, "%lld\n", s + GC_MARGIN_S);
    mx_autofree char *path = mx_path_join(g->dir, MX_GC_MAX_AGE);
    return mx_write_file(path, text, (size_t)n, 0600, err);
}

/* In the job directory: the job runs in a container (its image is the file's text). */
#define MARK_CONTAINER "container"

/* The job's containers (prepare): 0 started, 1 the job's fault (an image that cannot be pulled,
 * refused credentials), -1 infrastructure (err set). */
static int start_containers(gl_ctx *g, mx_session *se, const mx_msg *m, mx_err *err)
{
    say(g, "starting the job's containers: %s and %zu service%s", m->containers[0].image,
        m->ncontainers - 1, m->ncontainers == 2 ? "" : "s");
    int status = 0;
    enum mx_end_reason reason = MX_END_EXITED;
    mx_autofree char *message = NULL;
    int r = run_agent_step(g, se, m, &status, &reason, &message, err);
    if (r == STEP_INTERRUPTED) return mx_fail(err, MX_INFRA, "interrupted");
    if (r != STEP_DONE) return -1;
    if (reason == MX_END_FAILED)
        return mx_fail(err, MX_INFRA, "containers: %s", message ? message : "agent failed");
    return status != 0;
}

static int gl_prepare(gl_ctx *g)
{
    mx_err err;
    long long t0 = mx_now_ms();
    const char *ref = nonempty("CUSTOM_ENV_CI_JOB_IMAGE");
    const char *cls = nonempty("CUSTOM_ENV_MEXEC_RESOURCE_CLASS");
    if (!cls) cls = "medium";
    const char *job_name = nonempty("CUSTOM_ENV_CI_JOB_NAME");
    MX_AUTO(mx_image) img = {0};
    mx_rclass rc = {0};
    MX_AUTO(mx_gitlab_creds) creds = {0};
    MX_AUTO(mx_msg) ctr_msg = {0};
    mx_autofree char *agent_local = NULL, *skipped = NULL, *agent_remote = NULL;
    /* released by hand at out: in this order, and the VM kept or torn down by the outcome */
    mx_vm vm = {.lock_fd = -1};
    mx_ssh ssh = {.sock = -1};
    mx_session se = {0};
    int status = g->sys_fail, booted = 0;

    /* a container image runs in the host's VM for containers, as GitLab's docker executor;
     * an unbuilt machine image is built first, its progress in the job's log (stderr) */
    int ctr = mx_gitlab_container_image(&g->hc, ref);
    int r = mx_image_ready(&g->hc, ctr ? g->hc.docker_vm_image : ref, 0, &img, &err);
    if (r < 0) {
        say(g, "image %s: %s", ctr ? "for containers" : ref ? ref : "(default)", err.msg);
        goto out;
    }
    if (ctr) {
        mx_autofree char *ecr_cache = NULL, *log = NULL;
        mx_autofree char *state_parent = mx_dirname(g->hc.state_dir);
        ecr_cache = mx_path_join(state_parent, "ecr-cache");
        mx_gitlab_ctr_opts co = {
            .env = env_get,
            .docker_auth_config = nonempty("CUSTOM_ENV_DOCKER_AUTH_CONFIG"),
            .docker = {.ecr_cache_dir = ecr_cache,
                       .allowed_helpers = (const char *const *)g->hc.credential_helpers,
                       .host_config_path = mx_host_config_path()}};
        if (mx_gitlab_containers_msg(ref, nonempty("JOB_RESPONSE_FILE"), &co, &g->secrets, &ctr_msg,
                                     &log, &err) < 0) {
            /* the job's own settings (its credentials, its registry) are its to fix */
            say(g, "image %s: %s", ref, err.msg);
            if (err.status != MX_INFRA) status = g->build_fail;
            goto out;
        }
        if (log) {
            mx_autofree char *masked = mx_secrets_mask(&g->secrets, log);
            fputs(masked, stdout);
            fflush(stdout);
        }
    }
    mx_host_caps caps;
    mx_host_caps_read(&caps);
    int fitted = 0;
    if (mx_rclass_resolve(&g->hc.classes, cls, &caps, 0, &rc, &fitted, &err) < 0) {
        say(g, "MEXEC_RESOURCE_CLASS: %s", err.msg);
        goto out;
    }
    /* a container job's images are pulled with their credentials; its VM logs in nowhere */
    if (!ctr && mx_gitlab_logins(
                    nonempty("CUSTOM_ENV_DOCKER_AUTH_CONFIG"), nonempty("JOB_RESPONSE_FILE"),
                    (const char *const *)g->hc.credential_helpers, &creds, &skipped, &err) < 0) {
        say(g, "registry credentials: %s", err.msg);
        goto out;
    }
    if (skipped) say(g, "no username/password for %s: the guest is not logged in there", skipped);
    agent_local = mx_agent_binary(&err);
    if (!agent_local) {
        say(g, "%s", err.msg);
        goto out;
    }
    struct stat st;
    if (stat(g->dir, &st) == 0) {
        /* the same job key again (a runner restarted mid-job): start from nothing */
        say(g, "removing what an earlier attempt of this job left");
        destroy_job(g, NULL);
    }
    if (mx_vm_prepare_id(&vm, &g->hc, job_name ? job_name : "gitlab", g->key, &err) < 0) {
        say(g, "prepare VM: %s", err.msg);
        goto out;
    }
    vm.outlive_owner = 1;
    booted = 1;
    /* instant start from the image's snapshot for the class (snapshot.h), unless the job sets
     * MEXEC_COLD=1; cold when there can be none (an imported image) or it fails */
    int restored = 0;
    if (g->hc.instant_starts && !img.firmware && !nonempty("CUSTOM_ENV_MEXEC_COLD")) {
        mx_snapshot snap;
        mx_err e2;
        int s = mx_snapshot_get(&g->hc, &img, &rc, agent_local, 0, &snap, &e2);
        if (s == 0) {
            say(g, "preparing the instant-start snapshot of %s for %s (once)", img.ref, cls);
            s = mx_snapshot_get(&g->hc, &img, &rc, agent_local, 1, &snap, &e2);
        }
        if (s > 0) {
            say(g, "restoring %s (%s) as %s: %d vCPUs, %d MiB, %s", vm.domain_name, img.ref, cls,
                rc.vcpus, rc.memory_mib, mx_accel_probe(g->hc.accel).why);
            restored = mx_vm_restore(&vm, &g->hc, &img, &rc, &snap, &e2) == 0;
            if (!restored) mx_vm_unrestore(&vm);
            mx_snapshot_free(&snap);
        }
        if (!restored && mx_stop) goto out;
        if (!restored) say(g, "instant start: %s; booting cold", e2.msg);
    }
    if (!restored) {
        say(g, "booting %s (%s) as %s: %d vCPUs, %d MiB, %s", vm.domain_name, img.ref, cls,
            rc.vcpus, rc.memory_mib, mx_accel_probe(g->hc.accel).why);
        if (mx_vm_boot(&vm, &g->hc, &img, &rc, &err) < 0) {
            say(g, "boot VM: %s", err.msg);
            goto out;
        }
    }
    if (mx_vm_save(&vm, &err) < 0 || write_max_age(g, &err) < 0) {
        say(g, "boot VM: %s", err.msg);
        goto out;
    }
    /* from the domain's start: a wait for capacity before it is not the guest's boot */
    long long deadline = mx_now_ms() + (long long)g->hc.boot_timeout_s * 1000;
    mx_ssh_target t = mx_vm_ssh_target(&vm);
    if (mx_ssh_connect(&ssh, &t, deadline, &mx_stop, &err) < 0) {
        mx_autofree char *tail = mx_stop ? NULL : mx_vm_console_tail(&vm, 15);
        mx_autofree char *safe = tail ? mx_term_safe(&g->secrets, tail) : NULL; /* the guest's */
        if (safe) fprintf(stderr, "mexec: last lines of the guest console:\n%s\n", safe);
        say(g, "connect to %s: %s", vm.domain_name, err.msg);
        goto out;
    }
    say(g, "guest up after %.1f s", (double)(mx_now_ms() - t0) / 1000.0);
    /* a restored snapshot has it (snapshot.h) */
    agent_remote = mx_vm_agent_path(&vm);
    if (!vm.agent && mx_ssh_upload(&ssh, agent_local, agent_remote, 0700, &err) < 0) {
        say(g, "upload agent: %s", err.msg);
        goto out;
    }
    if (creds.n || ctr) {
        if (mx_session_start(&se, &ssh, agent_remote, &g->secrets, &mx_stop, &err) < 0) {
            say(g, "start agent: %s", err.msg);
            goto out;
        }
        r = docker_logins(g, &se, &creds, &err);
        if (r < 0) {
            say(g, "%s", err.msg);
            goto out;
        }
        if (r > 0) {
            status = g->build_fail;
            goto out;
        }
    }
    if (ctr) {
        r = start_containers(g, &se, &ctr_msg, &err);
        if (r < 0) say(g, "%s", err.msg);
        if (r > 0) status = g->build_fail; /* an image that cannot be pulled is the job's */
        if (r != 0) goto out;
        mx_autofree char *mark = mx_path_join(g->dir, MARK_CONTAINER);
        if (mx_write_file(mark, ref, strlen(ref), 0600, &err) < 0) {
            say(g, "%s", err.msg);
            goto out;
        }
    }
    status = 0;
out:
    mx_session_end(&se);
    mx_ssh_close(&ssh);
    if (status != 0 && booted)
        mx_vm_teardown(&vm); /* the runner calls cleanup anyway; leaving nothing is our job */
    else
        mx_vm_detach(&vm); /* success (run and cleanup take it on), or nothing booted */
    if (mx_stop && status != 0) say(g, "interrupted by signal %d", (int)mx_stop);
    return status;
}

/* A stage name as part of a file name. */
static char *safe_name(const char *s)
{
    char *out = mx_xstrndup(s, 64);
    for (char *p = out; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", *p)) *p = '_';
    return out;
}

static void write_exit_code(gl_ctx *g, int code)
{
    const char *path = nonempty("BUILD_EXIT_CODE_FILE");
    if (!path) return;
    char text[16];
    int n = snprintf(text, sizeof text, "%d\n", code);
    mx_err err;
    if (mx_write_file(path, text, (size_t)n, 0600, &err) < 0) say(g, "%s", err.msg);
}

static int gl_run(gl_ctx *g, const char *script, const char *stage)
{
    mx_err err;
    mx_vm vm;
    mx_ssh ssh = {.sock = -1};
    mx_session se;
    memset(&se, 0, sizeof se);
    int status = g->sys_fail;
    mx_autofree char *stage_file = safe_name(stage);
    mx_autofree char *remote = NULL, *command = NULL, *agent_remote = NULL, *message = NULL;
    mx_autofree char *mark = mx_path_join(g->dir, MARK_CONTAINER);
    int in_ctr = mx_path_exists(mark) && mx_gitlab_stage_in_container(stage);

    if (access(script, R_OK) < 0) {
        say(g, "run: cannot read script %s: %s", script, strerror(errno));
        return g->sys_fail;
    }
    if (mx_vm_load(&vm, g->dir, &err) < 0) {
        say(g, "no VM for this job (did prepare succeed?): %s", err.msg);
        mx_vm_detach(&vm);
        return g->sys_fail;
    }
    mx_ssh_target t = mx_vm_ssh_target(&vm);
    if (mx_ssh_connect(&ssh, &t, mx_now_ms() + RUN_CONNECT_TIMEOUT_S * 1000LL, &mx_stop, &err) <
        0) {
        say(g, "connect to %s: %s", vm.domain_name, err.msg);
        goto out;
    }
    if (in_ctr) {
        mx_buf text;
        mx_buf_init(&text);
        /* the user's script runs in the job container: it reaches it on the exec's stdin, never
         * as a file (agent_ctr.h) */
        struct stat sst;
        const char *why = NULL;
        if (stat(script, &sst) < 0)
            why = strerror(errno);
        else if (sst.st_size > MAX_CTR_SCRIPT)
            why = "longer than a container step can take";
        else if (mx_read_file(script, &text, &err) < 0)
            why = err.msg;
        if (why) {
            say(g, "%s script: %s", stage, why);
            mx_buf_free(&text);
            goto out;
        }
        command = mx_buf_steal(&text);
    } else {
        /* The script holds the job's variables (masked ones included): 0700 in the guest
         * user's private copy, removed when it has run. */
        remote = mx_xasprintf("/tmp/mexec-gitlab-%s-%s.sh", vm.job_id, stage_file);
        if (mx_ssh_upload(&ssh, script, remote, 0700, &err) < 0) {
            say(g, "upload %s script: %s", stage, err.msg);
            goto out;
        }
        command = mx_xasprintf("/bin/bash '%s'\ns=$?\nrm -f '%s'\nexit $s\n", remote, remote);
    }
    agent_remote = mx_vm_agent_path(&vm);
    if (mx_session_start(&se, &ssh, agent_remote, &g->secrets, &mx_stop, &err) < 0) {
        say(g, "start agent: %s", err.msg);
        goto out;
    }
    mx_msg m = {.type = MX_MSG_STEP,
                .id = 1,
                .kind = MX_STEP_RUN,
                .name = (char *)stage,
                .command = command,
                /* in a container: bash when the image has it, else sh (the agent there picks) */
                .shell = in_ctr ? NULL : "/bin/bash",
                .workdir = "~",
                .container = in_ctr ? MX_CTR_PRIMARY : NULL};
    int exit_status = 0;
    enum mx_end_reason reason = MX_END_EXITED;
    int r = run_agent_step(g, &se, &m, &exit_status, &reason, &message, &err);
    if (r == STEP_INTERRUPTED) {
        say(g, "%s: interrupted by signal %d, step cancelled", stage, (int)mx_stop);
    } else if (r != STEP_DONE) {
        say(g, "%s: %s", stage, err.msg);
    } else if (reason == MX_END_FAILED) {
        say(g, "%s: the agent could not run the script: %s", stage, message ? message : "?");
    } else if (exit_status != 0) {
        write_exit_code(g, exit_status);
        status = g->build_fail;
    } else {
        status = 0;
    }
out:
    mx_session_end(&se);
    mx_ssh_close(&ssh);
    mx_vm_detach(&vm); /* the VM stays for the next stage and cleanup */
    return status;
}

static int gl_cleanup(gl_ctx *g)
{
    /* A failure here must not fail the job (the runner only warns, in its own log, which
     * nobody reads): say it, and leave a mark in the job directory, where `mexec ps` shows it
     * and `mexec gc` acts on it at once. */
    mx_buf why;
    mx_buf_init(&why);
    if (destroy_job(g, &why) < 0) {
        say(g, "cleanup of %s was incomplete; `mexec ps` shows it, `mexec gc` removes it", g->key);
        mx_err err;
        mx_autofree char *mark = mx_path_join(g->dir, MX_CLEANUP_FAILED);
        if (mx_mkdir_p(g->dir, 0700, &err) < 0 ||
            mx_write_file(mark, why.data, why.len, 0600, &err) < 0)
            say(g, "cleanup: %s", err.msg);
    }
    mx_buf_free(&why);
    return 0;
}

int mx_cmd_gitlab(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(gitlab_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? MX_USAGE : MX_OK;
    }
    const char *stage = argv[1];
    if (strcmp(stage, "config") == 0 && argc == 2) {
        mx_autofree char *json = mx_gitlab_config_json(env_get, MX_VERSION);
        puts(json);
        return fflush(stdout) == 0 ? MX_OK : MX_INFRA;
    }
    int is_prepare = strcmp(stage, "prepare") == 0 && argc == 2;
    int is_run = strcmp(stage, "run") == 0 && argc == 4;
    int is_cleanup = strcmp(stage, "cleanup") == 0 && argc == 2;
    if (!is_prepare && !is_run && !is_cleanup) {
        fputs(gitlab_usage, stderr);
        return MX_USAGE;
    }
    gl_ctx g;
    memset(&g, 0, sizeof g);
    mx_secrets_init(&g.secrets);
    g.secrets.replacement = MX_GITLAB_MASK_TEXT;
    g.build_fail = mx_gitlab_build_failure(env_get);
    g.sys_fail = mx_gitlab_system_failure(env_get);
    int fail = is_cleanup ? 0 : g.sys_fail;
    mx_err err;
    if (mx_gitlab_secrets(nonempty("CUSTOM_ENV_DOCKER_AUTH_CONFIG"), nonempty("JOB_RESPONSE_FILE"),
                          &g.secrets, &err) < 0) {
        /* unmasked output is worse than a failed job; cleanup still goes on */
        say(&g, "%s", err.msg);
        if (!is_cleanup) {
            mx_secrets_free(&g.secrets);
            return fail;
        }
    }
    int rc = fail;
    g.key = mx_gitlab_job_key(env_get, &err);
    if (!g.key) {
        say(&g, "%s", err.msg);
    } else if (mx_host_config_load(&g.hc, &err) < 0) {
        say(&g, "%s", err.msg);
        mx_host_config_free(&g.hc);
    } else {
        g.dir = mx_path_join(g.hc.state_dir, g.key);
        if (is_prepare) rc = gl_prepare(&g);
        if (is_run) rc = gl_run(&g, argv[2], argv[3]);
        if (is_cleanup) rc = gl_cleanup(&g);
        mx_host_config_free(&g.hc);
    }
    free(g.key);
    free(g.dir);
    mx_secrets_free(&g.secrets);
    return rc;
}
