#include "workflow_run.h"
#include "cfg_process.h"
#include "cfg_yaml.h"
#include "job_proc.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "signals.h"
#include "ssh.h"
#include "workflow_ws.h"
#include "sink.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Between looks at the children when none of them writes anything. */
#define TICK_MS 200
/* Longer job names are not padded further: the prefix must not eat the line. */
#define MAX_PREFIX 24

enum { PENDING, RUNNING, DONE };

typedef struct wf_job {
    int state;
    const char *status; /* "success", "failed", "error", "canceled", "skipped", "blocked", ... */
    int req_bits;       /* as MX_REQ_*: what `requires: [{job: status}]` matches */
    double seconds;
    long long t0;
    char *note;
    const char **ctx;
    mx_run_opts jo;
    mx_wf_view view;
    mx_job_proc proc;
} wf_job;

typedef struct wf_run {
    const mx_host_config *hc;
    const mx_run_opts *o;
    const mx_wf_approvals *approvals;
    mx_plan plan;
    mx_wf_ws ws;
    wf_job *jobs;
    int width;
    int fatal;     /* a config or infrastructure error: start nothing more */
    int forwarded; /* the stop signal was passed to the running children */
    mx_err first;  /* the first fatal error, reported at the end */
} wf_run;

/* -1: something job j requires has not ended; else 0, or 1 with *why when it may not run. */
static int requirements(const wf_run *w, size_t j, char **why)
{
    const mx_plan_job *pj = &w->plan.jobs[j];
    for (size_t r = 0; r < pj->nrequires; r++) {
        int k = mx_plan_find(&w->plan, pj->requires[r].name);
        if (k < 0) continue; /* the plan guarantees requirements exist */
        if (w->jobs[k].state != DONE) return -1;
    }
    for (size_t r = 0; r < pj->nrequires; r++) {
        int k = mx_plan_find(&w->plan, pj->requires[r].name);
        if (k >= 0 && !(w->jobs[k].req_bits & pj->requires[r].status)) {
            *why = mx_xasprintf("requires %s, which ended %s", pj->requires[r].name,
                                w->jobs[k].status);
            return 1;
        }
    }
    return 0;
}

static int run_in_child(void *arg, mx_err *err)
{
    const wf_run *w = ((void **)arg)[0];
    const wf_job *job = ((void **)arg)[1];
    return mx_job_run(w->hc, &job->jo, err);
}

static void finish(wf_job *job, const char *status, int req_bits, char *note)
{
    job->state = DONE;
    job->status = status;
    job->req_bits = req_bits;
    free(job->note);
    job->note = note;
}

static void start(wf_run *w, size_t j)
{
    const mx_plan_job *pj = &w->plan.jobs[j];
    wf_job *job = &w->jobs[j];
    mx_err err;
    if (mx_wf_ws_view(&w->ws, &w->plan, j, &job->view, &err) < 0) {
        finish(job, "error", MX_REQ_FAILED, mx_xstrdup(err.msg));
        w->fatal = 1;
        if (!w->first.msg[0]) w->first = err;
        return;
    }
    /* contexts: the workflow's for this job, then any given on the command line */
    size_t n = pj->ncontexts + w->o->ncontexts;
    job->ctx = mx_xcalloc(n ? n : 1, sizeof *job->ctx);
    for (size_t i = 0; i < pj->ncontexts; i++)
        job->ctx[i] = pj->contexts[i];
    for (size_t i = 0; i < w->o->ncontexts; i++)
        job->ctx[pj->ncontexts + i] = w->o->contexts[i];
    job->jo = *w->o;
    job->jo.job_name = pj->name;
    job->jo.contexts = job->ctx;
    job->jo.ncontexts = n;
    job->jo.workspace = &job->view.v;

    mx_sink_job_started(pj->name);
    fflush(NULL); /* nothing buffered may be written twice by the child */
    mx_autofree char *prefix = mx_xasprintf("%-*s | ", w->width, pj->name);
    void *arg[2] = {w, job};
    job->t0 = mx_now_ms();
    if (mx_job_proc_start(&job->proc, prefix, run_in_child, arg, &err) < 0) {
        finish(job, "error", MX_REQ_FAILED, mx_xstrdup(err.msg));
        w->fatal = 1;
        if (!w->first.msg[0]) w->first = err;
        return;
    }
    job->state = RUNNING;
}

