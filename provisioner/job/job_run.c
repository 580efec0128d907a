#include "job_run.h"
#include "spare.h"
#include "snapshot.h"
#include "trace.h"
#include "catalog.h"
#include "checkout.h"
#include "contexts.h"
#include "image_build.h"
#include "install_dirs.h"
#include "job_containers.h"
#include "job_docker.h"
#include "job_env.h"
#include "job_nodes.h"
#include "job_steps.h"
#include "job_workspace.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_mask.h"
#include "mx_term.h"
#include "resource_class.h"
#include "session.h"
#include "signals.h"
#include "ssh.h"
#include "vm.h"
#include "vm_guest.h"
#include "vm_xml.h"
#include "sink.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long --keep-on-failure keeps a VM at most (CircleCI's SSH reruns end after 2 h). */
#define MX_KEEP_MAX_S (2 * 3600)

char *mx_agent_binary(mx_err *err)
{
    const char *env = getenv("MEXEC_AGENT");
    if (env && *env) {
        if (access(env, X_OK) == 0) return mx_xstrdup(env);
        mx_fail(err, MX_INFRA, "MEXEC_AGENT=%s is not an executable file", env);
        return NULL;
    }
    return mx_install_agent(err);
}

typedef struct job_ctx {
    const mx_host_config *hc;
    const mx_run_opts *o;
    mx_job job;
    mx_image img;
    mx_rclass rc;
    mx_vm vm;
    mx_ssh ssh;
    mx_session se;
    mx_envlist env;
    mx_envlist context_env;
    mx_secrets secrets;
    char *project_dir;
    char *agent_local;
    char **archives; /* guest paths per step (checkout steps only) */
    mx_job_ws ws;
    mx_job_steps js; /* caches, artifacts, test results, SSH keys (job_steps.h) */
    mx_ssh_target target;
    char *project_id; /* what caches and timings are kept under */
    char *out_dir;    /* this node's artifacts and test results */
    mx_msg ctr_msg;   /* a docker job's containers step */
    long long t0;
    char snap_key[65]; /* the instant-start snapshot it started from: a warm spare follows */
} job_ctx;

static int resolve(job_ctx *c, mx_err *err)
{
    mx_node *root = NULL;
    if (mx_yaml_load_file(c->o->config_path, &root, err) < 0) return -1;
    int rc = mx_cfg_job_load_opts(root, c->o->job_name, c->o->cfg, &c->job, err);
    mx_node_free(root);
    if (rc < 0) return -1;

    mx_autofree char *ctx_dir = mx_contexts_dir(c->hc);
    if (mx_contexts_load(ctx_dir, c->o->contexts, c->o->ncontexts, &c->context_env, &c->secrets,
                         err) < 0)
        return -1;
    /* config problems (exit 2) are reported before infrastructure ones (image not built) */
    mx_catalog cat;
    rc = mx_catalog_load(c->hc->images_dir, &cat, err);
    /* a docker job's containers run in a VM of the host's choice */
    const char *image = c->job.executor == MX_EXEC_DOCKER ? c->hc->docker_vm_image : c->job.image;
    if (rc == 0) rc = mx_catalog_resolve(&cat, c->hc, image, &c->img, err);
    mx_catalog_free(&cat);
    if (rc < 0)
        return mx_wrap(err, "%s:%d:%d: job \"%s\"", c->job.file, c->job.line, c->job.col,
                       c->job.name);
    mx_host_caps caps;
    mx_host_caps_read(&caps);
    int fitted = 0;
    int (*resolve_class)(const mx_rclass_table *, const char *, const mx_host_caps *, int,
                         mx_rclass *, int *, mx_err *) =
        c->job.executor == MX_EXEC_DOCKER ? mx_rclass_resolve_docker : mx_rclass_resolve;
    if (resolve_class(&c->hc->classes, c->job.resource_class, &caps, c->o->fit_to_host, &c->rc,
                      &fitted, err) < 0)
        return mx_wrap(err, "%s:%d:%d: job \"%s\"", c->job.file, c->job.line, c->job.col,
                       c->job.name);
    if (fitted)
        mx_sink_note("resource class %s fitted to this host: %d vCPUs, %d MiB",
                     c->job.resource_class, c->rc.vcpus, c->rc.memory_mib);
    for (size_t i = 0; i < c->job.nsteps; i++)
        if (c->job.steps[i].kind == MX_JOB_STEP_CHECKOUT &&
            mx_checkout_check(c->project_dir, c->o->project_dir != NULL, err) < 0)
            return -1;
    return mx_image_ensure(c->hc, &c->img, c->o->no_build, err); /* builds it if need be */
}

