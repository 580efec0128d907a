/* Registry orbs (circleci/node@5, ...): their source from CircleCI's orb API, kept in a cache
 * per exact version with its digest, pinned by a lock file next to the config.
 *
 * The API is the one the circleci CLI uses: a GraphQL POST of
 *   query($orbVersionRef: String!) { orbVersion(orbVersionRef: $orbVersionRef)
 *                                    { id version orb { id name } source } }
 * with orbVersionRef "NS/NAME@VERSION"; the server resolves partial versions (@5, @5.1) and
 * @volatile to an exact one, and answers orbVersion: null for an unknown orb or version. */
#ifndef MX_ORB_REGISTRY_H
#define MX_ORB_REGISTRY_H

#include "cfg_yaml.h"
#include "mx_buf.h"
#include "mx_err.h"
#include "mx_sha256.h"

#define MX_ORB_API_DEFAULT "https://circleci.com/graphql-unstable"
/* Bounds on what a config may make mexec fetch: an orb's source, how many orbs (imports
 * included), how deeply orbs import orbs, and the time all requests of one config may take. */
#define MX_ORB_MAX_SOURCE (4u << 20)
#define MX_ORB_MAX_COUNT 64
#define MX_ORB_MAX_DEPTH 8
#define MX_ORB_MAX_SECONDS 120

/* ---- the API (orb_api.c) ---- */
enum mx_orb_fetch {
    MX_ORB_FOUND,
    MX_ORB_UNKNOWN,     /* the registry has no such orb or version */
    MX_ORB_UNREACHABLE, /* no answer, or a server error: try the cache */
};

/* Asks api for ref ("NS/NAME@VERSION").  On MX_ORB_FOUND, *version is the exact version and
 * source holds the orb's YAML.  Otherwise err says why (naming the API and status); -1 only
 * for a reply that is not what the API sends. */
int mx_orb_api_fetch(const char *api, const char *ref, long timeout_s, char **version,
                     mx_buf *source, enum mx_orb_fetch *result, mx_err *err);

/* ---- references ---- */
/* "NS/NAME@VERSION" with names of [A-Za-z0-9_.-] (not starting with '.') and a version of
 * [A-Za-z0-9_.:-] without "..": safe as path components.  *id is "NS/NAME", *version the part
 * after '@' ("volatile" when there is none). */
int mx_orb_ref_split(const char *ref, char **id, char **version);
/* Is v an exact version (X.Y.Z, or a dev:NAME label) rather than X, X.Y or volatile? */
int mx_orb_version_exact(const char *v);
/* Does exact version v satisfy want (X, X.Y, volatile or itself)? */
int mx_orb_version_matches(const char *v, const char *want);
/* <0, 0, >0 as exact versions a and b order (numerically). */
int mx_orb_version_cmp(const char *a, const char *b);

/* ---- the cache (orb_cache.c): DIR/NS/NAME/VERSION.yml, its digest in VERSION.yml.sha256 ---- */
/* 1 with source and digest when the cached copy is there and matches its digest; 0 when it is
 * not there, or damaged (*why says so, caller frees); -1 on an error reading it. */
int mx_orb_cache_get(const char *dir, const char *id, const char *version, mx_buf *source,
                     char digest[MX_SHA256_DIGEST_LEN], char **why, mx_err *err);
/* Stores source (atomically: a reader sees the old copy or the new one) and its digest. */
int mx_orb_cache_put(const char *dir, const char *id, const char *version, const char *source,
                     size_t len, char digest[MX_SHA256_DIGEST_LEN], mx_err *err);
/* The newest cached exact version of id that matches want (X, X.Y, volatile), or NULL. */
char *mx_orb_cache_newest(const char *dir, const char *id, const char *want);

/* ---- the resolver (orb_resolve.c): lock, cache, registry ---- */
typedef struct mx_orb_resolver {
    char *api;       /* NULL: offline (cache and lock only) */
    char *cache_dir; /* CACHE/NS/NAME/VERSION.yml and .sha256 */
    char *lock_path; /* NULL: no lock file */
    mx_node *lock;   /* { "NS/NAME@REF": {version, digest} }: read, then what was resolved */
    int lock_changed;
    long long deadline_ms; /* set at the first request */
    size_t fetched;        /* registry requests made */
    char *unreachable;     /* why the registry could not be reached, once it could not */
} mx_orb_resolver;

/* api NULL: offline.  cache_dir NULL: $XDG_CACHE_HOME/mexec/orbs (~/.cache/mexec/orbs).
 * lock_path NULL: none; else read now if it exists. */
int mx_orb_resolver_init(mx_orb_resolver *r, const char *api, const char *cache_dir,
                         const char *lock_path, mx_err *err);
void mx_orb_resolver_free(mx_orb_resolver *r);

enum mx_orb_how { MX_ORB_FROM_CACHE, MX_ORB_FROM_REGISTRY, MX_ORB_MISSING };

/* The source of ref ("NS/NAME@VERSION"): from the lock's pinned version if it has the ref, else
 * the cache (exact versions), else the registry, else (the registry out of reach) the newest
 * cached version that matches.  Returns 0 with *how MX_ORB_FROM_* and *version, source set, or
 * *how MX_ORB_MISSING with *why (not cached and not reachable); -1 with err for what must stop
 * processing: an unknown orb, a digest that differs from the lock's, a bad reply. */
int mx_orb_resolve(mx_orb_resolver *r, const char *ref, enum mx_orb_how *how, char **version,
                   mx_buf *source, char **why, mx_err *err);
/* The resolver a command uses for the config at config_path: api unless offline, the user's
 * cache, and the lock file lock_path, else mexec-orbs.lock beside the config. */
int mx_orb_resolver_for_config(mx_orb_resolver *r, const char *api, int offline,
                               const char *config_path, const char *lock_path, mx_err *err);
/* Writes the lock file if something was resolved that it did not pin. */
int mx_orb_resolver_save(mx_orb_resolver *r, mx_err *err);

/* $XDG_CACHE_HOME/mexec/orbs, else $HOME/.cache/mexec/orbs; caller frees. */
char *mx_orb_cache_dir_default(void);

#endif
