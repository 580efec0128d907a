/* parallelism: N — a job run as N nodes, each in a VM of its own with CIRCLE_NODE_INDEX and
 * CIRCLE_NODE_TOTAL, concurrently as a workflow's jobs are (a child process per node, output
 * relayed under "JOB/I | ", every VM admitted against the host's capacity).  The job succeeds
 * when every node does. */
#ifndef MX_JOB_NODES_H
#define MX_JOB_NODES_H

#include "host_config.h"
#include "mx_err.h"
#include "run_opts.h"

/* How one node runs (mx_job_run, passed in by job_run.c, which calls mx_job_run_nodes). */
typedef int (*mx_node_run_fn)(const mx_host_config *hc, const mx_run_opts *o, mx_err *err);

/* Runs the job of o as n nodes, each with run.  MX_OK when all succeeded, MX_JOB_FAILED when
 * one failed, or -1 with *err (the first node's error; interrupted, config or infrastructure). */
int mx_job_run_nodes(const mx_host_config *hc, const mx_run_opts *o, int n, mx_node_run_fn run,
                     mx_err *err);

#endif
