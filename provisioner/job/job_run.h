/* Runs one job in its own VM: resolve, boot, connect, run every step, tear down. */
#ifndef MX_JOB_RUN_H
#define MX_JOB_RUN_H

#include "cfg_job.h"
#include "cfg_process.h"
#include "host_config.h"
#include "mx_err.h"
#include "run_opts.h"
#include "workspace.h"

/* Returns MX_OK or MX_JOB_FAILED, or -1 with *err set (config or infrastructure failure, or
 * interrupted).  The VM and its files are gone when it returns, whatever happened. */
int mx_job_run(const mx_host_config *hc, const mx_run_opts *o, mx_err *err);

/* The mexec-agent binary to upload: $MEXEC_AGENT, else beside this executable, else the
 * install location.  Caller frees. */
char *mx_agent_binary(mx_err *err);

#endif