static void ended(wf_run *w, size_t j, int r, const mx_err *err)
{
    wf_job *job = &w->jobs[j];
    job->seconds = (double)(mx_now_ms() - job->t0) / 1000.0;
    if (r == MX_OK) {
        finish(job, "success", MX_REQ_SUCCESS, NULL);
    } else if (r == MX_JOB_FAILED) {
        finish(job, "failed", MX_REQ_FAILED, NULL);
    } else if (mx_stop) {
        finish(job, "canceled", MX_REQ_CANCELED, mx_xstrdup(err->msg));
    } else {
        /* the summary shows it, and the first one is the run's own error at exit */
        finish(job, "error", MX_REQ_FAILED, mx_xstrdup(err->msg));
        w->fatal = 1; /* a config error will not go away; a broken host neither */
        if (!w->first.msg[0]) w->first = *err;
    }
    mx_sink_job_ended(w->plan.jobs[j].name, job->status, job->seconds);
    mx_wf_view_free(&job->view);
    free(job->ctx);
    job->ctx = NULL;
}

static size_t running(const wf_run *w)
{
    size_t n = 0;
    for (size_t j = 0; j < w->plan.njobs; j++)
        n += w->jobs[j].state == RUNNING;
    return n;
}

/* Is a job of this serial group running?  (Its jobs run one at a time, in plan order.) */
static int group_busy(const wf_run *w, const char *group)
{
    for (size_t j = 0; j < w->plan.njobs; j++)
        if (w->jobs[j].state == RUNNING && w->plan.jobs[j].serial_group &&
            strcmp(w->plan.jobs[j].serial_group, group) == 0)
            return 1;
    return 0;
}

/* 1: approved on the command line; 0: not; -1: to be asked (a terminal, once nothing runs). */
static int approved(const wf_run *w, const char *name)
{
    const mx_wf_approvals *a = w->approvals;
    if (a && a->all) return 1;
    for (size_t i = 0; a && i < a->n; i++)
        if (strcmp(a->names[i], name) == 0) return 1;
    return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) ? -1 : 0;
}

static void decide_approval(wf_run *w, size_t j)
{
    const char *name = w->plan.jobs[j].name;
    wf_job *job = &w->jobs[j];
    int a = approved(w, name);
    if (a < 0) {
        if (running(w) > 0) return; /* asked once the jobs running now have ended */
        a = mx_sink_approve(name);  /* the sink asks on the terminal */
    }
    if (a > 0)
        finish(job, "approved", MX_REQ_SUCCESS, NULL);
    else
        finish(job, "on hold", 0,
               mx_xasprintf("not approved (mexec run --approve %s, or --approve-all)", name));
    mx_sink_job_ended(name, job->status, -1);
}

/* Decides every pending job whose requirements have ended; starts those that may run.
 * Returns how many changed state. */
static int schedule(wf_run *w)
{
    int changed = 0;
    for (size_t j = 0; j < w->plan.njobs; j++) {
        const mx_plan_job *pj = &w->plan.jobs[j];
        wf_job *job = &w->jobs[j];
        if (job->state != PENDING) continue;
        char *why = NULL;
        if (w->fatal || mx_stop) {
            finish(job, "canceled", MX_REQ_CANCELED, NULL);
        } else if (!pj->run) {
            finish(job, "skipped", 0,
                   mx_xstrdup(pj->skip_reason ? pj->skip_reason : "filtered out"));
        } else {
            int r = requirements(w, j, &why);
            if (r < 0) continue;
            if (r > 0) {
                finish(job, "blocked", 0, why);
            } else if (pj->approval) {
                decide_approval(w, j);
                if (job->state != DONE) continue;
            } else if (pj->noop) {
                finish(job, "success", MX_REQ_SUCCESS, mx_xstrdup("no-op"));
            } else if (pj->serial_group && group_busy(w, pj->serial_group)) {
                continue; /* after the job of its serial group that is running */
            } else {
                start(w, j);
            }
        }
        changed++;
    }
    return changed;
}

static void wait_children(wf_run *w)
{
    mx_job_proc **procs = mx_xcalloc(w->plan.njobs ? w->plan.njobs : 1, sizeof *procs);
    for (size_t j = 0; j < w->plan.njobs; j++)
        procs[j] = &w->jobs[j].proc;
    /* a hold waits for the jobs running to end; then it may be the only thing left */
    while (running(w) > 0 || schedule(w) > 0) {
        if (mx_stop && !w->forwarded) {
            /* a terminal's Ctrl-C reached them already; a kill of this process did not */
            for (size_t j = 0; j < w->plan.njobs; j++)
                if (w->jobs[j].state == RUNNING) mx_job_proc_signal(&w->jobs[j].proc, SIGTERM);
            w->forwarded = 1;
        }
        mx_job_proc_relay(procs, w->plan.njobs, TICK_MS);
        for (size_t j = 0; j < w->plan.njobs; j++) {
            int r;
            mx_err err;
            mx_err_clear(&err);
            if (w->jobs[j].state == RUNNING && mx_job_proc_reap(&w->jobs[j].proc, &r, &err))
                ended(w, j, r, &err);
        }
        schedule(w);
    }
    free(procs);
}

