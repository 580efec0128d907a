/* What a CircleCI pipeline knows about the code it builds, read from the project's git
 * repository: it feeds the pipeline values (<< pipeline.git.revision >>, ...) and the CIRCLE_*
 * variables.  A local run is taken to be a push of the checked-out branch. */
#ifndef MX_CFG_GIT_H
#define MX_CFG_GIT_H

typedef struct mx_pipeline_info {
    char *id;             /* pipeline.id: a fresh UUID per run (mx_pipeline_info_new_ids) */
    char *workflow_id;    /* CIRCLE_WORKFLOW_ID: a fresh UUID per run */
    char *revision;       /* HEAD's commit */
    char *branch;         /* the checked-out branch; NULL when HEAD is detached */
    char *default_branch; /* origin's HEAD, else main or master when such a branch exists */
    /* pipeline.git.base_revision: the commit the branch's upstream is at (what a push of it
     * would replace: CircleCI's "build that ran before"), else its merge-base with the default
     * branch; NULL when neither exists */
    char *base_revision;
    char *remote_url; /* origin (else the first remote) as configured, credentials removed */
    char *host;       /* from the remote: github.com, ... */
    char *owner;      /* OWNER (or GROUP/SUBGROUP) of the remote's path */
    char *repo;       /* the remote's repository name, else the project directory's name */
    char *vcs;        /* github, gitlab, bitbucket: known hosts only, else NULL */
    char *commit_subject, *commit_body, *author_name, *author_email, *commit_time;
    char *received_at; /* when the pipeline was made, ISO 8601 UTC */
    char *config_file; /* the config's path relative to the project (.circleci/config.yml) */
} mx_pipeline_info;

/* Reads what git knows about project_dir; anything it cannot learn stays NULL.  config_path is
 * the config file (for pipeline.config.file_path).  Never fails: a directory outside git
 * gives a pipeline with no git values. */
void mx_pipeline_info_read(const char *project_dir, const char *config_path, mx_pipeline_info *pi);
/* Gives the pipeline and its workflow fresh random UUIDs and stamps received_at (a run). */
void mx_pipeline_info_new_ids(mx_pipeline_info *pi);
void mx_pipeline_info_free(mx_pipeline_info *pi);

/* "https://github.com/OWNER/REPO" for a remote on a known or any other host, or NULL.  Caller
 * frees. */
char *mx_pipeline_git_url(const mx_pipeline_info *pi);
/* "gh/OWNER/REPO", "gl/...", "bb/..." (the slug CircleCI's OAuth projects have), or NULL. */
char *mx_pipeline_slug(const mx_pipeline_info *pi);

/* Splits a git remote URL (scp-like git@host:path, or scheme://[user@]host[:port]/path) into
 * host, owner and repository; 0, or -1 if it is neither.  Exposed for tests. */
int mx_git_remote_parse(const char *url, char **host, char **owner, char **repo);
/* The URL without any user:password@ of a scheme URL (scp-like URLs keep their user). */
char *mx_git_remote_public(const char *url);

#endif
