/* Test timings between runs: what store_test_results parsed is kept per project and job on
 * this host (STATE_PARENT/test-timings/PROJECT/JOB/NODE.json, one file per parallel node), and
 * the next run of the job finds all of it in the guest for `circleci tests split
 * --split-by=timings` (MEXEC_TEST_TIMINGS names the file). */
#include "job_steps.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_sha256.h"
#include "sink.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A timings file larger than this is not read (one job's cases are capped when written). */
#define MAX_TIMINGS_FILE (64L * 1024 * 1024)

/* A job name as one path component. */
static char *component(const char *s)
{
    char *c = mx_xstrdup(*s ? s : "_");
    for (char *p = c; *p; p++)
        if (*p == '/') *p = '_';
    if (c[0] == '.') c[0] = '_';
    return c;
}

char *mx_job_steps_timings_dir(const mx_job_steps *js)
{
    char d[MX_SHA256_DIGEST_LEN];
    mx_err err;
    if (mx_sha256_digest(js->c.project, strlen(js->c.project), d, &err) < 0) return NULL;
    mx_autofree char *parent = mx_dirname(js->c.hc->state_dir);
    mx_autofree char *job = component(js->c.job->name);
    return mx_xasprintf("%s/test-timings/%s/%s", parent, d + strlen("sha256:"), job);
}

/* Every node's stored cases, as one JSON array (bounded); NULL when there are none. */
static json_t *load_all(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return NULL;
    json_t *all = json_array();
    if (!all) mx_oom();
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        mx_autofree char *p = mx_path_join(dir, e->d_name);
        struct stat st;
        if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > MAX_TIMINGS_FILE) continue;
        json_error_t jerr;
        json_t *a = json_load_file(p, 0, &jerr);
        if (json_is_array(a) && json_array_size(all) + json_array_size(a) <= MX_JUNIT_MAX_CASES)
            json_array_extend(all, a);
        json_decref(a);
    }
    closedir(d);
    if (json_array_size(all) == 0) {
        json_decref(all);
        return NULL;
    }
    return all;
}

int mx_job_steps_prepare(mx_job_steps *js, mx_ssh *ssh, mx_envlist *env, mx_err *err)
{
    mx_autofree char *dir = mx_job_steps_timings_dir(js);
    json_t *all = dir ? load_all(dir) : NULL;
    if (!all) return 0;
    mx_autofree char *local = mx_path_join(js->c.local_dir, "timings.json");
    mx_autofree char *remote = mx_xasprintf("/tmp/mexec-timings-%s.json", js->c.job_id);
    char *text = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    if (!text) mx_oom();
    int rc = mx_write_file(local, text, strlen(text), 0600, err);
    free(text);
    if (rc == 0) rc = mx_ssh_upload(ssh, local, remote, 0644, err);
    unlink(local);
    if (rc < 0) return mx_wrap(err, "upload the test timings");
    mx_envlist_set(env, "MEXEC_TEST_TIMINGS", remote);
    return 0;
}

/* Replaces this node's timings; drops those of nodes a smaller parallelism no longer has. */
static void keep_timings(mx_job_steps *js)
{
    mx_autofree char *dir = mx_job_steps_timings_dir(js);
    mx_err err;
    if (!dir || mx_mkdir_p(dir, 0700, &err) < 0) return;
    int node = js->c.node_total > 0 ? js->c.node_index : 0;
    int total = js->c.node_total > 0 ? js->c.node_total : 1;
    mx_autofree char *text = mx_junit_timings_json(&js->junit);
    mx_autofree char *file = mx_xasprintf("%s/%d.json", dir, node);
    mx_autofree char *tmp = mx_xasprintf("%s/.%d.json.tmp", dir, node);
    if (mx_write_file(tmp, text, strlen(text), 0600, &err) < 0 ||
        (rename(tmp, file) < 0 && mx_fail_errno(&err, MX_INFRA, "rename %s", tmp) < 0)) {
        mx_sink_note("warning: test timings not kept: %s", err.msg);
        unlink(tmp);
        return;
    }
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        const char *end;
        long long n;
        if (mx_parse_int_prefix(e->d_name, 0, LLONG_MAX, &n, &end) == 0 &&
            strcmp(end, ".json") == 0 && n >= total) {
            mx_autofree char *p = mx_path_join(dir, e->d_name);
            unlink(p);
        }
    }
    if (d) closedir(d);
}

void mx_job_steps_finish(mx_job_steps *js)
{
    if (js->results == 0) return;
    mx_buf s;
    mx_buf_init(&s);
    mx_junit_summary(&js->junit, 5, &s);
    mx_buf_adds(&s, "");
    mx_autofree char *shown = mx_job_steps_clean(js, s.data);
    /* with mexec's other notes about the job, one note a line */
    for (char *line = shown; *line;) {
        size_t n = strcspn(line, "\n");
        mx_sink_note("job %s: test results: %.*s", js->c.job->name, (int)n, line);
        line += n + (line[n] == '\n');
    }
    mx_buf_free(&s);
    if (js->junit.n) keep_timings(js);
}
