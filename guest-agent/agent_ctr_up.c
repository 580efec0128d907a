/* The containers step (agent_ctr.h): pull every image, then create and start the containers.
 *
 * CircleCI (no network named): the primary starts first on the default bridge, with the
 * secondaries' names in its /etc/hosts as 127.0.0.1; each secondary joins its network namespace
 * (NetworkMode container:PRIMARY), so services answer on localhost as they do on CircleCI.
 * GitLab (a network named): a per-job bridge network; the services start first, each reachable
 * by its aliases, then the job container. */
#include "agent_ctr.h"
#include "mx_buf.h"
#include "agent_http.h"
#include "mx_cleanup.h"
#include "mx_cred_ref.h"
#include "mx_fs.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mxc_containers_up(mxd_ctx *c, mx_err *err);

static json_t *must(json_t *j)
{
    if (!j) mx_oom();
    return j;
}

static void put(json_t *o, const char *k, json_t *v)
{
    if (json_object_set_new(o, k, must(v)) != 0) mx_oom();
}

static json_t *strv(char *const *v, size_t n)
{
    json_t *a = must(json_array());
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, must(json_string(v[i]))) != 0) mx_oom();
    return a;
}

/* Pull failures name the image and its registry; the daemon's message says why (401 with the
 * registry's words, manifest unknown, ...). */
static int pull_all(mxd_ctx *c, mx_err *err)
{
    const mx_docker_args *d = &c->step->docker;
    for (size_t i = 0; i < d->nimages; i++) {
        int seen = 0;
        for (size_t k = 0; k < i && !seen; k++)
            seen = strcmp(d->images[k], d->images[i]) == 0;
        if (seen) continue;
        mxd_say(c, MX_STREAM_STDOUT, "Pulling %s", d->images[i]);
        if (mxd_pull_image(c, d->images[i], err) == 0) continue;
        if (c->cancelled || c->host_gone) return -1;
        mx_err e;
        mx_autofree char *path = mx_cred_image_path(d->images[i], &e);
        mx_autofree char *host = path ? mx_cred_path_host(path) : mx_xstrdup("?");
        return mx_wrap(err, "pull %s (registry %s)", d->images[i], host);
    }
    return 0;
}

typedef struct up_ctx {
    mxd_ctx *c;
    char *self;    /* the agent, to mount */
    long sock_gid; /* the Engine API socket's group, -1: not mounted */
} up_ctx;

static json_t *create_body(const up_ctx *u, const mx_container_spec *s, const mx_msg *m)
{
    json_t *o = must(json_object());
    put(o, "Image", json_string(s->image));
    json_t *env = must(json_array());
    for (size_t i = 0; i < s->nenv; i++) {
        mx_autofree char *kv = mx_xasprintf("%s=%s", s->env[i].key, s->env[i].value);
        if (json_array_append_new(env, must(json_string(kv))) != 0) mx_oom();
    }
    put(o, "Env", env);
    if (s->user) put(o, "User", json_string(s->user));
    if (s->steps && !s->has_command) {
        /* kept alive by the agent, the image's entrypoint and command unused (CircleCI's
         * primary; GitLab's job container) */
        char *init[] = {MX_CTR_AGENT, "--ctr-init"};
        put(o, "Entrypoint", strv(init, 2));
        put(o, "Cmd", json_array());
    } else {
        if (s->has_entrypoint) put(o, "Entrypoint", strv(s->entrypoint, s->nentrypoint));
        if (s->has_command) put(o, "Cmd", strv(s->command, s->ncommand));
    }
    json_t *hc = must(json_object());
    json_t *binds = must(json_array());
    if (s->steps) {
        mx_autofree char *b = mx_xasprintf("%s:%s:ro", u->self, MX_CTR_AGENT);
        if (json_array_append_new(binds, must(json_string(b))) != 0) mx_oom();
        if (u->sock_gid >= 0) {
            mx_autofree char *sb = mx_xasprintf("%s:/var/run/docker.sock", u->c->sock);
            mx_autofree char *gid = mx_xasprintf("%ld", u->sock_gid);
            if (json_array_append_new(binds, must(json_string(sb))) != 0) mx_oom();
            put(hc, "GroupAdd", json_pack("[s]", gid));
        }
    }
    for (size_t i = 0; i < s->nbinds; i++) {
        /* the VM's directory, made here as the VM's user, so both sides can write */
        const char *colon = strchr(s->binds[i], ':');
        mx_autofree char *src = mx_xstrndup(s->binds[i], (size_t)(colon - s->binds[i]));
        mx_autofree char *abs = mx_agent_expand_home(src, getenv("HOME") ? getenv("HOME") : "/");
        mx_err e;
        if (mx_mkdir_p(abs, 0755, &e) == 0) {
            mx_autofree char *b = mx_xasprintf("%s%s", abs, colon);
            if (json_array_append_new(binds, must(json_string(b))) != 0) mx_oom();
        }
    }
    put(hc, "Binds", binds);
    if (m->network) {
        put(hc, "NetworkMode", json_string(m->network));
        json_t *ep = must(json_object());
        put(ep, "Aliases", strv(s->aliases, s->naliases));
        json_t *eps = must(json_object());
        put(eps, m->network, ep);
        put(o, "NetworkingConfig", json_pack("{s:o}", "EndpointsConfig", eps));
    } else if (s != &m->containers[0]) {
        mx_autofree char *mode = mx_xasprintf("container:%s", m->containers[0].name);
        put(hc, "NetworkMode", json_string(mode));
    } else {
        /* the secondaries' names, for everything in the shared namespace */
        json_t *hosts = must(json_array());
        for (size_t i = 1; i < m->ncontainers; i++)
            for (size_t k = 0; k < m->containers[i].naliases; k++) {
                mx_autofree char *h = mx_xasprintf("%s:127.0.0.1", m->containers[i].aliases[k]);
                if (json_array_append_new(hosts, must(json_string(h))) != 0) mx_oom();
            }
        put(hc, "ExtraHosts", hosts);
    }
    put(o, "HostConfig", hc);
    return o;
}

