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

/* One layer an attach step unpacks. */
typedef struct mx_ws_layer {
    size_t upstream; /* index into mx_ws_view.upstream */
    char *path;      /* the tar file on the host */
} mx_ws_layer;

typedef struct mx_ws_layers {
    mx_ws_layer *v;
    size_t n;
} mx_ws_layers;

/* The layers to attach, in unpacking order: the upstream jobs in workflow order, each one's
 * NNN.tar files by number.  A layers directory that does not exist holds none (the job ran no
 * persist step); other files there are ignored. */
int mx_ws_layers_list(const mx_ws_view *w, mx_ws_layers *out, mx_err *err);
void mx_ws_layers_free(mx_ws_layers *l);

/* CircleCI's rule for concurrent jobs: two upstream jobs neither of which requires the other
 * must not both have persisted the same file (directories may be shared).  Returns 0 with
 * *conflict NULL when there is no such file, or set to a message naming both jobs and the
 * first such path (caller frees); -1 with *err when a layer cannot be listed. */
int mx_ws_find_conflict(const mx_ws_view *w, const mx_ws_layers *l, char **conflict, mx_err *err);

/* Where this job's k-th layer goes (k counts its persist steps that produced a layer, from 0):
 * persist_dir/NNN.tar.  Caller frees. */
char *mx_ws_layer_path(const mx_ws_view *w, size_t k);

#endif
