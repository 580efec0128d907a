/* What `mexec run` (and a workflow, and GitLab) asks of one job run (job_run.h).  Its own
 * header so that job_nodes.h, which job_run.c includes, need not include job_run.h. */
#ifndef MX_RUN_OPTS_H
#define MX_RUN_OPTS_H

#include "cfg_job.h"
#include "cfg_process.h"
#include "workspace.h"

#include <stddef.h>

typedef struct mx_run_opts {
    const char *config_path;
    const char *job_name;
    mx_envlist cli_env;
    /* keys of cli_env whose values are secrets (-e KEY, --env-file): masked in all output */
    char **cli_secret_keys;
    size_t ncli_secret_keys;
    const char *project_dir; /* --project-dir; NULL: the config's, which must be in git */
    const mx_cfg_opts *cfg;  /* pipeline parameters, branch, tag (NULL: none) */
    const char **contexts;   /* --context NAME, in order */
    size_t ncontexts;
    int fit_to_host;
    int keep_on_failure; /* a failed job's VM stays up for `mexec ssh` until interrupted */
    int no_build;        /* an unbuilt image is an error instead of being built first */
    int cold; /* --cold: boot the VM from scratch instead of restoring the image's snapshot */
    const mx_ws_view *workspace; /* NULL: not in a workflow; workspace steps are skipped */
    /* store_artifacts/store_test_results keep files in ARTIFACTS_DIR/RUN_ID/JOB/NODE; either
     * NULL: they are not kept */
    const char *artifacts_dir;
    const char *run_id;
    /* parallelism: N: this VM is node node_index of node_total; node_total 0: the job is not
     * split yet (mx_job_run starts its N nodes) */
    int node_index, node_total;
} mx_run_opts;

#endif
