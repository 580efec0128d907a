#include "job_docker.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_aws.h"
#include "mx_cred.h"
#include "mx_cred_ref.h"

#include <stdlib.h>
#include <string.h>

/* The orb retries a failed login and pull; so does the agent, this many extra times. */
#define DOCKER_RETRIES 2
#define DOCKER_RETRY_DELAY_S 3

static void add_secret_forms(mx_secrets *s, const char *user, const char *secret)
{
    if (!secret) return;
    mx_secrets_add(s, secret);
    if (user) {
        /* config.json and X-Registry-Auth carry base64(user:secret): mask that spelling too */
        mx_autofree char *pair = mx_xasprintf("%s:%s", user, secret);
        mx_autofree char *b64 = mx_b64_encode(pair, strlen(pair));
        mx_secrets_add(s, b64);
    }
}

static int check_args(const mx_step *st, const mx_envlist *env, mx_secrets *secrets,
                      mx_docker_args *out, char **step_failure)
{
    const char *uvar = st->username_env ? st->username_env : "DOCKER_LOGIN";
    const char *pvar = st->password_env ? st->password_env : "DOCKER_PASSWORD";
    const char *user = mx_envlist_get(env, uvar), *pass = mx_envlist_get(env, pvar);
    const char *missing = !user || !*user ? uvar : (!pass || !*pass ? pvar : NULL);
    if (missing) {
        *step_failure = mx_xasprintf("docker/check: environment variable %s is not set (give it "
                                     "with a context, the job's environment or -e)",
                                     missing);
        return 0;
    }
    add_secret_forms(secrets, user, pass);
    out->registry = mx_xstrdup(st->registry && *st->registry ? st->registry : "docker.io");
    out->username = mx_xstrdup(user);
    out->password = mx_xstrdup(pass);
    out->credentials_store = st->use_credentials_store;
    return 0;
}

static const char *host_config_name(const mx_job_docker_opts *opts)
{
    return opts && opts->host_config_path ? opts->host_config_path : "host.yaml";
}

