/* `mexec run --workflow`: a workflow's jobs in dependency order, each in its own VM, with
 * CircleCI's filters, requires statuses and contexts, and a summary at the end. */
#ifndef MX_WORKFLOW_RUN_H
#define MX_WORKFLOW_RUN_H

#include "host_config.h"
#include "job_run.h"

/* Returns MX_OK when every job that ran passed, MX_JOB_FAILED when one failed or was blocked
 * by a failure, or -1 with *err set (config error, or an infrastructure failure). */
int mx_workflow_run(const mx_host_config *hc, const mx_run_opts *o, const char *workflow,
                    mx_err *err);

#endif
