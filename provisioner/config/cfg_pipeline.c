/* CircleCI's pipeline values (<< pipeline.x >>), every one its documentation lists, each with a
 * value a local run can honestly have: from git where git knows it (cfg_git.c), the values of a
 * push event where the question is "what triggered this" (a local run stands for a push of the
 * checked-out branch), and empty where only CircleCI could know (schedules, pull requests,
 * deploys, CircleCI's own ids).  docs/config.md has the table. */
#include "cfg_process_int.h"
#include "cfg_git.h"

#include <stdlib.h>
#include <string.h>

#define NIL_UUID "00000000-0000-0000-0000-000000000000"

enum kind { STR, BOOL, INT };

static void put(mx_node *p, const mx_node *at, const char *key, const char *value, enum kind k)
{
    mx_node *v = mx_node_new_scalar(value ? value : "", at);
    v->quoted = k == STR;
    mx_node_map_put(p, key, v);
}

static const char *or_empty(const char *s)
{
    return s ? s : "";
}

/* The github_app/gitlab trigger parameters (deprecated by CircleCI, still read by configs). */
static void trigger_parameters(mx_node *p, const mx_node *at, const mx_pipeline_info *pi,
                               const char *rev, const char *ref, const char *branch,
                               const char *git_url)
{
    const char *subject = pi ? pi->commit_subject : NULL, *body = pi ? pi->commit_body : NULL;
    const char *author = pi ? pi->author_name : NULL, *when = pi ? pi->commit_time : NULL;
    const char *repo = pi ? pi->repo : NULL;
    static const char *const gh = "trigger_parameters.github_app.";
    static const char *const gl = "trigger_parameters.gitlab.";
    const struct {
        const char *prefix, *key, *value;
        enum kind k;
    } vals[] = {
        {gh, "ref", ref, STR},
        {gh, "checkout_sha", rev, STR},
        {gh, "user_id", NIL_UUID, STR},
        {gh, "user_name", "", STR},
        {gh, "user_username", "", STR},
        {gh, "user_avatar", "", STR},
        {gh, "repo_name", repo, STR},
        {gh, "repo_url", git_url, STR},
        {gh, "web_url", git_url, STR},
        {gh, "commit_sha", rev, STR},
        {gh, "commit_title", subject, STR},
        {gh, "commit_message", body, STR},
        {gh, "commit_timestamp", when, STR},
        {gh, "commit_author_name", author, STR},
        {gh, "branch", branch, STR},
        {gh, "total_commits_count", "1", INT},
        {gl, "type", "push", STR},
        {gl, "ref", ref, STR},
        {gl, "checkout_sha", rev, STR},
        {gl, "user_id", "", STR},
        {gl, "user_name", "", STR},
        {gl, "user_username", "", STR},
        {gl, "user_avatar", "", STR},
        {gl, "repo_name", repo, STR},
        {gl, "repo_url", git_url, STR},
        {gl, "web_url", git_url, STR},
        {gl, "commit_sha", rev, STR},
        {gl, "commit_title", subject, STR},
        {gl, "commit_message", body, STR},
        {gl, "commit_timestamp", when, STR},
        {gl, "commit_author_name", author, STR},
        {gl, "commit_author_email", pi ? pi->author_email : NULL, STR},
        {gl, "branch", branch, STR},
        {gl, "default_branch", pi ? pi->default_branch : NULL, STR},
        {gl, "x_gitlab_event_id", NIL_UUID, STR},
        {gl, "is_fork_merge_request", "false", BOOL},
    };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++) {
        char *k = mx_xasprintf("%s%s", vals[i].prefix, vals[i].key);
        put(p, at, k, vals[i].value, vals[i].k);
        free(k);
    }
}