/* The directory a step names, as written: where it runs, checks out, persists from or
 * attaches at. */
static const char *step_dir(const mx_step *st)
{
    switch (st->kind) {
    case MX_JOB_STEP_CHECKOUT:
        return st->path;
    case MX_JOB_STEP_PERSIST:
        return st->root;
    case MX_JOB_STEP_ATTACH:
        return st->at;
    default:
        return st->workdir;
    }
}

static char *step_workdir(const mx_job *job, const char *dir)
{
    if (!dir || !*dir) return mx_xstrdup(job->workdir);
    if (dir[0] == '/' || dir[0] == '~') return mx_xstrdup(dir);
    return mx_path_join(job->workdir, dir);
}

/* Packs and uploads the project for every checkout step, and the workspace for every attach
 * step, before the agent starts. */
static int upload_inputs(job_ctx *c, mx_err *err)
{
    /* a restored snapshot has the agent installed already (snapshot.h) */
    mx_autofree char *agent_remote = mx_vm_agent_path(&c->vm);
    if (!c->vm.agent && mx_ssh_upload(&c->ssh, c->agent_local, agent_remote, 0700, err) < 0)
        return mx_wrap(err, "upload agent");
    c->archives = mx_xcalloc(c->job.nsteps, sizeof *c->archives);
    for (size_t i = 0; i < c->job.nsteps; i++) {
        if (c->job.steps[i].kind != MX_JOB_STEP_CHECKOUT) continue;
        mx_autofree char *local = mx_xasprintf("%s/checkout-%zu.tar", c->vm.dir, i);
        c->archives[i] = mx_xasprintf("/tmp/mexec-checkout-%s-%zu.tar", c->vm.job_id, i);
        if (mx_checkout_archive(c->project_dir, c->o->project_dir != NULL, local, err) < 0)
            return mx_wrap(err, "checkout");
        if (mx_ssh_upload(&c->ssh, local, c->archives[i], 0600, err) < 0)
            return mx_wrap(err, "upload checkout");
        unlink(local);
    }
    int rc = mx_job_ws_prepare(&c->ws, &c->job, c->o->workspace, c->vm.job_id, &c->ssh, err);
    if (c->o->node_total > 0) c->ws.layer_base = (size_t)c->o->node_index * MX_WS_NODE_LAYERS;
    return rc;
}

/* The protocol's step kind for a job step the agent runs (anything not listed is a `run`). */
static enum mx_step_kind proto_kind(enum mx_job_step_kind k)
{
    switch (k) {
    case MX_JOB_STEP_CHECKOUT:
        return MX_STEP_CHECKOUT;
    case MX_JOB_STEP_DOCKER_CHECK:
        return MX_STEP_DOCKER_CHECK;
    case MX_JOB_STEP_DOCKER_PULL:
        return MX_STEP_DOCKER_PULL;
    case MX_JOB_STEP_PERSIST:
        return MX_STEP_PERSIST;
    case MX_JOB_STEP_ATTACH:
        return MX_STEP_ATTACH;
    default:
        return MX_STEP_RUN;
    }
}

/* A step that fails on the host before reaching the guest (e.g. a credential not set). */
static int fail_on_host(job_ctx *c, const char *why)
{
    mx_autofree char *masked = mx_secrets_mask(&c->secrets, why);
    mx_sink_log("%s", masked);
    mx_sink_step_ended(&(mx_sink_step_end){.how = MX_SINK_END_EXIT, .status = 1});
    return 1;
}