int mx_job_ecr_login(const char *host, const mx_envlist *env, const mx_job_docker_opts *opts,
                     mx_ecr_token *token, mx_err *err)
{
    const char *oidc = mx_envlist_get(env, "CIRCLE_OIDC_TOKEN_V2");
    if (!oidc || !*oidc) oidc = mx_envlist_get(env, "CIRCLE_OIDC_TOKEN");
    if (!oidc || !*oidc) oidc = mx_envlist_get(env, "AWS_WEB_IDENTITY_TOKEN");
    const char *host_file = opts ? opts->aws_web_identity_token_file : NULL;
    mx_aws_auth auth = {
        .access_key_id = mx_envlist_get(env, "AWS_ACCESS_KEY_ID"),
        .secret_access_key = mx_envlist_get(env, "AWS_SECRET_ACCESS_KEY"),
        .session_token = mx_envlist_get(env, "AWS_SESSION_TOKEN"),
        .region = mx_envlist_get(env, "AWS_REGION"),
        .role_arn = mx_envlist_get(env, "AWS_ROLE_ARN"),
        .web_identity_token = oidc,
        /* a file only where the host says: a job's path would make mexec read host files */
        .web_identity_token_file = host_file,
        /* mexec's own environment, never the job's (tests, private endpoints) */
        .ecr_url = getenv("MEXEC_AWS_ECR_ENDPOINT"),
        .sts_url = getenv("MEXEC_AWS_STS_ENDPOINT"),
    };
    int role = auth.role_arn && *auth.role_arn;
    if (!role && (!auth.access_key_id || !auth.secret_access_key))
        return mx_fail(err, MX_USAGE,
                       "%s is an ECR registry: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                       "or AWS_ROLE_ARN with an OIDC token",
                       host);
    if (role && (!oidc || !*oidc) && !host_file) {
        const char *job_file = mx_envlist_get(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
        return mx_fail(err, MX_USAGE,
                       "%s: AWS_ROLE_ARN needs an OIDC token: give its value as "
                       "CIRCLE_OIDC_TOKEN (e.g. mexec run -e CIRCLE_OIDC_TOKEN), or name a file "
                       "on the host in %s (aws: {web_identity_token_file: PATH})%s",
                       host, host_config_name(opts),
                       job_file ? "; a job's AWS_WEB_IDENTITY_TOKEN_FILE is not read (a job may "
                                  "not make mexec read files on the host)"
                                : "");
    }
    mx_aws_cache_opts cache = {.dir = opts ? opts->ecr_cache_dir : NULL};
    mx_aws_http http = {.ca_file = getenv("MEXEC_AWS_CA_FILE")};
    if (mx_aws_ecr_login(&auth, host, &cache, &http, token, err) < 0)
        return mx_wrap(err, "ECR login for %s", host);
    return 0;
}

/* ECR registries get a fresh token first: it outranks every stored credential for the host,
 * so a stale ECR entry in a config.json is never used. */
static int add_ecr_tokens(mx_cred_resolver *r, const mx_step *st, const mx_envlist *env,
                          const mx_job_docker_opts *opts, mx_secrets *secrets, mx_err *err)
{
    for (size_t i = 0; i < st->nimages; i++) {
        mx_autofree char *path = mx_cred_image_path(st->images[i], err);
        if (!path) return -1;
        mx_autofree char *host = mx_cred_path_host(path);
        char *account = NULL, *region = NULL;
        if (!host || mx_aws_ecr_host(host, &account, &region) != 1) continue;
        free(account);
        free(region);
        mx_ecr_token tok;
        memset(&tok, 0, sizeof tok);
        int rc = mx_job_ecr_login(host, env, opts, &tok, err);
        if (rc == 0) {
            add_secret_forms(secrets, tok.username, tok.password);
            rc = mx_cred_add_static(r, host, tok.username, tok.password, "ECR", MX_CRED_HOST_WIDE,
                                    err);
        }
        mx_ecr_token_free(&tok);
        if (rc < 0) return -1;
    }
    return 0;
}

/* What to tell a user whose own login for c->server was held back, once per registry. */
static void note_withheld(mx_buf *notes, const mx_cred *c, const mx_job_docker_opts *opts)
{
    /* host settings name a registry by its host ("https://index.docker.io/v1/" is docker.io) */
    mx_autofree char *path = mx_cred_key_path(c->server);
    mx_autofree char *host = mx_cred_path_host(path ? path : c->server);
    mx_autofree char *line =
        mx_xasprintf("%s: your credentials for %s in %s are not forwarded into jobs on "
                     "this host; to forward them, add to %s:\n  registries:\n    %s: { "
                     "forward_credentials: true }\n",
                     opts && opts->label ? opts->label : "docker/pull", host, c->source,
                     host_config_name(opts), host);
    if (!notes->data || !strstr(notes->data, line)) mx_buf_adds(notes, line);
}

static int pull_args(const mx_step *st, const mx_envlist *env, const mx_job_docker_opts *opts,
                     mx_secrets *secrets, mx_docker_args *out, char **step_failure, char **notice)
{
    out->images = mx_xcalloc(st->nimages ? st->nimages : 1, sizeof *out->images);
    for (size_t i = 0; i < st->nimages; i++)
        out->images[out->nimages++] = mx_xstrdup(st->images[i]);
    out->ignore_errors = st->ignore_pull_error;

    mx_cred_opts copts = {.allowed_helpers = opts ? opts->allowed_helpers : NULL};
    mx_cred_resolver *r = mx_cred_resolver_new(&copts);
    mx_err e;
    int rc = add_ecr_tokens(r, st, env, opts, secrets, &e);
    /* the job's own: usable for any registry */
    const char *dac = mx_envlist_get(env, "DOCKER_AUTH_CONFIG");
    if (rc == 0 && dac && *dac) rc = mx_cred_add_config_text(r, dac, "$DOCKER_AUTH_CONFIG", &e);
    /* the invoking user's: only for the registries the host forwards */
    const char *home = getenv("HOME");
    if (rc == 0 && home && *home) {
        mx_autofree char *cfg = mx_xasprintf("%s/.docker/config.json", home);
        rc = mx_cred_add_host_config_file(r, cfg, opts ? opts->forward_registries : NULL, &e);
    }
    mx_buf notes;
    mx_buf_init(&notes);
    out->auths = mx_xcalloc(st->nimages ? st->nimages : 1, sizeof *out->auths);
    for (size_t i = 0; rc == 0 && i < st->nimages; i++) {
        mx_cred c;
        memset(&c, 0, sizeof c);
        int found = mx_cred_resolve(r, st->images[i], &c, &e);
        if (found < 0) rc = -1;
        if (found == 0 && c.withheld) note_withheld(&notes, &c, opts);
        if (found == 1) {
            mx_docker_auth *a = &out->auths[out->nauths++];
            a->registry = mx_xstrdup(c.server);
            a->username = c.username ? mx_xstrdup(c.username) : NULL;
            a->password = c.password ? mx_xstrdup(c.password) : NULL;
            a->identitytoken = c.identity_token ? mx_xstrdup(c.identity_token) : NULL;
            add_secret_forms(secrets, c.username, c.password);
            add_secret_forms(secrets, NULL, c.identity_token);
        }
        mx_cred_clear(&c);
    }
    mx_cred_resolver_free(r);
    if (rc < 0)
        *step_failure = mx_xasprintf("%s: registry credentials: %s",
                                     opts && opts->label ? opts->label : "docker/pull", e.msg);
    if (notes.len) {
        notes.data[--notes.len] = '\0'; /* the caller ends the line */
        *notice = mx_buf_steal(&notes);
    } else {
        mx_buf_free(&notes);
    }
    return 0;
}

int mx_job_docker_args(const mx_step *st, const mx_envlist *env, const mx_job_docker_opts *opts,
                       mx_secrets *secrets, mx_docker_args *out, char **step_failure, char **notice,
                       mx_err *err)
{
    memset(out, 0, sizeof *out);
    *step_failure = NULL;
    *notice = NULL;
    out->retries = DOCKER_RETRIES;
    out->retry_delay_s = DOCKER_RETRY_DELAY_S;
    if (st->kind == MX_JOB_STEP_DOCKER_CHECK)
        return check_args(st, env, secrets, out, step_failure);
    if (st->kind == MX_JOB_STEP_DOCKER_PULL)
        return pull_args(st, env, opts, secrets, out, step_failure, notice);
    return mx_fail(err, MX_INFRA, "step %s is not a docker step", st->name);
}

static void wipe_free(char *s)
{
    if (!s) return;
    /* passwords leave memory as soon as they are not needed */
    explicit_bzero(s, strlen(s));
    free(s);
}

void mx_job_docker_args_clear(mx_docker_args *a)
{
    free(a->registry);
    wipe_free(a->username);
    wipe_free(a->password);
    for (size_t i = 0; i < a->nimages; i++)
        free(a->images[i]);
    free(a->images);
    for (size_t i = 0; i < a->nauths; i++) {
        free(a->auths[i].registry);
        wipe_free(a->auths[i].username);
        wipe_free(a->auths[i].password);
        wipe_free(a->auths[i].identitytoken);
    }
    free(a->auths);
    memset(a, 0, sizeof *a);
}
