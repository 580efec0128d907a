/* store_artifacts and store_test_results on the host: the path packed in the guest, downloaded
 * over the transfer connection within this job's allowance, unpacked (tar_extract.c: files and
 * directories only) into this run's directory; test results parsed as JUnit XML. */
#include "job_steps.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "tar_extract.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files one step may store at most. */
#define MAX_FILES 100000

/* Where the path's contents go under the job's directory when no destination says: the path
 * as written without "~/" or a leading "/" (CircleCI's default prefix). */
static char *default_prefix(const char *path)
{
    const char *p = path;
    if (p[0] == '~') p += p[1] == '/' ? 2 : 1;
    while (*p == '/')
        p++;
    return mx_xstrdup(*p ? p : "root");
}

/* Packs path in the guest and downloads it to *local (caller removes and frees); 0, 1 when the
 * step failed (said so), 2 when there was nothing, -1 on a failure of the session or host. */
static int fetch(mx_job_steps *js, size_t i, const mx_envlist *env, long long max, char **local,
                 int *is_file, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    mx_autofree char *remote = mx_job_steps_guest_tar(js, i);
    char *paths[] = {st->path};
    int empty;
    int status =
        mx_job_steps_pack(js, i, MX_STEP_COLLECT, remote, paths, 1, env, &empty, is_file, err);
    if (status) return status;
    if (empty) return 2;
    mx_ssh *x = mx_job_steps_xfer(js, err);
    if (!x) return -1;
    *local = mx_xasprintf("%s/step-%zu.tar", js->c.local_dir, i);
    mx_err derr;
    int rc = mx_ssh_download_max(x, remote, *local, max, &derr);
    mx_job_steps_rm_guest(js, remote);
    if (rc < 0) {
        if (derr.status != MX_JOB_FAILED) return *err = derr, -1;
        mx_job_steps_say(js,
                         "Not stored: %s (artifacts_max_bytes / test_results_max_bytes in host "
                         "settings)",
                         derr.msg);
        return 1;
    }
    return 0;
}

static void list(const mx_job_steps *js, const mx_tar_result *r, const char *dir)
{
    mx_job_steps_say(js, "Stored %zu file%s (%lld bytes) in %s", r->nfiles,
                     r->nfiles == 1 ? "" : "s", r->bytes, dir);
    if (r->skipped)
        mx_job_steps_say(
            js,
            "Skipped %zu entr%s: only files and directories are stored (not symlinks, hard "
            "links or devices)",
            r->skipped, r->skipped == 1 ? "y" : "ies");
}

/* A single file stored under a destination takes the destination's name, as on CircleCI. */
static void rename_single(const char *dir, mx_tar_result *r, const char *dest)
{
    if (r->nfiles != 1) return;
    mx_autofree char *from = mx_path_join(dir, r->files[0].path);
    mx_autofree char *to = mx_path_join(dir, dest);
    mx_autofree char *tmp = mx_xasprintf("%s.mexec-tmp", to);
    /* dest was the directory it was unpacked in: move the file out, then over it */
    if (rename(from, tmp) == 0 && rmdir(to) == 0 && rename(tmp, to) == 0) {
        free(r->files[0].path);
        r->files[0].path = mx_xstrdup(dest);
    }
}

static int store_files(mx_job_steps *js, size_t i, const char *local, const char *sub, int is_file,
                       long long *left, mx_tar_result *r, char **dir, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    *dir = mx_path_join(js->c.out_dir, sub);
    mx_autofree char *prefix =
        st->destination ? mx_xstrdup(st->destination) : default_prefix(st->path);
    mx_tar_limits lim = {.max_bytes = *left, .max_files = MAX_FILES};
    mx_err terr;
    int rc = mx_tar_extract(local, *dir, prefix, &lim, r, &terr);
    *left -= r->bytes;
    if (rc < 0) {
        if (terr.status != MX_JOB_FAILED) return *err = terr, -1;
        mx_job_steps_say(js, "Not all stored: %s", terr.msg);
        return 1;
    }
    if (is_file && st->destination) rename_single(*dir, r, st->destination);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void parse_results(mx_job_steps *js, const char *dir, const mx_tar_result *r)
{
    mx_junit one;
    mx_junit_init(&one);
    for (size_t k = 0; k < r->nfiles; k++) {
        if (!ends_with(r->files[k].path, ".xml")) continue;
        mx_autofree char *p = mx_path_join(dir, r->files[k].path);
        mx_buf b;
        mx_buf_init(&b);
        if (r->files[k].size <= MX_JUNIT_MAX_FILE && mx_read_file(p, &b, NULL) == 0) {
            mx_junit_add(&one, r->files[k].path, b.data ? b.data : "", b.len);
            mx_junit_add(&js->junit, r->files[k].path, b.data ? b.data : "", b.len);
        } else {
            /* refused for its size before a byte is read: the summary names it */
            mx_junit_add(&one, r->files[k].path, "", MX_JUNIT_MAX_FILE + 1);
        }
        mx_buf_free(&b);
    }
    mx_buf s;
    mx_buf_init(&s);
    mx_junit_summary(&one, 0, &s);
    mx_buf_adds(&s, "");
    if (s.len > 1 && s.data[s.len - 2] == '\n') s.data[s.len - 2] = '\0';
    mx_job_steps_say(js, "%s", s.data);
    mx_buf_free(&s);
    mx_junit_free(&one);
}

int mx_job_steps_store(mx_job_steps *js, size_t i, const mx_envlist *env, mx_err *err)
{
    const mx_step *st = &js->c.job->steps[i];
    int results = st->kind == MX_JOB_STEP_TEST_RESULTS;
    if (!js->c.out_dir) {
        mx_job_steps_say(
            js, "skipped: this run keeps no %s (mexec run keeps them; this command does not)",
            results ? "test results" : "artifacts");
        return 0;
    }
    long long *left = results ? &js->tr_left : &js->art_left;
    char *local = NULL;
    int is_file = 0;
    int rc = fetch(js, i, env, *left, &local, &is_file, err);
    if (rc == 2) {
        mx_job_steps_say(js, "No %s found at %s", results ? "test results" : "artifacts", st->path);
        return 0;
    }
    if (rc == 0) {
        mx_tar_result r;
        char *dir = NULL;
        rc = store_files(js, i, local, results ? "test-results" : "artifacts", is_file, left, &r,
                         &dir, err);
        if (rc >= 0) list(js, &r, dir);
        if (rc >= 0 && results) {
            parse_results(js, dir, &r);
            js->results++;
        }
        mx_tar_result_free(&r);
        free(dir);
    }
    if (local) unlink(local);
    free(local);
    return rc;
}
