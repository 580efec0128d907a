/* restore_cache and save_cache on the host: keys rendered with the guest's checksums, the
 * project's cache store consulted, the tar moved over the transfer connection. */
#include "cache_key.h"
#include "job_steps.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "signals.h"
#include "sink.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* What the keys need from the guest, asked once per step. */
typedef struct facts {
    char **files;
    size_t nfiles;
    char **sums, **errs;
    char *arch;
    int want_arch;
} facts;

static void facts_free(facts *f)
{
    for (size_t i = 0; i < f->nfiles; i++) {
        free(f->files[i]);
        free(f->sums[i]);
        free(f->errs[i]);
    }
    free(f->files);
    free(f->sums);
    free(f->errs);
    free(f->arch);
    memset(f, 0, sizeof *f);
}

/* 0 with the facts, 1 when a template is wrong (said so), -1 on a session failure. */
static int gather(mx_job_steps *js, size_t i, char *const *tmpls, size_t n, const mx_envlist *env,
                  facts *f, mx_err *err)
{
    memset(f, 0, sizeof *f);
    for (size_t k = 0; k < n; k++) {
        mx_err terr;
        if (mx_cache_key_needs(tmpls[k], &f->files, &f->nfiles, &f->want_arch, &terr) < 0) {
            mx_job_steps_say(js, "%s", terr.msg);
            return 1;
        }
    }
    f->sums = mx_xcalloc(f->nfiles + 1, sizeof *f->sums);
    f->errs = mx_xcalloc(f->nfiles + 1, sizeof *f->errs);
    if (f->nfiles == 0 && !f->want_arch) return 0;
    const mx_step *st = &js->c.job->steps[i];
    mx_msg m = {.type = MX_MSG_STEP,
                .id = (int)i + 1,
                .kind = MX_STEP_CHECKSUM,
                .name = st->name,
                .workdir = js->c.job->workdir,
                .paths = f->files,
                .npaths = f->nfiles,
                .env = env->v,
                .nenv = env->n};
    mx_msg end;
    if (mx_job_steps_exchange(js, &m, &end, err) < 0) return -1;
    for (size_t k = 0; k < f->nfiles && k < end.nvalues; k++) {
        const char *v = end.values[k];
        if (strncmp(v, "sha256:", 7) == 0)
            f->sums[k] = mx_xstrdup(v + 7);
        else
            f->errs[k] = mx_xstrdup(strncmp(v, "error:", 6) == 0 ? v + 6 : v);
    }
    if (end.arch) f->arch = mx_xstrdup(end.arch);
    int status = mx_job_steps_status(js, &end);
    mx_msg_clear(&end);
    return status ? 1 : 0;
}

static int render(const mx_job_steps *js, const char *tmpl, const mx_envlist *env, const facts *f,
                  char **out, mx_err *err)
{
    mx_key_facts kf = {.branch = js->c.branch,
                       .revision = js->c.revision,
                       .env = env,
                       .epoch = (long long)time(NULL),
                       .arch = f->arch,
                       .files = (const char *const *)f->files,
                       .sums = (const char *const *)f->sums,
                       .sum_errors = (const char *const *)f->errs,
                       .nfiles = f->nfiles};
    return mx_cache_key_render(tmpl, &kf, out, err);
}

static int open_store(mx_job_steps *js, mx_err *err)
{
    if (js->cache_open) return 0;
    mx_autofree char *root = mx_host_steps_cache_dir(&js->c.hc->steps);
    if (mx_cache_open(&js->cache, root, js->c.project, js->c.hc->steps.cache_max_bytes, err) < 0)
        return -1;
    js->cache_open = 1;
    return 0;
}

