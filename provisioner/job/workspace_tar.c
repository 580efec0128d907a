/* Reading a workspace layer's member list with libarchive: plain tar only, headers only.
 *
 * A layer was written in an upstream job's guest, so it is read as hostile input: no
 * decompression filter is enabled (a compressed layer is refused, never inflated on the host),
 * member data is skipped, never read into memory, and the number and length of names are
 * capped. */
#include "workspace.h"
#include "mx_buf.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The layer holds something the host will not attach: the job's problem, not the machinery's
 * (MX_JOB_FAILED marks it for the caller, who names the layer). */
static int refuse(mx_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(mx_err *err, const char *fmt, ...)
{
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return mx_fail(err, MX_JOB_FAILED, "%s", why);
}

/* "./a//b/./c/" -> "a/b/c"; 1 if a component is "..", else 0. */
static int normalize(const char *in, mx_buf *out)
{
    out->len = 0;
    mx_buf_add(out, "", 0);
    for (const char *p = in; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') return 1;
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            if (out->len) mx_buf_add(out, "/", 1);
            mx_buf_add(out, p, n);
        }
        p += n;
        p += strspn(p, "/");
    }
    return 0;
}

static mx_ws_kind kind_of(struct archive_entry *e)
{
    if (archive_entry_hardlink(e)) return MX_WS_HARDLINK;
    switch (archive_entry_filetype(e)) {
    case AE_IFREG:
        return MX_WS_FILE;
    case AE_IFDIR:
        return MX_WS_DIR;
    case AE_IFLNK:
        return MX_WS_SYMLINK;
    default:
        return MX_WS_OTHER;
    }
}

int mx_ws_layer_scan(const char *layer, mx_ws_member_fn fn, void *ctx, mx_err *err)
{
    struct archive *a = archive_read_new();
    if (!a) return mx_fail(err, MX_INFRA, "libarchive: out of memory");
    /* tar only, and no filter (gzip, xz, ...): guest bytes are never decompressed here */
    if (archive_read_support_format_tar(a) != ARCHIVE_OK ||
        archive_read_support_filter_none(a) != ARCHIVE_OK) {
        mx_fail(err, MX_INFRA, "libarchive: %s", archive_error_string(a));
        archive_read_free(a);
        return -1;
    }
    /* opened here so that a file that cannot be read (the host's problem) is told from one
     * that is no tar (the layer's): libarchive reads the first header as it opens */
    int fd = open(layer, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        archive_read_free(a);
        return mx_fail_errno(err, MX_INFRA, "open workspace layer %s", layer);
    }
    if (archive_read_open_fd(a, fd, 65536) != ARCHIVE_OK) {
        const char *why = archive_error_string(a);
        refuse(err, "not a plain tar archive (%s)", why ? why : "unreadable");
        archive_read_free(a);
        close(fd);
        return -1;
    }
    mx_buf path, link;
    mx_buf_init(&path);
    mx_buf_init(&link);
    int rc = 0;
    size_t count = 0;
    for (;;) {
        struct archive_entry *e;
        int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            /* a compressed layer ends up here too: libarchive sees no tar header */
            const char *why = archive_error_string(a);
            rc = refuse(err, "not a plain tar archive (%s)", why ? why : "unreadable");
            break;
        }
        if (++count > MX_WS_MAX_ENTRIES) {
            rc = refuse(err, "more than %d members", MX_WS_MAX_ENTRIES);
            break;
        }
        const char *name = archive_entry_pathname(e);
        const char *target =
            kind_of(e) == MX_WS_HARDLINK ? archive_entry_hardlink(e) : archive_entry_symlink(e);
        if (!name || strlen(name) > MX_WS_MAX_NAME || (target && strlen(target) > MX_WS_MAX_NAME)) {
            rc = refuse(err, "a member name is missing or longer than %d bytes", MX_WS_MAX_NAME);
            break;
        }
        mx_ws_member m = {.kind = kind_of(e)};
        if (normalize(name, &path)) {
            rc = refuse(err, "member \"%s\" has a \"..\" component", name);
            break;
        }
        m.path = path.data;
        m.link = target;
        if (m.kind == MX_WS_HARDLINK) {
            if (normalize(target, &link)) {
                rc = refuse(err, "a hard link points to \"%s\", which has a \"..\" component",
                            target);
                break;
            }
            m.link = link.data;
        }
        if (*m.path && fn(ctx, &m, err) < 0) {
            rc = -1;
            break;
        }
        if (archive_read_data_skip(a) != ARCHIVE_OK) {
            rc = refuse(err, "a member's data is cut short (%s)", archive_error_string(a));
            break;
        }
    }
    mx_buf_free(&path);
    mx_buf_free(&link);
    archive_read_free(a);
    close(fd);
    return rc;
}
