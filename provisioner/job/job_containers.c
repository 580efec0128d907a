#include "job_containers.h"
#include "mx_aws.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_cred_ref.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static int name_start(char c)
{
    return isalpha((unsigned char)c) || c == '_';
}

static int name_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

char *mx_expand_vars(const char *s, const mx_envlist *env, char **missing)
{
    *missing = NULL;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    for (const char *p = s; *p;) {
        const char *start = NULL;
        size_t len = 0, skip = 0;
        if (p[0] == '$' && p[1] == '{') {
            const char *end = strchr(p + 2, '}');
            if (end && end > p + 2 && name_start(p[2])) {
                start = p + 2;
                len = (size_t)(end - start);
                for (size_t i = 0; i < len && start; i++)
                    if (!name_char(start[i])) start = NULL; /* not a ${NAME}: kept as written */
                skip = len + 3;
            }
        } else if (p[0] == '$' && name_start(p[1])) {
            start = p + 1;
            while (name_char(start[len]))
                len++;
            skip = len + 1;
        }
        if (!start) {
            mx_buf_add(&b, p, 1);
            p++;
            continue;
        }
        mx_autofree char *name = mx_xstrndup(start, len);
        const char *v = mx_envlist_get(env, name);
        if (!v) {
            *missing = mx_steal(&name);
            explicit_bzero(b.data, b.cap);
            mx_buf_free(&b);
            return NULL;
        }
        mx_buf_adds(&b, v);
        p += skip;
    }
    return mx_buf_steal(&b);
}

static void add_secret_forms(mx_secrets *s, const char *user, const char *secret)
{
    if (!secret || !*secret) return;
    mx_secrets_add(s, secret);
    if (user) {
        mx_autofree char *pair = mx_xasprintf("%s:%s", user, secret);
        mx_autofree char *b64 = mx_b64_encode(pair, strlen(pair));
        mx_secrets_add(s, b64);
    }
}

/* A field of auth:/aws_auth: with its variables expanded; NULL with *failure set. */
static char *field(const mx_container *c, const char *what, const char *text, const mx_envlist *env,
                   char **failure)
{
    char *missing = NULL;
    char *v = mx_expand_vars(text, env, &missing);
    if (!v)
        *failure = mx_xasprintf("image %s: %s names $%s, which is not set (give it with a "
                                "context, the job's environment or -e)",
                                c->image, what, missing);
    free(missing);
    return v;
}

static mx_docker_auth *new_auth(mx_docker_args *d)
{
    d->auths = mx_xrealloc(d->auths, (d->nauths + 1) * sizeof *d->auths);
    mx_docker_auth *a = &d->auths[d->nauths++];
    memset(a, 0, sizeof *a);
    return a;
}

/* auth: the credentials stand for this image only (its registry key is the whole repository
 * path, which outranks any registry-wide entry in the agent's choice). */
static int explicit_auth(const mx_container *c, const mx_envlist *env, mx_secrets *secrets,
                         mx_docker_args *d, char **failure, mx_err *err)
{
    mx_autofree char *path = mx_cred_image_path(c->image, err);
    if (!path) return -1;
    mx_autofree char *user = field(c, "auth username", c->auth_username, env, failure);
    mx_autofree char *pass =
        user ? field(c, "auth password", c->auth_password, env, failure) : NULL;
    if (!pass) return 0;
    add_secret_forms(secrets, user, pass);
    mx_docker_auth *a = new_auth(d);
    a->registry = mx_steal(&path);
    a->username = mx_steal(&user);
    a->password = mx_steal(&pass);
    return 0;
}

/* aws_auth: an ECR token for the image's registry with the identity it names. */
static int aws_auth(const mx_container *c, const mx_envlist *env, const mx_job_docker_opts *opts,
                    mx_secrets *secrets, mx_docker_args *d, char **failure, mx_err *err)
{
    mx_autofree char *path = mx_cred_image_path(c->image, err);
    if (!path) return -1;
    mx_autofree char *host = mx_cred_path_host(path);
    char *account = NULL, *region = NULL;
    int ecr = host && mx_aws_ecr_host(host, &account, &region) == 1;
    free(account);
    free(region);
    if (!ecr) {
        *failure = mx_xasprintf("image %s: aws_auth is for ECR images "
                                "(ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME:TAG)",
                                c->image);
        return 0;
    }
    mx_envlist id = {0};
    for (size_t i = 0; i < env->n; i++)
        mx_envlist_set(&id, env->v[i].key, env->v[i].value);
    int rc = 0;
    if (c->aws_oidc_role_arn) {
        mx_autofree char *role = field(c, "oidc_role_arn", c->aws_oidc_role_arn, env, failure);
        if (role) mx_envlist_set(&id, "AWS_ROLE_ARN", role);
        /* keys in the environment must not stand in for the role */
        mx_envlist_set(&id, "AWS_ACCESS_KEY_ID", "");
        mx_envlist_set(&id, "AWS_SECRET_ACCESS_KEY", "");
    } else {
        mx_autofree char *key_id =
            field(c, "aws_access_key_id", c->aws_access_key_id, env, failure);
        mx_autofree char *secret =
            key_id ? field(c, "aws_secret_access_key", c->aws_secret_access_key, env, failure)
                   : NULL;
        if (secret) {
            add_secret_forms(secrets, NULL, secret);
            mx_envlist_set(&id, "AWS_ACCESS_KEY_ID", key_id);
            mx_envlist_set(&id, "AWS_SECRET_ACCESS_KEY", secret);
            mx_envlist_set(&id, "AWS_ROLE_ARN", "");
            explicit_bzero(secret, strlen(secret));
        }
    }
    mx_ecr_token tok;
    memset(&tok, 0, sizeof tok);
    if (!*failure) {
        mx_err e;
        if (mx_job_ecr_login(host, &id, opts, &tok, &e) < 0) {
            *failure = mx_xasprintf("image %s: %s", c->image, e.msg);
        } else {
            add_secret_forms(secrets, tok.username, tok.password);
            mx_docker_auth *a = new_auth(d);
            a->registry = mx_steal(&path);
            a->username = mx_xstrdup(tok.username);
            a->password = mx_xstrdup(tok.password);
        }
    }
    mx_ecr_token_free(&tok);
    for (size_t i = 0; i < id.n; i++)
        explicit_bzero(id.v[i].value, strlen(id.v[i].value));
    mx_envlist_free(&id);
    return rc;
}

