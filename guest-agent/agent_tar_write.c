/* The tar writer (agent_tar.h): POSIX ustar members, with a pax extended header in front of a
 * member whose name or link target does not fit the ustar fields or whose size is 8 GiB or
 * more.  Members are written as found; hard links are written as separate files. */
#include "agent_tar.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_CHUNK (64 * 1024)
#define MAX_OCTAL_SIZE 077777777777ULL

static int write_all(int fd, const void *p, size_t n, mx_err *err)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return mx_fail_errno(err, MX_INFRA, "write the archive");
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static int write_pad(int fd, unsigned long long n, mx_err *err)
{
    static const char zero[MXT_BLOCK];
    size_t r = (size_t)(n % MXT_BLOCK);
    return r ? write_all(fd, zero, MXT_BLOCK - r, err) : 0;
}

static void put_octal(unsigned char *f, size_t len, unsigned long long v)
{
    char s[24];
    snprintf(s, sizeof s, "%0*llo", (int)(len - 1), v);
    memcpy(f, s, len); /* digits and the NUL */
}

/* One "LEN key=value\n" record: LEN counts itself. */
static void pax_record(mx_buf *b, const char *key, const char *value)
{
    size_t body = strlen(key) + strlen(value) + 3; /* ' ', '=', '\n' */
    size_t len = body + 1;
    for (;;) {
        int digits = snprintf(NULL, 0, "%zu", len);
        if (body + (size_t)digits == len) break;
        len = body + (size_t)digits;
    }
    mx_buf_printf(b, "%zu %s=%s\n", len, key, value);
}

typedef struct member {
    const char *name, *link;
    char type;
    mode_t mode;
    unsigned uid, gid;
    unsigned long long size;
    long long mtime;
} member;

static void fill_header(unsigned char *h, const char *name, char type, const member *m,
                        unsigned long long size)
{
    memset(h, 0, MXT_BLOCK);
    size_t n = strlen(name);
    memcpy(h, name, n < 100 ? n : 99);
    put_octal(h + 100, 8, m->mode & 07777);
    put_octal(h + 108, 8, m->uid < 07777777 ? m->uid : 0);
    put_octal(h + 116, 8, m->gid < 07777777 ? m->gid : 0);
    put_octal(h + 124, 12, size);
    put_octal(h + 136, 12,
              m->mtime > 0 && (unsigned long long)m->mtime <= MAX_OCTAL_SIZE
                  ? (unsigned long long)m->mtime
                  : 0);
    h[156] = (unsigned char)type;
    if (m->link) {
        size_t l = strlen(m->link);
        /* a fixed-width field of the zeroed header: at most 99 bytes keep a NUL after it */
        memcpy(h + 157, m->link, l < 100 ? l : 99); // NOLINT(bugprone-not-null-terminated-result)
    }
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2); // NOLINT(bugprone-not-null-terminated-result): ustar's version field
    mxt_set_checksum(h);
}

static int write_header(int fd, const member *m, mx_err *err)
{
    mx_buf pax;
    mx_buf_init(&pax);
    if (strlen(m->name) >= 100) pax_record(&pax, "path", m->name);
    if (m->link && strlen(m->link) >= 100) pax_record(&pax, "linkpath", m->link);
    if (m->size > MAX_OCTAL_SIZE) {
        char v[24];
        snprintf(v, sizeof v, "%llu", m->size);
        pax_record(&pax, "size", v);
    }
    char ids[16];
    if (m->uid >= 07777777) snprintf(ids, sizeof ids, "%u", m->uid), pax_record(&pax, "uid", ids);
    if (m->gid >= 07777777) snprintf(ids, sizeof ids, "%u", m->gid), pax_record(&pax, "gid", ids);
    unsigned char h[MXT_BLOCK];
    int rc = 0;
    if (pax.len) {
        mx_autofree char *pname = mx_xasprintf("PaxHeaders/%.80s", m->name);
        member pm = {.mode = 0644, .mtime = m->mtime};
        fill_header(h, pname, 'x', &pm, pax.len);
        rc = write_all(fd, h, MXT_BLOCK, err);
        if (rc == 0) rc = write_all(fd, pax.data, pax.len, err);
        if (rc == 0) rc = write_pad(fd, pax.len, err);
    }
    mx_buf_free(&pax);
    if (rc < 0) return -1;
    fill_header(h, m->name, m->type, m, m->size > MAX_OCTAL_SIZE ? 0 : m->size);
    return write_all(fd, h, MXT_BLOCK, err);
}

/* The file's bytes, exactly m->size of them: a file that shrank meanwhile is padded with
 * zeros, one that grew is cut, so the archive stays well-formed. */
static int write_content(int fd, const char *path, unsigned long long size, mx_err *err)
{
    int in = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (in < 0) return mx_fail_errno(err, MX_JOB_FAILED, "open %s", path);
    char *buf = mx_xmalloc(COPY_CHUNK);
    unsigned long long left = size;
    int rc = 0;
    while (left > 0 && rc == 0) {
        size_t want = left < COPY_CHUNK ? (size_t)left : COPY_CHUNK;
        ssize_t n = read(in, buf, want);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = mx_fail_errno(err, MX_JOB_FAILED, "read %s", path);
            break;
        }
        if (n == 0) {
            memset(buf, 0, want);
            n = (ssize_t)want;
        }
        rc = write_all(fd, buf, (size_t)n, err);
        left -= (unsigned long long)n;
    }
    free(buf);
    close(in);
    if (rc == 0) rc = write_pad(fd, size, err);
    return rc;
}

int mxt_write_tree(int fd, const char *path, const char *name, long *skipped, mx_err *err)
{
    struct stat st;
    if (lstat(path, &st) < 0) return mx_fail_errno(err, MX_JOB_FAILED, "%s", path);
    member m = {.name = name,
                .mode = st.st_mode,
                .uid = st.st_uid,
                .gid = st.st_gid,
                .mtime = (long long)st.st_mtime};
    if (S_ISREG(st.st_mode)) {
        m.type = '0';
        m.size = (unsigned long long)st.st_size;
        if (write_header(fd, &m, err) < 0) return -1;
        return write_content(fd, path, m.size, err);
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) return mx_fail_errno(err, MX_JOB_FAILED, "readlink %s", path);
        target[n] = '\0';
        m.type = '2';
        m.link = target;
        return write_header(fd, &m, err);
    }
    if (!S_ISDIR(st.st_mode)) {
        (*skipped)++;
        return 0;
    }
    mx_autofree char *dname = mx_xasprintf("%s/", name);
    m.name = dname;
    m.type = '5';
    if (write_header(fd, &m, err) < 0) return -1;
    DIR *d = opendir(path);
    if (!d) return mx_fail_errno(err, MX_JOB_FAILED, "open directory %s", path);
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (errno = 0, e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        mx_autofree char *p = mx_path_join(path, e->d_name);
        mx_autofree char *n = mx_xasprintf("%s/%s", name, e->d_name);
        rc = mxt_write_tree(fd, p, n, skipped, err);
    }
    if (rc == 0 && errno) rc = mx_fail_errno(err, MX_JOB_FAILED, "read directory %s", path);
    closedir(d);
    return rc;
}

int mxt_write_end(int fd, mx_err *err)
{
    static const char zero[2 * MXT_BLOCK];
    return write_all(fd, zero, sizeof zero, err);
}
