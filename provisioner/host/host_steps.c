#include "host_steps.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GIB (1024LL * 1024 * 1024)

void mx_host_steps_defaults(mx_host_steps *s)
{
    memset(s, 0, sizeof *s);
    s->cache_max_bytes = 10 * GIB;
    s->artifacts_max_bytes = 1 * GIB;
    s->test_results_max_bytes = 64LL * 1024 * 1024;
}

long long mx_parse_bytes(const char *s)
{
    const char *end;
    long long n;
    if (mx_parse_int_prefix(s, 0, LLONG_MAX, &n, &end) < 0) return -1;
    int shift = 0;
    switch (*end) {
    case 'K':
        shift = 10;
        break;
    case 'M':
        shift = 20;
        break;
    case 'G':
        shift = 30;
        break;
    case 'T':
        shift = 40;
        break;
    case '\0':
        return n;
    default:
        return -1;
    }
    if (end[1] && strcmp(end + 1, "i") != 0 && strcmp(end + 1, "iB") != 0 &&
        strcmp(end + 1, "B") != 0)
        return -1;
    if (n > (1LL << (62 - shift))) return -1;
    return n << shift;
}

static int size_setting(const mx_node *v, const char *what, long long *out, mx_err *err)
{
    long long n = v->kind == MX_NODE_SCALAR ? mx_parse_bytes(v->value) : -1;
    if (n < 0)
        return mx_node_fail(err, v, "%s must be a size in bytes, or with K, M, G or T", what);
    *out = n;
    return 0;
}

static int one_key(mx_host_key *k, const mx_node *name, const mx_node *v, mx_err *err)
{
    k->name = mx_xstrdup(name->value);
    const mx_node *path = v, *host = NULL;
    if (v->kind == MX_NODE_MAP) {
        for (size_t i = 0; i < v->n; i++)
            if (strcmp(v->keys[i]->value, "path") != 0 &&
                strcmp(v->keys[i]->value, "hostname") != 0)
                return mx_node_fail(err, v->keys[i],
                                    "unknown ssh_keys setting \"%s\" (known: path, hostname)",
                                    v->keys[i]->value);
        path = mx_node_get(v, "path");
        host = mx_node_get(v, "hostname");
        if (!path) return mx_node_fail(err, v, "ssh key %s needs a path", k->name);
    }
    if (path->kind != MX_NODE_SCALAR || path->value[0] != '/')
        return mx_node_fail(err, path, "ssh key %s: the key file must be an absolute path",
                            k->name);
    k->path = mx_xstrdup(path->value);
    if (host) {
        /* it becomes a line of ~/.ssh/config: one word */
        if (host->kind != MX_NODE_SCALAR || !*host->value || strpbrk(host->value, " \t\r\n"))
            return mx_node_fail(err, host, "ssh key %s: hostname must be one host name", k->name);
        k->hostname = mx_xstrdup(host->value);
    }
    return 0;
}

static int ssh_keys(mx_host_steps *s, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m,
                            "ssh_keys must be a map of FINGERPRINT_OR_NAME: /path/to/key (or "
                            "{path, hostname})");
    s->ssh_keys = mx_xcalloc(m->n, sizeof *s->ssh_keys);
    for (size_t i = 0; i < m->n; i++) {
        s->nssh_keys++;
        if (one_key(&s->ssh_keys[i], m->keys[i], m->vals[i], err) < 0) return -1;
    }
    return 0;
}

int mx_host_steps_apply(mx_host_steps *s, const char *key, const mx_node *v, mx_err *err)
{
    int rc = 0;
    if (strcmp(key, "cache_dir") == 0) {
        if (v->kind != MX_NODE_SCALAR || v->value[0] != '/')
            return mx_node_fail(err, v, "cache_dir must be an absolute path");
        free(s->cache_dir);
        s->cache_dir = mx_xstrdup(v->value);
    } else if (strcmp(key, "cache_max_bytes") == 0) {
        rc = size_setting(v, key, &s->cache_max_bytes, err);
    } else if (strcmp(key, "artifacts_max_bytes") == 0) {
        rc = size_setting(v, key, &s->artifacts_max_bytes, err);
    } else if (strcmp(key, "test_results_max_bytes") == 0) {
        rc = size_setting(v, key, &s->test_results_max_bytes, err);
    } else if (strcmp(key, "ssh_keys") == 0) {
        rc = ssh_keys(s, v, err);
    } else {
        return 0;
    }
    return rc < 0 ? -1 : 1;
}

void mx_host_steps_free(mx_host_steps *s)
{
    for (size_t i = 0; i < s->nssh_keys; i++) {
        free(s->ssh_keys[i].name);
        free(s->ssh_keys[i].path);
        free(s->ssh_keys[i].hostname);
    }
    free(s->ssh_keys);
    free(s->cache_dir);
    memset(s, 0, sizeof *s);
}

char *mx_host_steps_cache_dir(const mx_host_steps *s)
{
    if (s->cache_dir) return mx_xstrdup(s->cache_dir);
    if (geteuid() == 0) return mx_xstrdup("/var/lib/mexec/cache");
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && xdg[0] == '/') return mx_path_join(xdg, "mexec/cache");
    const char *home = getenv("HOME");
    return mx_xasprintf("%s/.cache/mexec/cache", home && *home ? home : "/tmp");
}
