#include "cache_store.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_sha256.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define META_MAGIC "mexec-cache 1\n"

static char *hex_sha256(const char *s)
{
    char d[MX_SHA256_DIGEST_LEN];
    mx_err err;
    /* SHA-256 is built into OpenSSL: only allocating its context can fail */
    if (mx_sha256_digest(s, strlen(s), d, &err) < 0) mx_oom();
    return mx_xstrdup(d + strlen("sha256:"));
}

char *mx_cache_project(const char *remote_url, const char *dir)
{
    if (!remote_url || !*remote_url) return mx_xasprintf("dir:%s", dir ? dir : "");
    /* scheme://user:pass@host/... -> scheme://host/...; scp-like user@host:path stays (no
     * secret in it) */
    const char *scheme = strstr(remote_url, "://");
    if (scheme) {
        const char *host = scheme + 3;
        const char *slash = strchr(host, '/');
        const char *at = memchr(host, '@', slash ? (size_t)(slash - host) : strlen(host));
        if (at) return mx_xasprintf("git:%.*s%s", (int)(host - remote_url), remote_url, at + 1);
    }
    return mx_xasprintf("git:%s", remote_url);
}

/* Takes ROOT/.lock (blocking); the fd, or -1 with *err. */
static int lock_root(const char *root, mx_err *err)
{
    mx_autofree char *path = mx_path_join(root, ".lock");
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    while (flock(fd, LOCK_EX) < 0) {
        if (errno == EINTR) continue;
        mx_fail_errno(err, MX_INFRA, "lock %s", path);
        close(fd);
        return -1;
    }
    return fd;
}

int mx_cache_open(mx_cache *c, const char *root, const char *project, long long max_bytes,
                  mx_err *err)
{
    memset(c, 0, sizeof *c);
    mx_autofree char *id = hex_sha256(project);
    c->root = mx_xstrdup(root);
    c->dir = mx_path_join(root, id);
    c->max_bytes = max_bytes;
    if (mx_mkdir_p(c->dir, 0700, err) < 0) return mx_wrap(err, "cache store");
    mx_autofree char *name = mx_path_join(c->dir, "project");
    if (!mx_path_exists(name) && mx_write_file(name, project, strlen(project), 0600, err) < 0)
        return mx_wrap(err, "cache store");
    return 0;
}

void mx_cache_close(mx_cache *c)
{
    free(c->root);
    free(c->dir);
    memset(c, 0, sizeof *c);
}

static char *entry_path(const mx_cache *c, const char *key, const char *ext)
{
    mx_autofree char *h = hex_sha256(key);
    return mx_xasprintf("%s/%s.%s", c->dir, h, ext);
}

int mx_cache_has(const mx_cache *c, const char *key)
{
    mx_autofree char *meta = entry_path(c, key, "meta");
    mx_autofree char *tar = entry_path(c, key, "tar");
    return mx_path_exists(meta) && mx_path_exists(tar);
}

/* A meta file: its key and creation time.  -1 if it is not one of ours. */
static int read_meta(const char *path, char **key, long long *created)
{
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file(path, &b, NULL) < 0) return -1;
    mx_buf_adds(&b, "");
    int rc = -1;
    if (strncmp(b.data, META_MAGIC, strlen(META_MAGIC)) == 0) {
        const char *p = b.data + strlen(META_MAGIC), *end;
        long long t;
        if (mx_parse_int_prefix(p, LLONG_MIN, LLONG_MAX, &t, &end) == 0 && *end == '\n') {
            *created = t;
            *key = mx_xstrdup(end + 1);
            rc = 0;
        }
    }
    mx_buf_free(&b);
    return rc;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* The newest saved key with prefix, into *best (replacing it) when newer than *best_created. */
static void scan_prefix(const mx_cache *c, const char *prefix, char **best, long long *best_created)
{
    DIR *d = opendir(c->dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".meta")) continue;
        mx_autofree char *path = mx_path_join(c->dir, e->d_name);
        char *key = NULL;
        long long created;
        if (read_meta(path, &key, &created) < 0) continue;
        if (strncmp(key, prefix, strlen(prefix)) == 0 && (!*best || created > *best_created)) {
            free(*best);
            *best = key;
            *best_created = created;
        } else {
            free(key);
        }
    }
    closedir(d);
}

