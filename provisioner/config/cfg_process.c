/* The whole config processed into its normalized 2.0 form, and job lookup by the name a
 * workflow gives a job. */
#include "cfg_process_int.h"
#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

/* Can this job be expanded without arguments (every parameter has a default)? */
static int needs_args(const mx_node *def)
{
    const mx_node *p = mx_node_get(def, "parameters");
    for (size_t i = 0; p && p->kind == MX_NODE_MAP && i < p->n; i++)
        if (p->vals[i]->kind == MX_NODE_MAP && !mx_node_get(p->vals[i], "default")) return 1;
    return 0;
}

static int expand_named(mx_cfg *c, const char *name, const char *ref, const mx_node *inv,
                        const mx_node *at, mx_node **out, mx_err *err)
{
    size_t mark = mx_cfg_push(c, "jobs.%s", name);
    int rc = mx_cfg_expand_job(c, ref, inv, at, out, err);
    if (rc < 0) mx_cfg_here(c, err);
    mx_cfg_pop(c, mark);
    return rc;
}

/* The workflow job's invocation for the workflows section of the output. */
static mx_node *wf_entry(const mx_cfg_inv *v, const mx_plan_job *pj)
{
    static const char *const kept[] = {"requires", "context", "filters", "type", "serial-group"};
    mx_node *attrs = mx_node_new(MX_NODE_MAP, v->at);
    for (size_t k = 0; k < 5; k++) {
        const mx_node *x = mx_node_get(v->node, kept[k]);
        if (!x) continue;
        if (k == 0) { /* requires: aliases resolved, statuses kept */
            mx_node *req = mx_node_new(MX_NODE_SEQ, x);
            for (size_t r = 0; r < pj->nrequires; r++) {
                mx_node *name = mx_node_new_scalar(pj->requires[r].name, x);
                if (pj->requires[r].status == MX_REQ_SUCCESS) {
                    mx_node_seq_add(req, name);
                    continue;
                }
                mx_node *st = mx_node_new(MX_NODE_SEQ, x), *m = mx_node_new(MX_NODE_MAP, x);
                static const char *const names[] = {"success", "failed", "canceled"};
                for (int b = 0; b < 3; b++)
                    if (pj->requires[r].status & (1 << b))
                        mx_node_seq_add(st, mx_node_new_scalar(names[b], x));
                mx_node_map_add(m, name, st);
                mx_node_seq_add(req, m);
            }
            mx_node_map_put(attrs, "requires", req);
        } else {
            mx_node_map_put(attrs, kept[k], mx_node_copy(x));
        }
    }
    if (attrs->n == 0) {
        mx_node_free(attrs);
        return mx_node_new_scalar(v->name, v->at);
    }
    mx_node *e = mx_node_new(MX_NODE_MAP, v->at);
    mx_node_map_put(e, v->name, attrs);
    return e;
}

/* Does a workflow that runs run the job defined as `job` (under whatever name)? */
static int invoked(const mx_cfg_wf *w, size_t nw, const char *job)
{
    for (size_t i = 0; i < nw; i++)
        for (size_t j = 0; w[i].enabled && j < w[i].ninv; j++)
            if (strcmp(w[i].inv[j].job, job) == 0) return 1;
    return 0;
}

