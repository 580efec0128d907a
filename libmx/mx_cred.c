/* Credential resolution across sources in GitLab Runner's precedence (see mx_cred.h). */
#include "mx_cred.h"
#include "mx_buf.h"
#include "mx_cred_helper.h"
#include "mx_cred_ref.h"
#include "mx_dockercfg.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

enum entry_kind { E_STATIC, E_HELPER };

struct entry {
    char *path;   /* normalized key */
    char *server; /* the key as written (what a helper is asked about) */
    enum entry_kind kind;
    mx_cred cred; /* E_STATIC */
    char *helper; /* E_HELPER */
    const struct source *src;
    int host_wide;
};

struct table {
    struct entry *v;
    size_t n, cap;
};

struct source {
    char *name;
    struct table auths;   /* auths and explicit values */
    struct table helpers; /* credHelpers */
    char *store;          /* credsStore, listed when first needed */
    int restricted;       /* the host user's own: only for forwarded registries */
    char **forward;       /* restricted: normalized hosts (NULL-terminated) */
};

/* The key under which a withheld credsStore stands for every registry. */
#define ANY_REGISTRY "*"

struct mx_cred_resolver {
    mx_cred_opts opts;
    struct source *src;
    size_t nsrc;
    struct table merged;   /* built on first resolve */
    struct table withheld; /* host user's entries for registries not forwarded */
    int built;
};

static void cred_copy(mx_cred *dst, const mx_cred *src)
{
    dst->username = src->username ? mx_xstrdup(src->username) : NULL;
    dst->password = src->password ? mx_xstrdup(src->password) : NULL;
    dst->identity_token = src->identity_token ? mx_xstrdup(src->identity_token) : NULL;
    dst->server = src->server ? mx_xstrdup(src->server) : NULL;
    dst->source = src->source ? mx_xstrdup(src->source) : NULL;
}

static void entry_free(struct entry *e)
{
    free(e->path);
    free(e->server);
    mx_cred_clear(&e->cred);
    free(e->helper);
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->n; i++)
        entry_free(&t->v[i]);
    free(t->v);
    memset(t, 0, sizeof *t);
}

static struct entry *table_find(const struct table *t, const char *path)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].path, path) == 0) return &t->v[i];
    return NULL;
}

/* Adds e (taking its contents); an entry with the same path is replaced when `replace`, else e
 * is dropped (first one wins). */
static void table_put(struct table *t, struct entry *e, int replace)
{
    struct entry *old = table_find(t, e->path);
    if (old) {
        if (replace) {
            entry_free(old);
            *old = *e;
        } else {
            entry_free(e);
        }
        return;
    }
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 8;
        t->v = mx_xrealloc(t->v, t->cap * sizeof *t->v);
    }
    t->v[t->n++] = *e;
}

/* A copy of e that the merged table owns. */
static struct entry entry_dup(const struct entry *e)
{
    struct entry d = *e;
    d.path = mx_xstrdup(e->path);
    d.server = mx_xstrdup(e->server);
    memset(&d.cred, 0, sizeof d.cred);
    cred_copy(&d.cred, &e->cred);
    d.helper = e->helper ? mx_xstrdup(e->helper) : NULL;
    return d;
}

mx_cred_resolver *mx_cred_resolver_new(const mx_cred_opts *opts)
{
    mx_cred_resolver *r = mx_xcalloc(1, sizeof *r);
    if (opts) r->opts = *opts;
    return r;
}

static void source_free(struct source *s)
{
    free(s->name);
    table_free(&s->auths);
    table_free(&s->helpers);
    free(s->store);
    for (char **f = s->forward; f && *f; f++)
        free(*f);
    free(s->forward);
}

void mx_cred_resolver_free(mx_cred_resolver *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->nsrc; i++)
        source_free(&r->src[i]);
    free(r->src);
    table_free(&r->merged);
    table_free(&r->withheld);
    free(r);
}

static struct source *new_source(mx_cred_resolver *r, const char *name)
{
    r->src = mx_xrealloc(r->src, (r->nsrc + 1) * sizeof *r->src);
    struct source *s = &r->src[r->nsrc++];
    memset(s, 0, sizeof *s);
    s->name = mx_xstrdup(name);
    r->built = 0; /* a later add invalidates what was merged */
    table_free(&r->merged);
    table_free(&r->withheld);
    return s;
}

