/* The normalized job model: what one job needs to run, whatever config syntax produced it. */
#ifndef MX_CFG_JOB_H
#define MX_CFG_JOB_H

#include "cfg_yaml.h"
#include "mx_cleanup.h"
#include "mx_err.h"
#include "mx_proto.h"

#include <stddef.h>

#define MX_DEFAULT_WORKDIR "~/project"
#define MX_DEFAULT_RESOURCE_CLASS "medium"
#define MX_DEFAULT_NO_OUTPUT_TIMEOUT_S 600

enum mx_job_step_kind {
    MX_JOB_STEP_RUN,
    MX_JOB_STEP_CHECKOUT,
    MX_JOB_STEP_SKIP,         /* a CircleCI step that has no local meaning: reported, not run */
    MX_JOB_STEP_DOCKER_CHECK, /* docker/check of the docker orb: docker login */
    MX_JOB_STEP_DOCKER_PULL,  /* docker/pull of the docker orb */
    MX_JOB_STEP_PERSIST,      /* persist_to_workspace (skipped outside a workflow) */
    MX_JOB_STEP_ATTACH,       /* attach_workspace (skipped outside a workflow) */
    /* cfg_job_steps.c */
    MX_JOB_STEP_SAVE_CACHE,    /* save_cache: key, paths */
    MX_JOB_STEP_RESTORE_CACHE, /* restore_cache: keys (key: is the one-key form) */
    MX_JOB_STEP_ARTIFACTS,     /* store_artifacts: path, destination */
    MX_JOB_STEP_TEST_RESULTS,  /* store_test_results: path */
    MX_JOB_STEP_SSH_KEYS,      /* add_ssh_keys: keys = the fingerprints (none: every host key) */
    MX_JOB_STEP_REMOTE_DOCKER, /* setup_remote_docker in a docker job: a Docker engine for it */
};

/* When a step runs, given how the steps before it ended (CircleCI's run `when:`). */
enum mx_step_when {
    MX_WHEN_ON_SUCCESS, /* the default: only while every earlier step succeeded */
    MX_WHEN_ON_FAIL,
    MX_WHEN_ALWAYS,
};

typedef struct mx_envlist {
    mx_kv *v;
    size_t n;
} mx_envlist;

typedef struct mx_step {
    enum mx_job_step_kind kind;
    char *name;
    char *command;
    char *shell;   /* NULL: the job's */
    char *workdir; /* NULL: the job's; relative paths are relative to the job's */
    char *path;    /* checkout */
    char *skip_reason;
    mx_envlist env;
    int no_output_timeout_s;
    int background; /* run: starts, and later steps run while it does */
    enum mx_step_when when;
    /* docker/check: credentials from the variables these name */
    char *registry;
    char *username_env, *password_env;
    int use_credentials_store;
    /* docker/pull */
    char **images;
    size_t nimages;
    int ignore_pull_error;
    /* persist_to_workspace: root as written (relative: to the job's working directory) and
     * globs relative to it */
    char *root;
    char **paths;
    size_t npaths;
    char *at; /* attach_workspace: as written, like root */
    /* save_cache: key (a template) and paths; restore_cache and add_ssh_keys: keys */
    char *key;
    char **keys;
    size_t nkeys;
    char *destination; /* store_artifacts; its path (and store_test_results') is in path */
    char *file;
    int line, col;
} mx_step;

/* One container of a docker executor job (`docker:`); the first is the primary, where the steps
 * run.  Credentials are kept as written: `$VAR` is expanded when the job runs, from its
 * environment and contexts. */
typedef struct mx_container {
    char *image;
    char *name; /* name: the host name the other containers reach it by; NULL: none */
    char **entrypoint;
    size_t nentrypoint;
    int has_entrypoint;
    char **command;
    size_t ncommand;
    int has_command;
    char *user; /* NULL: the image's */
    mx_envlist env;
    char *auth_username, *auth_password; /* auth: */
    int has_aws_auth;                    /* aws_auth: keys or an OIDC role */
    char *aws_access_key_id, *aws_secret_access_key, *aws_oidc_role_arn;
    int line, col;
} mx_container;

/* The executor a job names.  Config processing accepts every kind; `run` refuses what this
 * host cannot run (mx_job_check_runnable). */
enum mx_executor {
    MX_EXEC_MACHINE,
    MX_EXEC_DOCKER,
    MX_EXEC_MACOS,
    MX_EXEC_WINDOWS,
};

/* A job's `type:`.  Only build jobs have an executor and steps. */
enum mx_job_type {
    MX_JOB_BUILD,
    MX_JOB_NOOP,     /* no-op: ends at once, successfully */
    MX_JOB_APPROVAL, /* approval: a hold in a workflow */
    MX_JOB_RELEASE,  /* release, lock, unlock: CircleCI deploy markers, nothing to run locally */
};

typedef struct mx_job {
    char *name;
    enum mx_job_type type;
    enum mx_executor executor;
    int exec_line, exec_col; /* where the executor (machine:, docker:, ...) is written */
    int parallelism; /* parallelism: N as written (1 if absent); one VM runs the job for now */
    char *image;     /* machine: NAME:TAG, or NULL for the host's default (machine: true) */
    mx_container *containers; /* docker: */
    size_t ncontainers;
    char *resource_class;
    char *workdir;
    char *shell; /* NULL: the agent's default */
    mx_envlist env;
    mx_step *steps;
    size_t nsteps;
    char *file;
    int line, col;
} mx_job;

/* 0 if this host can run the job, else -1 with a message saying why not (MX_USAGE): docker and
 * macOS executors, Windows machine images, jobs that are not build jobs. */
int mx_job_check_runnable(const mx_job *job, mx_err *err);
void mx_job_free(mx_job *job);

/* docker: (cfg_docker.c): the container list of a docker executor job into out->containers. */
int mx_cfg_docker_executor(const mx_node *d, mx_job *out, mx_err *err);
void mx_container_free(mx_container *c);
/* Splits a command written as one string into words as a POSIX shell would without expanding
 * anything: blanks separate words, quotes and backslashes group.  -1 on an unclosed quote. */
int mx_cfg_split_words(const char *s, char ***out, size_t *n);

void mx_envlist_set(mx_envlist *e, const char *key, const char *value);
const char *mx_envlist_get(const mx_envlist *e, const char *key);
void mx_envlist_free(mx_envlist *e);
MX_DEFINE_AUTO(mx_envlist, mx_envlist_free)
/* Parses an `environment:` node (map, or list of "K=V" / single-key maps). */
int mx_cfg_env_parse(const mx_node *n, mx_envlist *out, mx_err *err);

/* "10m", "1h30m", "45s", "2h", "1.5h", "90" (seconds) -> seconds (fractions rounded down);
 * -1 if malformed. */
long mx_parse_duration(const char *s);

#endif
