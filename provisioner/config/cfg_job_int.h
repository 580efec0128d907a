/* The job model's internals (cfg_job.c, cfg_job_exec.c, cfg_job_steps.c), shared with config
 * processing; not for other modules.  Apart from cfg_process_int.h so that the job model need
 * not include config processing, which includes it. */
#ifndef MX_CFG_JOB_INT_H
#define MX_CFG_JOB_INT_H

#include "cfg_job.h"
#include "cfg_yaml.h"
#include "mx_err.h"

/* map[key] as a string into *out (unchanged when absent or null); an error if not a scalar. */
int mx_cfg_get_string(const mx_node *map, const char *key, char **out, mx_err *err);
/* A job's type:, its one executor (machine:, docker:, macos:; machine's resource_class and shell
 * are the job's defaults) and parallelism:, from the expanded job j. */
int mx_cfg_job_type(const mx_node *j, mx_job *job, mx_err *err);
int mx_cfg_job_executor(const mx_node *job, mx_job *out, mx_err *err);
int mx_cfg_job_parallelism(const mx_node *j, mx_job *job, mx_err *err);
/* save_cache, restore_cache, store_artifacts, store_test_results, add_ssh_keys (cfg_job_steps.c):
 * 1 when kind is one of them and *st is filled, 0 when it is not, -1 with *err. */
int mx_cfg_parse_job_step(const char *kind, const mx_node *item, const mx_node *v, mx_step *st,
                          mx_err *err);

/* The job model from an expanded job (the 2.0 form: no parameters, executors or commands). */
int mx_cfg_job_parse(const mx_node *j, const char *name, mx_job *job, mx_err *err);

#endif
