/* The environment a job's steps see, in CircleCI's precedence (highest first): step
 * environment, job environment, built-ins, contexts, then values given with -e. */
#ifndef MX_JOB_ENV_H
#define MX_JOB_ENV_H

#include "cfg_git.h"
#include "cfg_job.h"

typedef struct mx_builtin_info {
    const char *project_dir;
    const char *sha, *branch; /* may be NULL */
    const char *tag;          /* a tag build (--tag), else NULL */
    const char *job_id;
    const mx_pipeline_info *pipeline; /* ids, remote, ...; NULL: placeholders */
} mx_builtin_info;

/* The job-level environment: cli values, overridden by contexts, by built-ins, by the job's. */
void mx_job_env_build(const mx_job *job, const mx_envlist *cli, const mx_envlist *contexts,
                      const mx_builtin_info *info, mx_envlist *out);
/* One step's environment: the job's, overridden by the step's. */
void mx_step_env_build(const mx_envlist *job_env, const mx_step *step, mx_envlist *out);

#endif
