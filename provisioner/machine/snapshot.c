/* Snapshot keys and the store's snapshot directories (snapshot.h); making one is
 * snapshot_make.c's. */
#include "snapshot.h"
#include "mx_num.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_sha256.h"

#include <limits.h>
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bump when what a snapshot holds changes in a way the inputs do not show (the guest side of
 * the seed channel, the save format). */
#define SNAPSHOT_FORMAT "mexec-snapshot-1"

int mx_snapshot_key(const mx_snapshot_inputs *in, char out[65], mx_err *err)
{
    const char *parts[] = {SNAPSHOT_FORMAT, in->image_dir, in->image_id,    in->agent_sha256,
                           in->domain_xml,  in->qemu_id,   in->files_sha256};
    mx_sha256 h;
    if (mx_sha256_init(&h, err) < 0) return -1;
    for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
        const char *p = parts[i] ? parts[i] : "";
        char len[32];
        int n = snprintf(len, sizeof len, "%zu:", strlen(p));
        /* length-prefixed: no two different input lists feed the same bytes */
        mx_sha256_update(&h, len, (size_t)n);
        mx_sha256_update(&h, p, strlen(p));
    }
    char digest[MX_SHA256_DIGEST_LEN];
    if (mx_sha256_final(&h, digest, err) < 0) return -1;
    memcpy(out, digest + 7, 65); /* after "sha256:" */
    return 0;
}

void mx_snapshot_free(mx_snapshot *snap)
{
    free(snap->dir);
    free(snap->disk);
    free(snap->state);
    memset(snap, 0, sizeof *snap);
}

static long long tree_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (long long)st.st_blocks * 512;
    long long sum = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        mx_autofree char *p = mx_path_join(path, e->d_name);
        sum += tree_bytes(p);
    }
    closedir(d);
    return sum;
}

/* A finished snapshot: a directory named by a key (64 hex digits) holding its state. */
static int is_snapshot(const char *snaps, const char *name)
{
    if (strlen(name) != 64 || strspn(name, "0123456789abcdef") != 64) return 0;
    mx_autofree char *dir = mx_path_join(snaps, name);
    mx_autofree char *state = mx_path_join(dir, "state.save");
    return mx_path_exists(state);
}

long long mx_snapshot_usage(const char *image_dir, int *count)
{
    *count = 0;
    mx_autofree char *snaps = mx_path_join(image_dir, "snapshots");
    DIR *d = opendir(snaps);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (is_snapshot(snaps, e->d_name)) (*count)++;
    closedir(d);
    return tree_bytes(snaps);
}

int mx_snapshot_rm_all(const char *image_dir, mx_err *err)
{
    mx_autofree char *snaps = mx_path_join(image_dir, "snapshots");
    if (!mx_path_exists(snaps)) return 0;
    return mx_rm_rf(snaps, err);
}

/* The resource class a snapshot was made for (its info.json), or NULL; caller frees. */
static char *snapshot_class(const char *dir)
{
    mx_autofree char *info = mx_path_join(dir, "info.json");
    json_error_t je;
    mx_autojson json_t *doc = json_load_file(info, 0, &je);
    const char *cls = doc ? json_string_value(json_object_get(doc, "class")) : NULL;
    return cls ? mx_xstrdup(cls) : NULL;
}

void mx_snapshot_rm_stale(const char *image_dir, const char *rc_name, const char *keep_key)
{
    mx_autofree char *snaps = mx_path_join(image_dir, "snapshots");
    DIR *d = opendir(snaps);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_snapshot(snaps, e->d_name) || strcmp(e->d_name, keep_key) == 0) continue;
        mx_autofree char *dir = mx_path_join(snaps, e->d_name);
        mx_autofree char *cls = snapshot_class(dir);
        /* a job restoring it has its own copy of the state and an overlay whose backing file
         * it holds open: removing is safe for it */
        if (cls && strcmp(cls, rc_name) == 0) mx_rm_rf(dir, NULL);
    }
    closedir(d);
}

/* Whether the maker of snapshots/NAME (KEY.tmp or .work.PID) is gone. */
static int maker_gone(const char *snaps, const char *name)
{
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".tmp") == 0) {
        /* KEY.tmp: its maker holds KEY.lock */
        mx_autofree char *lock = mx_xasprintf("%s/%.*s.lock", snaps, (int)(n - 4), name);
        return mx_flock_held(lock) != 1;
    }
    if (strncmp(name, ".work.", 6) == 0) {
        long long pid;
        return mx_parse_int(name + 6, 1, INT_MAX, &pid) == 0 && kill((pid_t)pid, 0) < 0 &&
               errno == ESRCH;
    }
    return 0;
}

/* Calls fn with the directory of every build in the image store (store/RECIPE/BUILD). */
static void for_each_build(const char *image_store, void (*fn)(const char *build, void *ud),
                           void *ud)
{
    DIR *store = opendir(image_store);
    if (!store) return;
    struct dirent *r;
    while ((r = readdir(store))) {
        if (r->d_name[0] == '.') continue;
        mx_autofree char *recipe = mx_path_join(image_store, r->d_name);
        DIR *builds = opendir(recipe);
        if (!builds) continue;
        struct dirent *b;
        while ((b = readdir(builds))) {
            if (b->d_name[0] == '.') continue;
            mx_autofree char *build = mx_path_join(recipe, b->d_name);
            fn(build, ud);
        }
        closedir(builds);
    }
    closedir(store);
}

struct gc_walk {
    int count;
    void (*removed)(const char *path, void *ud);
    void *ud;
};

static void gc_build(const char *build, void *ud)
{
    struct gc_walk *w = ud;
    mx_autofree char *snaps = mx_path_join(build, "snapshots");
    DIR *d = opendir(snaps);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (!maker_gone(snaps, e->d_name)) continue;
        mx_autofree char *path = mx_path_join(snaps, e->d_name);
        if (mx_rm_rf(path, NULL) == 0) {
            w->count++;
            if (w->removed) w->removed(path, w->ud);
        }
    }
    closedir(d);
}

int mx_snapshot_gc(const char *image_store, void (*removed)(const char *path, void *ud), void *ud)
{
    struct gc_walk w = {.count = 0, .removed = removed, .ud = ud};
    for_each_build(image_store, gc_build, &w);
    return w.count;
}

struct usage_walk {
    long long sum;
    int count;
};

static void usage_build(const char *build, void *ud)
{
    struct usage_walk *w = ud;
    int n = 0;
    w->sum += mx_snapshot_usage(build, &n);
    w->count += n;
}

long long mx_snapshot_store_usage(const char *image_store, int *count)
{
    struct usage_walk w = {.sum = 0, .count = 0};
    for_each_build(image_store, usage_build, &w);
    *count = w.count;
    return w.sum;
}
