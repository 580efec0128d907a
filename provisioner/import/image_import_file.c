/* The file given to `mexec image import` is untrusted input: it is copied and hashed before
 * anything interprets it, its format is decided by mexec (image_import_sniff.c, never by
 * qemu-img's probing), `qemu-img info` with that format must agree that it points at no other
 * file, and every qemu-img run is bounded in time and memory. */
#include "image_import.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "mx_sha256.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define GIB (1024ULL * 1024 * 1024)
/* The first bytes read to decide the format: a qcow2 header with its extensions fits. */
#define HEAD_BYTES 65536
/* qemu-img's address space: its docs advise limits when it reads untrusted images. */
#define QEMU_IMG_AS "--as=2147483648"

const mx_import_limits mx_import_default_limits = {
    .max_file_bytes = 64 * GIB,
    .max_virtual_bytes = 2048 * GIB,
    .info_timeout_s = 60,
    .convert_timeout_s = 3600,
};

static int valid_hex64(const char *s)
{
    if (strlen(s) != 64) return 0;
    for (const char *p = s; *p; p++)
        if (!isxdigit((unsigned char)*p)) return 0;
    return 1;
}

static int copy_loop(int in, int out, const char *src, const char *dst, const mx_import_limits *lim,
                     volatile sig_atomic_t *stop, mx_sha256 *h, unsigned long long *total,
                     mx_err *err)
{
    enum { CHUNK = 1 << 20 };
    mx_autofree char *buf = mx_xmalloc(CHUNK);
    for (;;) {
        if (stop && *stop) return mx_fail(err, MX_INFRA, "interrupted");
        ssize_t n = read(in, buf, CHUNK);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mx_fail_errno(err, MX_INFRA, "read %s", src);
        if (n == 0) return 0;
        *total += (unsigned long long)n;
        /* the file may grow while we read it: the limit holds for what is read */
        if (*total > lim->max_file_bytes)
            return mx_fail(err, MX_USAGE, "%s is larger than %llu GiB, the most import takes", src,
                           lim->max_file_bytes / GIB);
        mx_sha256_update(h, buf, (size_t)n);
        if (mx_write_all(out, buf, (size_t)n) < 0)
            return mx_fail_errno(err, MX_INFRA, "write %s", dst);
    }
}

int mx_import_copy_verified(const char *src, const char *dst, const char *want_sha256,
                            const mx_import_limits *lim, volatile sig_atomic_t *stop,
                            mx_import_file *f, mx_err *err)
{
    memset(f, 0, sizeof *f);
    if (want_sha256 && !valid_hex64(want_sha256))
        return mx_fail(err, MX_USAGE, "--sha256 needs 64 hexadecimal digits, not \"%s\"",
                       want_sha256);
    mx_autoclose int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) return mx_fail_errno(err, MX_USAGE, "open %s", src);
    struct stat st;
    if (fstat(in, &st) < 0) return mx_fail_errno(err, MX_INFRA, "stat %s", src);
    if (!S_ISREG(st.st_mode)) return mx_fail(err, MX_USAGE, "%s is not a regular file", src);
    if ((unsigned long long)st.st_size > lim->max_file_bytes)
        return mx_fail(err, MX_USAGE, "%s is larger than %llu GiB, the most import takes", src,
                       lim->max_file_bytes / GIB);
    mx_autoclose int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (out < 0) return mx_fail_errno(err, MX_INFRA, "create %s", dst);
    mx_sha256 h;
    if (mx_sha256_init(&h, err) < 0) return -1;
    char digest[MX_SHA256_DIGEST_LEN];
    int rc = copy_loop(in, out, src, dst, lim, stop, &h, &f->size, err);
    if (rc == 0) rc = mx_sha256_final(&h, digest, err);
    mx_sha256_free(&h);
    if (rc == 0 && fsync(out) < 0) rc = mx_fail_errno(err, MX_INFRA, "write %s", dst);
    if (rc == 0) {
        snprintf(f->sha256, sizeof f->sha256, "%s", digest + strlen("sha256:"));
        if (want_sha256 && strcasecmp(want_sha256, f->sha256) != 0)
            rc = mx_fail(err, MX_USAGE, "%s has sha256 %s, not %s as --sha256 says; not imported",
                         src, f->sha256, want_sha256);
    }
    if (rc < 0) unlink(dst);
    return rc;
}

