/* A job of a config: the config processed (expanded, workflows) then the job model parsed from
 * it.  Apart from cfg_job.c, which parses, so that the job model does not depend on config
 * processing. */
#include "cfg_job_int.h"
#include "cfg_process.h"
#include "cfg_process_int.h"

#include <string.h>

int mx_cfg_job_load_opts(const mx_node *root, const char *name, const mx_cfg_opts *o, mx_job *job,
                         mx_err *err)
{
    memset(job, 0, sizeof *job);
    job->name = mx_xstrdup(name);
    mx_node *j = NULL;
    if (mx_cfg_job_node(root, name, o, &j, err) < 0) return -1;
    int rc = mx_cfg_job_parse(j, name, job, err);
    mx_node_free(j);
    if (rc == 0) rc = mx_job_check_runnable(job, err);
    return rc;
}

int mx_cfg_validate(const mx_node *root, const mx_cfg_opts *o, mx_err *err)
{
    mx_node *doc = NULL;
    if (mx_cfg_process(root, o, &doc, err) < 0) return -1;
    const mx_node *jobs = mx_node_get(doc, "jobs");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < jobs->n; i++) {
        mx_job job;
        memset(&job, 0, sizeof job);
        job.name = mx_xstrdup(jobs->keys[i]->value);
        rc = mx_cfg_job_parse(jobs->vals[i], job.name, &job, err);
        mx_job_free(&job);
    }
    mx_node_free(doc);
    return rc;
}