static void summary(const wf_run *w)
{
    mx_sink_wf_row *rows = mx_xcalloc(w->plan.njobs ? w->plan.njobs : 1, sizeof *rows);
    for (size_t i = 0; i < w->plan.njobs; i++)
        rows[i] = (mx_sink_wf_row){.job = w->plan.jobs[i].name,
                                   .status = w->jobs[i].status,
                                   .note = w->jobs[i].note,
                                   .seconds = w->jobs[i].seconds};
    mx_sink_workflow_ended(rows, w->plan.njobs);
    free(rows);
}

static int prefix_width(const mx_plan *p)
{
    int width = 0;
    for (size_t i = 0; i < p->njobs; i++) {
        int l = (int)strlen(p->jobs[i].name);
        if (p->jobs[i].run && !p->jobs[i].approval && !p->jobs[i].noop && l > width) width = l;
    }
    return width > MAX_PREFIX ? MAX_PREFIX : width;
}

/* Every --approve names an approval job of the plan. */
static int check_approvals(const mx_plan *p, const mx_wf_approvals *a, mx_err *err)
{
    for (size_t i = 0; a && i < a->n; i++) {
        int k = mx_plan_find(p, a->names[i]);
        if (k >= 0 && p->jobs[k].approval) continue;
        mx_buf holds;
        mx_buf_init(&holds);
        for (size_t j = 0; j < p->njobs; j++)
            if (p->jobs[j].approval)
                mx_buf_printf(&holds, "%s%s", holds.len ? ", " : "", p->jobs[j].name);
        mx_fail(err, MX_USAGE, "--approve %s: workflow %s has no approval job of that name (%s%s)",
                a->names[i], p->workflow, holds.len ? "approval jobs: " : "it has none",
                holds.len ? holds.data : "");
        mx_buf_free(&holds);
        return -1;
    }
    return 0;
}

int mx_workflow_run(const mx_host_config *hc, const mx_run_opts *o, const char *workflow,
                    const mx_wf_approvals *approvals, mx_err *err)
{
    wf_run w;
    memset(&w, 0, sizeof w);
    w.hc = hc;
    w.o = o;
    w.approvals = approvals;
    mx_node *root = NULL;
    if (mx_yaml_load_file(o->config_path, &root, err) < 0) return -1;
    mx_cfg_opts none = {0};
    int rc = mx_cfg_plan_opts(root, workflow, o->cfg ? o->cfg : &none, &w.plan, err);
    mx_node_free(root);
    if (rc == 0 && check_approvals(&w.plan, approvals, err) < 0) {
        mx_plan_free(&w.plan);
        return -1;
    }
    if (rc < 0) return -1;
    if (!w.plan.enabled) {
        mx_sink_log("workflow %s does not run for this pipeline (its when/unless)",
                    w.plan.workflow);
        mx_plan_free(&w.plan);
        return MX_OK;
    }
    if (mx_wf_ws_create(&w.ws, hc, &w.plan, err) < 0) {
        mx_plan_free(&w.plan);
        return -1;
    }
    w.jobs = mx_xcalloc(w.plan.njobs ? w.plan.njobs : 1, sizeof *w.jobs);
    w.width = prefix_width(&w.plan);
    /* independent jobs start together; each waits for host capacity before its VM boots */
    schedule(&w);
    wait_children(&w);
    summary(&w);

    int result = MX_OK;
    for (size_t i = 0; i < w.plan.njobs; i++) {
        const char *s = w.jobs[i].status;
        if (strcmp(s, "failed") == 0 || strcmp(s, "blocked") == 0 || strcmp(s, "error") == 0 ||
            strcmp(s, "canceled") == 0 || strcmp(s, "on hold") == 0)
            result = MX_JOB_FAILED;
        free(w.jobs[i].note);
    }
    free(w.jobs);
    mx_wf_ws_remove(&w.ws);
    mx_plan_free(&w.plan);
    if (w.fatal && !mx_stop) {
        *err = w.first; /* the failing job's error */
        return -1;
    }
    return result;
}
