/* A workflow's workspace: the layers that persist_to_workspace steps add and that
 * attach_workspace steps of downstream jobs unpack (CircleCI's workspaces, kept on the host).
 *
 * Each job of a workflow run has a layers directory; every persist_to_workspace step of the job
 * adds one tar file there, named by its position (000.tar, 001.tar, ...).  A job attaches the
 * layers of its upstream jobs (those it requires, directly or not) in workflow order.  Two
 * upstream jobs neither of which requires the other may have run concurrently: if both persisted
 * the same file, attaching is an error, as on CircleCI. */
#ifndef MX_WORKSPACE_H
#define MX_WORKSPACE_H

#include "mx_err.h"

#include <stddef.h>

typedef struct mx_ws_upstream {
    const char *job;        /* its name in the workflow */
    const char *layers_dir; /* NNN.tar files, in the order they were persisted */
} mx_ws_upstream;

/* The workspace as one job of a workflow run sees it. */
typedef struct mx_ws_view {
    const char *persist_dir;        /* this job's layers directory (exists, mode 0700) */
    const mx_ws_upstream *upstream; /* in workflow order */
    size_t nupstream;
    /* nupstream x nupstream: ordered[i * nupstream + j] != 0 when upstream[i] ran before
     * upstream[j] because j requires i (directly or not); such layers overwrite, not conflict */
    const unsigned char *ordered;
} mx_ws_view;

#endif
