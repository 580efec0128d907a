/* Steps in a container (agent_ctr.h): run and persist through the relay, checkout and attach
 * through PUT archive, and the containers step itself. */
#include "agent_ctr.h"
#include "mx_cleanup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mxc_containers_up(mxd_ctx *c, mx_err *err);

static char *sock_path(void)
{
    const char *s = getenv("MEXEC_DOCKER_SOCK");
    return mx_xstrdup(s && *s ? s : MX_DOCKER_DEFAULT_SOCK);
}

/* "K=V" for the exec: the step's environment only (the container's own comes from dockerd). */
static char **exec_env(const mx_msg *step)
{
    char **v = mx_xcalloc(step->nenv + 1, sizeof *v);
    for (size_t i = 0; i < step->nenv; i++)
        v[i] = mx_xasprintf("%s=%s", step->env[i].key, step->env[i].value);
    return v;
}

static void wipe_strv(char **v)
{
    for (char **p = v; p && *p; p++)
        explicit_bzero(*p, strlen(*p));
    mx_agent_free_strv(v);
}

static void end_exec(const mx_msg *step, long long t0, const mx_agent_exit *ex)
{
    mx_agent_send_end(step, ex->code, ex->reason, mx_agent_now_ms() - t0,
                      ex->reason == MX_END_FAILED ? ex->why.msg : NULL);
}

/* run: `mexec-agent --ctr-step WORKDIR [SHELL...]` with the script on stdin. */
static int run(const mx_msg *step, mx_agent_in *in, long long t0)
{
    if (!step->command) {
        mx_agent_send_end(step, 1, MX_END_FAILED, 0, "run step has no command");
        return 0;
    }
    char **shell = NULL;
    size_t ns = step->shell && *step->shell ? mx_agent_split_shell(step->shell, &shell) : 0;
    char **argv = mx_xcalloc(ns + 4, sizeof *argv);
    argv[0] = mx_xstrdup(MX_CTR_AGENT);
    argv[1] = mx_xstrdup("--ctr-step");
    argv[2] = mx_xstrdup(step->workdir && *step->workdir ? step->workdir : "~");
    for (size_t i = 0; i < ns; i++)
        argv[3 + i] = shell[i];
    free(shell);
    mx_autofree char *sock = sock_path();
    char **env = exec_env(step);
    mxc_relay r = {.sock = sock,
                   .container = step->container,
                   .user = step->user,
                   .argv = argv,
                   .env = env,
                   .nenv = step->nenv,
                   .script = step->command,
                   .script_len = strlen(step->command)};
    int rc = 0;
    if (step->background) {
        mx_agent_background_fn(step, mxc_relay_main, &r);
    } else {
        mx_agent_exit ex;
        rc = mx_agent_exec_fn(step, in, mxc_relay_main, &r, &ex);
        if (rc == 0) end_exec(step, t0, &ex);
    }
    mx_agent_free_strv(argv);
    wipe_strv(env);
    return rc;
}

/* persist: the container's agent writes the layer to its stdout, the relay to the file. */
static int persist(const mx_msg *step, mx_agent_in *in, long long t0)
{
    if (!step->workdir || !step->archive || step->npaths == 0) {
        mx_agent_send_end(step, 1, MX_END_FAILED, 0,
                          "persist step needs a root, paths and an archive");
        return 0;
    }
    char **argv = mx_xcalloc(step->npaths + 4, sizeof *argv);
    argv[0] = mx_xstrdup(MX_CTR_AGENT);
    argv[1] = mx_xstrdup("--ctr-persist");
    argv[2] = mx_xstrdup(step->workdir);
    for (size_t i = 0; i < step->npaths; i++)
        argv[3 + i] = mx_xstrdup(step->paths[i]);
    mx_autofree char *sock = sock_path();
    char *env[] = {NULL};
    mxc_relay r = {.sock = sock,
                   .container = step->container,
                   .user = step->user,
                   .argv = argv,
                   .env = env,
                   .out_file = step->archive};
    mx_agent_exit ex;
    int rc = mx_agent_exec_fn(step, in, mxc_relay_main, &r, &ex);
    if (!(ex.reason == MX_END_EXITED && ex.code == 0)) unlink(step->archive);
    if (rc == 0) end_exec(step, t0, &ex);
    mx_agent_free_strv(argv);
    return rc;
}

/* checkout and attach: archives PUT into the container, then removed from the VM. */
static int put(const mx_msg *step, mx_agent_in *in, long long t0)
{
    char *one[] = {step->archive, NULL};
    char *const *archives = step->kind == MX_STEP_CHECKOUT ? one : step->archives;
    size_t n = step->kind == MX_STEP_CHECKOUT ? (step->archive ? 1 : 0) : step->narchives;
    mx_autofree char *sock = sock_path();
    mxd_ctx c = {.step = step, .in = in, .sock = sock};
    mx_err err;
    mx_err_clear(&err);
    const char *dir = step->workdir && *step->workdir ? step->workdir : "~";
    int rc = 0;
    if (step->kind == MX_STEP_CHECKOUT && n == 0)
        rc = mx_fail(&err, MX_INFRA, "checkout step has no archive");
    else if (n == 0)
        mx_agent_say(step->id, MX_STREAM_STDOUT,
                     "The workspace is empty: the upstream jobs persisted nothing");
    else
        rc = mxc_put_archives(&c, dir, archives, n, &err);
    /* before step-end, as in the VM: a finished step leaves no upload behind */
    for (size_t i = 0; i < n; i++)
        unlink(archives[i]);
    return mxd_end_step(&c, rc, &err, t0, 0);
}

static int containers(const mx_msg *step, mx_agent_in *in, long long t0)
{
    mx_autofree char *sock = sock_path();
    mxd_ctx c = {.step = step, .in = in, .sock = sock};
    mx_err err;
    mx_err_clear(&err);
    int rc = mxd_wait_daemon(&c, &err);
    if (rc == 0) rc = mxc_containers_up(&c, &err);
    return mxd_end_step(&c, rc, &err, t0, 1);
}

int mx_agent_run_ctr_step(const mx_msg *step, mx_agent_in *in)
{
    long long t0 = mx_agent_now_ms();
    if (step->kind == MX_STEP_CONTAINERS) return containers(step, in, t0);
    switch (step->kind) {
    case MX_STEP_RUN:
        return run(step, in, t0);
    case MX_STEP_PERSIST:
        return persist(step, in, t0);
    case MX_STEP_CHECKOUT:
    case MX_STEP_ATTACH:
        return put(step, in, t0);
    default:
        mx_agent_send_end(step, 1, MX_END_FAILED, 0, "this step kind does not run in a container");
        return 0;
    }
}
