/* Shared by the cfg_*.c files that expand a config (config processing's internal header, the
 * public one being cfg_process.h); not for other modules. */
#ifndef MX_CFG_PROCESS_INT_H
#define MX_CFG_PROCESS_INT_H

#include "cfg_job_int.h"
#include "cfg_params.h"
#include "cfg_process.h"
#include "cfg_yaml.h"
#include "mx_buf.h"
#include "mx_err.h"

#define MX_CFG_MAX_NESTING 64 /* commands invoking commands: deeper is a loop */
/* Steps of one job after expansion: every step is a message, a log section and a place the
 * job can fail; a thousand is already more than any real job. */
#define MX_CFG_MAX_STEPS 2000
/* What one command invocation costs of the expansion budget (MX_CFG_MAX_NODES) besides the
 * nodes it makes: commands that invoke commands that have no steps make almost no nodes, yet
 * each invocation is work; counted so, 2^40 of them stop after some 25 000. */
#define MX_CFG_INVOCATION_COST 16
/* Jobs one matrix expands to: each is a VM.  The product of the value lists is checked
 * before any job is made. */
#define MX_CFG_MAX_MATRIX 512

typedef struct mx_cfg_orb {
    char *alias;
    int docker;         /* the built-in CircleCI docker orb (def: its built-in part) */
    const mx_node *def; /* a map with commands, jobs, executors */
    mx_node *owned;     /* the tree of an orb loaded from a file, the registry or built in */
    struct mx_cfg_orb *imports; /* the orbs its own orbs: section names */
    size_t nimports;
} mx_cfg_orb;

typedef struct mx_cfg {
    const mx_node *root;
    int v21;
    mx_cfg_orb *orbs;
    size_t norbs;
    mx_node *pipeline; /* "parameters.x", "git.branch", ... -> value */
    mx_buf path;       /* where expansion is ("jobs.build.steps[2]"), for error messages */
    int wrapped;
    int depth;
    mx_cfg_budget budget; /* everything expansion makes (MX_CFG_MAX_NODES) */
} mx_cfg;

int mx_cfg_open(const mx_node *root, const mx_cfg_opts *o, mx_cfg **out, mx_err *err);
/* Loads the config's orbs and theirs (cfg_orb_load.c); res NULL: no registry or cache. */
int mx_cfg_load_orbs(mx_cfg *c, mx_orb_resolver *res, mx_err *err);
void mx_cfg_orbs_free(mx_cfg_orb *list, size_t n);
/* Puts every pipeline value but the parameters into the map p ("git.branch" -> value). */
void mx_cfg_pipeline_values(mx_node *p, const mx_cfg_opts *o, const mx_node *at);
void mx_cfg_close(mx_cfg *c);

/* The path of expansion: push returns the length to pop back to. */
size_t mx_cfg_push(mx_cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void mx_cfg_pop(mx_cfg *c, size_t len);
/* Prefixes the current path to the error, once (the innermost frame knows it best); -1. */
int mx_cfg_here(mx_cfg *c, mx_err *err);

/* A definition (section "commands", "jobs", "executors") by name as written where `scope` is
 * (NULL: the config; else an orb).  "alias/name" looks in an orb.  *orb_out is the scope of
 * the definition; *docker is set when it names the built-in docker orb. */
const mx_node *mx_cfg_find(mx_cfg *c, const mx_cfg_orb *scope, const char *section,
                           const char *name, const mx_cfg_orb **orb_out, int *docker,
                           const mx_node *at, mx_err *err);

/* One job, expanded.  ref: the definition; inv: the workflow's invocation map (arguments,
 * pre-steps, post-steps) or NULL; the result is a map in the normalized 2.0 form. */
int mx_cfg_expand_job(mx_cfg *c, const char *ref, const mx_node *inv, const mx_node *at,
                      mx_node **out, mx_err *err);

/* The expanded (normalized) job NAME: a workflow job's name, else jobs.NAME. */
int mx_cfg_job_node(const mx_node *root, const char *name, const mx_cfg_opts *o, mx_node **out,
                    mx_err *err);

/* The built-in docker orb: a step "docker/<cmd>" (check or pull) with its arguments -> a
 * normalized step. */
int mx_cfg_docker_step(mx_cfg *c, const char *cmd, const mx_node *args, const mx_node *at,
                       mx_node *out_steps, mx_err *err);
/* Is this normalized step key one of the built-in orb's (docker/check, docker/pull)? */
int mx_cfg_docker_is_step(const char *key);
/* Does the built-in orb run this command natively (check, pull)? */
int mx_cfg_docker_is_native(const char *cmd);
/* The rest of the built-in orb (executors machine and docker; commands build, push,
 * install_docker_credential_helper), parsed. */
int mx_cfg_docker_orb_load(mx_node **def, mx_err *err);
/* A v2 name ("install-docker-credential-helper") in v3 spelling; caller frees. */
char *mx_cfg_docker_name(const char *name);
/* A copy of args with v2 parameter names respelled as the v3 names decls has; both spellings
 * at once is an error. */
int mx_cfg_docker_args(const mx_node *args, const mx_node *decls, mx_node **out, mx_err *err);

/* ---- workflows ---- */
typedef struct mx_cfg_inv {
    char *name;    /* unique across the workflows (repeats numbered NAME-1, NAME-2, ...) */
    char *given;   /* the name before numbering: name: as written, else the job's */
    char *job;     /* the definition it runs */
    char *alias;   /* a matrix's alias (requires: ALIAS means all of its jobs), or NULL */
    mx_node *node; /* the invocation map after pipeline and matrix substitution */
    const mx_node *at;
    int approval; /* type: approval (here or in its definition): a hold, nothing to expand */
    int noop;     /* its definition is type: no-op (or a release/lock/unlock marker) */
} mx_cfg_inv;

typedef struct mx_cfg_wf {
    char *name;
    const mx_node *at;
    int enabled;
    mx_cfg_inv *inv;
    size_t ninv;
} mx_cfg_wf;

int mx_cfg_workflows(mx_cfg *c, mx_cfg_wf **out, size_t *n, mx_err *err);
void mx_cfg_workflows_free(mx_cfg_wf *w, size_t n);
/* Builds the plan of workflow w. */
int mx_cfg_wf_plan(mx_cfg *c, const mx_cfg_wf *w, const char *branch, const char *tag,
                   mx_plan *plan, mx_err *err);

#endif
