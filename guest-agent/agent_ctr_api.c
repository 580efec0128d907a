/* The Engine API calls of container steps: JSON posts, execs, their exit codes, the
 * multiplexed stream's frames. */
#include "agent_ctr.h"
#include "mx_buf.h"
#include "agent_http.h"
#include "mx_cleanup.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* What an exec's captured stdout may hold (a path and two numbers are expected). */
#define CAPTURE_MAX (64 * 1024)
/* The daemon may report an exec as running a moment after its stream has ended. */
#define EXIT_POLLS 100
#define EXIT_POLL_MS 20

char *mxc_self_path(mx_err *err)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
        mx_fail_errno(err, MX_INFRA, "readlink /proc/self/exe");
        return NULL;
    }
    self[n] = '\0';
    /* uploaded 0700 for the VM's user; a container's user is anyone (the file holds no
     * secret: it is this program) */
    struct stat st;
    if (stat(self, &st) < 0 || ((st.st_mode & 0555) != 0555 && chmod(self, 0755) < 0)) {
        mx_fail_errno(err, MX_INFRA, "make %s executable for the containers", self);
        return NULL;
    }
    return mx_xstrdup(self);
}

int mxc_post_json(mxd_ctx *c, const char *path, const char *json, mx_buf *out, mx_err *err)
{
    mx_buf body;
    mx_buf_init(&body);
    long status = 0;
    mxd_request rq = {.method = "POST", .path = path, .body = json, .timeout_ms = 120000};
    int rc = mxd_http(c, &rq, &status, &body, err);
    if (rc == 0 && status / 100 != 2) {
        mxd_daemon_error(status, &body, err);
        rc = -1;
    }
    if (rc == 0 && out) mx_buf_add(out, body.data ? body.data : "", body.len);
    mxd_buf_wipe(&body);
    return rc;
}

static json_t *must(json_t *j)
{
    if (!j) mx_oom();
    return j;
}

static json_t *strv(char *const *v, size_t n)
{
    json_t *a = must(json_array());
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, must(json_string(v[i]))) != 0) mx_oom();
    return a;
}

char *mxc_exec_create(mxd_ctx *c, const char *name, const char *user, char *const *argv,
                      char *const *env, size_t nenv, int stdin_too, mx_err *err)
{
    size_t argc = 0;
    while (argv[argc])
        argc++;
    mx_autojson json_t *o = must(json_pack("{s:b, s:b, s:b, s:b, s:o, s:o}", "AttachStdin",
                                           stdin_too, "AttachStdout", 1, "AttachStderr", 1, "Tty",
                                           0, "Cmd", strv(argv, argc), "Env", strv(env, nenv)));
    if (user && json_object_set_new(o, "User", must(json_string(user))) != 0) mx_oom();
    char *js = json_dumps(o, JSON_COMPACT);
    if (!js) mx_oom();
    /* the environment holds the job's secrets: no copy outlives the request */
    json_t *e = json_object_get(o, "Env");
    size_t i;
    json_t *v;
    json_array_foreach(e, i, v)
        OPENSSL_cleanse((char *)json_string_value(v), strlen(json_string_value(v)));
    mx_autofree char *en = mxh_escape(name);
    mx_autofree char *path = mx_xasprintf("/containers/%s/exec", en);
    mx_buf out;
    mx_buf_init(&out);
    int rc = mxc_post_json(c, path, js, &out, err);
    OPENSSL_cleanse(js, strlen(js));
    free(js);
    char *id = NULL;
    if (rc == 0) {
        mx_autojson json_t *r = json_loadb(out.data, out.len, 0, NULL);
        const char *s = json_string_value(json_object_get(r, "Id"));
        if (s && *s && strspn(s, "0123456789abcdef") == strlen(s))
            id = mx_xstrdup(s);
        else
            mx_fail(err, MX_INFRA, "the Docker daemon answered an exec without an Id");
    }
    mx_buf_free(&out);
    if (rc < 0) mx_wrap(err, "exec in container %s", name);
    return id;
}

