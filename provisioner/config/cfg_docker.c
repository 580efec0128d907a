/* The docker executor's `docker:` list: containers with image, name, entrypoint, command, user,
 * environment, auth and aws_auth (CircleCI's configuration reference).  Keys the reference does
 * not list are let through, as CircleCI takes them (ports: appears in configs it runs); the ones
 * it lists must have the right shape. */
#include "cfg_process_int.h"
#include "cfg_job.h"
#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

/* A command line longer than this is not a command line. */
#define MAX_WORDS 4096

static void add_word(char ***v, size_t *n, mx_buf *w)
{
    *v = mx_xrealloc(*v, (*n + 2) * sizeof **v);
    (*v)[(*n)++] = mx_xstrndup(w->data ? w->data : "", w->len);
    (*v)[*n] = NULL;
    w->len = 0;
}

int mx_cfg_split_words(const char *s, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    mx_buf w;
    mx_buf_init(&w);
    int in_word = 0, rc = 0;
    for (const char *p = s; *p && rc == 0; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            if (in_word) add_word(out, n, &w);
            in_word = 0;
            continue;
        }
        in_word = 1;
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (!end) {
                rc = -1;
                break;
            }
            mx_buf_add(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && p[1] && strchr("\"\\$`", p[1])) p++;
                mx_buf_add(&w, p, 1);
            }
            if (!*p) { /* unclosed: p is at the end, which the loop must not step past */
                rc = -1;
                break;
            }
        } else if (*p == '\\' && p[1]) {
            mx_buf_add(&w, ++p, 1);
        } else {
            mx_buf_add(&w, p, 1);
        }
        if (*n >= MAX_WORDS) rc = -1;
    }
    if (rc == 0 && in_word) add_word(out, n, &w);
    mx_buf_free(&w);
    if (rc < 0) {
        for (size_t i = 0; i < *n; i++)
            free((*out)[i]);
        free(*out);
        *out = NULL;
        *n = 0;
    }
    if (rc == 0 && !*out) *out = mx_xcalloc(1, sizeof **out);
    return rc;
}

static int scalar(const mx_node *v, const char *what, char **out, mx_err *err)
{
    if (v->kind != MX_NODE_SCALAR || mx_node_is_null(v))
        return mx_node_fail(err, v, "%s must be a string, not %s", what,
                            mx_node_is_null(v) ? "null" : mx_node_kind_name(v));
    *out = mx_xstrdup(v->value);
    return 0;
}

/* entrypoint: and command: take a list of words or one string (split as a shell would). */
static int words(const mx_node *v, const char *what, char ***out, size_t *n, int *has, mx_err *err)
{
    if (!v) return 0;
    *has = 1;
    if (v->kind == MX_NODE_SCALAR && !mx_node_is_null(v)) {
        if (mx_cfg_split_words(v->value, out, n) < 0)
            return mx_node_fail(err, v, "%s \"%s\" has an unclosed quote", what, v->value);
        return 0;
    }
    if (v->kind != MX_NODE_SEQ)
        return mx_node_fail(err, v, "%s must be a string or a list of strings", what);
    *out = mx_xcalloc(v->n + 1, sizeof **out);
    for (size_t i = 0; i < v->n; i++) {
        if (scalar(v->items[i], what, &(*out)[i], err) < 0) return -1;
        (*n)++;
    }
    return 0;
}

static int parse_auth(const mx_node *a, mx_container *c, mx_err *err)
{
    if (a->kind != MX_NODE_MAP)
        return mx_node_fail(err, a, "auth takes a map with username: and password:");
    static const char *const keys[] = {"username", "password", NULL};
    if (mx_cfg_check_keys(a, "auth", keys, err) < 0) return -1;
    const mx_node *u = mx_node_get(a, "username"), *p = mx_node_get(a, "password");
    if (!u || !p) return mx_node_fail(err, a, "auth needs username: and password:");
    if (scalar(u, "auth username", &c->auth_username, err) < 0 ||
        scalar(p, "auth password", &c->auth_password, err) < 0)
        return -1;
    return 0;
}