int mx_import_check_info(const char *json, const char *format, unsigned long long max_vsize,
                         unsigned long long *vsize, mx_err *err)
{
    json_error_t je;
    mx_autojson json_t *doc = json_loads(json, 0, &je);
    if (!doc || !json_is_object(doc))
        return mx_fail(err, MX_INFRA, "qemu-img info: unreadable output (%s)", je.text);
    const char *got = json_string_value(json_object_get(doc, "format"));
    if (!got || strcmp(got, format) != 0)
        return mx_fail(err, MX_USAGE, "qemu-img reads the image as %s, not %s", got ? got : "?",
                       format);
    if (json_object_get(doc, "backing-filename") || json_object_get(doc, "full-backing-filename"))
        return mx_fail(err, MX_USAGE,
                       "the image names a backing file: import takes standalone "
                       "images only");
    if (json_is_true(json_object_get(doc, "encrypted")))
        return mx_fail(err, MX_USAGE, "the image is encrypted: import takes plain images");
    json_t *data = json_object_get(json_object_get(doc, "format-specific"), "data");
    if (json_object_get(data, "data-file"))
        return mx_fail(err, MX_USAGE,
                       "the image names an external data file: import takes "
                       "standalone images only");
    if (json_is_true(json_object_get(data, "corrupt")))
        return mx_fail(err, MX_USAGE, "the image is marked corrupt");
    json_t *vs = json_object_get(doc, "virtual-size");
    if (!json_is_integer(vs) || json_integer_value(vs) <= 0)
        return mx_fail(err, MX_INFRA, "qemu-img info gives no virtual size");
    *vsize = (unsigned long long)json_integer_value(vs);
    if (*vsize > max_vsize)
        return mx_fail(err, MX_USAGE,
                       "the image's disk is %llu GiB, more than the %llu GiB "
                       "import takes",
                       *vsize / GIB, max_vsize / GIB);
    return 0;
}

int mx_import_probe(const char *path, const mx_import_limits *lim, mx_import_file *f, mx_err *err)
{
    mx_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    unsigned char head[HEAD_BYTES];
    size_t len = 0;
    while (len < sizeof head) {
        ssize_t n = read(fd, head + len, sizeof head - len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return mx_fail_errno(err, MX_INFRA, "read %s", path);
        if (n == 0) break;
        len += (size_t)n;
    }
    if (mx_import_sniff(head, len, &f->format, err) < 0) return -1;
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", lim->info_timeout_s);
    /* -f: the format we decided, never qemu-img's guess */
    const char *argv[] = {"timeout",  "-k",   "5",  timeout,   "prlimit",       QEMU_IMG_AS, "--",
                          "qemu-img", "info", "-f", f->format, "--output=json", path,        NULL};
    mx_buf out;
    mx_buf_init(&out);
    int rc = mx_proc_check(argv, NULL, &out, err);
    if (rc == 0)
        rc = mx_import_check_info(out.data ? out.data : "", f->format, lim->max_virtual_bytes,
                                  &f->vsize, err);
    mx_buf_free(&out);
    return rc < 0 ? mx_wrap(err, "%s: qemu-img info (at most %d s)", f->format, lim->info_timeout_s)
                  : 0;
}

int mx_import_convert(const char *src, const mx_import_file *f, const char *dst,
                      unsigned long long min_vsize, const mx_import_limits *lim,
                      volatile sig_atomic_t *stop, mx_err *err)
{
    char timeout[16];
    snprintf(timeout, sizeof timeout, "%d", lim->convert_timeout_s);
    /* timeout(1) passes our SIGTERM on to qemu-img when *stop is set */
    const char *argv[] = {"timeout",  "-k",         "10", timeout, "prlimit", QEMU_IMG_AS, "--",
                          "qemu-img", "convert",    "-q", "-f",    f->format, "-O",        "qcow2",
                          "-o",       "compat=1.1", src,  dst,     NULL};
    int st = mx_proc_run_inherit(argv, stop, err);
    if (st < 0) return -1;
    if (st != 0)
        return mx_fail(err, MX_INFRA, "qemu-img convert of the image failed (status %d)%s", st,
                       st == 124 ? ": timed out" : "");
    if (chmod(dst, 0644) < 0) return mx_fail_errno(err, MX_INFRA, "chmod %s", dst);
    if (f->vsize >= min_vsize) return 0;
    char size[32];
    snprintf(size, sizeof size, "%llu", min_vsize);
    const char *resize[] = {"qemu-img", "resize", "-q", "-f", "qcow2", dst, size, NULL};
    return mx_proc_check(resize, NULL, NULL, err) < 0 ? mx_wrap(err, "grow the disk") : 0;
}

int mx_import_check_bootable(const char *qcow2, const char *workdir, mx_err *err)
{
    mx_autofree char *mbr = mx_path_join(workdir, "mbr");
    mx_autofree char *ifarg = mx_xasprintf("if=%s", qcow2);
    mx_autofree char *ofarg = mx_xasprintf("of=%s", mbr);
    const char *argv[] = {"qemu-img", "dd",      "-f",  "qcow2", "-O", "raw",
                          "bs=512",   "count=1", ifarg, ofarg,   NULL};
    if (mx_proc_check(argv, NULL, NULL, err) < 0) return mx_wrap(err, "read the first sector");
    mx_buf b;
    mx_buf_init(&b);
    int rc = mx_read_file(mbr, &b, err);
    unlink(mbr);
    if (rc < 0) return -1;
    const unsigned char *s = (const unsigned char *)b.data;
    int code = 0;
    for (size_t i = 0; b.len >= 512 && i < 440; i++)
        code |= s[i];
    if (b.len < 512 || s[510] != 0x55 || s[511] != 0xaa || !code)
        rc = mx_fail(err, MX_USAGE,
                     "the disk has no BIOS boot code in its first sector: it boots only with "
                     "UEFI, which import does not support yet");
    mx_buf_free(&b);
    return rc;
}