static void docker_opts(job_ctx *c, mx_job_docker_opts *o, char **ecr_cache)
{
    /* beside the job directories, not among them: gc owns those */
    mx_autofree char *state_parent = mx_dirname(c->hc->state_dir);
    *ecr_cache = mx_path_join(state_parent, "ecr-cache");
    *o = (mx_job_docker_opts){.ecr_cache_dir = *ecr_cache,
                              .allowed_helpers = (const char *const *)c->hc->credential_helpers,
                              .forward_registries = (const char *const *)c->hc->forward_credentials,
                              .aws_web_identity_token_file = c->hc->aws_web_identity_token_file,
                              .host_config_path = mx_host_config_path()};
}

static int follow(job_ctx *c, int no_output_timeout_s, mx_err *err);

/* A docker job's containers, resolved before its VM boots (a variable its auth: names that is
 * not set, an ECR login refused: the job fails at once, no VM started): 0, 1 when the job
 * failed, -1 on an error of mexec. */
static int prepare_containers(job_ctx *c, mx_err *err)
{
    mx_job_docker_opts dopts;
    mx_autofree char *ecr_cache = NULL, *failure = NULL, *notice = NULL;
    docker_opts(c, &dopts, &ecr_cache);
    int r = mx_job_containers_msg(&c->job, 0, &c->env, &dopts, &c->secrets, &c->ctr_msg, &failure,
                                  &notice, err);
    if (r < 0) return -1;
    if (notice || failure) {
        mx_sink_step_started(0, 0, "Spin up environment");
        if (notice) {
            mx_autofree char *masked = mx_secrets_mask(&c->secrets, notice);
            mx_sink_log("%s", masked);
        }
    }
    return failure ? fail_on_host(c, failure) : 0;
}

/* CircleCI's "Spin up environment": the containers step before the first step; its exit
 * status, or -1 on a session failure. */
static int start_containers(job_ctx *c, mx_err *err)
{
    mx_sink_step_started(0, 0, "Spin up environment");
    if (mx_session_send(&c->se, &c->ctr_msg, err) < 0) return -1;
    return follow(c, 0, err);
}

/* Runs one step; returns its exit status (0 = success), or -1 on a session failure. */
static int run_step(job_ctx *c, size_t i, mx_err *err)
{
    const mx_step *st = &c->job.steps[i];
    const char *refusal = mx_job_ws_refusal(&c->ws, &c->job, i);
    if (refusal) return fail_on_host(c, refusal);
    mx_job_ws_announce(&c->ws, &c->job, i);
    mx_envlist env = {0};
    mx_step_env_build(&c->env, st, &env);
    mx_docker_args docker;
    memset(&docker, 0, sizeof docker);
    if (st->kind == MX_JOB_STEP_DOCKER_CHECK || st->kind == MX_JOB_STEP_DOCKER_PULL) {
        mx_autofree char *failure = NULL, *notice = NULL, *ecr_cache = NULL;
        mx_job_docker_opts dopts;
        docker_opts(c, &dopts, &ecr_cache);
        int r = mx_job_docker_args(st, &env, &dopts, &c->secrets, &docker, &failure, &notice, err);
        if (notice) {
            mx_autofree char *masked = mx_secrets_mask(&c->secrets, notice);
            mx_sink_log("%s", masked);
        }
        if (r < 0 || failure) {
            mx_envlist_free(&env);
            mx_job_docker_args_clear(&docker);
            return r < 0 ? -1 : fail_on_host(c, failure);
        }
    }
    mx_autofree char *workdir = step_workdir(&c->job, step_dir(st));
    mx_msg m = {.type = MX_MSG_STEP,
                .id = (int)i + 1,
                .kind = proto_kind(st->kind),
                .name = st->name,
                .command = st->command,
                .shell = st->shell ? st->shell : c->job.shell,
                .workdir = workdir,
                .archive = c->archives[i],
                .paths = st->paths,
                .npaths = st->npaths,
                .env = env.v,
                .nenv = env.n,
                .no_output_timeout_s = st->no_output_timeout_s,
                .background = st->background,
                .docker = docker};
    if (c->job.executor == MX_EXEC_DOCKER && st->kind != MX_JOB_STEP_DOCKER_CHECK &&
        st->kind != MX_JOB_STEP_DOCKER_PULL) {
        /* in the primary container, as its user; the docker orb's steps talk to the VM's engine */
        m.container = MX_CTR_PRIMARY;
        m.user = c->job.containers[0].user;
    }
    mx_job_ws_fill(&c->ws, i, &m);
    int rc = mx_session_send(&c->se, &m, err);
    mx_envlist_free(&env);
    mx_job_docker_args_clear(&docker);
    if (rc < 0) return -1;
    int status = follow(c, st->no_output_timeout_s, err);
    mx_job_ws_step_ended(&c->ws, &c->job, i, status);
    return status;
}

