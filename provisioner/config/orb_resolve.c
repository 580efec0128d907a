/* Which source a registry orb reference gets: the lock file pins exact versions and digests,
 * the cache serves exact versions without asking, the registry answers the rest, and when it
 * cannot be reached the newest matching cached version stands in. */
#include "cfg_process.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "orb_registry.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One request may take this long, within the config's whole budget */
#define REQUEST_SECONDS 30

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *mx_orb_cache_dir_default(void)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/') return mx_xasprintf("%s/mexec/orbs", xdg);
    return mx_xasprintf("%s/.cache/mexec/orbs", home && *home ? home : "/root");
}

static int digest_ok(const char *d)
{
    if (strncmp(d, "sha256:", 7) != 0 || strlen(d) != 71) return 0;
    for (const char *p = d + 7; *p; p++)
        if (!strchr("0123456789abcdef", *p)) return 0;
    return 1;
}

static int read_lock(mx_orb_resolver *r, mx_err *err)
{
    r->lock = mx_node_new(MX_NODE_MAP, NULL);
    if (!r->lock_path || !mx_path_exists(r->lock_path)) return 0;
    mx_node *doc = NULL;
    if (mx_yaml_load_file(r->lock_path, &doc, err) < 0) return -1;
    int rc = 0;
    if (!mx_node_is_null(doc) && doc->kind != MX_NODE_MAP)
        rc = mx_node_fail(err, doc,
                          "an orb lock file is a map of NS/NAME@VERSION: {version, "
                          "digest}");
    for (size_t i = 0; rc == 0 && doc->kind == MX_NODE_MAP && i < doc->n; i++) {
        const mx_node *e = doc->vals[i], *v = mx_node_get(e, "version"),
                      *d = mx_node_get(e, "digest");
        char *id = NULL, *want = NULL;
        int ref_ok = mx_orb_ref_split(doc->keys[i]->value, &id, &want) == 0;
        free(id);
        free(want);
        if (!ref_ok || !v || !d || v->kind != MX_NODE_SCALAR || d->kind != MX_NODE_SCALAR ||
            !mx_orb_version_exact(v->value) || !digest_ok(d->value))
            rc = mx_node_fail(err, doc->keys[i],
                              "orb lock entry \"%s\" is not NS/NAME@VERSION: {version: X.Y.Z, "
                              "digest: sha256:HEX} (delete it to resolve the orb again)",
                              doc->keys[i]->value);
    }
    if (rc == 0 && doc->kind == MX_NODE_MAP) {
        mx_node_free(r->lock);
        r->lock = doc;
    } else {
        mx_node_free(doc);
    }
    return rc;
}

int mx_orb_resolver_init(mx_orb_resolver *r, const char *api, const char *cache_dir,
                         const char *lock_path, mx_err *err)
{
    memset(r, 0, sizeof *r);
    r->api = api ? mx_xstrdup(api) : NULL;
    r->cache_dir = cache_dir ? mx_xstrdup(cache_dir) : mx_orb_cache_dir_default();
    r->lock_path = lock_path ? mx_xstrdup(lock_path) : NULL;
    return read_lock(r, err);
}

int mx_orb_resolver_for_config(mx_orb_resolver *r, const char *api, int offline,
                               const char *config_path, const char *lock_path, mx_err *err)
{
    /* beside the config: it goes into version control with it, as a package lock does */
    mx_autofree char *dir = mx_dirname(config_path);
    mx_autofree char *beside = mx_path_join(dir, "mexec-orbs.lock");
    return mx_orb_resolver_init(r, offline ? NULL : api, NULL, lock_path ? lock_path : beside, err);
}

void mx_orb_resolver_free(mx_orb_resolver *r)
{
    free(r->api);
    free(r->cache_dir);
    free(r->lock_path);
    free(r->unreachable);
    mx_node_free(r->lock);
    memset(r, 0, sizeof *r);
}

