/* Loading a config's orbs, and the orbs those import: inline, from the user's orb directory,
 * from CircleCI's registry (through the cache and the lock file, orb_registry.h), or the
 * built-in docker orb when the real one cannot be had.  Every orb that cannot be had is named
 * in one error, each with its file:line:col. */
#include "cfg_process_int.h"
#include "cfg_suggest.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "orb_registry.h"

#include <stdlib.h>
#include <string.h>

typedef struct missing {
    char *where; /* "FILE:L:C: REF (as ALIAS)" */
    char *why;
} missing;

typedef struct loader {
    mx_cfg *c;
    mx_orb_resolver *res;                    /* NULL: no registry, no cache */
    size_t count;                            /* orb references resolved, imports included */
    const char *chain[MX_ORB_MAX_DEPTH + 1]; /* ids being loaded, outermost first */
    size_t depth;
    missing *miss;
    size_t nmiss;
    int unknown; /* a missing orb the registry does not know: the config must change */
} loader;

static const char *orb_dir(char **owned)
{
    const char *d = getenv("MEXEC_ORB_DIR");
    if (d && *d) return d;
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    if (xdg && *xdg) return *owned = mx_xasprintf("%s/mexec/orbs", xdg);
    return *owned = mx_xasprintf("%s/.config/mexec/orbs", home && *home ? home : "/root");
}

static int load_list(loader *l, const mx_node *orbs, mx_cfg_orb **list, size_t *n, mx_err *err);

/* An orb's definition: its keys, and the orbs it imports. */
static int load_def(loader *l, mx_cfg_orb *orb, const mx_node *def, mx_err *err)
{
    if (def->kind != MX_NODE_MAP) return mx_node_fail(err, def, "an orb must be a map");
    static const char *const keys[] = {"version",   "description", "display", "commands", "jobs",
                                       "executors", "examples",    "orbs",    NULL};
    if (mx_cfg_check_keys(def, "an orb", keys, err) < 0) return -1;
    orb->def = def;
    const mx_node *imports = mx_node_get(def, "orbs");
    if (!imports || mx_node_is_null(imports)) return 0;
    return load_list(l, imports, &orb->imports, &orb->nimports, err);
}

static void add_missing(loader *l, const mx_cfg_orb *orb, const mx_node *ref, const char *why)
{
    l->miss = mx_xrealloc(l->miss, (l->nmiss + 1) * sizeof *l->miss);
    missing *m = &l->miss[l->nmiss++];
    m->where = mx_xasprintf("%s:%d:%d: %s (as %s)", ref->file, ref->line, ref->col, ref->value,
                            orb->alias);
    m->why = mx_xstrdup(why);
}

/* The registry (through lock and cache): 1 loaded; 0 not available, *why saying why (*unknown
 * when the registry does not know the orb); -1 error. */
static int from_registry(loader *l, mx_cfg_orb *orb, const mx_node *ref, char **why, int *unknown,
                         mx_err *err)
{
    enum mx_orb_how how;
    mx_autofree char *version = NULL;
    mx_buf src;
    mx_buf_init(&src);
    mx_err e;
    mx_err_clear(&e);
    int rc = mx_orb_resolve(l->res, ref->value, &how, &version, &src, why, &e);
    if (rc < 0 && e.status == MX_USAGE && strncmp(e.msg, "orb registry ", 13) == 0) {
        *why = mx_xstrdup(e.msg); /* named with the other missing orbs */
        *unknown = 1;
        mx_buf_free(&src);
        return 0;
    }
    if (rc < 0) {
        mx_buf_free(&src);
        mx_node_fail(err, ref, "%s", e.msg);
        err->status = e.status; /* an API that misbehaves is no config error */
        return -1;
    }
    if (how == MX_ORB_MISSING) {
        mx_buf_free(&src);
        return 0;
    }
    mx_autofree char *id = mx_xstrndup(ref->value, strcspn(ref->value, "@"));
    mx_autofree char *name = mx_xasprintf("%s@%s", id, version);
    rc = mx_yaml_load_string(name, src.data ? src.data : "", src.len, &orb->owned, err);
    mx_buf_free(&src);
    if (rc < 0) return mx_wrap(err, "orb %s", ref->value);
    return 1;
}

