#include "job_workspace.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "host_config.h"
#include "signals.h"
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int any_step(const mx_job *job, enum mx_job_step_kind kind)
{
    for (size_t i = 0; i < job->nsteps; i++)
        if (job->steps[i].kind == kind) return 1;
    return 0;
}

/* "Layer 1 of 2: 000.tar of job build (10240 bytes)" lines, for the log of attach steps. */
static char *describe(const mx_ws_view *v, const mx_ws_layers *l)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    for (size_t k = 0; k < l->n; k++) {
        const char *slash = strrchr(l->v[k].path, '/');
        struct stat st;
        long long size = stat(l->v[k].path, &st) == 0 ? (long long)st.st_size : -1;
        mx_buf_printf(&b, "Layer %zu of %zu: %s of job %s (%lld bytes)\n", k + 1, l->n,
                      slash ? slash + 1 : l->v[k].path, v->upstream[l->v[k].upstream].job, size);
    }
    return mx_buf_steal(&b);
}

/* The upstream layers, uploaded once per attach step: the agent consumes what it unpacks. */
static int upload_layers(mx_job_ws *w, const mx_job *job, const mx_ws_layers *l, const char *job_id,
                         mx_ssh *ssh, mx_err *err)
{
    w->nlayers = l->n;
    for (size_t i = 0; i < job->nsteps; i++) {
        if (job->steps[i].kind != MX_JOB_STEP_ATTACH) continue;
        w->layers[i] = mx_xcalloc(l->n + 1, sizeof *w->layers[i]);
        for (size_t k = 0; k < l->n; k++) {
            w->layers[i][k] = mx_xasprintf("/tmp/mexec-ws-%s-%zu-%03zu.tar", job_id, i, k);
            if (mx_ssh_upload(ssh, l->v[k].path, w->layers[i][k], 0600, err) < 0)
                return mx_wrap(err, "upload workspace layer %s", l->v[k].path);
        }
    }
    return 0;
}

static int prepare_attach(mx_job_ws *w, const mx_job *job, const char *job_id, mx_ssh *ssh,
                          mx_err *err)
{
    mx_ws_layers l;
    if (mx_ws_layers_list(w->view, &l, err) < 0) return mx_wrap(err, "attach_workspace");
    int rc = mx_ws_check_layers(w->view, &l, &w->conflict, err);
    if (rc < 0)
        mx_wrap(err, "attach_workspace");
    else if (!w->conflict) /* a refused step needs no layers */
        rc = upload_layers(w, job, &l, job_id, ssh, err);
    if (rc == 0) w->note = describe(w->view, &l);
    mx_ws_layers_free(&l);
    return rc;
}

int mx_job_ws_prepare(mx_job_ws *w, const mx_job *job, const mx_ws_view *view, const char *job_id,
                      mx_ssh *ssh, mx_err *err)
{
    memset(w, 0, sizeof *w);
    w->view = view;
    if (!view) return 0;
    w->nsteps = job->nsteps;
    w->layers = mx_xcalloc(job->nsteps, sizeof *w->layers);
    w->persist_guest = mx_xcalloc(job->nsteps, sizeof *w->persist_guest);
    w->persisted = mx_xcalloc(job->nsteps, 1);
    for (size_t i = 0; i < job->nsteps; i++)
        if (job->steps[i].kind == MX_JOB_STEP_PERSIST)
            w->persist_guest[i] = mx_xasprintf("/tmp/mexec-persist-%s-%zu.tar", job_id, i);
    if (!any_step(job, MX_JOB_STEP_ATTACH)) return 0;
    return prepare_attach(w, job, job_id, ssh, err);
}

const char *mx_job_ws_refusal(const mx_job_ws *w, const mx_job *job, size_t i)
{
    if (!w->view || job->steps[i].kind != MX_JOB_STEP_ATTACH) return NULL;
    return w->conflict;
}

