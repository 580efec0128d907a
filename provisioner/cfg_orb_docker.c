/* The CircleCI docker orb, built in so configs that use it work offline whatever version they
 * pin.  Only check (docker login) and pull have a local meaning; mexec runs them natively, so
 * they become steps of their own rather than the orb's shell scripts.
 *
 * The orb renamed its parameters from hyphens (v2: docker-username) to snake_case (v3:
 * docker_username); both are accepted, and the normalized step uses snake_case. */
#include "cfg_internal.h"
#include "cfg_params.h"
#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

/* The orb's declarations, as in its check.yml and pull.yml. */
static const char check_decls[] =
    "registry: {type: string, default: docker.io}\n"
    "docker_username: {type: env_var_name, default: DOCKER_LOGIN}\n"
    "docker_password: {type: env_var_name, default: DOCKER_PASSWORD}\n"
    "use_docker_credentials_store: {type: boolean, default: false}\n";
static const char pull_decls[] = "images: {type: string, default: \"\"}\n"
                                 "ignore_docker_pull_error: {type: boolean, default: false}\n";

int mx_cfg_docker_is_step(const char *key)
{
    return strcmp(key, "docker/check") == 0 || strcmp(key, "docker/pull") == 0;
}

/* A copy of args with v2 names turned into v3 names; both spellings at once is an error. */
static int snake_args(const mx_node *args, const mx_node *decls, mx_node **out, mx_err *err)
{
    mx_node *n = mx_node_new(MX_NODE_MAP, args);
    for (size_t i = 0; args && i < args->n; i++) {
        const mx_node *k = args->keys[i];
        char *s = mx_xstrdup(k->value);
        for (char *p = s; *p; p++)
            if (*p == '-') *p = '_';
        /* only the orb's own names are respelled, so a typo is reported as written */
        const char *name = mx_node_get(decls, s) ? s : k->value;
        if (mx_node_get(n, name)) {
            mx_node_fail(err, k, "\"%s\" is given twice (as %s and in the other spelling)", name,
                         k->value);
            free(s);
            mx_node_free(n);
            return -1;
        }
        mx_node *nk = mx_node_new_scalar(name, k);
        mx_node_map_add(n, nk, mx_node_copy(args->vals[i]));
        free(s);
    }
    *out = n;
    return 0;
}

int mx_cfg_docker_step(mx_cfg *c, const char *cmd, const mx_node *args, const mx_node *at,
                       mx_node *out_steps, mx_err *err)
{
    (void)c;
    const char *text = strcmp(cmd, "check") == 0  ? check_decls
                       : strcmp(cmd, "pull") == 0 ? pull_decls
                                                  : NULL;
    if (!text) {
        static const char *const cmds[] = {"check", "pull"};
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "the built-in docker orb has no command \"%s\"", cmd);
        mx_cfg_suggest_add(&m, cmd, cmds, 2);
        mx_buf_adds(&m, " (built in: check, pull; for anything else define it in commands:)");
        mx_node_fail(err, at, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    if (args && mx_node_is_null(args)) args = NULL;
    if (args && args->kind != MX_NODE_MAP)
        return mx_node_fail(err, args, "docker/%s takes a map of arguments", cmd);
    mx_node *decls = NULL, *sargs = NULL, *bound = NULL;
    if (mx_yaml_load_string("docker-orb", text, strlen(text), &decls, err) < 0) return -1;
    char *what = mx_xasprintf("docker/%s", cmd);
    int rc = snake_args(args, decls, &sargs, err);
    if (rc == 0) rc = mx_cfg_params_bind(decls, sargs, NULL, at, what, &bound, err);
    if (rc == 0 && strcmp(cmd, "pull") == 0 && !*mx_node_get(bound, "images")->value) {
        /* the orb's pull is `when: << parameters.images >>`: nothing to pull, no step */
    } else if (rc == 0) {
        mx_node *step = mx_node_new(MX_NODE_MAP, at);
        mx_node_map_put(step, what, bound);
        bound = NULL;
        mx_node_seq_add(out_steps, step);
    }
    free(what);
    mx_node_free(bound);
    mx_node_free(sargs);
    mx_node_free(decls);
    return rc;
}
