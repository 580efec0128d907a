#include "job_docker.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_cred.h"

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

static int pull_args(const mx_step *st, const mx_envlist *env, mx_secrets *secrets,
                     mx_docker_args *out, char **step_failure)
{
    out->images = mx_xcalloc(st->nimages ? st->nimages : 1, sizeof *out->images);
    for (size_t i = 0; i < st->nimages; i++)
        out->images[out->nimages++] = mx_xstrdup(st->images[i]);
    out->ignore_errors = st->ignore_pull_error;

    mx_cred_resolver *r = mx_cred_resolver_new(NULL);
    mx_err e;
    int rc = 0;
    const char *dac = mx_envlist_get(env, "DOCKER_AUTH_CONFIG");
    if (dac && *dac) rc = mx_cred_add_config_text(r, dac, "$DOCKER_AUTH_CONFIG", &e);
    const char *home = getenv("HOME");
    if (rc == 0 && home && *home) {
        mx_autofree char *cfg = mx_xasprintf("%s/.docker/config.json", home);
        rc = mx_cred_add_config_file(r, cfg, &e);
    }
    out->auths = mx_xcalloc(st->nimages ? st->nimages : 1, sizeof *out->auths);
    for (size_t i = 0; rc == 0 && i < st->nimages; i++) {
        mx_cred c;
        memset(&c, 0, sizeof c);
        int found = mx_cred_resolve(r, st->images[i], &c, &e);
        if (found < 0) rc = -1;
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
    if (rc < 0) *step_failure = mx_xasprintf("docker/pull: registry credentials: %s", e.msg);
    return 0;
}

int mx_job_docker_args(const mx_step *st, const mx_envlist *env, mx_secrets *secrets,
                       mx_docker_args *out, char **step_failure, mx_err *err)
{
    memset(out, 0, sizeof *out);
    *step_failure = NULL;
    out->retries = DOCKER_RETRIES;
    out->retry_delay_s = DOCKER_RETRY_DELAY_S;
    if (st->kind == MX_JOB_STEP_DOCKER_CHECK)
        return check_args(st, env, secrets, out, step_failure);
    if (st->kind == MX_JOB_STEP_DOCKER_PULL) return pull_args(st, env, secrets, out, step_failure);
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
