/* The host's half of docker/check and docker/pull: turns the job model's step into the
 * agent's docker arguments, resolving credentials on the host (env and contexts named by the
 * orb parameters; ECR tokens for ECR registries; DOCKER_AUTH_CONFIG; the user's
 * ~/.docker/config.json and credential helpers) and registering every secret with the masker
 * before anything can print it.
 *
 * What the job may and may not make the host do (docs/security.md):
 * - ECR identities come from the step's environment as the aws-ecr orb takes them:
 *   AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), or an OIDC role
 *   AWS_ROLE_ARN with the token's value in CIRCLE_OIDC_TOKEN(_V2) / AWS_WEB_IDENTITY_TOKEN.
 *   A token *file* is read only when the host's settings name it (aws.web_identity_token_file);
 *   the job's AWS_WEB_IDENTITY_TOKEN_FILE names a host path and is never read.  AWS_REGION
 *   (the STS region) and the registry's region must be AWS region names; endpoints are AWS's
 *   own unless mexec's own environment says otherwise (MEXEC_AWS_ECR_ENDPOINT,
 *   MEXEC_AWS_STS_ENDPOINT, MEXEC_AWS_CA_FILE: tests, private endpoints).
 * - The invoking user's ~/.docker/config.json counts only for registries the host forwards
 *   (registries: HOST: {forward_credentials: true}); credential helpers run only when listed
 *   in credential_helpers, whoever names them. */
#ifndef MX_JOB_DOCKER_H
#define MX_JOB_DOCKER_H

#include "cfg_job.h"
#include "mx_mask.h"
#include "mx_proto.h"

/* Fills *out.  A problem that is the step's (a variable not set, a helper that fails) is not an
 * error of mexec: it comes back in *step_failure (caller frees) and the step fails with it. */
typedef struct mx_job_docker_opts {
    const char *ecr_cache_dir;          /* NULL: no token cache */
    const char *const *allowed_helpers; /* host.yaml credential_helpers; NULL: none */
    /* registries whose credentials in the user's config.json may go into the job (host.yaml
     * registries with forward_credentials: true), NULL-terminated; NULL: none */
    const char *const *forward_registries;
    const char *aws_web_identity_token_file; /* host.yaml aws.web_identity_token_file */
    const char *host_config_path;            /* for messages: where to change the above */
    const char *label; /* what messages name as the pulling step; NULL: "docker/pull" */
} mx_job_docker_opts;

/* *notice (caller frees; NULL if none): something to tell the user before the step runs, such
 * as credentials of theirs that were not forwarded and the host setting that would. */
int mx_job_docker_args(const mx_step *st, const mx_envlist *env, const mx_job_docker_opts *opts,
                       mx_secrets *secrets, mx_docker_args *out, char **step_failure, char **notice,
                       mx_err *err);
void mx_job_docker_args_clear(mx_docker_args *a);

/* Logs in to the ECR registry host with the identity in env (the variables named above); 0 with
 * *token (mx_ecr_token_free), or -1 (MX_USAGE: no identity given). */
struct mx_ecr_token;
int mx_job_ecr_login(const char *host, const mx_envlist *env, const mx_job_docker_opts *opts,
                     struct mx_ecr_token *token, mx_err *err);

#endif
