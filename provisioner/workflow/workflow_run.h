/* `mexec run --workflow`: a workflow's jobs in dependency order, each in its own VM, with
 * CircleCI's filters, requires statuses and contexts, and a summary at the end. */
#ifndef MX_WORKFLOW_RUN_H
#define MX_WORKFLOW_RUN_H

#include "host_config.h"
#include "job_run.h"

/* Which approval jobs (type: approval) count as approved: those named, or all.  Any other
 * is asked about on a terminal (once no job is running, so the question is not lost in their
 * output); without a terminal it stays unapproved and what requires it does not run. */
typedef struct mx_wf_approvals {
    const char **names; /* --approve NAME */
    size_t n;
    int all; /* --approve-all */
} mx_wf_approvals;

/* Returns MX_OK when every job that ran passed, MX_JOB_FAILED when one failed or was blocked
 * (by a failure or a hold not approved), or -1 with *err set (config error, an --approve that
 * names no approval job, or an infrastructure failure). */
int mx_workflow_run(const mx_host_config *hc, const mx_run_opts *o, const char *workflow,
                    const mx_wf_approvals *approvals, mx_err *err);

#endif