static int process(mx_cfg *c, mx_node **out, mx_err *err)
{
    mx_cfg_wf *w = NULL;
    size_t nw = 0;
    if (mx_cfg_workflows(c, &w, &nw, err) < 0) return -1;
    const mx_node *root = c->root;
    mx_node *doc = mx_node_new(MX_NODE_MAP, root), *jobs = mx_node_new(MX_NODE_MAP, root);
    mx_node *v2 = mx_node_new_scalar("2", root);
    mx_node_map_put(doc, "version", v2);
    mx_node_map_put(doc, "jobs", jobs);
    mx_node *wfs = nw ? mx_node_new(MX_NODE_MAP, mx_node_get(root, "workflows")) : NULL;
    int rc = 0;
    for (size_t i = 0; i < nw && rc == 0; i++) {
        mx_plan plan;
        /* filters are copied, not applied: the plan is only for resolved requires */
        rc = mx_cfg_wf_plan(c, &w[i], NULL, NULL, &plan, err);
        if (rc < 0) break;
        if (!w[i].enabled) {
            mx_plan_free(&plan);
            continue;
        }
        mx_node *list = mx_node_new(MX_NODE_SEQ, w[i].at);
        for (size_t j = 0; j < w[i].ninv && rc == 0; j++) {
            const mx_cfg_inv *v = &w[i].inv[j];
            /* an approval is a hold in the workflow, not a job */
            if (!v->approval && !mx_node_get(jobs, v->name)) {
                mx_node *job = NULL;
                rc = expand_named(c, v->name, v->job, v->node, v->at, &job, err);
                if (rc == 0) mx_node_map_put(jobs, v->name, job);
            }
            /* written order, not plan order: the output should read like the input */
            size_t pi = 0;
            while (strcmp(plan.jobs[pi].name, v->name) != 0)
                pi++;
            if (rc == 0) mx_node_seq_add(list, wf_entry(v, &plan.jobs[pi]));
        }
        mx_node *wf = mx_node_new(MX_NODE_MAP, w[i].at);
        mx_node_map_put(wf, "jobs", list);
        mx_node_map_put(wfs, w[i].name, wf);
        mx_plan_free(&plan);
    }
    /* defined jobs no workflow runs (a 2.0 config's, or spares), as they are */
    const mx_node *defs = mx_node_get(root, "jobs");
    for (size_t i = 0; rc == 0 && defs && defs->kind == MX_NODE_MAP && i < defs->n; i++) {
        const char *name = defs->keys[i]->value;
        if (mx_node_get(jobs, name) || needs_args(defs->vals[i]) || invoked(w, nw, name)) continue;
        mx_node *job = NULL;
        rc = expand_named(c, name, name, NULL, defs->keys[i], &job, err);
        if (rc == 0) mx_node_map_put(jobs, name, job);
    }
    if (wfs) {
        mx_node *ver = mx_node_new_scalar("2", wfs);
        mx_node *wrapped = mx_node_new(MX_NODE_MAP, wfs);
        mx_node_map_put(wrapped, "version", ver);
        for (size_t i = 0; i < wfs->n; i++) {
            mx_node_map_add(wrapped, wfs->keys[i], wfs->vals[i]);
            wfs->keys[i] = wfs->vals[i] = NULL;
        }
        wfs->n = 0;
        mx_node_free(wfs);
        mx_node_map_put(doc, "workflows", wrapped);
    }
    mx_cfg_workflows_free(w, nw);
    if (rc < 0) {
        mx_node_free(doc);
        return -1;
    }
    *out = doc;
    return 0;
}

int mx_cfg_process(const mx_node *root, const mx_cfg_opts *o, mx_node **out, mx_err *err)
{
    *out = NULL;
    mx_cfg *c;
    if (mx_cfg_open(root, o, &c, err) < 0) return -1;
    int rc = process(c, out, err);
    mx_cfg_close(c);
    return rc;
}

/* jobs.NAME of the config, or the workflow job called NAME (the first workflow that has one). */
static int job_node(mx_cfg *c, const char *name, mx_node **out, mx_err *err)
{
    mx_cfg_wf *w = NULL;
    size_t nw = 0;
    if (mx_cfg_workflows(c, &w, &nw, err) < 0) return -1;
    int rc = 1;
    for (size_t i = 0; i < nw && rc == 1; i++)
        for (size_t j = 0; j < w[i].ninv && rc == 1; j++)
            if (!w[i].inv[j].approval && strcmp(w[i].inv[j].name, name) == 0)
                rc = expand_named(c, name, w[i].inv[j].job, w[i].inv[j].node, w[i].inv[j].at, out,
                                  err);
    mx_cfg_workflows_free(w, nw);
    if (rc != 1) return rc;
    const mx_node *jobs = mx_node_get(c->root, "jobs");
    if (!jobs || jobs->kind != MX_NODE_MAP)
        return mx_node_fail(err, jobs ? jobs : c->root, "the config has no jobs map");
    if (!mx_node_get(jobs, name)) {
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "no job named \"%s\" (jobs: ", name);
        for (size_t i = 0; i < jobs->n; i++)
            mx_buf_printf(&m, "%s%s", i ? ", " : "", jobs->keys[i]->value);
        mx_buf_adds(&m, ")");
        mx_cfg_suggest_keys(&m, name, jobs);
        mx_node_fail(err, jobs, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    return expand_named(c, name, name, NULL, jobs, out, err);
}

int mx_cfg_job_node(const mx_node *root, const char *name, const mx_cfg_opts *o, mx_node **out,
                    mx_err *err)
{
    *out = NULL;
    mx_cfg *c;
    if (mx_cfg_open(root, o, &c, err) < 0) return -1;
    int rc = job_node(c, name, out, err);
    mx_cfg_close(c);
    return rc;
}
