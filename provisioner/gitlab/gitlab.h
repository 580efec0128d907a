/* mexec as GitLab Runner's custom-executor driver: `mexec gitlab config|prepare|run|cleanup`.
 *
 * The runner calls four separate processes per job, so everything `run` and `cleanup` need is
 * found again from the environment the runner gives every stage: the job's directory is
 * STATE_DIR/gitlab-r<CI_RUNNER_ID>-j<CI_JOB_ID> (a second runner's job 42 is another VM), and
 * it holds vm.json (domain, SSH port) besides the VM's disk and keys.  Secrets are never
 * written there: each stage derives them again from DOCKER_AUTH_CONFIG and JOB_RESPONSE_FILE. */
#ifndef MX_GITLAB_H
#define MX_GITLAB_H

#include "host_config.h"
#include "job_docker.h"
#include "mx_cleanup.h"
#include "mx_err.h"
#include "mx_mask.h"
#include "mx_proto.h"

/* In a job directory: GitLab's cleanup stage could not remove this job (the file says why).
 * `mexec ps` shows it; `mexec gc` removes the job at once. */
#define MX_CLEANUP_FAILED "cleanup-failed"
/* In a job directory: seconds `mexec gc` leaves the saved VM alone (the job's own timeout and a
 * margin); without it, gc's default (a day). */
#define MX_GC_MAX_AGE "max-age"

/* GitLab's replacement for masked values. */
#define MX_GITLAB_MASK_TEXT "[MASKED]"
/* Where jobs run in the guest: the image's build user's home. */
#define MX_GITLAB_BUILDS_DIR "/home/circleci/builds"
#define MX_GITLAB_CACHE_DIR "/home/circleci/cache"

/* Reads an environment variable; tests pass their own. */
typedef const char *(*mx_gitlab_getenv_fn)(const char *name);

/* "gitlab-r<runner>-j<job>" from CUSTOM_ENV_CI_RUNNER_ID and CUSTOM_ENV_CI_JOB_ID; an error if
 * the job id is missing or either has characters other than [A-Za-z0-9_.-].  Caller frees. */
char *mx_gitlab_job_key(mx_gitlab_getenv_fn env, mx_err *err);

/* The config stage's JSON document (one line, caller frees). */
char *mx_gitlab_config_json(mx_gitlab_getenv_fn env, const char *version);

/* BUILD_FAILURE_EXIT_CODE / SYSTEM_FAILURE_EXIT_CODE, with 1 / 2 when unset or malformed. */
int mx_gitlab_build_failure(mx_gitlab_getenv_fn env);
int mx_gitlab_system_failure(mx_gitlab_getenv_fn env);

/* One registry the guest's dockerd logs in to. */
typedef struct mx_gitlab_login {
    char *registry;
    char *username;
    char *password;
} mx_gitlab_login;

typedef struct mx_gitlab_creds {
    mx_gitlab_login *v;
    size_t n;
} mx_gitlab_creds;

void mx_gitlab_creds_free(mx_gitlab_creds *c);
MX_DEFINE_AUTO(mx_gitlab_creds, mx_gitlab_creds_free)

/* Adds to *s everything GitLab would mask for this job: masked variables and credentials of
 * the job payload (JOB_RESPONSE_FILE; NULL: none), and the passwords/auth of
 * DOCKER_AUTH_CONFIG (NULL: none), each also in its base64 user:password form. */
int mx_gitlab_secrets(const char *docker_auth_config, const char *job_response_file, mx_secrets *s,
                      mx_err *err);

/* The docker logins for the guest: every registry named by DOCKER_AUTH_CONFIG or by a
 * `registry` credential of the job payload, with the credentials GitLab's precedence picks
 * (DOCKER_AUTH_CONFIG before the payload, longest matching key).  Registries without a
 * username/password (identity tokens) are reported in *skipped (caller frees; NULL: none).
 * Both sources are the job's; a credential helper either names runs on the runner's host, so
 * only those in allowed_helpers (host.yaml credential_helpers; NULL: none) may run. */
int mx_gitlab_logins(const char *docker_auth_config, const char *job_response_file,
                     const char *const *allowed_helpers, mx_gitlab_creds *out, char **skipped,
                     mx_err *err);

/* ---- jobs with a container image (gitlab_ctr.c) ---- */

/* 1 when image (CI_JOB_IMAGE) is not a machine image of the catalog: the job runs in a
 * container in the host's default VM. */
int mx_gitlab_container_image(const mx_host_config *hc, const char *image);
/* 1 for the sub-stages that run in the job container (the user's scripts); the others run in
 * the VM, GitLab's helper. */
int mx_gitlab_stage_in_container(const char *stage);
/* The names a service is reachable by: its alias(es) (comma or space separated), then the two
 * GitLab derives from its image.  Names that are not host names are left out.  The count; *out
 * NULL-terminated, caller frees. */
size_t mx_gitlab_service_aliases(const char *name, const char *alias, char ***out);

typedef struct mx_gitlab_ctr_opts {
    mx_gitlab_getenv_fn env;        /* the stage's environment (CUSTOM_ENV_*) */
    const char *docker_auth_config; /* the job's DOCKER_AUTH_CONFIG, or NULL */
    mx_job_docker_opts docker;      /* helpers allowed, ECR token cache */
} mx_gitlab_ctr_opts;

/* The containers step of prepare: the job image and the payload's services (else
 * CI_JOB_SERVICES) on a per-job network, with each image's credentials; *log (caller frees)
 * says where credentials came from, as GitLab's log does.  Secrets go into s.  mx_msg_clear
 * frees *m. */
int mx_gitlab_containers_msg(const char *image, const char *payload_file,
                             const mx_gitlab_ctr_opts *o, mx_secrets *s, mx_msg *m, char **log,
                             mx_err *err);

/* `mexec gitlab ...` */
int mx_cmd_gitlab(int argc, char **argv);

#endif
