/* The container parts of a step message: a containers step's list (images, names, aliases,
 * entrypoint, command, user, env), its network, and the container and user any other step
 * runs in.  Names reach the Engine API in URL paths, so the decoder checks them. */
#include "mx_proto_int.h"
#include "mx_buf.h"
#include "mx_utf8.h"

#include <stdlib.h>
#include <string.h>

/* The counts are bounded so a hostile peer cannot make the agent start thousands of
 * containers from one line; a job has a handful. */
#define MX_PROTO_MAX_CONTAINERS 64
#define MX_PROTO_MAX_NAME 128

/* Strings go through mx_proto_text (repaired if not UTF-8, never NULL): a config's or a
 * user's bytes must not abort the host; mx_msg_check refuses such fields beforehand. */
static void set(json_t *o, const char *k, json_t *v)
{
    mx_proto_set(o, k, v);
}

static json_t *strv(char *const *v, size_t n)
{
    json_t *a = json_array();
    if (!a) mx_oom();
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, mx_proto_text(v[i])) != 0) mx_oom();
    return a;
}

static json_t *env_object(const mx_kv *env, size_t n)
{
    json_t *o = json_object();
    if (!o) mx_oom();
    for (size_t i = 0; i < n; i++)
        set(o, env[i].key, mx_proto_text(env[i].value));
    return o;
}

static int bad_utf8(const char *s)
{
    return s && !mx_utf8_valid(s, strlen(s));
}

static int bad_utf8v(char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (bad_utf8(v[i])) return 1;
    return 0;
}

const char *mx_proto_check_ctr(const mx_msg *m)
{
    if (bad_utf8(m->container)) return "the container";
    if (bad_utf8(m->user)) return "the user";
    if (bad_utf8(m->network)) return "the network";
    for (size_t i = 0; i < m->ncontainers; i++) {
        const mx_container_spec *c = &m->containers[i];
        if (bad_utf8(c->name) || bad_utf8(c->image) || bad_utf8(c->user))
            return "a container's name, image or user";
        if (bad_utf8v(c->aliases, c->naliases) || bad_utf8v(c->entrypoint, c->nentrypoint) ||
            bad_utf8v(c->command, c->ncommand) || bad_utf8v(c->binds, c->nbinds))
            return "a container's aliases, entrypoint, command or mounts";
        for (size_t k = 0; k < c->nenv; k++)
            if (bad_utf8(c->env[k].key) || bad_utf8(c->env[k].value))
                return "a container's environment";
    }
    return NULL;
}

static json_t *encode_one(const mx_container_spec *c)
{
    json_t *o = json_object();
    if (!o) mx_oom();
    set(o, "name", mx_proto_text(c->name));
    set(o, "image", mx_proto_text(c->image));
    if (c->naliases) set(o, "aliases", strv(c->aliases, c->naliases));
    if (c->has_entrypoint) set(o, "entrypoint", strv(c->entrypoint, c->nentrypoint));
    if (c->has_command) set(o, "command", strv(c->command, c->ncommand));
    if (c->user) set(o, "user", mx_proto_text(c->user));
    if (c->nenv) set(o, "env", env_object(c->env, c->nenv));
    if (c->nbinds) set(o, "binds", strv(c->binds, c->nbinds));
    if (c->steps) set(o, "steps", json_true());
    return o;
}

void mx_proto_encode_ctr(json_t *o, const mx_msg *m)
{
    if (m->container) set(o, "container", mx_proto_text(m->container));
    if (m->user) set(o, "user", mx_proto_text(m->user));
    if (m->kind != MX_STEP_CONTAINERS) return;
    json_t *a = json_array();
    if (!a) mx_oom();
    for (size_t i = 0; i < m->ncontainers; i++)
        if (json_array_append_new(a, encode_one(&m->containers[i])) != 0) mx_oom();
    set(o, "containers", a);
    if (m->network) set(o, "network", mx_proto_text(m->network));
    if (m->docker_socket) set(o, "docker_socket", json_true());
}

/* What the Engine API takes as a container or network name (and nothing that could leave a
 * URL path segment). */
static int valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MX_PROTO_MAX_NAME) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || !strchr("_.-", c))) return 0;
    }
    return 1;
}

static int get_str(json_t *o, const char *k, char **out, mx_err *err)
{
    json_t *v = json_object_get(o, k);
    if (!v) return 0;
    if (!json_is_string(v)) return mx_fail(err, MX_INFRA, "\"%s\" is not a string", k);
    *out = mx_xstrdup(json_string_value(v));
    return 0;
}

static int get_name(json_t *o, const char *k, char **out, int required, mx_err *err)
{
    if (get_str(o, k, out, err) < 0) return -1;
    if (!*out) return required ? mx_fail(err, MX_INFRA, "message lacks \"%s\"", k) : 0;
    if (!valid_name(*out)) return mx_fail(err, MX_INFRA, "\"%s\" is not a container name", k);
    return 0;
}

