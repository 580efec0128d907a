/* One job's workspace steps, host side: what attach steps need in the guest before the agent
 * starts, where persist steps leave their layers, and bringing those layers home at the end.
 *
 * Files move only while the agent's channel is closed: the session drives it non-blocking and
 * libssh2 cannot run a blocking SCP transfer beside it.  So attach layers are uploaded before
 * the agent starts and persisted layers downloaded after it ended. */
#ifndef MX_JOB_WORKSPACE_H
#define MX_JOB_WORKSPACE_H

#include "cfg_job.h"
#include "mx_proto.h"
#include "session.h"
#include "ssh.h"
#include "workspace.h"

typedef struct mx_job_ws {
    const mx_ws_view *view; /* NULL: not in a workflow; workspace steps are skipped */
    size_t nsteps;
    char *conflict;           /* why every attach step fails, or NULL */
    char *note;               /* the layers an attach step unpacks, for the log */
    char ***layers;           /* per attach step: the layers' paths in the guest, in order */
    size_t nlayers;           /* the same number for every attach step */
    char **persist_guest;     /* per persist step: where the agent writes its layer */
    unsigned char *persisted; /* per step: a persist step that succeeded */
    /* the first layer number this job writes: a parallel job's nodes share its layers
     * directory, so node I numbers from I * MX_WS_NODE_LAYERS (job_nodes.h) */
    size_t layer_base;
} mx_job_ws;

#define MX_WS_NODE_LAYERS 100000

/* Lists the upstream layers and checks them for conflicts (once), uploads them for each attach
 * step, and names each persist step's layer in the guest.  Nothing to do when view is NULL. */
int mx_job_ws_prepare(mx_job_ws *w, const mx_job *job, const mx_ws_view *view, const char *job_id,
                      mx_ssh *ssh, mx_err *err);
/* Why workspace step i must fail without reaching the guest, or NULL. */
const char *mx_job_ws_refusal(const mx_job_ws *w, const mx_job *job, size_t i);
/* Prints what step i is about to use (attach: the layers and the jobs they come from). */
void mx_job_ws_announce(const mx_job_ws *w, const mx_job *job, size_t i);
/* Sets the archive fields of step i's message (persist: archive; attach: archives). */
void mx_job_ws_fill(const mx_job_ws *w, size_t i, mx_msg *m);
/* Records how step i ended (0: success). */
void mx_job_ws_step_ended(mx_job_ws *w, const mx_job *job, size_t i, int status);
/* Ends the agent session if some persist step succeeded, then downloads each such step's layer
 * into the view's persist_dir as 000.tar, 001.tar, ... (from layer_base) in step order.  A layer
 * larger than the host allows (one layer, or the run's layers together; checked by the size the
 * guest announces, before any data) or slower than its time ends the downloads: 1, the job
 * failed (said on stderr).  Any other failed download is the job's infrastructure error: -1. */
int mx_job_ws_collect(mx_job_ws *w, const mx_job *job, mx_session *se, mx_ssh *ssh, mx_err *err);
void mx_job_ws_free(mx_job_ws *w);

#endif