void mx_cfg_pipeline_values(mx_node *p, const mx_cfg_opts *o, const mx_node *at)
{
    const mx_pipeline_info *pi = o ? o->info : NULL;
    const char *tag = o && o->tag ? o->tag : "";
    const char *branch = o && o->branch ? o->branch : "";
    const char *rev = o && o->revision ? o->revision : (pi && pi->revision ? pi->revision : "");
    char *git_url = mx_pipeline_git_url(pi), *slug = mx_pipeline_slug(pi);
    char *ref = *tag ? mx_xasprintf("refs/tags/%s", tag)
                     : (*branch ? mx_xasprintf("refs/heads/%s", branch) : mx_xstrdup(""));
    /* GitHub and GitLab show a commit at /commit/SHA, Bitbucket at /commits/SHA */
    char *commit_url =
        git_url && *rev
            ? mx_xasprintf("%s/%s/%s", git_url,
                           pi->vcs && strcmp(pi->vcs, "bitbucket") == 0 ? "commits" : "commit", rev)
            : NULL;
    char *config_repo =
        pi && pi->owner && pi->repo ? mx_xasprintf("%s/%s", pi->owner, pi->repo) : NULL;
    int is_default = *branch && pi && pi->default_branch && strcmp(branch, pi->default_branch) == 0;
    const char *vcs = pi && pi->vcs ? pi->vcs : NULL;
    const struct {
        const char *key, *value;
        enum kind k;
    } vals[] = {
        /* the pipeline and the project */
        {"id", pi && pi->id ? pi->id : NIL_UUID, STR},
        {"number", "1", INT},
        {"definition.id", NIL_UUID, STR},
        {"name", "", STR},
        {"integration_source", vcs, STR},
        {"project.git_url", git_url, STR},
        {"project.type", vcs ? vcs : "local", STR},
        {"project.slug", slug, STR},
        /* the code checked out */
        {"git.tag", tag, STR},
        {"git.branch", branch, STR},
        {"git.branch.is_default", is_default ? "true" : "false", BOOL},
        {"git.revision", rev, STR},
        {"git.base_revision", pi ? pi->base_revision : NULL, STR},
        {"git.repo_url", git_url, STR},
        {"git.repo_owner", pi ? pi->owner : NULL, STR},
        {"git.repo_name", pi ? pi->repo : NULL, STR},
        {"git.repo_id", "", STR},
        {"git.commit.url", commit_url, STR},
        {"git.commit.subject", pi ? pi->commit_subject : NULL, STR},
        {"git.commit.body", pi ? pi->commit_body : NULL, STR},
        {"git.commit.author_login", "", STR},
        {"git.commit.author_name", pi ? pi->author_name : NULL, STR},
        {"git.commit.author_email", pi ? pi->author_email : NULL, STR},
        {"git.commit.author_avatar_url", "", STR},
        /* where the config came from: the same repository */
        {"config.repository.name", config_repo, STR},
        {"config.repository.url", git_url, STR},
        {"config.file_path", pi && pi->config_file ? pi->config_file : ".circleci/config.yml", STR},
        {"config.ref", ref, STR},
        {"config.sha", rev, STR},
        /* the trigger: a push */
        {"trigger.received_at", pi ? pi->received_at : NULL, STR},
        {"trigger.id", NIL_UUID, STR},
        {"trigger.type", "webhook", STR},
        {"trigger.name", "", STR},
        {"trigger_source", "webhook", STR},
        {"schedule.name", "", STR},
        {"schedule.id", "", STR},
        {"event.name", "push", STR},
        {"event.action", "push", STR},
        {"event.github.after", rev, STR},
        {"event.github.head_commit.url", commit_url, STR},
        {"event.github.ref", ref, STR},
        {"event.context.github.pr_url", "", STR},
        {"event.github.pull_request.base.ref", "", STR},
        {"event.github.pull_request.base.sha", "", STR},
        {"event.github.pull_request.head.ref", "", STR},
        {"event.github.pull_request.head.sha", "", STR},
        {"event.github.pull_request.draft", "false", BOOL},
        {"event.github.pull_request.title", "", STR},
        {"event.github.pull_request.number", "", STR},
        {"event.github.pull_request.merged", "false", BOOL},
        {"event.github.pull_request.url", "", STR},
        {"event.github.label.name", "", STR},
        {"event.github.comment.body", "", STR},
        {"event.github.sender.type", "", STR},
        {"event.github.sender.avatar_url", "", STR},
        {"event.github.sender.login", "", STR},
        {"event.github.repository.name", pi ? pi->repo : NULL, STR},
        {"event.github.repository.owner.login", pi ? pi->owner : NULL, STR},
        {"event.github.repository.url", git_url, STR},
        {"trigger_parameters.webhook.body", "", STR},
        {"trigger_parameters.circleci.trigger_type", "webhook", STR},
        {"trigger_parameters.circleci.event_time", pi ? pi->received_at : NULL, STR},
        {"trigger_parameters.circleci.event_type", "push", STR},
        /* deploys: not a deploy pipeline */
        {"deploy.component_name", "", STR},
        {"deploy.environment_name", "", STR},
        {"deploy.target_version", "", STR},
        {"deploy.current_version", "", STR},
        {"deploy.namespace", "", STR},
        {"deploy.reason", "", STR},
    };
    for (size_t i = 0; i < sizeof vals / sizeof *vals; i++)
        put(p, at, vals[i].key, or_empty(vals[i].value), vals[i].k);
    trigger_parameters(p, at, pi, rev, ref, branch, git_url);
    free(config_repo);
    free(commit_url);
    free(ref);
    free(slug);
    free(git_url);
}
