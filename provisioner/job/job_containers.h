/* The host's half of a docker executor job: the "containers" step that starts the job's
 * containers in its VM, with every image's credentials resolved here and masked.
 *
 * Which credentials an image is pulled with (docs/docker-executor.md):
 * - auth: {username, password}: the job's own, `$VAR`/`${VAR}` expanded from its environment
 *   (contexts, -e, job environment);
 * - aws_auth: access keys (literal or `$VAR`) or oidc_role_arn (with CIRCLE_OIDC_TOKEN from
 *   the environment): an ECR token from GetAuthorizationToken for the image's registry;
 * - neither: what docker/pull would use (job_docker.h: ECR from AWS_* variables,
 *   DOCKER_AUTH_CONFIG, the user's config.json where the host forwards it, allowed helpers). */
#ifndef MX_JOB_CONTAINERS_H
#define MX_JOB_CONTAINERS_H

#include "cfg_job.h"
#include "job_docker.h"
#include "mx_mask.h"
#include "mx_proto.h"

/* The Engine API names of a job's containers: one VM per job, so they need not be unique
 * beyond it, and `mexec ssh` users can type them. */
#define MX_CTR_PRIMARY "mexec-job"
#define MX_CTR_SERVICE_PREFIX "mexec-svc-" /* + 1, 2, ... */
#define MX_CTR_NETWORK "mexec-job"

/* Fills *m (a containers step with id) for a docker job.  A problem that is the job's (a
 * variable its auth: names is not set, an ECR login refused) comes back in *failure (caller
 * frees) and the job fails with it; *notice (caller frees) is something to tell the user first.
 * remote_docker: the job has a setup_remote_docker step (the VM's socket goes into the
 * primary).  Free *m with mx_job_containers_clear. */
int mx_job_containers_msg(const mx_job *job, int id, const mx_envlist *env,
                          const mx_job_docker_opts *opts, mx_secrets *secrets, mx_msg *m,
                          char **failure, char **notice, mx_err *err);
void mx_job_containers_clear(mx_msg *m);

/* s with $NAME and ${NAME} replaced by their values in env.  NULL with *missing (caller frees)
 * naming the first variable that is not set.  "$$" stays "$$"; a "$" before anything that
 * cannot start a name stays as it is. */
char *mx_expand_vars(const char *s, const mx_envlist *env, char **missing);

#endif
