/* The host's half of docker/check and docker/pull: turns the job model's step into the
 * agent's docker arguments, resolving credentials on the host (env and contexts named by the
 * orb parameters; ECR tokens for ECR registries; DOCKER_AUTH_CONFIG; the user's
 * ~/.docker/config.json and credential helpers) and registering every secret with the masker
 * before anything can print it.
 *
 * ECR identities come from the step's environment as the aws-ecr orb takes them:
 * AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), or an OIDC role
 * AWS_ROLE_ARN with CIRCLE_OIDC_TOKEN / AWS_WEB_IDENTITY_TOKEN(_FILE); AWS_REGION overrides
 * the registry's region.  MEXEC_AWS_ECR_ENDPOINT / MEXEC_AWS_STS_ENDPOINT (mexec's own
 * environment) point at other endpoints (tests, private endpoints). */
#ifndef MX_JOB_DOCKER_H
#define MX_JOB_DOCKER_H

#include "cfg_job.h"
#include "mx_mask.h"
#include "mx_proto.h"

/* Fills *out.  A problem that is the step's (a variable not set, a helper that fails) is not an
 * error of mexec: it comes back in *step_failure (caller frees) and the step fails with it. */
typedef struct mx_job_docker_opts {
    const char *ecr_cache_dir;          /* NULL: no token cache */
    const char *const *allowed_helpers; /* host.yaml credential_helpers; NULL: any */
} mx_job_docker_opts;

int mx_job_docker_args(const mx_step *st, const mx_envlist *env, const mx_job_docker_opts *opts,
                       mx_secrets *secrets, mx_docker_args *out, char **step_failure, mx_err *err);
void mx_job_docker_args_clear(mx_docker_args *a);

#endif