static void pin(mx_orb_resolver *r, const char *ref, const char *version, const char *digest)
{
    const mx_node *old = mx_node_get(r->lock, ref);
    const mx_node *ov = mx_node_get(old, "version"), *od = mx_node_get(old, "digest");
    if (ov && od && strcmp(ov->value, version) == 0 && strcmp(od->value, digest) == 0) return;
    mx_node *e = mx_node_new(MX_NODE_MAP, r->lock);
    mx_node *v = mx_node_new_scalar(version, r->lock);
    v->quoted = 1;
    mx_node_map_put(e, "version", v);
    mx_node_map_put(e, "digest", mx_node_new_scalar(digest, r->lock));
    mx_node_map_del(r->lock, ref);
    mx_node_map_put(r->lock, ref, e);
    r->lock_changed = 1;
}

/* Asks the registry, within the budget; remembers that it cannot be reached. */
static int ask(mx_orb_resolver *r, const char *ref, char **version, mx_buf *source,
               enum mx_orb_fetch *res, mx_err *err)
{
    *res = MX_ORB_UNREACHABLE;
    *version = NULL;
    if (!r->api || r->unreachable) return 0;
    long long now = now_ms();
    if (!r->deadline_ms) r->deadline_ms = now + MX_ORB_MAX_SECONDS * 1000LL;
    long left = (long)((r->deadline_ms - now) / 1000);
    if (left <= 0) {
        r->unreachable = mx_xasprintf("orb registry %s: the orbs of this config took longer "
                                      "than %d s to fetch",
                                      r->api, MX_ORB_MAX_SECONDS);
        return 0;
    }
    r->fetched++;
    mx_err e;
    mx_err_clear(&e);
    if (mx_orb_api_fetch(r->api, ref, left < REQUEST_SECONDS ? left : REQUEST_SECONDS, version,
                         source, res, &e) < 0) {
        *err = e;
        return -1;
    }
    if (*res == MX_ORB_UNREACHABLE) r->unreachable = mx_xstrdup(e.msg);
    if (*res == MX_ORB_UNKNOWN) {
        *err = e;
        return -1;
    }
    return 0;
}

/* Why ref has no source (the same for every orb, unless a cached copy was damaged). */
static char *missing_why(const mx_orb_resolver *r, const char *damaged)
{
    return mx_xasprintf("not in the orb cache %s%s%s%s, and %s", r->cache_dir, damaged ? " (" : "",
                        damaged ? damaged : "", damaged ? ")" : "",
                        r->unreachable ? r->unreachable
                        : r->api       ? "the registry was not asked"
                                       : "offline (no orb registry)");
}

/* The version the lock pins for ref: from the cache, else the registry, checked against the
 * pinned digest either way. */
static int resolve_locked(mx_orb_resolver *r, const char *ref, const char *id, const mx_node *entry,
                          enum mx_orb_how *how, char **version, mx_buf *source, char **why,
                          mx_err *err)
{
    const char *v = mx_node_get(entry, "version")->value,
               *want = mx_node_get(entry, "digest")->value;
    char digest[MX_SHA256_DIGEST_LEN];
    char *damaged = NULL;
    int hit = mx_orb_cache_get(r->cache_dir, id, v, source, digest, &damaged, err);
    if (hit < 0) return -1;
    if (hit && strcmp(digest, want) == 0) {
        free(damaged);
        *version = mx_xstrdup(v);
        *how = MX_ORB_FROM_CACHE;
        return 0;
    }
    source->len = 0;
    mx_autofree char *exact = mx_xasprintf("%s@%s", id, v);
    char *got = NULL;
    enum mx_orb_fetch res;
    if (ask(r, exact, &got, source, &res, err) < 0) {
        free(damaged);
        return -1;
    }
    if (res != MX_ORB_FOUND) {
        *why = missing_why(r, damaged);
        free(damaged);
        *how = MX_ORB_MISSING;
        return 0;
    }
    free(damaged);
    if (mx_orb_cache_put(r->cache_dir, id, got, source->data, source->len, digest, err) < 0) {
        free(got);
        return -1;
    }
    if (strcmp(digest, want) != 0) {
        free(got);
        return mx_fail(err, MX_USAGE,
                       "orb %s: the registry's source of %s (%s) is not the one %s pins (%s); if "
                       "that is expected, delete its entry from the lock file",
                       ref, exact, digest, r->lock_path, want);
    }
    *version = got;
    *how = MX_ORB_FROM_REGISTRY;
    return 0;
}

