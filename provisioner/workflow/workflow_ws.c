#include "workflow_ws.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *mx_wf_ws_root(const mx_host_config *hc)
{
    mx_autofree char *parent = mx_dirname(hc->state_dir);
    return mx_path_join(parent, "workspaces");
}

/* The plan lists every job after all it requires, so one pass closes the relation. */
static void close_upstream(mx_wf_ws *w, const mx_plan *plan)
{
    size_t n = plan->njobs;
    for (size_t j = 0; j < n; j++) {
        for (size_t r = 0; r < plan->jobs[j].nrequires; r++) {
            int d = mx_plan_find(plan, plan->jobs[j].requires[r].name);
            if (d < 0) continue;
            w->upstream[(size_t)d * n + j] = 1;
            for (size_t k = 0; k < n; k++)
                if (w->upstream[k * n + (size_t)d]) w->upstream[k * n + j] = 1;
        }
    }
}

/* A job name as the tail of a file name (after "NNN-", so "." and ".." cannot result). */
static char *safe_name(const char *s)
{
    char *out = mx_xstrdup(s);
    for (char *p = out; *p; p++)
        if (*p == '/') *p = '_';
    return out;
}

int mx_wf_ws_create(mx_wf_ws *w, const mx_host_config *hc, const mx_plan *plan, mx_err *err)
{
    memset(w, 0, sizeof *w);
    w->lock_fd = -1;
    mx_autofree char *root = mx_wf_ws_root(hc);
    if (mx_mkdir_p(root, 0700, err) < 0) return mx_wrap(err, "workspace");
    char *tmpl = mx_path_join(root, "ws-XXXXXX");
    if (!mkdtemp(tmpl)) {
        mx_fail_errno(err, MX_INFRA, "create a workspace in %s", root);
        free(tmpl);
        return -1;
    }
    w->dir = tmpl;
    mx_autofree char *lock = mx_path_join(w->dir, "lock");
    w->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (w->lock_fd < 0 || flock(w->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        mx_fail_errno(err, MX_INFRA, "lock %s", lock);
        mx_wf_ws_remove(w);
        return -1;
    }
    w->layer_max_bytes = (long long)hc->ws_layer_max_mib << 20;
    w->max_bytes = (long long)hc->ws_max_mib << 20;
    w->layer_timeout_s = hc->ws_layer_timeout_s;
    w->njobs = plan->njobs;
    w->layers = mx_xcalloc(w->njobs ? w->njobs : 1, sizeof *w->layers);
    w->upstream = mx_xcalloc(w->njobs ? w->njobs * w->njobs : 1, 1);
    for (size_t i = 0; i < w->njobs; i++) {
        mx_autofree char *name = safe_name(plan->jobs[i].name);
        mx_autofree char *leaf = mx_xasprintf("%03zu-%s", i, name);
        w->layers[i] = mx_path_join(w->dir, leaf);
    }
    close_upstream(w, plan);
    return 0;
}

void mx_wf_ws_remove(mx_wf_ws *w)
{
    if (w->dir) {
        mx_err err;
        if (mx_rm_rf(w->dir, &err) < 0) mx_sink_note("%s", err.msg);
    }
    if (w->lock_fd >= 0) close(w->lock_fd);
    for (size_t i = 0; w->layers && i < w->njobs; i++)
        free(w->layers[i]);
    free(w->layers);
    free(w->upstream);
    free(w->dir);
    memset(w, 0, sizeof *w);
    w->lock_fd = -1;
}

int mx_wf_ws_view(const mx_wf_ws *w, const mx_plan *plan, size_t j, mx_wf_view *out, mx_err *err)
{
    memset(out, 0, sizeof *out);
    if (mkdir(w->layers[j], 0700) < 0 && errno != EEXIST)
        return mx_fail_errno(err, MX_INFRA, "create %s", w->layers[j]);
    size_t n = w->njobs, m = 0;
    size_t *idx = mx_xcalloc(n ? n : 1, sizeof *idx);
    for (size_t i = 0; i < n; i++)
        if (w->upstream[i * n + j]) idx[m++] = i;
    out->up = mx_xcalloc(m ? m : 1, sizeof *out->up);
    out->ordered = mx_xcalloc(m ? m * m : 1, 1);
    for (size_t a = 0; a < m; a++) {
        out->up[a] =
            (mx_ws_upstream){.job = plan->jobs[idx[a]].name, .layers_dir = w->layers[idx[a]]};
        for (size_t b = 0; b < m; b++)
            out->ordered[a * m + b] = w->upstream[idx[a] * n + idx[b]];
    }
    free(idx);
    out->v = (mx_ws_view){.persist_dir = w->layers[j],
                          .upstream = out->up,
                          .nupstream = m,
                          .ordered = out->ordered,
                          .layer_max_bytes = w->layer_max_bytes,
                          .max_bytes = w->max_bytes,
                          .layer_timeout_s = w->layer_timeout_s,
                          .root = w->dir};
    return 0;
}

void mx_wf_view_free(mx_wf_view *v)
{
    free(v->up);
    free(v->ordered);
    memset(v, 0, sizeof *v);
}
