/* Runs one job in its own VM: resolve, boot, connect, run every step, tear down. */
#ifndef MX_JOB_RUN_H
#define MX_JOB_RUN_H

#include "cfg_job.h"
#include "cfg_process.h"
#include "host_config.h"
#include "mx_err.h"
#include "workspace.h"

typedef struct mx_run_opts {
    const char *config_path;
    const char *job_name;
    mx_envlist cli_env;
    const mx_cfg_opts *cfg; /* pipeline parameters, branch, tag (NULL: none) */
    const char **contexts;  /* --context NAME, in order */
    size_t ncontexts;
    int fit_to_host;
    int keep_on_failure;         /* a failed job's VM stays up for `mexec ssh` until interrupted */
    int no_build;                /* an unbuilt image is an error instead of being built first */
    const mx_ws_view *workspace; /* NULL: not in a workflow; workspace steps are skipped */
} mx_run_opts;

/* Returns MX_OK or MX_JOB_FAILED, or -1 with *err set (config or infrastructure failure, or
 * interrupted).  The VM and its files are gone when it returns, whatever happened. */
int mx_job_run(const mx_host_config *hc, const mx_run_opts *o, mx_err *err);

/* The mexec-agent binary to upload: $MEXEC_AGENT, else beside this executable, else the
 * install location.  Caller frees. */
char *mx_agent_binary(mx_err *err);

#endif
