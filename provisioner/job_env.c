#include "job_env.h"

#include <string.h>

static void overlay(mx_envlist *out, const mx_envlist *in)
{
    for (size_t i = 0; i < in->n; i++)
        mx_envlist_set(out, in->v[i].key, in->v[i].value);
}

void mx_job_env_build(const mx_job *job, const mx_envlist *cli, const mx_envlist *contexts,
                      const mx_builtin_info *info, mx_envlist *out)
{
    if (cli) overlay(out, cli);
    if (contexts) overlay(out, contexts);
    const char *repo = info->project_dir ? strrchr(info->project_dir, '/') : NULL;
    mx_envlist_set(out, "CI", "true");
    mx_envlist_set(out, "CIRCLECI", "true");
    mx_envlist_set(out, "CIRCLE_JOB", job->name);
    mx_envlist_set(out, "CIRCLE_WORKING_DIRECTORY", job->workdir);
    mx_envlist_set(out, "CIRCLE_BUILD_NUM", "1");
    mx_envlist_set(out, "CIRCLE_NODE_INDEX", "0");
    mx_envlist_set(out, "CIRCLE_NODE_TOTAL", "1");
    mx_envlist_set(out, "CIRCLE_WORKFLOW_JOB_ID", info->job_id);
    if (repo && repo[1]) mx_envlist_set(out, "CIRCLE_PROJECT_REPONAME", repo + 1);
    if (info->sha) mx_envlist_set(out, "CIRCLE_SHA1", info->sha);
    if (info->branch && strcmp(info->branch, "HEAD") != 0)
        mx_envlist_set(out, "CIRCLE_BRANCH", info->branch);
    if (info->tag) mx_envlist_set(out, "CIRCLE_TAG", info->tag);
    overlay(out, &job->env);
}

void mx_step_env_build(const mx_envlist *job_env, const mx_step *step, mx_envlist *out)
{
    overlay(out, job_env);
    overlay(out, &step->env);
}