/* Entries point at their source; new_source() may move the array, so re-point them. */
static void relink(mx_cred_resolver *r)
{
    for (size_t i = 0; i < r->nsrc; i++) {
        for (size_t j = 0; j < r->src[i].auths.n; j++)
            r->src[i].auths.v[j].src = &r->src[i];
        for (size_t j = 0; j < r->src[i].helpers.n; j++)
            r->src[i].helpers.v[j].src = &r->src[i];
    }
}

int mx_cred_add_static(mx_cred_resolver *r, const char *registry, const char *username,
                       const char *password, const char *source, int flags, mx_err *err)
{
    char *path = mx_cred_key_path(registry);
    if (!path) return mx_fail(err, MX_USAGE, "%s: empty registry name", source);
    struct source *s = new_source(r, source);
    struct entry e = {.path = path, .server = mx_xstrdup(registry), .kind = E_STATIC};
    e.cred.username = username && *username ? mx_xstrdup(username) : NULL;
    e.cred.password = password && *password ? mx_xstrdup(password) : NULL;
    e.cred.server = mx_xstrdup(registry);
    e.cred.source = mx_xstrdup(source);
    e.host_wide = (flags & MX_CRED_HOST_WIDE) != 0;
    if (e.host_wide) {
        /* host-wide means the host alone: "host/path" would not cover the rest of the host */
        char *host = mx_cred_path_host(path);
        free(e.path);
        e.path = host;
    }
    table_put(&s->auths, &e, 1);
    relink(r);
    return 0;
}

// cppcheck-suppress unusedFunction ; no caller in mexec yet (only mx_cred_test)
int mx_cred_add_env(mx_cred_resolver *r, const char *registry, const char *user_var,
                    const char *pass_var, mx_cred_env_fn env, void *env_ctx, mx_err *err)
{
    const char *user = env(env_ctx, user_var);
    if (!user || !*user)
        return mx_fail(err, MX_USAGE,
                       "environment variable %s (user name for registry %s) is not set", user_var,
                       registry);
    const char *pass = env(env_ctx, pass_var);
    if (!pass || !*pass)
        return mx_fail(err, MX_USAGE,
                       "environment variable %s (password for registry %s) is not set", pass_var,
                       registry);
    char *source = mx_xasprintf("environment variables %s/%s", user_var, pass_var);
    int rc = mx_cred_add_static(r, registry, user, pass, source, 0, err);
    free(source);
    return rc;
}

struct add_ctx {
    struct source *s;
    const char *const *allowed;
    mx_err *err;
};

static int add_auth(void *ctx, const char *key, const mx_cred *c)
{
    struct add_ctx *a = ctx;
    char *path = mx_cred_key_path(key);
    if (!path) return 0; /* an empty key names no registry */
    struct entry e = {.path = path, .server = mx_xstrdup(key), .kind = E_STATIC};
    cred_copy(&e.cred, c);
    free(e.cred.source);
    e.cred.source = mx_xstrdup(a->s->name);
    table_put(&a->s->auths, &e, 1);
    return 0;
}

static int add_helper(void *ctx, const char *key, const char *helper)
{
    struct add_ctx *a = ctx;
    /* As GitLab: a traversal attempt in any helper name refuses the whole configuration. */
    if (mx_cred_helper_check_name(helper, a->err) < 0) {
        mx_wrap(a->err, "%s: credHelpers[\"%s\"]", a->s->name, key);
        return -1;
    }
    char *path = mx_cred_key_path(key);
    if (!path) return 0;
    struct entry e = {.path = path, .server = mx_xstrdup(key), .kind = E_HELPER};
    e.helper = mx_xstrdup(helper);
    table_put(&a->s->helpers, &e, 1);
    return 0;
}

/* forward: NULL for a source that is the job's own; else the host user's, restricted. */
static int add_config(mx_cred_resolver *r, const mx_dockercfg *cfg, const char *source,
                      const char *const *forward, int restricted, mx_err *err)
{
    const char *store = mx_dockercfg_creds_store(cfg);
    if (store && mx_cred_helper_check_name(store, err) < 0)
        return mx_wrap(err, "%s: credsStore", source);
    struct source *s = new_source(r, source);
    struct add_ctx a = {.s = s, .allowed = r->opts.allowed_helpers, .err = err};
    mx_dockercfg_each_auth(cfg, add_auth, &a);
    int rc = mx_dockercfg_each_helper(cfg, add_helper, &a);
    s->store = store ? mx_xstrdup(store) : NULL;
    s->restricted = restricted;
    size_t n = 0;
    for (size_t i = 0; forward && forward[i]; i++)
        n++;
    s->forward = mx_xcalloc(n + 1, sizeof *s->forward);
    for (size_t i = 0, j = 0; i < n; i++) {
        char *path = mx_cred_key_path(forward[i]);
        if (!path) continue;
        s->forward[j++] = mx_cred_path_host(path);
        free(path);
    }
    relink(r);
    if (rc < 0) {
        /* drop the half-added source: nothing of a refused configuration is used */
        r->nsrc--;
        source_free(s);
        return -1;
    }
    return 0;
}

