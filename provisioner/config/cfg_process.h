/* CircleCI 2.1 processing, offline: orbs, commands, executors, parameters, matrix, when/unless
 * and workflows, turned into a normalized 2.0-style config and a workflow plan. */
#ifndef MX_CFG_PROCESS_H
#define MX_CFG_PROCESS_H

#include "cfg_git.h"
#include "cfg_job.h"
#include "cfg_yaml.h"
#include "mx_buf.h"
#include "orb_registry.h"
#include "mx_err.h"

typedef struct mx_cfg_opts {
    const mx_envlist *params;     /* pipeline parameters from the command line (--param k=v) */
    const char *branch;           /* << pipeline.git.branch >> and branch filters; NULL: "" */
    const char *tag;              /* a tag build when non-NULL */
    const char *revision;         /* << pipeline.git.revision >>; NULL: info's */
    const mx_pipeline_info *info; /* the rest of the pipeline values; NULL: empty ones */
    mx_orb_resolver *orbs;        /* registry orbs; NULL: only inline, built-in, orb directory */
} mx_cfg_opts;

/* The whole config, expanded: version 2, jobs (one per workflow job and per defined job that
 * needs no arguments), workflows.  Nodes keep the file:line:col they were written at. */
int mx_cfg_process(const mx_node *root, const mx_cfg_opts *o, mx_node **out, mx_err *err);
/* Processes and loads every job into the job model, so everything `run` would refuse is
 * reported now. */
int mx_cfg_validate(const mx_node *root, const mx_cfg_opts *o, mx_err *err);
/* Reads job `name` from a loaded config (cfg_job_load.c), for running it here: a job this host
 * cannot run (mx_job_check_runnable) is an error; errors name file:line:col.  `name` is a
 * workflow job's name (matrix and `name:` included) or a defined job's; o may be NULL. */
int mx_cfg_job_load_opts(const mx_node *root, const char *name, const mx_cfg_opts *o, mx_job *job,
                         mx_err *err);

/* Writes a node tree as YAML (libyaml's emitter). */
int mx_cfg_emit(const mx_node *n, mx_buf *out, mx_err *err);

/* ---- workflows ---- */
enum { MX_REQ_SUCCESS = 1, MX_REQ_FAILED = 2, MX_REQ_CANCELED = 4 };

typedef struct mx_plan_req {
    char *name;
    int status; /* MX_REQ_* bits the required job may end with for this one to start */
} mx_plan_req;

typedef struct mx_plan_job {
    char *name; /* unique in the workflow; what mx_cfg_job_load takes */
    char *job;  /* the job definition it runs */
    mx_plan_req *requires;
    size_t nrequires;
    char **contexts;
    size_t ncontexts;
    int approval;       /* type: approval: a hold, approved on the command line or a terminal */
    int noop;           /* type: no-op: ends at once, successfully */
    char *serial_group; /* serial-group: jobs of one group never run at the same time, or NULL */
    int run;            /* 0: filtered out, or something it requires does not run */
    char *skip_reason;  /* why not, when !run */
    char *file;
    int line, col;
} mx_plan_job;

typedef struct mx_plan {
    char *workflow;
    int enabled;       /* 0: the workflow's when/unless says it does not run */
    mx_plan_job *jobs; /* in an order where every job follows all it requires */
    size_t njobs;
} mx_plan;

/* The plan of one workflow (NULL: the only one) for a branch or a tag build (o's branch and
 * tag). */
int mx_cfg_plan_opts(const mx_node *root, const char *workflow, const mx_cfg_opts *o, mx_plan *plan,
                     mx_err *err);
void mx_plan_free(mx_plan *plan);
/* The position of the job named name in plan->jobs, or -1. */
int mx_plan_find(const mx_plan *plan, const char *name);

#endif
