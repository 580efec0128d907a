/* The host side of one workflow run's workspace: a private directory with a layers directory
 * per job, and which jobs are upstream of which (the order layers apply in, and which layers
 * may conflict).  Removed when the run ends; `mexec gc` removes one whose run was killed. */
#ifndef MX_WORKFLOW_WS_H
#define MX_WORKFLOW_WS_H

#include "cfg_process.h"
#include "host_config.h"
#include "mx_err.h"
#include "workspace.h"

typedef struct mx_wf_ws {
    char *dir;   /* STATE_PARENT/workspaces/ws-XXXXXX, mode 0700 */
    int lock_fd; /* flock held for the run's life: how gc tells a live run from a dead one */
    size_t njobs;
    char **layers; /* per plan job: dir/NNN-JOB */
    /* njobs x njobs: upstream[i * njobs + j] != 0 when job j requires job i, directly or not */
    unsigned char *upstream;
    long long layer_max_bytes, max_bytes; /* host.yaml workspace: */
    int layer_timeout_s;
} mx_wf_ws;

/* The directory under which runs keep their workspaces (beside the job state directory). */
char *mx_wf_ws_root(const mx_host_config *hc);

int mx_wf_ws_create(mx_wf_ws *w, const mx_host_config *hc, const mx_plan *plan, mx_err *err);
/* Removes the directory with every layer.  Safe twice and on a failed create. */
void mx_wf_ws_remove(mx_wf_ws *w);

/* What job j sees: its own layers directory (created here) and its upstream jobs' layers. */
typedef struct mx_wf_view {
    mx_ws_view v;
    mx_ws_upstream *up;
    unsigned char *ordered;
} mx_wf_view;

int mx_wf_ws_view(const mx_wf_ws *w, const mx_plan *plan, size_t j, mx_wf_view *out, mx_err *err);
void mx_wf_view_free(mx_wf_view *v);

#endif
