/* parallelism: N — a job run as N nodes, each in a VM of its own with CIRCLE_NODE_INDEX and
 * CIRCLE_NODE_TOTAL, concurrently as a workflow's jobs are (a child process per node, output
 * relayed under "JOB/I | ", every VM admitted against the host's capacity).  The job succeeds
 * when every node does. */
#ifndef MX_JOB_NODES_H
#define MX_JOB_NODES_H

#include "host_config.h"
#include "job_run.h"

/* Runs the job of o as n nodes.  MX_OK when all succeeded, MX_JOB_FAILED when one failed, or
 * -1 with *err (the first node's error; interrupted, config or infrastructure). */
int mx_job_run_nodes(const mx_host_config *hc, const mx_run_opts *o, int n, mx_err *err);

#endif
