/* Registry credentials for an image reference, resolved the way GitLab Runner resolves them.
 *
 * Why GitLab's rules: mexec is also a GitLab custom-executor driver (issue 5), and users bring
 * DOCKER_AUTH_CONFIG values written for GitLab.  Sources are added in precedence order:
 *   1. explicit values (env / contexts named by the orb parameters; ECR tokens),
 *   2. DOCKER_AUTH_CONFIG (job variable before the runner's own),
 *   3. the user's ~/.docker/config.json (only for registries the host forwards, below),
 *   4. job-payload credentials (GitLab's JOB_RESPONSE_FILE).
 * Within one source, `credHelpers` beat `credsStore`, which beats `auths`.  Across sources, the
 * first source that names a registry key keeps it; the key chosen for an image is the longest
 * path prefix of the normalized image name (`registry.example.com/team` beats
 * `registry.example.com`), over the keys of all sources together — exactly GitLab's rule.
 *
 * Trust: every source but the user's own config.json is the job's (it came with the job, so the
 * job may use it for any registry).  The user's config.json holds the *host user's* logins; a
 * job names the images, so it could name any registry and collect them.  Those logins are
 * therefore used only for the registries the host's settings forward; for any other registry
 * they are withheld (and the caller is told, so it can say how to forward them).  Credential
 * helpers are programs run on the host: only those the host's settings allow may run, from any
 * source (none by default).
 *
 * Secrets never appear in an mx_err message: messages name sources, keys, helpers, variables. */
#ifndef MX_CRED_H
#define MX_CRED_H

#include "mx_cred_value.h"
#include "mx_err.h"

/* Returns the variable's value or NULL (unset).  Lets callers resolve against a job's env. */
typedef const char *(*mx_cred_env_fn)(void *ctx, const char *name);

typedef struct mx_cred_opts {
    /* Credential helpers that may run (host config credential_helpers), NULL-terminated.
     * NULL or empty: none may run. */
    const char *const *allowed_helpers;
    /* Where docker-credential-* programs are looked up (colon-separated); NULL: $PATH. */
    const char *helper_path;
} mx_cred_opts;

typedef struct mx_cred_resolver mx_cred_resolver;

/* Flags for mx_cred_add_static. */
enum {
    /* The entry covers every repository on its host and hides other sources' keys on that host
     * (ECR tokens: a stored token for the same registry may be stale and is never reused). */
    MX_CRED_HOST_WIDE = 1,
};

mx_cred_resolver *mx_cred_resolver_new(const mx_cred_opts *opts);
void mx_cred_resolver_free(mx_cred_resolver *r);

/* One explicit credential for `registry` (host or host/path; docker.io aliases allowed). */
int mx_cred_add_static(mx_cred_resolver *r, const char *registry, const char *username,
                       const char *password, const char *source, int flags, mx_err *err);
/* The orb's way: user_var and pass_var name environment variables.  A missing or empty one is
 * an error naming the variable. */
int mx_cred_add_env(mx_cred_resolver *r, const char *registry, const char *user_var,
                    const char *pass_var, mx_cred_env_fn env, void *env_ctx, mx_err *err);
/* A docker config document (DOCKER_AUTH_CONFIG's value); `source` names it in messages. */
int mx_cred_add_config_text(mx_cred_resolver *r, const char *text, const char *source, mx_err *err);
/* A config.json file; a missing file adds nothing and is not an error. */
int mx_cred_add_config_file(mx_cred_resolver *r, const char *path, mx_err *err);
/* The host user's own config.json (~/.docker/config.json): its auths, credHelpers and
 * credsStore count only for registries whose host is in `forward` (NULL-terminated registry
 * names as host settings write them: "docker.io", "ghcr.io", "10.0.2.2:5000"; NULL: none).
 * For the other registries they are withheld (see mx_cred.withheld).  A missing file adds
 * nothing. */
int mx_cred_add_host_config_file(mx_cred_resolver *r, const char *path, const char *const *forward,
                                 mx_err *err);

/* Resolves credentials for an image reference ("ubuntu:22.04", "quay.io/org/img@sha256:...")
 * or a registry name.  Returns 1 and fills *out, 0 when no source has credentials (anonymous
 * pull; out->withheld says whether the host user's were held back), -1 on error (a helper
 * failed, is missing or is not allowed, a bad reference).  Clear *out with mx_cred_clear. */
int mx_cred_resolve(mx_cred_resolver *r, const char *image, mx_cred *out, mx_err *err);
/* The same for a registry ("quay.io", "localhost:5000", "https://index.docker.io/v1/"):
 * what `docker login REGISTRY` needs. */
int mx_cred_resolve_registry(mx_cred_resolver *r, const char *registry, mx_cred *out, mx_err *err);

#endif