/* Follows the step just sent to its end: its exit status, or -1 on a session failure. */
static int follow(job_ctx *c, int no_output_timeout_s, mx_err *err)
{
    mx_step_output so;
    mx_step_output_init(&so, &c->secrets);
    mx_msg r;
    int followed = mx_session_follow_step(&c->se, &so, &r, err);
    mx_step_output_end(&so); /* before what we say about the step's end */
    int status = -1;
    mx_autofree char *why = NULL;
    if (followed == 0) {
        status = r.exit_status;
        mx_sink_step_end end = {.how = MX_SINK_END_EXIT};
        if (r.reason == MX_END_BACKGROUND) {
            end.how = MX_SINK_END_BACKGROUND;
        } else if (r.reason == MX_END_TIMEOUT) {
            end.how = MX_SINK_END_TIMEOUT;
            end.timeout_s = no_output_timeout_s;
            if (status == 0) status = 1;
        } else if (r.reason == MX_END_FAILED) {
            end.how = MX_SINK_END_FAILED;
            /* the agent's words (a guest file name, say): masked like its output */
            why = mx_secrets_mask(&c->secrets, r.message ? r.message : "?");
            end.message = why;
            if (status == 0) status = 1;
        }
        end.status = status;
        mx_sink_step_ended(&end);
        mx_msg_clear(&r);
    }
    return status;
}

static int is_workspace_step(const mx_step *st)
{
    return st->kind == MX_JOB_STEP_PERSIST || st->kind == MX_JOB_STEP_ATTACH;
}

/* CircleCI's `when:` — whether a step runs given how the steps before it went. */
static int step_should_run(const mx_step *st, int failed)
{
    switch (st->when) {
    case MX_WHEN_ALWAYS:
        return 1;
    case MX_WHEN_ON_FAIL:
        return failed;
    case MX_WHEN_ON_SUCCESS:
        return !failed;
    }
    return !failed;
}

/* A step of job_steps.h: its exit status, or -1. */
static int job_step(job_ctx *c, size_t i, mx_err *err)
{
    mx_envlist env = {0};
    mx_step_env_build(&c->env, &c->job.steps[i], &env);
    int s = mx_job_steps_run(&c->js, i, &env, err);
    mx_envlist_free(&env);
    return s;
}

/* Before the agent starts: the job steps' context, and the timings of earlier runs. */
static int job_steps_begin(job_ctx *c, const char *branch, const char *sha, mx_err *err)
{
    const mx_pipeline_info *pi = c->o->cfg ? c->o->cfg->info : NULL;
    c->project_id = mx_cache_project(pi ? pi->remote_url : NULL, c->project_dir);
    if (c->o->artifacts_dir && c->o->run_id) {
        mx_autofree char *job = mx_xstrdup(c->job.name);
        for (char *p = job; *p; p++)
            if (*p == '/') *p = '_';
        if (job[0] == '.') job[0] = '_';
        c->out_dir = mx_xasprintf("%s/%s/%s/%d", c->o->artifacts_dir, c->o->run_id, job,
                                  c->o->node_total > 0 ? c->o->node_index : 0);
    }
    mx_job_steps_ctx ctx = {.hc = c->hc,
                            .job = &c->job,
                            .secrets = &c->secrets,
                            .se = &c->se,
                            .target = &c->target,
                            .job_id = c->vm.job_id,
                            .local_dir = c->vm.dir,
                            .project = c->project_id,
                            .branch = branch,
                            .revision = sha,
                            .out_dir = c->out_dir,
                            .node_index = c->o->node_index,
                            .node_total = c->o->node_total};
    mx_job_steps_init(&c->js, &ctx);
    return mx_job_steps_prepare(&c->js, &c->ssh, &c->env, err);
}

/* setup_remote_docker in a docker job: the primary container has the VM's own engine, its
 * socket mounted when the containers started (CircleCI's remote engine is another machine,
 * reached over TCP with TLS; here the VM is the job's alone, so its engine is the honest
 * equivalent). */
