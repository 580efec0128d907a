/* The orb cache: one file per exact version, so a version once fetched is there offline, with
 * its digest beside it so a damaged or edited copy is noticed rather than run. */
#include "orb_registry.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char *path_of(const char *dir, const char *id, const char *version, const char *suffix)
{
    return mx_xasprintf("%s/%s/%s.yml%s", dir, id, version, suffix);
}

int mx_orb_cache_get(const char *dir, const char *id, const char *version, mx_buf *source,
                     char digest[MX_SHA256_DIGEST_LEN], char **why, mx_err *err)
{
    *why = NULL;
    mx_autofree char *path = path_of(dir, id, version, "");
    mx_autofree char *dpath = path_of(dir, id, version, ".sha256");
    struct stat st;
    if (stat(path, &st) < 0) return 0;
    if (st.st_size > (off_t)MX_ORB_MAX_SOURCE) {
        *why = mx_xasprintf("%s is larger than an orb may be", path);
        return 0;
    }
    mx_buf want;
    mx_buf_init(&want);
    if (mx_read_file(dpath, &want, err) < 0) {
        mx_buf_free(&want);
        *why = mx_xasprintf("%s has no digest file", path);
        return 0;
    }
    if (mx_read_file(path, source, err) < 0) {
        mx_buf_free(&want);
        return -1;
    }
    if (mx_sha256_digest(source->data ? source->data : "", source->len, digest, err) < 0) {
        mx_buf_free(&want);
        return -1;
    }
    size_t wl = want.len;
    while (wl && (want.data[wl - 1] == '\n' || want.data[wl - 1] == ' '))
        wl--;
    int ok = wl == strlen(digest) && strncmp(want.data, digest, wl) == 0;
    mx_buf_free(&want);
    if (!ok) {
        *why = mx_xasprintf("%s does not match its digest (%s)", path, dpath);
        source->len = 0;
        return 0;
    }
    return 1;
}

static int write_atomic(const char *path, const char *data, size_t len, mx_err *err)
{
    mx_autofree char *tmp = mx_xasprintf("%s.tmp%ld", path, (long)getpid());
    if (mx_write_file(tmp, data, len, 0644, err) < 0) return -1;
    if (rename(tmp, path) < 0) {
        mx_fail_errno(err, MX_INFRA, "rename %s", tmp);
        unlink(tmp);
        return -1;
    }
    return 0;
}

int mx_orb_cache_put(const char *dir, const char *id, const char *version, const char *source,
                     size_t len, char digest[MX_SHA256_DIGEST_LEN], mx_err *err)
{
    if (mx_sha256_digest(source, len, digest, err) < 0) return -1;
    mx_autofree char *sub = mx_xasprintf("%s/%s", dir, id);
    if (mx_mkdir_p(sub, 0755, err) < 0) return -1;
    mx_autofree char *path = path_of(dir, id, version, "");
    mx_autofree char *dpath = path_of(dir, id, version, ".sha256");
    mx_autofree char *line = mx_xasprintf("%s\n", digest);
    if (write_atomic(path, source, len, err) < 0) return -1;
    return write_atomic(dpath, line, strlen(line), err);
}

char *mx_orb_cache_newest(const char *dir, const char *id, const char *want)
{
    mx_autofree char *sub = mx_xasprintf("%s/%s", dir, id);
    DIR *d = opendir(sub);
    if (!d) return NULL;
    char *best = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l <= 4 || strcmp(e->d_name + l - 4, ".yml") != 0) continue;
        char *v = mx_xstrndup(e->d_name, l - 4);
        if (mx_orb_version_exact(v) && mx_orb_version_matches(v, want) &&
            (!best || mx_orb_version_cmp(v, best) > 0)) {
            free(best);
            best = v;
        } else {
            free(v);
        }
    }
    closedir(d);
    return best;
}
