/* Atomic, private write of config.json (see mx_dockercfg.h). */
#include "mx_buf.h"
#include "mx_dockercfg.h"
#include "mx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mx_dockercfg_save(const mx_dockercfg *cfg, const char *path, mx_err *err)
{
    /* As the docker CLI: a symlinked config.json is updated where it points. */
    char *target = realpath(path, NULL);
    if (!target) target = mx_xstrdup(path);
    char *dir = mx_dirname(target);
    int rc = -1;
    char *tmp = NULL;
    int fd = -1;
    size_t len;
    char *data = mx_dockercfg_render(cfg, &len);
    if (mx_mkdir_p(dir, 0700, err) < 0) goto out;
    /* The temporary file sits next to the target so rename() is atomic: a reader sees the old
     * file or the new one, never a half-written one. */
    tmp = mx_xasprintf("%s.XXXXXX", target);
    fd = mkostemp(tmp, O_CLOEXEC);
    if (fd < 0) {
        mx_fail_errno(err, MX_INFRA, "create temporary file next to %s", target);
        free(tmp);
        tmp = NULL;
        goto out;
    }
    if (fchmod(fd, 0600) < 0) {
        mx_fail_errno(err, MX_INFRA, "chmod %s", tmp);
        goto out;
    }
    if (mx_write_all(fd, data, len) < 0 || fsync(fd) < 0) {
        mx_fail_errno(err, MX_INFRA, "write %s", tmp);
        goto out;
    }
    int cr = close(fd);
    fd = -1;
    if (cr < 0) {
        mx_fail_errno(err, MX_INFRA, "write %s", tmp);
        goto out;
    }
    if (rename(tmp, target) < 0) {
        mx_fail_errno(err, MX_INFRA, "rename %s to %s", tmp, target);
        goto out;
    }
    free(tmp);
    tmp = NULL;
    rc = 0;
out:
    if (fd >= 0) close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    OPENSSL_cleanse(data, len);
    free(data);
    free(dir);
    free(target);
    return rc;
}
