/* One job's steps that keep things on the host: save_cache, restore_cache, store_artifacts,
 * store_test_results, add_ssh_keys (docs/job-steps.md).
 *
 * Each is a short exchange with the agent around a file transfer: the agent computes checksums
 * for a cache key, the host renders the key and looks in its cache store; a cache is packed in
 * the guest and downloaded, or uploaded and unpacked; artifacts and test results are packed
 * and downloaded into this run's directory.  The agent's channel is driven non-blocking, so
 * transfers in the middle of a job use a second SSH connection of their own (opened when the
 * first such step needs it, with the same pinned host key and client key). */
#ifndef MX_JOB_STEPS_H
#define MX_JOB_STEPS_H

#include "cache_store.h"
#include "cfg_job.h"
#include "host_config.h"
#include "junit.h"
#include "mx_mask.h"
#include "session.h"
#include "ssh.h"

typedef struct mx_job_steps_ctx {
    const mx_host_config *hc;
    const mx_job *job;
    mx_secrets *secrets;         /* SSH keys join it */
    mx_session *se;              /* the agent's session */
    const mx_ssh_target *target; /* for the transfer connection */
    const char *job_id;          /* the VM's: names guest temporaries */
    const char *local_dir;       /* the VM's job directory: downloads in flight */
    const char *project;         /* mx_cache_project(): caches and timings are per project */
    const char *branch, *revision;
    const char *out_dir; /* RUN/JOB/NODE for artifacts and test results; NULL: none kept */
    int node_index, node_total;
} mx_job_steps_ctx;

typedef struct mx_job_steps {
    mx_job_steps_ctx c;
    mx_ssh xfer;
    int xfer_up;
    mx_cache cache;
    int cache_open;
    long long art_left, tr_left; /* what this job may still store */
    mx_junit junit;
    int results; /* store_test_results steps that stored something */
} mx_job_steps;

void mx_job_steps_init(mx_job_steps *js, const mx_job_steps_ctx *ctx);
void mx_job_steps_free(mx_job_steps *js);

/* Whether step st is one of these. */
int mx_job_steps_handles(const mx_step *st);

/* Before the agent starts (over the job's own connection): uploads the test timings that
 * earlier runs of this job stored, for `circleci tests split --split-by=timings`, and names
 * them in env (MEXEC_TEST_TIMINGS). */
int mx_job_steps_prepare(mx_job_steps *js, mx_ssh *ssh, mx_envlist *env, mx_err *err);

/* Runs step i (env: the step's environment; workdir: the job's, as the agent expands it).
 * Returns its exit status, reporting why it failed to the sink; -1 with *err when the session or
 * the host failed. */
int mx_job_steps_run(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err);

/* After the last step: the test results' summary, and their timings kept for later runs. */
void mx_job_steps_finish(mx_job_steps *js);

/* ---- the parts (job_steps_*.c), for mx_job_steps_run ---- */

/* Sends m and follows it to its step-end (*end, caller clears), output through the masker:
 * 0, or -1 with *err (session). */
int mx_job_steps_exchange(mx_job_steps *js, mx_msg *m, mx_msg *end, mx_err *err);
/* A line of the step's log (sink.h): masked like the step's output, and
 * with control characters from the guest (file names, keys) shown as '?'. */
void mx_job_steps_say(const mx_job_steps *js, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* text as mx_job_steps_say shows it (caller frees). */
char *mx_job_steps_clean(const mx_job_steps *js, const char *text);
/* The exit status a step-end means, saying why a failure happened (as run steps do; the
 * agent's message shown as mx_job_steps_say shows text). */
int mx_job_steps_status(const mx_job_steps *js, const mx_msg *end);
/* The transfer connection, opened on first use. */
mx_ssh *mx_job_steps_xfer(mx_job_steps *js, mx_err *err);
/* Removes a guest temporary (best effort). */
void mx_job_steps_rm_guest(mx_job_steps *js, const char *path);
/* "/tmp/mexec-step-JOBID-I.tar"; caller frees. */
char *mx_job_steps_guest_tar(const mx_job_steps *js, size_t i);
/* Has the agent pack paths (relative to the job's workdir) into the guest archive remote for
 * step i, kind MX_STEP_PACK or MX_STEP_COLLECT: the step's exit status (-1 with *err when the
 * session failed); *empty when none of the paths existed, *is_file (unless NULL) when the one
 * path is a file. */
int mx_job_steps_pack(mx_job_steps *js, size_t i, enum mx_step_kind kind, char *remote,
                      char **paths, size_t npaths, const mx_envlist *env, int *empty, int *is_file,
                      mx_err *err);

int mx_job_steps_restore_cache(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err);
int mx_job_steps_save_cache(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err);
int mx_job_steps_store(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err);
int mx_job_steps_ssh_keys(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err);

/* The host key add_ssh_keys' name (or fingerprint, colons and case aside) stands for, or NULL;
 * and the file name it gets in the guest's ~/.ssh (caller frees). */
const mx_host_key *mx_job_steps_find_key(const mx_host_steps *hs, const char *name);
char *mx_job_steps_key_file(const char *name);

/* The timings directory of this job on this host (STATE_PARENT/test-timings/PROJECT/JOB);
 * caller frees. */
char *mx_job_steps_timings_dir(const mx_job_steps *js);

#endif
