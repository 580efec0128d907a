#include "job_env.h"

#include <string.h>

static void overlay(mx_envlist *out, const mx_envlist *in)
{
    for (size_t i = 0; i < in->n; i++)
        mx_envlist_set(out, in->v[i].key, in->v[i].value);
}

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

/* CircleCI's built-in variables (its "Project values and variables" list).  Those it sets in
 * every job are set here too, empty or a placeholder where only CircleCI could know the value
 * (CIRCLE_BUILD_URL, its organization and project ids); those it sets only sometimes are set
 * only when that holds locally: CIRCLE_TAG in a tag build; never the pull request ones, the
 * OIDC tokens (pass one with -e), CIRCLE_USERNAME or CIRCLE_PREVIOUS_BUILD_NUM.  docs/config.md
 * has the table. */
void mx_job_env_build(const mx_job *job, const mx_envlist *cli, const mx_envlist *contexts,
                      const mx_builtin_info *info, mx_envlist *out)
{
    if (cli) overlay(out, cli);
    if (contexts) overlay(out, contexts);
    const mx_pipeline_info *pi = info->pipeline;
    const char *dir = info->project_dir ? strrchr(info->project_dir, '/') : NULL;
    const char *repo = pi && pi->repo ? pi->repo : (dir && dir[1] ? dir + 1 : NULL);
    mx_envlist_set(out, "CI", "true");
    mx_envlist_set(out, "CIRCLECI", "true");
    mx_envlist_set(out, "CIRCLE_JOB", job->name);
    mx_envlist_set(out, "CIRCLE_WORKING_DIRECTORY", job->workdir);
    mx_envlist_set(out, "CIRCLE_BUILD_NUM", "1");
    mx_envlist_set(out, "CIRCLE_BUILD_URL", "");
    mx_envlist_set(out, "CIRCLE_NODE_INDEX", "0");
    mx_envlist_set(out, "CIRCLE_NODE_TOTAL", "1");
    mx_envlist_set(out, "CIRCLE_ORGANIZATION_ID", NIL_UUID);
    mx_envlist_set(out, "CIRCLE_PROJECT_ID", NIL_UUID);
    mx_envlist_set(out, "CIRCLE_PIPELINE_ID", pi && pi->id ? pi->id : NIL_UUID);
    const char *wf = pi && pi->workflow_id ? pi->workflow_id : NIL_UUID;
    mx_envlist_set(out, "CIRCLE_WORKFLOW_ID", wf);
    mx_envlist_set(out, "CIRCLE_WORKFLOW_WORKSPACE_ID", wf);
    mx_envlist_set(out, "CIRCLE_WORKFLOW_JOB_ID", info->job_id);
    if (repo) mx_envlist_set(out, "CIRCLE_PROJECT_REPONAME", repo);
    if (pi && pi->owner) mx_envlist_set(out, "CIRCLE_PROJECT_USERNAME", pi->owner);
    if (pi && pi->remote_url) mx_envlist_set(out, "CIRCLE_REPOSITORY_URL", pi->remote_url);
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
