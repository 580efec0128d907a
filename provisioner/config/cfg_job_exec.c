/* The job model's executor, type and parallelism: every executor is valid config; what this
 * host can run is decided by mx_job_check_runnable, for `run` alone. */
#include "cfg_process_int.h"
#include "mx_num.h"
#include "cfg_job.h"
#include "cfg_suggest.h"
#include "mx_buf.h"

#include <stdlib.h>
#include <string.h>

static int parse_machine(const mx_node *m, mx_job *out, mx_err *err)
{
    int b;
    if (m->kind == MX_NODE_SCALAR && mx_node_bool(m, &b) == 0) {
        if (!b) return mx_node_fail(err, m, "machine: false leaves the job without an executor");
        return 0; /* machine: true -> the default image */
    }
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m, "machine must be true or a map with image:");
    static const char *const keys[] = {
        "image", "docker_layer_caching", "resource_class", "shell", "enabled", NULL};
    if (mx_cfg_check_keys(m, "machine", keys, err) < 0) return -1;
    if (mx_cfg_get_string(m, "image", &out->image, err) < 0) return -1;
    if (mx_cfg_get_string(m, "resource_class", &out->resource_class, err) < 0) return -1;
    /* the machine's shell is the job's default (the Windows orb's executors set it here) */
    if (mx_cfg_get_string(m, "shell", &out->shell, err) < 0) return -1;
    const mx_node *en = mx_node_get(m, "enabled");
    int enabled = 0;
    if (en && mx_node_bool(en, &enabled) < 0)
        return mx_node_fail(err, en, "machine enabled: must be true or false");
    if (en && !enabled)
        return mx_node_fail(err, en, "machine enabled: false leaves the job without an executor");
    if (!out->image && !enabled) return mx_node_fail(err, m, "machine needs image: NAME:TAG");
    if (out->image && (strncmp(out->image, "windows-", 8) == 0)) out->executor = MX_EXEC_WINDOWS;
    return 0;
}

static int parse_macos(const mx_node *m, mx_job *out, mx_err *err)
{
    if (m->kind != MX_NODE_MAP) return mx_node_fail(err, m, "macos takes a map with xcode:");
    static const char *const keys[] = {"xcode", "resource_class", "shell", "code_signing", NULL};
    if (mx_cfg_check_keys(m, "macos", keys, err) < 0) return -1;
    const mx_node *x = mx_node_get(m, "xcode");
    if (!x || x->kind != MX_NODE_SCALAR || mx_node_is_null(x))
        return mx_node_fail(err, x ? x : m, "macos needs xcode: VERSION");
    if (mx_cfg_get_string(m, "resource_class", &out->resource_class, err) < 0 ||
        mx_cfg_get_string(m, "shell", &out->shell, err) < 0)
        return -1;
    return 0;
}

/* Exactly one executor: machine, docker, macos (or the older windows key). */
int mx_cfg_job_executor(const mx_node *job, mx_job *out, mx_err *err)
{
    static const char *const kinds[] = {"machine", "docker", "macos", "windows"};
    const mx_node *found = NULL;
    size_t which = 0;
    for (size_t i = 0; i < 4; i++) {
        const mx_node *e = mx_node_get(job, kinds[i]);
        if (!e) continue;
        if (found)
            return mx_node_fail(err, e,
                                "job \"%s\" has two executors (%s and %s); give it exactly one",
                                out->name, kinds[which], kinds[i]);
        found = e;
        which = i;
    }
    if (!found)
        return mx_node_fail(err, job,
                            "job \"%s\" has no executor; add machine: image: NAME:TAG (or "
                            "docker:, macos:, executor:)",
                            out->name);
    out->exec_line = found->line;
    out->exec_col = found->col;
    switch (which) {
    case 0:
        out->executor = MX_EXEC_MACHINE;
        return parse_machine(found, out, err);
    case 1:
        out->executor = MX_EXEC_DOCKER;
        return mx_cfg_docker_executor(found, out, err);
    case 2:
        out->executor = MX_EXEC_MACOS;
        return parse_macos(found, out, err);
    default:
        out->executor = MX_EXEC_WINDOWS;
        return 0;
    }
}

int mx_job_check_runnable(const mx_job *job, mx_err *err)
{
    const char *why = NULL;
    switch (job->type) {
    case MX_JOB_NOOP:
        why = "is a no-op job: it has nothing to run (in a workflow it ends at once)";
        break;
    case MX_JOB_APPROVAL:
        why = "is an approval job: it has nothing to run (see mexec run --approve)";
        break;
    case MX_JOB_RELEASE:
        why = "is a release/lock job of CircleCI deploys: it has nothing to run locally";
        break;
    case MX_JOB_BUILD:
        break;
    }
    if (!why) {
        switch (job->executor) {
        case MX_EXEC_DOCKER: /* its containers run in a VM of the host's choice */
            break;
        case MX_EXEC_MACOS:
            why = "uses the macos executor: macOS jobs need Apple hardware, and mexec runs Linux "
                  "machine jobs in VMs (use machine: image: NAME:TAG)";
            break;
        case MX_EXEC_WINDOWS:
            why = "runs on Windows: mexec runs Linux machine jobs in VMs (use machine: image: "
                  "NAME:TAG)";
            break;
        case MX_EXEC_MACHINE:
            break;
        }
    }
    if (!why && job->resource_class && strncmp(job->resource_class, "windows.", 8) == 0)
        why = "runs on Windows (resource_class windows.*): mexec runs Linux machine jobs in VMs";
    if (!why) return 0;
    int exec = job->type == MX_JOB_BUILD && job->exec_line > 0;
    return mx_fail(err, MX_USAGE, "%s:%d:%d: job \"%s\" %s", job->file,
                   exec ? job->exec_line : job->line, exec ? job->exec_col : job->col, job->name,
                   why);
}

int mx_cfg_job_type(const mx_node *j, mx_job *job, mx_err *err)
{
    const mx_node *t = mx_node_get(j, "type");
    if (!t) return 0;
    static const char *const names[] = {"build", "no-op", "approval", "release", "lock", "unlock"};
    static const enum mx_job_type types[] = {MX_JOB_BUILD,   MX_JOB_NOOP,    MX_JOB_APPROVAL,
                                             MX_JOB_RELEASE, MX_JOB_RELEASE, MX_JOB_RELEASE};
    for (size_t i = 0; i < 6 && t->kind == MX_NODE_SCALAR; i++)
        if (strcmp(t->value, names[i]) == 0) return job->type = types[i], 0;
    mx_buf m;
    mx_buf_init(&m);
    mx_buf_printf(&m, "unknown job type \"%s\"", t->kind == MX_NODE_SCALAR ? t->value : "?");
    if (t->kind == MX_NODE_SCALAR) mx_cfg_suggest_add(&m, t->value, names, 6);
    mx_buf_adds(&m, " (types: build, no-op, approval, release, lock, unlock)");
    mx_node_fail(err, t, "%s", m.data);
    mx_buf_free(&m);
    return -1;
}

int mx_cfg_job_parallelism(const mx_node *j, mx_job *job, mx_err *err)
{
    job->parallelism = 1;
    const mx_node *p = mx_node_get(j, "parallelism");
    if (!p) return 0;
    long long n;
    if (p->kind != MX_NODE_SCALAR || mx_parse_int(p->value, 1, 1000, &n) < 0)
        return mx_node_fail(err, p, "parallelism must be a whole number from 1 to 1000");
    job->parallelism = (int)n;
    return 0;
}
