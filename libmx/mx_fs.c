#include "mx_fs.h"

#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int mx_mkdir_p(const char *path, mode_t mode, mx_err *err)
{
    char *p = mx_xstrdup(path);
    for (char *s = p + 1;; s++) {
        if (*s != '/' && *s != '\0') continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            mx_fail_errno(err, MX_INFRA, "create directory %s", p);
            free(p);
            return -1;
        }
        *s = c;
        if (c == '\0') break;
    }
    free(p);
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    int r = flag == FTW_DP ? rmdir(path) : unlink(path);
    return r < 0 && errno != ENOENT ? -1 : 0;
}

int mx_rm_rf(const char *path, mx_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) return 0;
        return mx_fail_errno(err, MX_INFRA, "remove %s", path);
    }
    if (nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS) < 0)
        return mx_fail_errno(err, MX_INFRA, "remove %s", path);
    return 0;
}

int mx_read_file(const char *path, mx_buf *out, mx_err *err)
{
    return mx_read_file_max(path, SIZE_MAX, out, err);
}

int mx_read_file_max(const char *path, size_t max, mx_buf *out, mx_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_USAGE, "cannot read %s", path);
    char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            mx_fail_errno(err, MX_USAGE, "cannot read %s", path);
            close(fd);
            return -1;
        }
        if (n == 0) break;
        if ((size_t)n > max - out->len) {
            /* checked before growing: a huge file (or /dev/zero) is never held in memory */
            mx_fail(err, MX_USAGE, "%s is larger than %zu bytes, the limit for this file", path,
                    max);
            close(fd);
            return -1;
        }
        mx_buf_add(out, chunk, (size_t)n);
    }
    close(fd);
    if (!out->data) mx_buf_add(out, "", 0);
    return 0;
}

int mx_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int mx_write_file(const char *path, const void *data, size_t len, mode_t mode, mx_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", path);
    if (fchmod(fd, mode) < 0) {
        mx_fail_errno(err, MX_INFRA, "chmod %s", path);
        close(fd);
        return -1;
    }
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            mx_fail_errno(err, MX_INFRA, "write %s", path);
            close(fd);
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) < 0) return mx_fail_errno(err, MX_INFRA, "write %s", path);
    return 0;
}

int mx_flock_held(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    int held = flock(fd, LOCK_EX | LOCK_NB) < 0;
    close(fd); /* the only descriptor of this open file: a lock taken here goes with it */
    return held;
}

int mx_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

char *mx_path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    while (la > 0 && a[la - 1] == '/')
        la--;
    while (*b == '/')
        b++;
    return mx_xasprintf("%.*s/%s", (int)la, a, b);
}

char *mx_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return mx_xstrdup(".");
    if (slash == path) return mx_xstrdup("/");
    return mx_xstrndup(path, (size_t)(slash - path));
}