static int resolve_ref(loader *l, mx_cfg_orb *orb, const mx_node *ref, mx_err *err)
{
    mx_autofree char *id = NULL, *want = NULL;
    if (ref->kind != MX_NODE_SCALAR || mx_orb_ref_split(ref->value, &id, &want) < 0)
        return mx_node_fail(err, ref, "orb \"%s\" is not NAMESPACE/NAME@VERSION",
                            ref->kind == MX_NODE_SCALAR ? ref->value : "?");
    if (++l->count > MX_ORB_MAX_COUNT)
        return mx_node_fail(err, ref, "more than %d orbs (imports included)", MX_ORB_MAX_COUNT);
    for (size_t i = 0; i < l->depth; i++) {
        if (strcmp(l->chain[i], id) != 0) continue;
        mx_buf m;
        mx_buf_init(&m);
        for (size_t k = i; k < l->depth; k++)
            mx_buf_printf(&m, "%s imports ", l->chain[k]);
        mx_node_fail(err, ref, "orbs import each other: %s%s", m.data, id);
        mx_buf_free(&m);
        return -1;
    }
    if (l->depth >= MX_ORB_MAX_DEPTH)
        return mx_node_fail(err, ref, "orbs import orbs more than %d deep", MX_ORB_MAX_DEPTH);
    /* the user's own copy wins: an orb being written, or one mexec cannot fetch */
    char *owned = NULL;
    const char *dir = orb_dir(&owned);
    mx_autofree char *path = mx_xasprintf("%s/%s.yml", dir, id);
    free(owned);
    int got = 0, unknown = 0;
    mx_autofree char *why = NULL;
    if (mx_path_exists(path)) {
        if (mx_yaml_load_file(path, &orb->owned, err) < 0) return mx_wrap(err, "orb %s", id);
        got = 1;
    } else if (l->res && (got = from_registry(l, orb, ref, &why, &unknown, err)) < 0) {
        return -1;
    }
    if (!got && !unknown && strcmp(id, "circleci/docker") == 0) {
        /* the real one is out of reach: the built-in stand-in */
        orb->docker = 1;
        if (mx_cfg_docker_orb_load(&orb->owned, err) < 0) return -1;
        orb->def = orb->owned;
        return 0;
    }
    if (!got) {
        add_missing(l, orb, ref,
                    why ? why
                        : "no orb registry was given, and it is not built in (built in: "
                          "circleci/docker)");
        l->unknown |= unknown;
        return 0;
    }
    /* each file is bounded by the loader; together (64 of them) they are by the config's
     * expansion budget, which they share with what expansion makes */
    if (mx_cfg_charge_tree(&l->c->budget, orb->owned, ref, err) < 0)
        return mx_wrap(err, "orb %s", ref->value);
    l->chain[l->depth++] = id;
    int rc = load_def(l, orb, orb->owned, err);
    l->depth--;
    if (rc < 0) return mx_wrap(err, "orb %s", ref->value);
    return 0;
}

static int load_list(loader *l, const mx_node *orbs, mx_cfg_orb **list, size_t *n, mx_err *err)
{
    if (orbs->kind != MX_NODE_MAP)
        return mx_node_fail(err, orbs, "orbs must be a map of NAME: NAMESPACE/ORB@VERSION");
    *list = mx_xcalloc(orbs->n ? orbs->n : 1, sizeof **list);
    for (size_t i = 0; i < orbs->n; i++) {
        mx_cfg_orb *o = &(*list)[(*n)++];
        o->alias = mx_xstrdup(orbs->keys[i]->value);
        const mx_node *v = orbs->vals[i];
        int rc = v->kind == MX_NODE_MAP ? load_def(l, o, v, err) : resolve_ref(l, o, v, err);
        if (rc < 0) return mx_wrap(err, "orbs.%s", o->alias);
    }
    return 0;
}

void mx_cfg_orbs_free(mx_cfg_orb *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].alias);
        mx_node_free(list[i].owned);
        mx_cfg_orbs_free(list[i].imports, list[i].nimports);
    }
    free(list);
}

/* One error for every orb that could not be had. */
static int report_missing(loader *l, mx_err *err)
{
    mx_buf m;
    mx_buf_init(&m);
    mx_buf_printf(&m, "%zu orb%s not available: ", l->nmiss, l->nmiss > 1 ? "s are" : " is");
    for (size_t i = 0; i < l->nmiss; i++) {
        const char *next = i + 1 < l->nmiss ? l->miss[i + 1].why : NULL;
        /* a reason shared with the next orb is said once, after the last of them */
        if (next && l->miss[i].why && strcmp(next, l->miss[i].why) == 0)
            mx_buf_printf(&m, "%s, ", l->miss[i].where);
        else
            mx_buf_printf(&m, "%s: %s%s", l->miss[i].where, l->miss[i].why, next ? "; " : "");
    }
    char *owned = NULL;
    mx_buf_printf(&m, " (an orb's source may also be put at %s/NAMESPACE/NAME.yml)",
                  orb_dir(&owned));
    free(owned);
    mx_fail(err, l->unknown || !l->res ? MX_USAGE : MX_INFRA, "%s", m.data);
    mx_buf_free(&m);
    return -1;
}

int mx_cfg_load_orbs(mx_cfg *c, mx_orb_resolver *res, mx_err *err)
{
    const mx_node *orbs = mx_node_get(c->root, "orbs");
    if (!orbs || mx_node_is_null(orbs)) return 0;
    loader l;
    memset(&l, 0, sizeof l);
    l.c = c;
    l.res = res;
    int rc = load_list(&l, orbs, &c->orbs, &c->norbs, err);
    if (rc == 0 && l.nmiss) rc = report_missing(&l, err);
    for (size_t i = 0; i < l.nmiss; i++) {
        free(l.miss[i].where);
        free(l.miss[i].why);
    }
    free(l.miss);
    return rc;
}
