#include "job_nodes.h"
#include "job_proc.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "signals.h"
#include "sink.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Between looks at the children when none of them writes anything. */
#define TICK_MS 200

typedef struct node {
    mx_run_opts o;
    const mx_host_config *hc;
    mx_node_run_fn run;
    mx_job_proc proc;
    int result;
    mx_err err;
    int done;
} node;

static int run_node(void *arg, mx_err *err)
{
    node *nd = arg;
    return nd->run(nd->hc, &nd->o, err);
}

int mx_job_run_nodes(const mx_host_config *hc, const mx_run_opts *o, int n, mx_node_run_fn run,
                     mx_err *err)
{
    node *nodes = mx_xcalloc((size_t)n, sizeof *nodes);
    mx_job_proc **procs = mx_xcalloc((size_t)n, sizeof *procs);
    int running = 0;
    mx_sink_note("job %s: parallelism %d: %d nodes, each in its own VM", o->job_name, n, n);
    for (int i = 0; i < n; i++) {
        nodes[i].o = *o;
        nodes[i].o.node_index = i;
        nodes[i].o.node_total = n;
        nodes[i].hc = hc;
        nodes[i].run = run;
        procs[i] = &nodes[i].proc;
        mx_autofree char *prefix = mx_xasprintf("%s/%d | ", o->job_name, i);
        fflush(NULL);
        if (mx_stop ||
            mx_job_proc_start(&nodes[i].proc, prefix, run_node, &nodes[i], &nodes[i].err) < 0) {
            if (mx_stop) mx_fail(&nodes[i].err, MX_INFRA, "interrupted");
            nodes[i].result = -1;
            nodes[i].done = 1;
            continue;
        }
        running++;
    }
    int forwarded = 0;
    while (running > 0) {
        if (mx_stop && !forwarded) {
            /* a terminal's Ctrl-C reached them already; a kill of this process did not */
            for (int i = 0; i < n; i++)
                if (!nodes[i].done) mx_job_proc_signal(&nodes[i].proc, SIGTERM);
            forwarded = 1;
        }
        mx_job_proc_relay(procs, (size_t)n, TICK_MS);
        for (int i = 0; i < n; i++) {
            if (nodes[i].done) continue;
            if (mx_job_proc_reap(&nodes[i].proc, &nodes[i].result, &nodes[i].err)) {
                nodes[i].done = 1;
                running--;
            }
        }
    }
    int rc = MX_OK;
    for (int i = 0; i < n; i++) {
        const char *what = nodes[i].result == MX_OK           ? "succeeded"
                           : nodes[i].result == MX_JOB_FAILED ? "failed"
                                                              : "could not run";
        mx_sink_note("job %s: node %d of %d %s%s%s", o->job_name, i, n, what,
                     nodes[i].result < 0 ? ": " : "", nodes[i].result < 0 ? nodes[i].err.msg : "");
        if (nodes[i].result < 0 && rc >= 0) {
            *err = nodes[i].err;
            rc = -1;
        } else if (nodes[i].result == MX_JOB_FAILED && rc == MX_OK) {
            rc = MX_JOB_FAILED;
        }
    }
    free(procs);
    free(nodes);
    return rc;
}