/* Images without auth:/aws_auth: get what docker/pull would use. */
static int chain_auths(const mx_job *job, const mx_envlist *env, const mx_job_docker_opts *opts,
                       mx_secrets *secrets, mx_docker_args *d, char **failure, char **notice,
                       mx_err *err)
{
    mx_step st;
    memset(&st, 0, sizeof st);
    st.kind = MX_JOB_STEP_DOCKER_PULL;
    st.images = mx_xcalloc(job->ncontainers, sizeof *st.images);
    for (size_t i = 0; i < job->ncontainers; i++) {
        const mx_container *c = &job->containers[i];
        if (!c->auth_username && !c->has_aws_auth) st.images[st.nimages++] = c->image;
    }
    int rc = 0;
    if (st.nimages) {
        mx_job_docker_opts o = opts ? *opts : (mx_job_docker_opts){0};
        o.label = "docker executor";
        mx_docker_args chain;
        rc = mx_job_docker_args(&st, env, &o, secrets, &chain, failure, notice, err);
        for (size_t i = 0; rc == 0 && i < chain.nauths; i++) {
            *new_auth(d) = chain.auths[i];
            memset(&chain.auths[i], 0, sizeof chain.auths[i]);
        }
        mx_job_docker_args_clear(&chain);
    }
    free(st.images);
    return rc;
}

static char **copy_strv(char *const *v, size_t n)
{
    char **out = mx_xcalloc(n + 1, sizeof *out);
    for (size_t i = 0; i < n; i++)
        out[i] = mx_xstrdup(v[i]);
    return out;
}

static void fill_spec(const mx_container *c, size_t i, mx_container_spec *s)
{
    s->name = i == 0 ? mx_xstrdup(MX_CTR_PRIMARY) : mx_xasprintf(MX_CTR_SERVICE_PREFIX "%zu", i);
    s->image = mx_xstrdup(c->image);
    if (c->name) {
        s->aliases = copy_strv(&c->name, 1);
        s->naliases = 1;
    }
    s->has_entrypoint = c->has_entrypoint;
    s->entrypoint = copy_strv(c->entrypoint, c->nentrypoint);
    s->nentrypoint = c->nentrypoint;
    s->has_command = c->has_command;
    s->command = copy_strv(c->command, c->ncommand);
    s->ncommand = c->ncommand;
    s->user = c->user ? mx_xstrdup(c->user) : NULL;
    s->env = mx_xcalloc(c->env.n + 1, sizeof *s->env);
    for (size_t k = 0; k < c->env.n; k++) {
        s->env[k].key = mx_xstrdup(c->env.v[k].key);
        s->env[k].value = mx_xstrdup(c->env.v[k].value);
    }
    s->nenv = c->env.n;
    /* CircleCI keeps the primary alive and runs the steps in it; given a command, it runs the
     * image's entrypoint with it instead (and the job's steps still go there) */
    s->steps = i == 0;
}

int mx_job_containers_msg(const mx_job *job, int id, const mx_envlist *env,
                          const mx_job_docker_opts *opts, mx_secrets *secrets, mx_msg *m,
                          char **failure, char **notice, mx_err *err)
{
    memset(m, 0, sizeof *m);
    *failure = NULL;
    *notice = NULL;
    m->type = MX_MSG_STEP;
    m->id = id;
    m->kind = MX_STEP_CONTAINERS;
    m->name = mx_xstrdup("Spin up environment");
    mx_docker_args *d = &m->docker;
    d->retries = 2;
    d->retry_delay_s = 3;
    d->images = mx_xcalloc(job->ncontainers + 1, sizeof *d->images);
    m->containers = mx_xcalloc(job->ncontainers, sizeof *m->containers);
    for (size_t i = 0; i < job->ncontainers; i++) {
        const mx_container *c = &job->containers[i];
        d->images[d->nimages++] = mx_xstrdup(c->image);
        fill_spec(c, i, &m->containers[m->ncontainers++]);
    }
    for (size_t i = 0; i < job->nsteps; i++)
        if (job->steps[i].kind == MX_JOB_STEP_REMOTE_DOCKER) m->docker_socket = 1;
    for (size_t i = 0; i < job->ncontainers && !*failure; i++) {
        const mx_container *c = &job->containers[i];
        int rc = 0;
        if (c->auth_username) rc = explicit_auth(c, env, secrets, d, failure, err);
        if (c->has_aws_auth) rc = aws_auth(c, env, opts, secrets, d, failure, err);
        if (rc < 0) return -1;
    }
    if (!*failure && chain_auths(job, env, opts, secrets, d, failure, notice, err) < 0) return -1;
    return 0;
}

void mx_job_containers_clear(mx_msg *m)
{
    /* every part of the message was allocated for it (passwords are wiped) */
    mx_msg_clear(m);
}
