#include "workflow_run.h"
#include "cfg_process.h"
#include "cfg_yaml.h"
#include "mx_buf.h"
#include "signals.h"
#include "ssh.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct outcome {
    const char *status; /* "success", "failed", "error", "skipped", "blocked", "approved" */
    int req_bits;       /* as MX_REQ_*: what `requires: [{job: status}]` matches */
    double seconds;
    char *note;
} outcome;

static int find(const mx_plan *p, const char *name)
{
    for (size_t i = 0; i < p->njobs; i++)
        if (strcmp(p->jobs[i].name, name) == 0) return (int)i;
    return -1;
}

/* Why job j cannot start given how its requirements ended, or NULL if it can. */
static char *blocked_by(const mx_plan *p, const outcome *out, size_t j)
{
    const mx_plan_job *pj = &p->jobs[j];
    for (size_t r = 0; r < pj->nrequires; r++) {
        int k = find(p, pj->requires[r].name);
        if (k < 0) continue; /* the plan guarantees requirements exist */
        if (!(out[k].req_bits & pj->requires[r].status))
            return mx_xasprintf("requires %s, which ended %s", pj->requires[r].name, out[k].status);
    }
    return NULL;
}

static int run_one(const mx_host_config *hc, const mx_run_opts *o, const mx_plan_job *pj,
                   outcome *res, mx_err *err)
{
    /* contexts: the workflow's for this job, then any given on the command line */
    size_t n = pj->ncontexts + o->ncontexts;
    const char **ctx = mx_xcalloc(n ? n : 1, sizeof *ctx);
    for (size_t i = 0; i < pj->ncontexts; i++)
        ctx[i] = pj->contexts[i];
    for (size_t i = 0; i < o->ncontexts; i++)
        ctx[pj->ncontexts + i] = o->contexts[i];
    mx_run_opts jo = *o;
    jo.job_name = pj->name;
    jo.contexts = ctx;
    jo.ncontexts = n;
    printf("\n######## workflow job %s\n", pj->name);
    fflush(stdout);
    long long t0 = mx_now_ms();
    int r = mx_job_run(hc, &jo, err);
    res->seconds = (double)(mx_now_ms() - t0) / 1000.0;
    free(ctx);
    if (r == MX_OK) {
        res->status = "success";
        res->req_bits = MX_REQ_SUCCESS;
    } else if (r == MX_JOB_FAILED) {
        res->status = "failed";
        res->req_bits = MX_REQ_FAILED;
    } else {
        res->status = mx_stop ? "canceled" : "error";
        res->req_bits = mx_stop ? MX_REQ_CANCELED : MX_REQ_FAILED;
        res->note = mx_xstrdup(err->msg);
        fprintf(stderr, "mexec: job %s: %s\n", pj->name, err->msg);
        if (err->status == MX_USAGE) return -1; /* a config error will not go away */
    }
    return 0;
}

static void summary(const mx_plan *p, const outcome *out)
{
    printf("\n%-32s %-9s %9s  %s\n", "JOB", "STATUS", "DURATION", "NOTE");
    for (size_t i = 0; i < p->njobs; i++) {
        char dur[32] = "-";
        if (out[i].seconds > 0) snprintf(dur, sizeof dur, "%.1f s", out[i].seconds);
        printf("%-32s %-9s %9s  %s\n", p->jobs[i].name, out[i].status, dur,
               out[i].note ? out[i].note : "");
    }
    fflush(stdout);
}

int mx_workflow_run(const mx_host_config *hc, const mx_run_opts *o, const char *workflow,
                    mx_err *err)
{
    mx_node *root = NULL;
    if (mx_yaml_load_file(o->config_path, &root, err) < 0) return -1;
    mx_cfg_opts none = {0};
    mx_plan plan;
    memset(&plan, 0, sizeof plan);
    int rc = mx_cfg_plan_opts(root, workflow, o->cfg ? o->cfg : &none, &plan, err);
    mx_node_free(root);
    if (rc < 0) return -1;
    if (!plan.enabled) {
        printf("workflow %s does not run for this pipeline (its when/unless)\n", plan.workflow);
        mx_plan_free(&plan);
        return MX_OK;
    }
    outcome *out = mx_xcalloc(plan.njobs ? plan.njobs : 1, sizeof *out);
    int result = MX_OK, fatal = 0;
    for (size_t i = 0; i < plan.njobs; i++) {
        const mx_plan_job *pj = &plan.jobs[i];
        char *why = NULL;
        if (fatal || mx_stop) {
            out[i].status = "canceled";
            out[i].req_bits = MX_REQ_CANCELED;
        } else if (!pj->run) {
            out[i].status = "skipped";
            out[i].note = mx_xstrdup(pj->skip_reason ? pj->skip_reason : "filtered out");
        } else if ((why = blocked_by(&plan, out, i))) {
            out[i].status = "blocked";
            out[i].note = why;
            result = MX_JOB_FAILED;
        } else if (pj->approval) {
            out[i].status = "approved";
            out[i].req_bits = MX_REQ_SUCCESS;
            out[i].note = mx_xstrdup("approval jobs count as approved in a local run");
        } else {
            if (run_one(hc, o, pj, &out[i], err) < 0) fatal = 1;
            if (out[i].req_bits != MX_REQ_SUCCESS) result = MX_JOB_FAILED;
            if (strcmp(out[i].status, "error") == 0) fatal = 1;
        }
    }
    summary(&plan, out);
    for (size_t i = 0; i < plan.njobs; i++)
        free(out[i].note);
    free(out);
    mx_plan_free(&plan);
    if (fatal && !mx_stop) return -1; /* *err holds the failing job's error */
    return result;
}