static void remote_docker(job_ctx *c)
{
    mx_envlist_set(&c->env, "DOCKER_HOST", "unix:///var/run/docker.sock");
    mx_sink_log("Remote Docker engine: the job VM's dockerd, its socket mounted in the primary "
                "container\nDOCKER_HOST=unix:///var/run/docker.sock (docker_layer_caching keeps "
                "nothing: the VM is thrown away after the job)");
}

static int run_steps(job_ctx *c, mx_err *err)
{
    int failed = 0;
    if (c->job.executor == MX_EXEC_DOCKER) {
        int s = start_containers(c, err);
        if (s < 0) return -1;
        if (s != 0) return MX_JOB_FAILED;
    }
    for (size_t i = 0; i < c->job.nsteps; i++) {
        const mx_step *st = &c->job.steps[i];
        if (!step_should_run(st, failed)) continue; /* as CircleCI: not shown at all */
        mx_sink_step_started(i + 1, c->job.nsteps, st->name);
        if (st->kind == MX_JOB_STEP_SKIP) {
            mx_sink_log("skipped: %s", st->skip_reason);
            continue;
        }
        if (st->kind == MX_JOB_STEP_REMOTE_DOCKER) {
            remote_docker(c);
            continue;
        }
        if (is_workspace_step(st) && !c->o->workspace) {
            mx_sink_log("skipped: workspaces exist only between the jobs of a workflow "
                        "(mexec run --workflow)");
            continue;
        }
        if (c->job.executor == MX_EXEC_DOCKER && mx_job_steps_handles(st)) {
            /* they work on the VM's files; a docker job's are in its primary container */
            mx_sink_log("skipped: not run in docker executor jobs yet (the job's files are in its "
                        "container)");
            continue;
        }
        int s = mx_job_steps_handles(st) ? job_step(c, i, err) : run_step(c, i, err);
        if (s < 0) return -1;
        if (s != 0) failed = 1;
    }
    return failed ? MX_JOB_FAILED : MX_OK;
}

/* Restores the image's snapshot for the class (made first if there is none), or boots cold:
 * with --cold, for imported images, and when the snapshot cannot be made or restored (said
 * on stderr, then the job goes on cold). */
static int start_vm(job_ctx *c, mx_err *err)
{
    if (!c->o->cold && c->hc->instant_starts && !c->img.firmware) {
        mx_snapshot snap;
        mx_err e2;
        mx_trace("job resolved");
        int r = mx_snapshot_get(c->hc, &c->img, &c->rc, c->agent_local, 0, &snap, &e2);
        mx_trace("snapshot looked up");
        if (r == 0) {
            mx_sink_note(
                "job %s: preparing the instant-start snapshot of %s for %s (once; later jobs "
                "start from it)",
                c->job.name, c->img.ref, c->job.resource_class);
            r = mx_snapshot_get(c->hc, &c->img, &c->rc, c->agent_local, 1, &snap, &e2);
        }
        if (r > 0) {
            memcpy(c->snap_key, snap.key, sizeof c->snap_key);
            int chan = -1;
            int s = mx_spare_claim(&c->vm, c->hc, snap.key, &chan, &e2);
            if (s < 0) mx_sink_note("warm spare: %s; restoring instead", e2.msg);
            if (s > 0) {
                mx_sink_note("job %s: starting %s, a warm spare of %s as %s: %d vCPUs, %d MiB, %s",
                             c->job.name, c->vm.domain_name, c->img.ref, c->job.resource_class,
                             c->rc.vcpus, c->rc.memory_mib, mx_accel_probe(c->hc->accel).why);
                r = mx_vm_start_claimed(&c->vm, c->hc, chan, &e2) == 0 ? 0 : -1;
                if (r < 0) mx_vm_unrestore(&c->vm);
                mx_snapshot_free(&snap);
                if (r == 0) return 0;
            }
        }
        if (r > 0) {
            mx_sink_note("job %s: restoring %s (%s) as %s: %d vCPUs, %d MiB, %s", c->job.name,
                         c->vm.domain_name, c->img.ref, c->job.resource_class, c->rc.vcpus,
                         c->rc.memory_mib, mx_accel_probe(c->hc->accel).why);
            r = mx_vm_restore(&c->vm, c->hc, &c->img, &c->rc, &snap, &e2);
            if (r < 0) mx_vm_unrestore(&c->vm);
            mx_snapshot_free(&snap);
            if (r == 0) return 0;
        }
        if (mx_stop) return mx_fail(err, MX_INFRA, "interrupted");
        mx_sink_note("instant start: %s; booting cold", e2.msg);
    }
    mx_sink_note("job %s: booting %s (%s) as %s: %d vCPUs, %d MiB, %s", c->job.name,
                 c->vm.domain_name, c->img.ref, c->job.resource_class, c->rc.vcpus,
                 c->rc.memory_mib, mx_accel_probe(c->hc->accel).why);
    if (mx_vm_boot(&c->vm, c->hc, &c->img, &c->rc, err) < 0) return mx_wrap(err, "boot VM");
    return 0;
}

