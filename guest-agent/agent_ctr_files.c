/* checkout and attach_workspace in a container: the archive goes to PUT /containers/ID/archive
 * (dockerd extracts it as root, keeping the owners its headers name), with every member's owner
 * set to the step's user, into a directory the agent in the container created as that user. */
#include "agent_ctr.h"
#include "agent_http.h"
#include "agent_tar.h"
#include "mx_cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* `mexec-agent --ctr-prep DIR` as the step's user: "UID GID ABSOLUTE-DIR". */
static int prepare_dir(mxd_ctx *c, const char *dir, unsigned *uid, unsigned *gid, char **abs,
                       mx_err *err)
{
    char *argv[] = {MX_CTR_AGENT, "--ctr-prep", (char *)dir, NULL};
    mx_buf out, errtext;
    mx_buf_init(&out);
    mx_buf_init(&errtext);
    int code = 0;
    int rc =
        mxc_exec_capture(c, c->step->container, c->step->user, argv, &out, &errtext, &code, err);
    if (rc == 0 && code != 0)
        rc = mx_fail(err, MX_JOB_FAILED, "%s",
                     errtext.len ? errtext.data : "cannot create the directory");
    if (rc == 0) {
        char *path = NULL;
        if (sscanf(out.data ? out.data : "", "%u %u %m[^\n]", uid, gid, &path) != 3 ||
            path[0] != '/')
            rc = mx_fail(err, MX_INFRA, "the container's agent answered \"%.100s\"",
                         out.data ? out.data : "");
        *abs = path;
    }
    mx_buf_free(&out);
    mx_buf_free(&errtext);
    if (rc < 0) {
        free(*abs);
        *abs = NULL;
    }
    return rc;
}

static int patch_src(void *ctx, char *buf, size_t cap, size_t *got, mx_err *err)
{
    return mxt_patch_read(ctx, buf, cap, got, err);
}

static int put_one(mxd_ctx *c, const char *abs, const char *archive, unsigned uid, unsigned gid,
                   mx_err *err)
{
    int fd = open(archive, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", archive);
    struct stat st;
    if (fstat(fd, &st) < 0) {
        close(fd);
        return mx_fail_errno(err, MX_INFRA, "stat %s", archive);
    }
    mxt_patch p;
    mxt_patch_init(&p, fd, uid, gid);
    mx_autofree char *en = mxh_escape(c->step->container);
    mx_autofree char *ep = mxh_escape(abs);
    mx_autofree char *path = mx_xasprintf("/containers/%s/archive?path=%s", en, ep);
    mx_buf body;
    mx_buf_init(&body);
    long status = 0;
    mxd_request rq = {.method = "PUT",
                      .path = path,
                      .content_type = "application/x-tar",
                      .body_src = patch_src,
                      .body_src_ctx = &p,
                      .body_src_len = (unsigned long long)st.st_size,
                      .timeout_ms = 0};
    int rc = mxd_http(c, &rq, &status, &body, err);
    if (rc == 0 && status / 100 != 2) {
        mxd_daemon_error(status, &body, err);
        rc = -1;
    }
    mx_buf_free(&body);
    mxt_patch_free(&p);
    close(fd);
    return rc;
}

int mxc_put_archives(mxd_ctx *c, const char *dir, char *const *archives, size_t n, mx_err *err)
{
    unsigned uid = 0, gid = 0;
    mx_autofree char *abs = NULL;
    if (prepare_dir(c, dir, &uid, &gid, &abs, err) < 0) return mx_wrap(err, "%s", dir);
    if (c->step->kind == MX_STEP_ATTACH)
        mxd_say(c, MX_STREAM_STDOUT, "Attaching %zu workspace layer%s at %s", n, n == 1 ? "" : "s",
                abs);
    /* in order: a later layer's files replace an earlier one's */
    for (size_t i = 0; i < n; i++)
        if (put_one(c, abs, archives[i], uid, gid, err) < 0)
            return mx_wrap(err, "extract into %s in container %s", abs, c->step->container);
    return 0;
}