static int start_one(const up_ctx *u, const mx_container_spec *s, const mx_msg *m, mx_err *err)
{
    mxd_ctx *c = u->c;
    if (s->naliases)
        mxd_say(c, MX_STREAM_STDOUT, "Starting container %s (%s), reachable as %s", s->name,
                s->image, s->aliases[0]);
    else
        mxd_say(c, MX_STREAM_STDOUT, "Starting container %s (%s)", s->name, s->image);
    json_t *o = create_body(u, s, m);
    char *js = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!js) mx_oom();
    mx_autofree char *en = mxh_escape(s->name);
    mx_autofree char *path = mx_xasprintf("/containers/create?name=%s", en);
    int rc = mxc_post_json(c, path, js, NULL, err);
    /* the environment may hold the job's secrets */
    explicit_bzero(js, strlen(js));
    free(js);
    if (rc == 0) {
        mx_autofree char *start = mx_xasprintf("/containers/%s/start", en);
        rc = mxc_post_json(c, start, NULL, NULL, err);
    }
    return rc < 0 ? mx_wrap(err, "container %s (%s)", s->name, s->image) : 0;
}

int mxc_containers_up(mxd_ctx *c, mx_err *err)
{
    const mx_msg *m = c->step;
    if (m->ncontainers == 0) return mx_fail(err, MX_INFRA, "containers step without containers");
    if (pull_all(c, err) < 0) return -1;
    up_ctx u = {.c = c, .sock_gid = -1};
    u.self = mxc_self_path(err);
    if (!u.self) return -1;
    struct stat st;
    if (m->docker_socket && stat(c->sock, &st) == 0) u.sock_gid = (long)st.st_gid;
    int rc = 0;
    if (m->network) {
        mx_autojson json_t *net =
            must(json_pack("{s:s, s:b}", "Name", m->network, "CheckDuplicate", 1));
        char *js = json_dumps(net, JSON_COMPACT);
        if (!js) mx_oom();
        rc = mxc_post_json(c, "/networks/create", js, NULL, err);
        free(js);
        if (rc < 0) mx_wrap(err, "network %s", m->network);
        /* services first: the job's script may reach them at once */
        for (size_t i = 1; rc == 0 && i < m->ncontainers; i++)
            rc = start_one(&u, &m->containers[i], m, err);
        if (rc == 0) rc = start_one(&u, &m->containers[0], m, err);
    } else {
        /* the primary first: the others join its network namespace */
        for (size_t i = 0; rc == 0 && i < m->ncontainers; i++)
            rc = start_one(&u, &m->containers[i], m, err);
    }
    free(u.self);
    return rc;
}