void mx_job_ws_announce(const mx_job_ws *w, const mx_job *job, size_t i)
{
    if (!w->view || job->steps[i].kind != MX_JOB_STEP_ATTACH || !w->note) return;
    size_t len = strlen(w->note); /* its lines each end in a newline */
    if (len > 0) mx_sink_log("%.*s", (int)(len - 1), w->note);
}

void mx_job_ws_fill(const mx_job_ws *w, size_t i, mx_msg *m)
{
    if (!w->view) return;
    if (m->kind == MX_STEP_PERSIST) m->archive = w->persist_guest[i];
    if (m->kind == MX_STEP_ATTACH) {
        m->archives = w->layers[i];
        m->narchives = w->layers[i] ? w->nlayers : 0;
    }
}

void mx_job_ws_step_ended(mx_job_ws *w, const mx_job *job, size_t i, int status)
{
    if (w->view && job->steps[i].kind == MX_JOB_STEP_PERSIST) w->persisted[i] = status == 0;
}

/* The most the next layer may be, and which limit says so. */
static long long room(const mx_ws_view *v, const char **which)
{
    long long layer =
        v->layer_max_bytes > 0 ? v->layer_max_bytes : (long long)MX_WS_LAYER_MAX_MIB << 20;
    long long all = v->max_bytes > 0 ? v->max_bytes : (long long)MX_WS_MAX_MIB << 20;
    long long left = all - mx_ws_total_bytes(v);
    if (left < 0) left = 0;
    *which = left < layer ? "workspace max_mib (all layers of the run)" : "workspace layer_max_mib";
    return left < layer ? left : layer;
}

int mx_job_ws_collect(mx_job_ws *w, const mx_job *job, mx_session *se, mx_ssh *ssh, mx_err *err)
{
    if (!w->view || mx_stop) return 0;
    size_t k = 0;
    int refused = 0;
    for (size_t i = 0; i < job->nsteps; i++) {
        if (!w->persisted[i]) continue;
        if (k == 0) mx_session_end(se); /* before the first transfer: see the header */
        mx_autofree char *local = mx_ws_layer_path(w->view, w->layer_base + k);
        const char *which;
        long long max = room(w->view, &which);
        int timeout_s =
            w->view->layer_timeout_s > 0 ? w->view->layer_timeout_s : MX_WS_LAYER_TIMEOUT_S;
        if (mx_ssh_download(ssh, w->persist_guest[i], local, max, mx_now_ms() + timeout_s * 1000LL,
                            err) < 0) {
            if (err->status != MX_JOB_FAILED)
                return mx_wrap(err, "step %zu (%s): keep its workspace layer as %s", i + 1,
                               job->steps[i].name, local);
            /* the guest's doing (too large, too slow): the job fails, not the machinery, and
             * no layer of its is kept past this one */
            mx_sink_note("step %zu (%s): workspace layer not kept: %s (host.yaml %s: %lld "
                         "bytes; workspace layer_timeout: %d s)",
                         i + 1, job->steps[i].name, err->msg, which, max, timeout_s);
            refused = 1;
            break;
        }
        struct stat st;
        if (stat(local, &st) < 0)
            return mx_fail_errno(err, MX_INFRA, "step %zu (%s): stat %s", i + 1, job->steps[i].name,
                                 local);
        const char *slash = strrchr(local, '/');
        mx_sink_note("step %zu (%s): persisted layer %s (%lld bytes) to the workspace", i + 1,
                     job->steps[i].name, slash ? slash + 1 : local, (long long)st.st_size);
        k++;
    }
    return refused;
}

void mx_job_ws_free(mx_job_ws *w)
{
    for (size_t i = 0; w->layers && i < w->nsteps; i++) {
        for (size_t k = 0; w->layers[i] && k < w->nlayers; k++)
            free(w->layers[i][k]);
        free(w->layers[i]);
    }
    for (size_t i = 0; w->persist_guest && i < w->nsteps; i++)
        free(w->persist_guest[i]);
    free(w->layers);
    free(w->persist_guest);
    free(w->persisted);
    free(w->conflict);
    free(w->note);
    memset(w, 0, sizeof *w);
}