int mx_job_steps_restore_cache(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    facts f;
    int g = gather(js, i, st->keys, st->nkeys, env, &f, err);
    if (g != 0) {
        facts_free(&f);
        return g;
    }
    /* a key that cannot be rendered is skipped, as CircleCI goes on to the next */
    char **keys = mx_xcalloc(st->nkeys, sizeof *keys);
    size_t n = 0;
    for (size_t k = 0; k < st->nkeys; k++) {
        mx_err kerr;
        if (render(js, st->keys[k], env, &f, &keys[n], &kerr) == 0)
            n++;
        else
            mx_job_steps_say(js, "Error computing cache key: %s", kerr.msg);
    }
    facts_free(&f);
    int rc = 0;
    mx_cache_hit hit = {0};
    int found = n ? (open_store(js, err) < 0
                         ? -1
                         : mx_cache_lookup(&js->cache, (const char *const *)keys, n, &hit, err))
                  : 0;
    if (found < 0) {
        rc = -1;
    } else if (found == 0) {
        for (size_t k = 0; k < n; k++)
            mx_job_steps_say(js, "No cache is found for key: %s", keys[k]);
        if (n == 0) mx_job_steps_say(js, "No cache key could be computed");
    } else {
        mx_job_steps_say(js, "Found a cache at key %s\nSize: %lld bytes", hit.key, hit.size);
        mx_autofree char *remote = mx_job_steps_guest_tar(js, i);
        mx_ssh *x = mx_job_steps_xfer(js, err);
        if (!x || mx_ssh_upload(x, hit.path, remote, 0600, err) < 0) {
            rc = -1;
        } else {
            mx_msg m = {.type = MX_MSG_STEP,
                        .id = (int)i + 1,
                        .kind = MX_STEP_UNPACK,
                        .name = st->name,
                        .workdir = "/",
                        .archive = remote,
                        .env = env->v,
                        .nenv = env->n};
            mx_msg end;
            rc = mx_job_steps_exchange(js, &m, &end, err);
            if (rc == 0) {
                rc = mx_job_steps_status(js, &end);
                if (rc == 0) mx_job_steps_say(js, "Restored the cache of key %s", hit.key);
                mx_msg_clear(&end);
            }
        }
        mx_cache_hit_free(&hit);
    }
    for (size_t k = 0; k < n; k++)
        free(keys[k]);
    free(keys);
    return rc;
}

/* Downloads the packed cache and commits it under key. */
static int keep(mx_job_steps *js, const char *remote, const char *key, mx_err *err)
{
    mx_ssh *x = mx_job_steps_xfer(js, err);
    if (!x) return -1;
    mx_autofree char *incoming = mx_cache_incoming(&js->cache);
    mx_err derr;
    int rc = mx_ssh_download_max(x, remote, incoming, js->c.hc->steps.cache_max_bytes, &derr);
    mx_job_steps_rm_guest(js, remote);
    if (rc < 0) {
        unlink(incoming);
        if (derr.status != MX_JOB_FAILED) return *err = derr, -1;
        mx_job_steps_say(js, "The cache was not kept: %s (cache_max_bytes in host settings)",
                         derr.msg);
        return 1;
    }
    int existed = 0;
    if (mx_cache_commit(&js->cache, key, incoming, &existed, &derr) < 0) {
        if (derr.status != MX_JOB_FAILED) return *err = derr, -1;
        mx_job_steps_say(js, "The cache was not kept: %s", derr.msg);
        return 1;
    }
    if (existed)
        mx_job_steps_say(js, "Skipping cache generation, cache already exists for key: %s", key);
    else
        mx_job_steps_say(js, "Stored the cache of key %s", key);
    return 0;
}

int mx_job_steps_save_cache(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    facts f;
    char *tmpl = st->key;
    int g = gather(js, i, &tmpl, 1, env, &f, err);
    mx_autofree char *key = NULL;
    mx_err kerr;
    if (g == 0 && render(js, st->key, env, &f, &key, &kerr) < 0) {
        mx_job_steps_say(js, "Error computing cache key: %s", kerr.msg);
        g = 1;
    }
    facts_free(&f);
    if (g != 0) return g;
    if (open_store(js, err) < 0) return -1;
    /* as on CircleCI, a key once saved stays as it is */
    if (mx_cache_has(&js->cache, key)) {
        mx_job_steps_say(js, "Skipping cache generation, cache already exists for key: %s", key);
        return 0;
    }
    mx_job_steps_say(js, "Creating cache archive for key %s:", key);
    mx_autofree char *remote = mx_job_steps_guest_tar(js, i);
    int empty;
    int status = mx_job_steps_pack(js, i, MX_STEP_PACK, remote, st->paths, st->npaths, env, &empty,
                                   NULL, err);
    if (status != 0) return status;
    if (empty) {
        mx_job_steps_say(js, "Warning: none of the paths exist; no cache was saved");
        return 0;
    }
    return keep(js, remote, key, err);
}