int mx_cred_add_config_text(mx_cred_resolver *r, const char *text, const char *source, mx_err *err)
{
    mx_dockercfg cfg;
    if (mx_dockercfg_parse(&cfg, text, strlen(text), source, err) < 0) return -1;
    int rc = add_config(r, &cfg, source, NULL, 0, err);
    mx_dockercfg_free(&cfg);
    return rc;
}

int mx_cred_add_config_file(mx_cred_resolver *r, const char *path, mx_err *err)
{
    mx_dockercfg cfg;
    int found;
    if (mx_dockercfg_load(&cfg, path, &found, err) < 0) return -1;
    int rc = found ? add_config(r, &cfg, path, NULL, 0, err) : 0;
    mx_dockercfg_free(&cfg);
    return rc;
}

int mx_cred_add_host_config_file(mx_cred_resolver *r, const char *path, const char *const *forward,
                                 mx_err *err)
{
    mx_dockercfg cfg;
    int found;
    if (mx_dockercfg_load(&cfg, path, &found, err) < 0) return -1;
    int rc = found ? add_config(r, &cfg, path, forward, 1, err) : 0;
    mx_dockercfg_free(&cfg);
    return rc;
}

static int forwarded(const struct source *s, const char *path)
{
    if (!s->restricted) return 1;
    char *host = mx_cred_path_host(path);
    int yes = 0;
    for (char **f = s->forward; !yes && f && *f; f++)
        yes = strcmp(*f, host) == 0;
    free(host);
    return yes;
}

/* Puts a copy of e where it belongs: the source's table t, or the withheld ones. */
static void put_checked(mx_cred_resolver *r, const struct source *s, struct table *t,
                        const struct entry *e)
{
    struct entry d = entry_dup(e);
    if (forwarded(s, e->path))
        table_put(t, &d, 1);
    else
        table_put(&r->withheld, &d, 0);
}

/* A restricted source's credsStore: asked, as the docker CLI asks it, for each forwarded host
 * only (never listed: listing would run the helper for registries nobody forwards). */
static void restricted_store(mx_cred_resolver *r, struct source *s, struct table *t)
{
    for (char **f = s->forward; f && *f; f++) {
        int hub = strcmp(*f, MX_DOCKER_HUB) == 0;
        struct entry e = {.path = mx_xstrdup(*f),
                          .server = mx_xstrdup(hub ? "https://index.docker.io/v1/" : *f),
                          .kind = E_HELPER,
                          .helper = mx_xstrdup(s->store),
                          .src = s};
        table_put(t, &e, 1);
    }
    struct entry any = {.path = mx_xstrdup(ANY_REGISTRY),
                        .server = mx_xstrdup(ANY_REGISTRY),
                        .kind = E_HELPER,
                        .helper = mx_xstrdup(s->store),
                        .src = s};
    table_put(&r->withheld, &any, 0);
}

/* One source's own table: auths, then credsStore's listing, then credHelpers, each overriding
 * the one before for the same key (GitLab's order within a configuration). */
static int source_table(mx_cred_resolver *r, struct source *s, struct table *t, mx_err *err)
{
    for (size_t i = 0; i < s->auths.n; i++)
        put_checked(r, s, t, &s->auths.v[i]);
    if (s->store && s->restricted) {
        restricted_store(r, s, t);
    } else if (s->store) {
        if (mx_cred_helper_check_allowed(s->store, r->opts.allowed_helpers, err) < 0)
            return mx_wrap(err, "%s: credsStore", s->name);
        json_t *list;
        if (mx_cred_helper_list(s->store, r->opts.helper_path, &list, err) < 0)
            return mx_wrap(err, "%s: credsStore", s->name);
        const char *server;
        json_t *user;
        json_object_foreach(list, server, user)
        {
            char *path = mx_cred_key_path(server);
            if (!path) continue;
            struct entry e = {.path = path, .server = mx_xstrdup(server), .kind = E_HELPER};
            e.helper = mx_xstrdup(s->store);
            e.src = s;
            table_put(t, &e, 1);
        }
        json_decref(list);
    }
    for (size_t i = 0; i < s->helpers.n; i++)
        put_checked(r, s, t, &s->helpers.v[i]);
    return 0;
}