/* An optional array of strings: *has says whether it was there (an empty one counts). */
static int get_strv(json_t *o, const char *k, char ***v, size_t *n, int *has, mx_err *err)
{
    json_t *a = json_object_get(o, k);
    if (!a) return 0;
    if (!json_is_array(a)) return mx_fail(err, MX_INFRA, "\"%s\" is not an array", k);
    *v = mx_xcalloc(json_array_size(a) + 1, sizeof **v);
    if (has) *has = 1;
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s)
    {
        if (!json_is_string(s)) return mx_fail(err, MX_INFRA, "%s[%zu] is not a string", k, i);
        (*v)[(*n)++] = mx_xstrdup(json_string_value(s));
    }
    return 0;
}

static int get_env(json_t *o, mx_kv **env, size_t *n, mx_err *err)
{
    json_t *e = json_object_get(o, "env");
    if (!e) return 0;
    if (!json_is_object(e)) return mx_fail(err, MX_INFRA, "\"env\" is not an object");
    *env = mx_xcalloc(json_object_size(e) + 1, sizeof **env);
    const char *k;
    json_t *v;
    json_object_foreach(e, k, v)
    {
        if (!json_is_string(v)) return mx_fail(err, MX_INFRA, "env \"%s\" is not a string", k);
        (*env)[*n].key = mx_xstrdup(k);
        (*env)[*n].value = mx_xstrdup(json_string_value(v));
        (*n)++;
    }
    return 0;
}

static int decode_one(json_t *o, mx_container_spec *c, mx_err *err)
{
    if (!json_is_object(o)) return mx_fail(err, MX_INFRA, "not an object");
    json_t *steps = json_object_get(o, "steps");
    if (steps && !json_is_boolean(steps))
        return mx_fail(err, MX_INFRA, "\"steps\" is not a boolean");
    c->steps = json_is_true(steps);
    if (get_name(o, "name", &c->name, 1, err) < 0 || get_str(o, "image", &c->image, err) < 0 ||
        get_str(o, "user", &c->user, err) < 0 ||
        get_strv(o, "aliases", &c->aliases, &c->naliases, NULL, err) < 0 ||
        get_strv(o, "entrypoint", &c->entrypoint, &c->nentrypoint, &c->has_entrypoint, err) < 0 ||
        get_strv(o, "command", &c->command, &c->ncommand, &c->has_command, err) < 0 ||
        get_strv(o, "binds", &c->binds, &c->nbinds, NULL, err) < 0 ||
        get_env(o, &c->env, &c->nenv, err) < 0)
        return -1;
    for (size_t i = 0; i < c->nbinds; i++) {
        const char *colon = strchr(c->binds[i], ':');
        if (!colon || colon == c->binds[i] || colon[1] != '/' || strchr(colon + 1, ':'))
            return mx_fail(err, MX_INFRA, "binds[%zu] is not VMDIR:/PATH", i);
    }
    if (!c->image || !*c->image) return mx_fail(err, MX_INFRA, "no image");
    return 0;
}

int mx_proto_decode_ctr(json_t *o, mx_msg *m, mx_err *err)
{
    if (get_name(o, "container", &m->container, 0, err) < 0 ||
        get_str(o, "user", &m->user, err) < 0)
        return -1;
    if (m->kind != MX_STEP_CONTAINERS) return 0;
    json_t *sock = json_object_get(o, "docker_socket");
    if (sock && !json_is_boolean(sock))
        return mx_fail(err, MX_INFRA, "\"docker_socket\" is not a boolean");
    m->docker_socket = json_is_true(sock);
    if (get_name(o, "network", &m->network, 0, err) < 0) return -1;
    json_t *a = json_object_get(o, "containers");
    if (!json_is_array(a) || json_array_size(a) == 0)
        return mx_fail(err, MX_INFRA, "\"containers\" is not a list of containers");
    if (json_array_size(a) > MX_PROTO_MAX_CONTAINERS)
        return mx_fail(err, MX_INFRA, "more than %d containers", MX_PROTO_MAX_CONTAINERS);
    m->containers = mx_xcalloc(json_array_size(a), sizeof *m->containers);
    size_t i;
    json_t *c;
    json_array_foreach(a, i, c)
    {
        m->ncontainers++;
        if (decode_one(c, &m->containers[i], err) < 0) return mx_wrap(err, "containers[%zu]", i);
    }
    return 0;
}

static void strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void mx_proto_clear_ctr(mx_msg *m)
{
    for (size_t i = 0; i < m->ncontainers; i++) {
        mx_container_spec *c = &m->containers[i];
        free(c->name);
        free(c->image);
        free(c->user);
        strv_free(c->aliases, c->naliases);
        strv_free(c->entrypoint, c->nentrypoint);
        strv_free(c->command, c->ncommand);
        strv_free(c->binds, c->nbinds);
        for (size_t k = 0; k < c->nenv; k++) {
            free(c->env[k].key);
            free(c->env[k].value);
        }
        free(c->env);
    }
    free(m->containers);
    free(m->network);
    free(m->container);
    free(m->user);
}
