#include "tar_extract.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The member's name, cleaned: "./" and empty segments dropped; NULL when it is absolute or has
 * a ".." segment.  Caller frees. */
static char *clean_name(const char *prefix, const char *name)
{
    if (!name || name[0] == '/') return NULL;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    const char *parts[2] = {prefix ? prefix : "", name};
    for (int k = 0; k < 2; k++) {
        for (const char *p = parts[k]; *p;) {
            size_t n = strcspn(p, "/");
            if (n == 2 && p[0] == '.' && p[1] == '.') {
                mx_buf_free(&b);
                return NULL;
            }
            if (n && !(n == 1 && p[0] == '.')) {
                if (b.len) mx_buf_adds(&b, "/");
                mx_buf_add(&b, p, n);
            }
            p += n;
            p += strspn(p, "/");
        }
    }
    return mx_buf_steal(&b);
}

/* Opens (creating) each directory of rel below dirfd, never following a symlink; with
 * last_too the last segment is a directory as well.  Returns the fd of the parent of the last
 * segment (or of it, with last_too) and sets *leaf to the last segment. */
static int open_parent(int dirfd, const char *rel, int last_too, const char **leaf)
{
    int fd = dup(dirfd);
    const char *p = rel;
    for (;;) {
        size_t n = strcspn(p, "/");
        int last = p[n] == '\0';
        if (last && !last_too) {
            *leaf = p;
            return fd;
        }
        char *seg = mx_xstrndup(p, n);
        if (mkdirat(fd, seg, 0755) < 0 && errno != EEXIST) {
            free(seg);
            close(fd);
            return -1;
        }
        int next = openat(fd, seg, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        free(seg);
        close(fd);
        if (next < 0) return -1;
        fd = next;
        if (last) {
            *leaf = p;
            return fd;
        }
        p += n + 1;
    }
}

static int write_member(struct archive *a, int dirfd, const char *rel, long long *room,
                        long long *size, mx_err *err)
{
    const char *leaf;
    int pfd = open_parent(dirfd, rel, 0, &leaf);
    if (pfd < 0) return mx_fail_errno(err, MX_INFRA, "create the directories of %s", rel);
    /* a later member of the same name replaces the earlier one, as tar would */
    unlinkat(pfd, leaf, 0);
    int fd = openat(pfd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    close(pfd);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "create %s", rel);
    *size = 0;
    int rc = 0;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t off;
        int r = archive_read_data_block(a, &buf, &len, &off);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK) {
            rc = mx_fail(err, MX_JOB_FAILED, "%s: %s", rel, archive_error_string(a));
            break;
        }
        if ((long long)len > *room) {
            rc = mx_fail(err, MX_JOB_FAILED, "more bytes than the host keeps");
            break;
        }
        /* sparse holes come as offsets: write at them */
        if (lseek(fd, off, SEEK_SET) < 0 || mx_write_all(fd, buf, len) < 0) {
            rc = mx_fail_errno(err, MX_INFRA, "write %s", rel);
            break;
        }
        *room -= (long long)len;
        if (off + (long long)len > *size) *size = off + (long long)len;
    }
    if (close(fd) < 0 && rc == 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", rel);
    return rc;
}

static int extract(struct archive *a, int dirfd, const char *prefix, const mx_tar_limits *lim,
                   mx_tar_result *res, mx_err *err)
{
    long long room = lim->max_bytes;
    struct archive_entry *e;
    int r;
    while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
        char *rel = clean_name(prefix, archive_entry_pathname(e));
        mode_t type = archive_entry_filetype(e);
        if (!rel)
            return mx_fail(err, MX_JOB_FAILED, "the archive names %s, outside its directory",
                           archive_entry_pathname(e) ? archive_entry_pathname(e) : "(no name)");
        if (!*rel || (type != AE_IFREG && type != AE_IFDIR) || archive_entry_hardlink(e)) {
            res->skipped += *rel && type != AE_IFDIR;
            free(rel);
            continue;
        }
        if (type == AE_IFDIR) {
            const char *leaf;
            int fd = open_parent(dirfd, rel, 1, &leaf);
            if (fd < 0) {
                mx_fail_errno(err, MX_INFRA, "create directory %s", rel);
                free(rel);
                return -1;
            }
            close(fd);
            free(rel);
            continue;
        }
        if (res->nfiles >= lim->max_files) {
            free(rel);
            return mx_fail(err, MX_JOB_FAILED, "more than %zu files", lim->max_files);
        }
        long long size = 0;
        int w = write_member(a, dirfd, rel, &room, &size, err);
        res->files = mx_xrealloc(res->files, (res->nfiles + 1) * sizeof *res->files);
        res->files[res->nfiles++] = (mx_tar_file){rel, size};
        res->bytes += size;
        if (w < 0) return -1;
    }
    if (r != ARCHIVE_EOF)
        return mx_fail(err, MX_JOB_FAILED, "bad archive: %s", archive_error_string(a));
    return 0;
}

int mx_tar_extract(const char *tar, const char *dest, const char *prefix, const mx_tar_limits *lim,
                   mx_tar_result *res, mx_err *err)
{
    memset(res, 0, sizeof *res);
    if (mx_mkdir_p(dest, 0755, err) < 0) return -1;
    int dirfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", dest);
    struct archive *a = archive_read_new();
    if (!a) mx_oom();
    /* tar only (GNU, pax, ustar): what the agent writes; nothing compressed */
    archive_read_support_format_tar(a);
    int rc;
    if (archive_read_open_filename(a, tar, 65536) != ARCHIVE_OK)
        rc = mx_fail(err, MX_INFRA, "open %s: %s", tar, archive_error_string(a));
    else
        rc = extract(a, dirfd, prefix, lim, res, err);
    archive_read_free(a);
    close(dirfd);
    return rc;
}

void mx_tar_result_free(mx_tar_result *r)
{
    for (size_t i = 0; i < r->nfiles; i++)
        free(r->files[i].path);
    free(r->files);
    memset(r, 0, sizeof *r);
}