static int boot_and_run(job_ctx *c, mx_err *err)
{
    if (mx_vm_prepare(&c->vm, c->hc, c->job.name, err) < 0) return mx_wrap(err, "prepare VM");
    /* a host full of idle warm spares makes room for a job */
    c->vm.make_room = mx_spare_make_room;
    c->vm.room_ud = c->hc;
    mx_autofree char *sha = NULL, *branch = NULL;
    mx_checkout_git_info(c->project_dir, &sha, &branch);
    /* --branch/--tag say what this build is of; else the working tree's git state */
    const mx_cfg_opts *cfg = c->o->cfg;
    mx_builtin_info info = {.project_dir = c->project_dir,
                            .sha = sha,
                            .branch = cfg && cfg->branch ? cfg->branch
                                                         : (cfg && cfg->tag ? NULL : branch),
                            .tag = cfg ? cfg->tag : NULL,
                            .job_id = c->vm.job_id,
                            .pipeline = cfg ? cfg->info : NULL};
    mx_job_env_build(&c->job, &c->o->cli_env, &c->context_env, &info, &c->env);
    if (c->o->node_total > 0) {
        char n[16];
        snprintf(n, sizeof n, "%d", c->o->node_index);
        mx_envlist_set(&c->env, "CIRCLE_NODE_INDEX", n);
        snprintf(n, sizeof n, "%d", c->o->node_total);
        mx_envlist_set(&c->env, "CIRCLE_NODE_TOTAL", n);
    }
    if (c->job.executor == MX_EXEC_DOCKER) {
        int r = prepare_containers(c, err);
        if (r != 0) return r < 0 ? -1 : MX_JOB_FAILED;
    }

    if (start_vm(c, err) < 0) return -1;
    /* from the domain's start: a wait for capacity before it is not the guest's boot */
    long long deadline = mx_now_ms() + (long long)c->hc->boot_timeout_s * 1000;
    if (mx_stop) return mx_fail(err, MX_INFRA, "interrupted");
    c->target = mx_vm_ssh_target(&c->vm);
    if (mx_ssh_connect(&c->ssh, &c->target, deadline, &mx_stop, err) < 0) {
        mx_autofree char *tail = mx_vm_console_tail(&c->vm, 15);
        /* the guest wrote it: masked like its output */
        mx_autofree char *masked = tail ? mx_secrets_mask(&c->secrets, tail) : NULL;
        if (masked && !mx_stop) mx_sink_note("last lines of the guest console:\n%s", masked);
        return mx_wrap(err, "connect to %s", c->vm.domain_name);
    }
    mx_trace("ssh connected");
    mx_sink_note("job %s: guest up after %.1f s", c->job.name,
                 (double)(mx_now_ms() - c->t0) / 1000.0);
    if (upload_inputs(c, err) < 0) return -1;
    if (job_steps_begin(c, info.branch, sha, err) < 0) return -1;
    mx_autofree char *agent_remote = mx_vm_agent_path(&c->vm);
    if (mx_session_start(&c->se, &c->ssh, agent_remote, &c->secrets, &mx_stop, err) < 0)
        return mx_wrap(err, "start agent");
    mx_trace("agent started");
    int rc = run_steps(c, err);
    /* a failed job keeps the layers it persisted before failing, as on CircleCI */
    int kept = rc >= 0 ? mx_job_ws_collect(&c->ws, &c->job, &c->se, &c->ssh, err) : 0;
    if (kept < 0) return -1;
    if (rc >= 0) mx_job_steps_finish(&c->js);
    return kept > 0 ? MX_JOB_FAILED : rc; /* a layer over the host's limits fails the job */
}

