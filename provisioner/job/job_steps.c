#include "job_steps.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_term.h"
#include "signals.h"
#include "sink.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The transfer connection is made while the guest is up: it gets this long. */
#define XFER_CONNECT_MS 60000
#define XFER_STALL_MS 120000

void mx_job_steps_init(mx_job_steps *js, const mx_job_steps_ctx *ctx)
{
    memset(js, 0, sizeof *js);
    js->c = *ctx;
    js->xfer.sock = -1;
    js->art_left = ctx->hc->steps.artifacts_max_bytes;
    js->tr_left = ctx->hc->steps.test_results_max_bytes;
    mx_junit_init(&js->junit);
}

void mx_job_steps_free(mx_job_steps *js)
{
    if (js->xfer_up) mx_ssh_close(&js->xfer);
    if (js->cache_open) mx_cache_close(&js->cache);
    mx_junit_free(&js->junit);
    memset(js, 0, sizeof *js);
}

int mx_job_steps_handles(const mx_step *st)
{
    switch (st->kind) {
    case MX_JOB_STEP_SAVE_CACHE:
    case MX_JOB_STEP_RESTORE_CACHE:
    case MX_JOB_STEP_ARTIFACTS:
    case MX_JOB_STEP_TEST_RESULTS:
    case MX_JOB_STEP_SSH_KEYS:
        return 1;
    default:
        return 0;
    }
}

int mx_job_steps_exchange(mx_job_steps *js, mx_msg *m, mx_msg *end, mx_err *err)
{
    if (mx_session_send(js->c.se, m, err) < 0) return -1;
    mx_step_output so;
    mx_step_output_init(&so, js->c.secrets);
    int rc = mx_session_follow_step(js->c.se, &so, end, err);
    mx_step_output_end(&so);
    return rc;
}

char *mx_job_steps_clean(const mx_job_steps *js, const char *text)
{
    char *copy = mx_xstrdup(text);
    for (unsigned char *p = (unsigned char *)copy; *p; p++)
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f) *p = '?';
    /* masked, then what is left of terminal controls (C1, bytes that are not UTF-8) goes */
    char *safe = mx_term_safe(js->c.secrets, copy);
    free(copy);
    return safe;
}

void mx_job_steps_say(const mx_job_steps *js, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = NULL;
    if (vasprintf(&text, fmt, ap) < 0) mx_oom();
    va_end(ap);
    char *shown = mx_job_steps_clean(js, text);
    mx_sink_log("%s", shown);
    free(shown);
    free(text);
}

int mx_job_steps_status(const mx_job_steps *js, const mx_msg *end)
{
    int status = end->exit_status;
    if (end->reason == MX_END_TIMEOUT) {
        mx_sink_log("Too long with no output");
        if (status == 0) status = 1;
    } else if (end->reason == MX_END_FAILED) {
        /* the agent's words (a guest file name, say): shown like the step's log */
        mx_autofree char *why = mx_job_steps_clean(js, end->message ? end->message : "?");
        mx_sink_log("mexec-agent could not run the step: %s", why);
        if (status == 0) status = 1;
    }
    return status;
}

mx_ssh *mx_job_steps_xfer(mx_job_steps *js, mx_err *err)
{
    if (js->xfer_up) return &js->xfer;
    if (mx_ssh_connect(&js->xfer, js->c.target, mx_now_ms() + XFER_CONNECT_MS, &mx_stop, err) < 0) {
        mx_wrap(err, "open the transfer connection to the guest");
        return NULL;
    }
    js->xfer_up = 1;
    /* a transfer that stalls this long fails (one that makes progress is never cut) */
    libssh2_session_set_timeout(js->xfer.s, XFER_STALL_MS);
    return &js->xfer;
}

void mx_job_steps_rm_guest(mx_job_steps *js, const char *path)
{
    mx_err err;
    mx_ssh *x = mx_job_steps_xfer(js, &err);
    if (!x) return;
    /* the path is ours ("/tmp/mexec-step-ID-N.tar"): nothing in it needs quoting */
    mx_autofree char *cmd = mx_xasprintf("rm -f '%s'", path);
    LIBSSH2_CHANNEL *ch = mx_ssh_exec(x, cmd, &err);
    if (!ch) return;
    libssh2_channel_send_eof(ch);
    libssh2_channel_wait_closed(ch);
    libssh2_channel_free(ch);
}

char *mx_job_steps_guest_tar(const mx_job_steps *js, size_t i)
{
    return mx_xasprintf("/tmp/mexec-step-%s-%zu.tar", js->c.job_id, i);
}

int mx_job_steps_pack(mx_job_steps *js, size_t i, enum mx_step_kind kind, char *remote,
                      char **paths, size_t npaths, const mx_envlist *env, int *empty, int *is_file,
                      mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    mx_msg m = {.type = MX_MSG_STEP,
                .id = (int)i + 1,
                .kind = kind,
                .name = st->name,
                .workdir = js->c.job->workdir,
                .archive = remote,
                .paths = paths,
                .npaths = npaths,
                .no_output_timeout_s = st->no_output_timeout_s,
                .env = env->v,
                .nenv = env->n};
    mx_msg end;
    if (mx_job_steps_exchange(js, &m, &end, err) < 0) return -1;
    int status = mx_job_steps_status(js, &end);
    *empty = end.nvalues == 1 && strcmp(end.values[0], "empty") == 0;
    if (is_file) *is_file = end.nvalues == 1 && strcmp(end.values[0], "file") == 0;
    mx_msg_clear(&end);
    return status;
}

int mx_job_steps_run(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err)
{
    int s;
    switch (js->c.job->steps[i].kind) {
    case MX_JOB_STEP_RESTORE_CACHE:
        s = mx_job_steps_restore_cache(js, i, env, err);
        break;
    case MX_JOB_STEP_SAVE_CACHE:
        s = mx_job_steps_save_cache(js, i, env, err);
        break;
    case MX_JOB_STEP_SSH_KEYS:
        s = mx_job_steps_ssh_keys(js, i, env, err);
        break;
    default:
        s = mx_job_steps_store(js, i, env, err);
    }
    if (s > 0) mx_sink_step_ended(&(mx_sink_step_end){.how = MX_SINK_END_EXIT, .status = s});
    return s;
}
