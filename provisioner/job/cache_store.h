/* The host-side cache store behind save_cache and restore_cache: tar files keyed as CircleCI
 * keys caches, shared by every run on this host, one directory per project.
 *
 *   ROOT/.lock                      flock: lookups, commits and eviction take it (briefly)
 *   ROOT/PROJECT/project            what the project is (remote URL without credentials, or
 *                                   the config's directory), for people reading the store
 *   ROOT/PROJECT/HASH.tar           one cache: HASH is the SHA-256 of its key
 *   ROOT/PROJECT/HASH.meta          "mexec-cache 1\nCREATED_NS\nKEY"; its mtime is the last use
 *   ROOT/PROJECT/.incoming-PID-N    a download in progress; .restore-PID-N a restore's link
 *
 * PROJECT is the SHA-256 of the project's identity, so two projects never see each other's
 * caches.  As on CircleCI a key, once saved, is never overwritten; restore takes, for the first
 * key that is a prefix of some saved key, the newest such cache.  The store's total size is
 * capped: after each save the caches least recently used (saved or restored) are removed until
 * it fits.  Nothing here runs a transfer under the lock. */
#ifndef MX_CACHE_STORE_H
#define MX_CACHE_STORE_H

#include "mx_err.h"

#include <stddef.h>

typedef struct mx_cache {
    char *root;
    char *dir; /* ROOT/PROJECT */
    long long max_bytes;
} mx_cache;

typedef struct mx_cache_hit {
    char *key;  /* the saved key that matched */
    char *path; /* a private link to its tar (remove with mx_cache_hit_free) */
    long long size;
} mx_cache_hit;

/* The project's identity: "git:URL" (user and password removed from URL) when remote_url is
 * set, else "dir:DIR".  Caller frees. */
char *mx_cache_project(const char *remote_url, const char *dir);

/* Opens (creating, mode 0700) root and the project's directory. */
int mx_cache_open(mx_cache *c, const char *root, const char *project, long long max_bytes,
                  mx_err *err);
void mx_cache_close(mx_cache *c);

/* Whether key is saved. */
int mx_cache_has(const mx_cache *c, const char *key);

/* restore_cache: 1 with *hit for the first of keys that prefixes a saved key (the newest
 * such), 0 when none does, -1 with *err.  Marks the cache used. */
int mx_cache_lookup(const mx_cache *c, const char *const *keys, size_t n, mx_cache_hit *hit,
                    mx_err *err);
void mx_cache_hit_free(mx_cache_hit *hit);

/* A fresh name in the project's directory for a download (caller frees). */
char *mx_cache_incoming(const mx_cache *c);

/* save_cache: moves the downloaded tar at incoming into the store under key, unless key is
 * saved already (*existed = 1; incoming is removed, as CircleCI keeps the first), then evicts
 * least recently used caches until the store fits max_bytes.  A tar larger than max_bytes is
 * refused. */
int mx_cache_commit(const mx_cache *c, const char *key, const char *incoming, int *existed,
                    mx_err *err);

/* Removes the least recently used caches of every project until the store holds at most
 * max_bytes; *removed counts them.  Takes the lock. */
int mx_cache_evict(const char *root, long long max_bytes, int *removed, mx_err *err);

/* mexec gc: removes downloads and restore links whose process is gone.  Returns how many. */
int mx_cache_gc(const char *root);

#endif