int mx_orb_resolve(mx_orb_resolver *r, const char *ref, enum mx_orb_how *how, char **version,
                   mx_buf *source, char **why, mx_err *err)
{
    *how = MX_ORB_MISSING;
    *version = *why = NULL;
    mx_autofree char *id = NULL, *want = NULL;
    if (mx_orb_ref_split(ref, &id, &want) < 0)
        return mx_fail(err, MX_USAGE, "orb \"%s\" is not NAMESPACE/NAME@VERSION", ref);
    const mx_node *entry = mx_node_get(r->lock, ref);
    if (entry) return resolve_locked(r, ref, id, entry, how, version, source, why, err);
    char digest[MX_SHA256_DIGEST_LEN];
    char *damaged = NULL;
    if (mx_orb_version_exact(want)) {
        int hit = mx_orb_cache_get(r->cache_dir, id, want, source, digest, &damaged, err);
        if (hit < 0) return -1;
        if (hit) {
            *version = mx_xstrdup(want);
            *how = MX_ORB_FROM_CACHE;
            pin(r, ref, want, digest);
            return 0;
        }
        source->len = 0;
    }
    enum mx_orb_fetch res;
    char *got = NULL;
    if (ask(r, ref, &got, source, &res, err) < 0) {
        free(damaged);
        return -1;
    }
    if (res == MX_ORB_FOUND) {
        free(damaged);
        if (mx_orb_cache_put(r->cache_dir, id, got, source->data, source->len, digest, err) < 0) {
            free(got);
            return -1;
        }
        *version = got;
        *how = MX_ORB_FROM_REGISTRY;
        pin(r, ref, got, digest);
        return 0;
    }
    /* the registry is out of reach: the newest cached version that fits */
    source->len = 0;
    char *newest = mx_orb_cache_newest(r->cache_dir, id, want);
    char *why_newest = NULL;
    if (newest &&
        mx_orb_cache_get(r->cache_dir, id, newest, source, digest, &why_newest, err) == 1) {
        free(damaged);
        *version = newest;
        *how = MX_ORB_FROM_CACHE;
        pin(r, ref, newest, digest);
        return 0;
    }
    source->len = 0;
    free(newest);
    *why = missing_why(r, damaged ? damaged : why_newest);
    free(damaged);
    free(why_newest);
    return 0;
}

int mx_orb_resolver_save(mx_orb_resolver *r, mx_err *err)
{
    if (!r->lock_path || !r->lock_changed) return 0;
    mx_buf out;
    mx_buf_init(&out);
    mx_buf_adds(&out, "# The orb versions mexec resolved for this config, pinned with their "
                      "digests\n# (mexec config process|validate, mexec run).  Delete an entry, "
                      "or the file, to\n# resolve again.\n");
    int rc = mx_cfg_emit(r->lock, &out, err);
    mx_autofree char *tmp = mx_xasprintf("%s.tmp%ld", r->lock_path, (long)getpid());
    if (rc == 0) rc = mx_write_file(tmp, out.data, out.len, 0644, err);
    if (rc == 0 && rename(tmp, r->lock_path) < 0) {
        rc = mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
        unlink(tmp);
    }
    mx_buf_free(&out);
    if (rc == 0) r->lock_changed = 0;
    return rc;
}