static int parse_aws_auth(const mx_node *a, mx_container *c, mx_err *err)
{
    if (a->kind != MX_NODE_MAP)
        return mx_node_fail(err, a,
                            "aws_auth takes a map with aws_access_key_id: and "
                            "aws_secret_access_key:, or oidc_role_arn:");
    static const char *const keys[] = {"aws_access_key_id", "aws_secret_access_key",
                                       "oidc_role_arn", NULL};
    if (mx_cfg_check_keys(a, "aws_auth", keys, err) < 0) return -1;
    const mx_node *id = mx_node_get(a, "aws_access_key_id");
    const mx_node *key = mx_node_get(a, "aws_secret_access_key");
    const mx_node *role = mx_node_get(a, "oidc_role_arn");
    c->has_aws_auth = 1;
    if (role) {
        if (id || key)
            return mx_node_fail(err, role,
                                "aws_auth takes either oidc_role_arn: or access keys, not both");
        return scalar(role, "oidc_role_arn", &c->aws_oidc_role_arn, err);
    }
    if (!id || !key)
        return mx_node_fail(err, a,
                            "aws_auth needs aws_access_key_id: and aws_secret_access_key: (or "
                            "oidc_role_arn:)");
    if (scalar(id, "aws_access_key_id", &c->aws_access_key_id, err) < 0 ||
        scalar(key, "aws_secret_access_key", &c->aws_secret_access_key, err) < 0)
        return -1;
    return 0;
}

static int parse_container(const mx_node *n, mx_container *c, mx_err *err)
{
    if (n->kind != MX_NODE_MAP)
        return mx_node_fail(err, n, "a docker container is a map with image:");
    c->line = n->line;
    c->col = n->col;
    const mx_node *im = mx_node_get(n, "image");
    if (!im || im->kind != MX_NODE_SCALAR || mx_node_is_null(im) || !*im->value)
        return mx_node_fail(err, im ? im : n, "a docker container needs image: NAME:TAG");
    c->image = mx_xstrdup(im->value);
    const mx_node *v;
    if ((v = mx_node_get(n, "name")) && scalar(v, "name", &c->name, err) < 0) return -1;
    if ((v = mx_node_get(n, "user")) && scalar(v, "user", &c->user, err) < 0) return -1;
    if (words(mx_node_get(n, "entrypoint"), "entrypoint", &c->entrypoint, &c->nentrypoint,
              &c->has_entrypoint, err) < 0 ||
        words(mx_node_get(n, "command"), "command", &c->command, &c->ncommand, &c->has_command,
              err) < 0)
        return -1;
    if ((v = mx_node_get(n, "environment")) && mx_cfg_env_parse(v, &c->env, err) < 0) return -1;
    const mx_node *auth = mx_node_get(n, "auth"), *aws = mx_node_get(n, "aws_auth");
    if (auth && aws)
        return mx_node_fail(err, aws, "a container takes auth: or aws_auth:, not both");
    if (auth && parse_auth(auth, c, err) < 0) return -1;
    if (aws && parse_aws_auth(aws, c, err) < 0) return -1;
    if (c->name) {
        /* a host name: what the primary's /etc/hosts can hold */
        for (const char *p = c->name; *p; p++)
            if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.", *p) ||
                strlen(c->name) > 63)
                return mx_node_fail(err, mx_node_get(n, "name"),
                                    "container name \"%s\" is not a host name", c->name);
    }
    return 0;
}

int mx_cfg_docker_executor(const mx_node *d, mx_job *out, mx_err *err)
{
    if (d->kind != MX_NODE_SEQ || d->n == 0)
        return mx_node_fail(err, d, "docker takes a list of images (- image: NAME:TAG)");
    out->containers = mx_xcalloc(d->n, sizeof *out->containers);
    for (size_t i = 0; i < d->n; i++) {
        out->ncontainers++;
        if (parse_container(d->items[i], &out->containers[i], err) < 0) return -1;
    }
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void mx_container_free(mx_container *c)
{
    free(c->image);
    free(c->name);
    strv_free(c->entrypoint, c->nentrypoint);
    strv_free(c->command, c->ncommand);
    free(c->user);
    mx_envlist_free(&c->env);
    free(c->auth_username);
    free(c->auth_password);
    free(c->aws_access_key_id);
    free(c->aws_secret_access_key);
    free(c->aws_oidc_role_arn);
    memset(c, 0, sizeof *c);
}
