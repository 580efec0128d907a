/* The host settings of the job steps that keep things on the host (host.yaml):
 *
 *   cache_dir: /var/lib/mexec/cache   # the cache store (default: that as root, else the
 *                                     # user's ~/.cache/mexec/cache)
 *   cache_max_bytes: 10G              # the whole store; least recently used caches go first
 *   artifacts_max_bytes: 1G           # what one job (node) may store as artifacts
 *   test_results_max_bytes: 64M       # and as test results
 *   ssh_keys:                         # the only keys add_ssh_keys can give a job
 *     "b7:35:a6:4e:...": /etc/mexec/keys/deploy
 *     deploy: {path: /etc/mexec/keys/deploy2, hostname: git.example.com}
 *
 * Sizes are bytes, or a number with K, M, G or T (powers of 1024). */
#ifndef MX_HOST_STEPS_H
#define MX_HOST_STEPS_H

#include "cfg_yaml.h"
#include "mx_err.h"

typedef struct mx_host_key {
    char *name;     /* a fingerprint or a name, as add_ssh_keys' fingerprints: name it */
    char *path;     /* the private key file on the host (absolute) */
    char *hostname; /* NULL, or the host the key is for: a ~/.ssh/config entry in the guest */
} mx_host_key;

typedef struct mx_host_steps {
    char *cache_dir; /* NULL: the default (mx_host_steps_cache_dir) */
    long long cache_max_bytes;
    long long artifacts_max_bytes;
    long long test_results_max_bytes;
    mx_host_key *ssh_keys;
    size_t nssh_keys;
} mx_host_steps;

void mx_host_steps_defaults(mx_host_steps *s);
/* Applies host setting key: 1 when it is one of these (or -1 with *err), 0 when it is not. */
int mx_host_steps_apply(mx_host_steps *s, const char *key, const mx_node *v, mx_err *err);
void mx_host_steps_free(mx_host_steps *s);

/* The cache store's directory: cache_dir, else /var/lib/mexec/cache for root, else
 * $XDG_CACHE_HOME/mexec/cache or ~/.cache/mexec/cache.  Caller frees. */
char *mx_host_steps_cache_dir(const mx_host_steps *s);

/* "10G" -> bytes; -1 when malformed. */
long long mx_parse_bytes(const char *s);

#endif
