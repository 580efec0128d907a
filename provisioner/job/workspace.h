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
    /* what may be downloaded into it (host.yaml workspace:; 0: the defaults) */
    long long layer_max_bytes; /* one layer */
    long long max_bytes;       /* every job's layers together */
    int layer_timeout_s;       /* to download one layer */
    const char *root;          /* the run's workspace: every job's layers are below it */
} mx_ws_view;

/* Bytes of every NNN.tar under w->root/<job>/ (what the run's jobs have persisted so far). */
long long mx_ws_total_bytes(const mx_ws_view *w);

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

/* What a layer (written in an upstream job's guest) may hold, checked on the host before any
 * downstream guest sees it. */
#define MX_WS_MAX_ENTRIES 1000000 /* members of one layer */
#define MX_WS_MAX_NAME 4096       /* bytes of a member name or link target (PATH_MAX) */
#define MX_WS_MAX_SYMLINKS 100000 /* symbolic links remembered over an attach's layers */
/* names kept to compare concurrent jobs' layers */
#define MX_WS_MAX_NAME_BYTES (256u * 1024 * 1024)

typedef enum { MX_WS_FILE, MX_WS_DIR, MX_WS_SYMLINK, MX_WS_HARDLINK, MX_WS_OTHER } mx_ws_kind;

/* One member of a layer as the host sees it. */
typedef struct mx_ws_member {
    const char *path; /* normalized: no leading "/" or "./", no "//", "/./" or trailing "/" */
    mx_ws_kind kind;
    const char *link; /* a symlink's target as written; a hard link's member, normalized */
} mx_ws_member;

typedef int (*mx_ws_member_fn)(void *ctx, const mx_ws_member *m, mx_err *err);

/* Calls fn for every member of layer (the archive itself is ".", not reported), reading it as
 * a plain tar with libarchive: headers only, no decompression.  A layer that is not a plain
 * tar, has more than MX_WS_MAX_ENTRIES members, a name longer than MX_WS_MAX_NAME or a ".."
 * component is refused: -1 with err->status MX_JOB_FAILED and the reason (the layer's fault;
 * the caller names the layer).  -1 with MX_INFRA when it cannot be read; fn's -1 is passed on. */
int mx_ws_layer_scan(const char *layer, mx_ws_member_fn fn, void *ctx, mx_err *err);

/* Whether the layers may be attached, in order, into one directory.  Returns 0 with *refusal
 * NULL when they may, or set to why not (caller frees):
 *  - a member would be written through a symbolic link an earlier member made (a later layer
 *    writing d/.bashrc after an earlier one made d -> /home/circleci would write outside the
 *    attach directory: GNU tar follows links it finds on disk), or a hard link points through
 *    or at one;
 *  - CircleCI's rule for concurrent jobs: two upstream jobs neither of which requires the
 *    other must not both have persisted the same file (directories may be shared); the
 *    message names both jobs and the first such path;
 *  - a layer mx_ws_layer_scan refuses, or more than MX_WS_MAX_SYMLINKS symbolic links.
 * -1 with *err when a layer cannot be read. */
int mx_ws_check_layers(const mx_ws_view *w, const mx_ws_layers *l, char **refusal, mx_err *err);

/* Where this job's k-th layer goes (k counts its persist steps that produced a layer, from 0):
 * persist_dir/NNN.tar.  Caller frees. */
char *mx_ws_layer_path(const mx_ws_view *w, size_t k);

#endif