static unsigned long counter;

static char *private_name(const mx_cache *c, const char *what)
{
    return mx_xasprintf("%s/.%s-%ld-%lu", c->dir, what, (long)getpid(), counter++);
}

int mx_cache_lookup(const mx_cache *c, const char *const *keys, size_t n, mx_cache_hit *hit,
                    mx_err *err)
{
    memset(hit, 0, sizeof *hit);
    int fd = lock_root(c->root, err);
    if (fd < 0) return -1;
    char *best = NULL;
    long long created = 0;
    for (size_t i = 0; i < n && !best; i++)
        scan_prefix(c, keys[i], &best, &created);
    int rc = 0;
    if (best) {
        mx_autofree char *tar = entry_path(c, best, "tar");
        mx_autofree char *meta = entry_path(c, best, "meta");
        char *link_path = private_name(c, "restore");
        struct stat st;
        /* a link of our own: eviction may remove the entry while we upload it */
        if (link(tar, link_path) < 0 || stat(link_path, &st) < 0) {
            rc = mx_fail_errno(err, MX_INFRA, "cache store: link %s", tar);
            free(link_path);
            free(best);
        } else {
            utimensat(AT_FDCWD, meta, NULL, 0); /* used now */
            hit->key = best;
            hit->path = link_path;
            hit->size = (long long)st.st_size;
            rc = 1;
        }
    }
    close(fd);
    return rc;
}

void mx_cache_hit_free(mx_cache_hit *hit)
{
    if (hit->path) unlink(hit->path);
    free(hit->path);
    free(hit->key);
    memset(hit, 0, sizeof *hit);
}

char *mx_cache_incoming(const mx_cache *c)
{
    return private_name(c, "incoming");
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

typedef struct entry {
    char *meta, *tar;
    long long size;
    struct timespec used;
} entry;

static int older(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    if (x->used.tv_sec != y->used.tv_sec) return x->used.tv_sec < y->used.tv_sec ? -1 : 1;
    if (x->used.tv_nsec != y->used.tv_nsec) return x->used.tv_nsec < y->used.tv_nsec ? -1 : 1;
    return strcmp(x->meta, y->meta);
}

/* Calls fn with every name (dot files too) in every project directory under root. */
static void for_each_in_projects(const char *root,
                                 void (*fn)(const char *pdir, const char *name, void *ud), void *ud)
{
    DIR *d = opendir(root);
    struct dirent *p;
    while (d && (p = readdir(d))) {
        if (p->d_name[0] == '.') continue;
        mx_autofree char *pdir = mx_path_join(root, p->d_name);
        DIR *pd = opendir(pdir);
        struct dirent *e;
        while (pd && (e = readdir(pd)))
            fn(pdir, e->d_name, ud);
        if (pd) closedir(pd);
    }
    if (d) closedir(d);
}

typedef struct entry_list {
    entry *v;
    size_t n, cap;
    long long total;
} entry_list;

static void add_entry(const char *pdir, const char *name, void *ud)
{
    entry_list *l = ud;
    if (name[0] == '.' || !ends_with(name, ".meta")) return;
    char *meta = mx_path_join(pdir, name);
    char *tar = mx_xasprintf("%.*s.tar", (int)(strlen(meta) - 5), meta);
    struct stat ms, ts;
    if (stat(meta, &ms) < 0 || stat(tar, &ts) < 0) {
        free(meta);
        free(tar);
        return;
    }
    if (l->n == l->cap) l->v = mx_xrealloc(l->v, (l->cap *= 2) * sizeof *l->v);
    l->v[l->n++] = (entry){meta, tar, (long long)ts.st_size, ms.st_mtim};
    l->total += (long long)ts.st_size;
}

/* Every entry of every project, with its size and last use. */
static size_t list_entries(const char *root, entry **out, long long *total)
{
    entry_list l = {.v = mx_xcalloc(16, sizeof *l.v), .n = 0, .cap = 16, .total = 0};
    for_each_in_projects(root, add_entry, &l);
    *total = l.total;
    *out = l.v;
    return l.n;
}

/* Evicts under a lock already held. */
static int evict_locked(const char *root, long long max_bytes, int *removed)
{
    entry *v;
    long long total;
    size_t n = list_entries(root, &v, &total);
    qsort(v, n, sizeof *v, older);
    *removed = 0;
    for (size_t i = 0; i < n && total > max_bytes; i++) {
        /* the meta first: without it the entry no longer exists for lookups */
        if (unlink(v[i].meta) == 0 || errno == ENOENT) {
            unlink(v[i].tar);
            total -= v[i].size;
            (*removed)++;
        }
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].meta);
        free(v[i].tar);
    }
    free(v);
    return 0;
}