int mxc_exec_exit_code(mxd_ctx *c, const char *exec_id, mx_err *err)
{
    mx_autofree char *path = mx_xasprintf("/exec/%s/json", exec_id);
    for (int i = 0; i < EXIT_POLLS; i++) {
        mx_buf body;
        mx_buf_init(&body);
        long status = 0;
        mxd_request rq = {.method = "GET", .path = path, .timeout_ms = 10000};
        int rc = mxd_http(c, &rq, &status, &body, err);
        if (rc == 0 && status != 200) {
            mxd_daemon_error(status, &body, err);
            rc = -1;
        }
        json_t *r = rc == 0 ? json_loadb(body.data, body.len, 0, NULL) : NULL;
        mx_buf_free(&body);
        if (rc < 0) return -1;
        int running = json_is_true(json_object_get(r, "Running"));
        json_t *code = json_object_get(r, "ExitCode");
        long long v = json_is_integer(code) ? json_integer_value(code) : -1;
        json_decref(r);
        if (!running && v >= 0) return v > 255 ? 255 : (int)v;
        struct timespec ts = {0, EXIT_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return mx_fail(err, MX_INFRA, "exec %.12s: the Docker daemon reports no exit code", exec_id);
}

int mxc_demux_feed(mxc_demux *d, const char *data, size_t len, mxc_frame_fn fn, void *ctx,
                   mx_err *err)
{
    while (len > 0) {
        if (d->left == 0) {
            size_t n = 8 - d->nhead < len ? 8 - d->nhead : len;
            memcpy(d->head + d->nhead, data, n);
            d->nhead += n;
            data += n;
            len -= n;
            if (d->nhead < 8) return 0;
            d->nhead = 0;
            if (d->head[0] > 2 || d->head[1] || d->head[2] || d->head[3])
                return mx_fail(err, MX_INFRA, "bad frame in the Docker daemon's stream");
            d->stream = d->head[0] == 2 ? 2 : 1;
            d->left = (unsigned long)d->head[4] << 24 | (unsigned long)d->head[5] << 16 |
                      (unsigned long)d->head[6] << 8 | d->head[7];
            continue;
        }
        size_t n = d->left < len ? d->left : len;
        if (fn(ctx, d->stream, data, n, err) < 0) return -1;
        d->left -= n;
        data += n;
        len -= n;
    }
    return 0;
}

typedef struct capture {
    mxc_demux d;
    mx_buf *out, *err;
} capture;

static int on_frame(void *ctx, int stream, const char *data, size_t len, mx_err *err)
{
    (void)err;
    capture *cp = ctx;
    mx_buf *b = stream == 2 ? cp->err : cp->out;
    size_t room = b->len < CAPTURE_MAX ? CAPTURE_MAX - b->len : 0;
    mx_buf_add(b, data, len < room ? len : room);
    return 0;
}

static int on_stream(void *ctx, const char *data, size_t len, mx_err *err)
{
    capture *cp = ctx;
    return mxc_demux_feed(&cp->d, data, len, on_frame, cp, err);
}

int mxc_exec_capture(mxd_ctx *c, const char *name, const char *user, char *const *argv, mx_buf *out,
                     mx_buf *errtext, int *code, mx_err *err)
{
    mx_autofree char *id = mxc_exec_create(c, name, user, argv, NULL, 0, 0, err);
    if (!id) return -1;
    capture cp = {.out = out, .err = errtext};
    mx_autofree char *path = mx_xasprintf("/exec/%s/start", id);
    mx_buf body;
    mx_buf_init(&body);
    long status = 0;
    mxd_request rq = {.method = "POST",
                      .path = path,
                      .body = "{\"Detach\":false,\"Tty\":false}",
                      .timeout_ms = 120000,
                      .on_data = on_stream,
                      .data_ctx = &cp};
    int rc = mxd_http(c, &rq, &status, &body, err);
    if (rc == 0 && status / 100 != 2) {
        mxd_daemon_error(status, &body, err);
        rc = -1;
    }
    mx_buf_free(&body);
    if (rc < 0) return mx_wrap(err, "exec in container %s", name);
    *code = mxc_exec_exit_code(c, id, err);
    return *code < 0 ? -1 : 0;
}