static int build(mx_cred_resolver *r, mx_err *err)
{
    if (r->built) return 0;
    table_free(&r->merged);
    table_free(&r->withheld);
    for (size_t i = 0; i < r->nsrc; i++) {
        struct table t = {0};
        if (source_table(r, &r->src[i], &t, err) < 0) {
            table_free(&t);
            table_free(&r->merged);
            table_free(&r->withheld);
            return -1;
        }
        /* across sources the first one to name a key keeps it */
        for (size_t j = 0; j < t.n; j++)
            table_put(&r->merged, &t.v[j], 0);
        free(t.v);
    }
    r->built = 1;
    return 0;
}

static int use_entry(mx_cred_resolver *r, const struct entry *e, mx_cred *out, mx_err *err)
{
    if (e->kind == E_STATIC) {
        cred_copy(out, &e->cred);
        return 1;
    }
    if (mx_cred_helper_check_allowed(e->helper, r->opts.allowed_helpers, err) < 0)
        return mx_wrap(err, "%s: registry %s", e->src->name, e->server);
    int got = mx_cred_helper_get(e->helper, e->server, r->opts.helper_path, out, err);
    if (got < 0) return mx_wrap(err, "%s: registry %s", e->src->name, e->server);
    if (got == 0) return 0; /* the helper has nothing: anonymous, as GitLab */
    char *src = mx_xasprintf("%s (via %s)", e->src->name, out->source);
    free(out->source);
    out->source = src;
    return 1;
}

/* The longest key in t that is path or a parent of it (alias: another spelling of path). */
static const struct entry *longest_prefix(const struct table *t, const char *path,
                                          const char *alias)
{
    const struct entry *e = NULL;
    char *p = mx_xstrdup(path);
    for (;;) {
        e = table_find(t, p);
        if (!e && alias && strcmp(p, path) == 0) e = table_find(t, alias);
        if (e) break;
        char *slash = strrchr(p, '/');
        if (!slash) break;
        *slash = '\0'; /* parent path: the longest prefix wins */
    }
    free(p);
    return e;
}

/* Nothing usable for path: says whether the host user's config.json had something withheld. */
static void note_withheld(mx_cred_resolver *r, const char *path, const char *alias, mx_cred *out)
{
    const struct entry *e = longest_prefix(&r->withheld, path, alias);
    if (!e) e = table_find(&r->withheld, ANY_REGISTRY);
    if (!e) return;
    out->withheld = 1;
    out->server =
        strcmp(e->path, ANY_REGISTRY) == 0 ? mx_cred_path_host(path) : mx_xstrdup(e->server);
    out->source = e->kind == E_HELPER
                      ? mx_xasprintf("%s (docker-credential-%s)", e->src->name, e->helper)
                      : mx_xstrdup(e->src->name);
}

static int lookup(mx_cred_resolver *r, const char *path, mx_cred *out, mx_err *err)
{
    memset(out, 0, sizeof *out);
    if (build(r, err) < 0) return -1;
    char *host = mx_cred_path_host(path);
    for (size_t i = 0; i < r->merged.n; i++) {
        const struct entry *e = &r->merged.v[i];
        if (e->host_wide && strcmp(e->path, host) == 0) {
            free(host);
            return use_entry(r, e, out, err);
        }
    }
    /* GitLab spells official images without "library/": try that spelling right after ours */
    char *alias = NULL;
    size_t hub = strlen(MX_DOCKER_HUB "/library/");
    if (strncmp(path, MX_DOCKER_HUB "/library/", hub) == 0)
        alias = mx_xasprintf(MX_DOCKER_HUB "/%s", path + hub);
    int rc = 0;
    const struct entry *e = longest_prefix(&r->merged, path, alias);
    if (e)
        rc = use_entry(r, e, out, err);
    else
        note_withheld(r, path, alias, out);
    free(alias);
    free(host);
    return rc;
}

int mx_cred_resolve(mx_cred_resolver *r, const char *image, mx_cred *out, mx_err *err)
{
    char *path = mx_cred_image_path(image, err);
    if (!path) return -1;
    int rc = lookup(r, path, out, err);
    free(path);
    return rc;
}

int mx_cred_resolve_registry(mx_cred_resolver *r, const char *registry, mx_cred *out, mx_err *err)
{
    char *path = mx_cred_key_path(registry);
    if (!path) return mx_fail(err, MX_USAGE, "empty registry name");
    int rc = lookup(r, path, out, err);
    free(path);
    return rc;
}