// cppcheck-suppress unusedFunction ; no caller in mexec yet (only cache_store_test)
int mx_cache_evict(const char *root, long long max_bytes, int *removed, mx_err *err)
{
    int fd = lock_root(root, err);
    if (fd < 0) return -1;
    evict_locked(root, max_bytes, removed);
    close(fd);
    return 0;
}

int mx_cache_commit(const mx_cache *c, const char *key, const char *incoming, int *existed,
                    mx_err *err)
{
    *existed = 0;
    struct stat st;
    if (stat(incoming, &st) < 0) return mx_fail_errno(err, MX_INFRA, "cache store: %s", incoming);
    if ((long long)st.st_size > c->max_bytes) {
        unlink(incoming);
        return mx_fail(err, MX_JOB_FAILED,
                       "the cache is %lld bytes, more than this host keeps (cache_max_bytes "
                       "%lld)",
                       (long long)st.st_size, c->max_bytes);
    }
    int fd = lock_root(c->root, err);
    if (fd < 0) return -1;
    int rc = 0;
    if (mx_cache_has(c, key)) {
        *existed = 1;
        unlink(incoming);
    } else {
        mx_autofree char *tar = entry_path(c, key, "tar");
        mx_autofree char *meta = entry_path(c, key, "meta");
        mx_autofree char *text = mx_xasprintf(META_MAGIC "%lld\n%s", now_ns(), key);
        if (rename(incoming, tar) < 0)
            rc = mx_fail_errno(err, MX_INFRA, "cache store: rename %s", incoming);
        else if (mx_write_file(meta, text, strlen(text), 0600, err) < 0)
            rc = mx_wrap(err, "cache store"), unlink(tar);
        int removed;
        if (rc == 0) evict_locked(c->root, c->max_bytes, &removed);
    }
    close(fd);
    return rc;
}

/* ".incoming-PID-N" / ".restore-PID-N": the pid, or -1. */
static long temp_pid(const char *name)
{
    const char *p = NULL;
    if (strncmp(name, ".incoming-", 10) == 0) p = name + 10;
    if (strncmp(name, ".restore-", 9) == 0) p = name + 9;
    if (!p) return -1;
    const char *end;
    long long pid;
    if (mx_parse_int_prefix(p, 1, INT_MAX, &pid, &end) < 0 || *end != '-') return -1;
    return (long)pid;
}

/* Removes name in pdir if it is the temporary of a process that is gone; counts it in *ud. */
static void gc_temp(const char *pdir, const char *name, void *ud)
{
    long pid = temp_pid(name);
    /* also the downloads' own temporaries: ".incoming-PID-N.XXXXXX" */
    if (pid < 0 && name[0] == '.' && name[1] == '.') pid = temp_pid(name + 1);
    if (pid < 0 || kill((pid_t)pid, 0) == 0 || errno != ESRCH) return;
    mx_autofree char *path = mx_path_join(pdir, name);
    *(int *)ud += unlink(path) == 0;
}

int mx_cache_gc(const char *root)
{
    int n = 0;
    for_each_in_projects(root, gc_temp, &n);
    return n;
}