/* --keep-on-failure: like CircleCI's "rerun job with SSH", the failed job's VM (and whatever
 * its background steps run) stays up for `mexec ssh` until the user is done.  The signal that
 * ends the wait means "done debugging", not "interrupted": the job's status stays its own. */
static void keep_for_debugging(job_ctx *c)
{
    mx_sink_note("job %s failed; its VM stays up for debugging (--keep-on-failure):", c->job.name);
    mx_sink_note("    mexec ssh %s", c->vm.job_id);
    mx_sink_note("Ctrl-C (or SIGTERM) destroys it; so does the end of %d minutes.",
                 MX_KEEP_MAX_S / 60);
    long long end = mx_now_ms() + (long long)MX_KEEP_MAX_S * 1000;
    while (!mx_stop && mx_now_ms() < end) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    mx_stop = 0;
}

int mx_job_run(const mx_host_config *hc, const mx_run_opts *o, mx_err *err)
{
    job_ctx c;
    memset(&c, 0, sizeof c);
    c.hc = hc;
    c.o = o;
    c.t0 = mx_now_ms();
    mx_trace("mexec run: job %s", o->job_name ? o->job_name : "?");
    c.ssh.sock = -1;
    c.vm.lock_fd = -1;
    mx_secrets_init(&c.secrets);
    for (size_t i = 0; i < o->ncli_secret_keys; i++) {
        const char *v = mx_envlist_get(&o->cli_env, o->cli_secret_keys[i]);
        if (v) mx_secrets_add(&c.secrets, v);
    }
    c.project_dir =
        o->project_dir ? mx_xstrdup(o->project_dir) : mx_checkout_project_dir(o->config_path);
    int rc = resolve(&c, err);
    if (rc == 0 && c.job.parallelism > 1 && o->node_total == 0) {
        /* parallelism: N: N VMs, each this job as one node (job_nodes.c) */
        int n = c.job.parallelism;
        free(c.project_dir);
        mx_secrets_free(&c.secrets);
        mx_envlist_free(&c.context_env);
        mx_image_free(&c.img);
        mx_job_free(&c.job);
        return mx_job_run_nodes(hc, o, n, mx_job_run, err);
    }
    if (rc == 0) {
        c.agent_local = mx_agent_binary(err);
        if (!c.agent_local) rc = -1;
    }
    if (rc == 0) {
        rc = boot_and_run(&c, err);
        if (rc == MX_JOB_FAILED && o->keep_on_failure && !mx_stop) keep_for_debugging(&c);
    }
    /* teardown, on every path */
    mx_job_steps_free(&c.js);
    mx_session_end(&c.se);
    mx_ssh_close(&c.ssh);
    mx_vm_teardown(&c.vm);
    /* the next job of this image + class starts from a VM restored while nobody waits */
    mx_err spare_err;
    if (c.snap_key[0] && !mx_stop &&
        mx_spare_spawn(hc, c.snap_key, c.img.ref, &c.rc, &spare_err) < 0)
        mx_sink_note("warm spare: %s", spare_err.msg);
    if (rc >= 0)
        mx_sink_note("job %s %s in %.1f s", c.job.name, rc == MX_OK ? "succeeded" : "failed",
                     (double)(mx_now_ms() - c.t0) / 1000.0);
    if (c.archives)
        for (size_t i = 0; i < c.job.nsteps; i++)
            free(c.archives[i]);
    free(c.archives);
    mx_job_containers_clear(&c.ctr_msg);
    mx_job_ws_free(&c.ws);
    free(c.project_id);
    free(c.out_dir);
    free(c.project_dir);
    free(c.agent_local);
    mx_envlist_free(&c.env);
    mx_envlist_free(&c.context_env);
    mx_secrets_free(&c.secrets);
    mx_image_free(&c.img);
    mx_job_free(&c.job);
    return rc;
}
