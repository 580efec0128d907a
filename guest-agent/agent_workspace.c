/* persist and attach steps: CircleCI's persist_to_workspace and attach_workspace in the guest.
 *
 * tar does the packing and unpacking, run through mx_agent_exec as a run step's shell is, so its
 * output streams to the host, a cancel stops it and no_output_timeout applies.  Paths are
 * expanded here with glob(3), not by a shell: nothing to quote, and a pattern that matches
 * nothing can be named in the error.  The list reaches tar NUL-separated in a file, so no file
 * name is ever parsed as an option or split on white space. */
#include "agent.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

/* With these hooks and GLOB_PERIOD, wildcards match dotfiles as CircleCI's (Go) globs do, yet
 * never "." or "..", through which a match could leave the root. */
static void *ws_opendir(const char *path)
{
    return opendir(path);
}

static struct dirent *ws_readdir(void *dir)
{
    struct dirent *e;
    while ((e = readdir(dir)) && (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)) {
    }
    return e;
}

static void ws_closedir(void *dir)
{
    closedir(dir);
}

/* The root is a directory name, not a pattern: its glob characters must match themselves. */
static char *glob_escape(const char *s, size_t len)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    for (size_t i = 0; i < len; i++) {
        if (strchr("\\*?[]", s[i])) mx_buf_add(&b, "\\", 1);
        mx_buf_add(&b, &s[i], 1);
    }
    return mx_buf_steal(&b);
}

/* Why pattern cannot name something under the root, or NULL if it can (the host checks the
 * config already; this keeps a wrong message from reaching outside the root). */
const char *mx_agent_ws_bad_pattern(const char *p)
{
    if (!*p) return "is empty";
    if (*p == '/') return "is absolute (paths are relative to the root)";
    for (const char *c = p; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') return "leaves the root (..)";
        c += n;
        c += strspn(c, "/");
    }
    return NULL;
}

/* Appends what pattern matches under root to list, each name relative to root and followed by
 * a NUL.  Returns the number of matches, or -1 with *err set. */
long mx_agent_ws_expand(const char *root, const char *pattern, mx_buf *list, mx_err *err)
{
    size_t plen = strlen(root);
    while (plen > 0 && root[plen - 1] == '/')
        plen--; /* "/" becomes "", so matches start with "/" */
    mx_autofree char *prefix = glob_escape(root, plen);
    mx_autofree char *full = mx_xasprintf("%s/%s", prefix, pattern);
    glob_t g;
    memset(&g, 0, sizeof g);
    g.gl_opendir = ws_opendir;
    g.gl_readdir = ws_readdir;
    g.gl_closedir = ws_closedir;
    g.gl_stat = stat;
    g.gl_lstat = lstat;
    /* no GLOB_TILDE: "~user" would look users up through NSS, which the static agent lacks
     * ("~" is expanded from $HOME before this) */
    int r = glob(full, GLOB_PERIOD | GLOB_ALTDIRFUNC, NULL, &g);
    long n = 0;
    if (r == 0) {
        for (size_t i = 0; i < g.gl_pathc; i++) {
            const char *m = g.gl_pathv[i];
            if (strncmp(m, root, plen) != 0 || m[plen] != '/') {
                n = mx_fail(err, MX_INFRA, "glob returned %s, which is not under %s", m, root);
                break;
            }
            const char *rel = m + plen + 1;
            /* tar -T reads a leading "-" as an option */
            if (*rel == '-') mx_buf_adds(list, "./");
            mx_buf_add(list, rel, strlen(rel) + 1);
            n++;
        }
    } else if (r != GLOB_NOMATCH) {
        n = mx_fail(err, MX_INFRA, "cannot expand %s under %s: %s", pattern, root,
                    r == GLOB_NOSPACE ? "out of memory" : "read error");
    }
    globfree(&g);
    return n;
}

/* Ends the step as failed because of what the user asked for (the message goes to the step's
 * output, where the user reads it, as a failing command's would). */
static void user_error(const mx_msg *step, long long t0, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void user_error(const mx_msg *step, long long t0, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mx_agent_vsay(step->id, MX_STREAM_STDERR, fmt, ap);
    va_end(ap);
    mx_agent_send_end(step, 1, MX_END_EXITED, mx_agent_now_ms() - t0, NULL);
}

static void end_failed(const mx_msg *step, long long t0, const char *why)
{
    mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, why);
}

/* Sends step-end for a process run by mx_agent_exec. */
static void end_exec(const mx_msg *step, long long t0, const mx_agent_exit *ex)
{
    mx_agent_send_end(step, ex->code, ex->reason, mx_agent_now_ms() - t0,
                      ex->reason == MX_END_FAILED ? ex->why.msg : NULL);
}

static int exec_ok(const mx_agent_exit *ex)
{
    return ex->reason == MX_END_EXITED && ex->code == 0;
}

/* Writes the NUL-separated list of matches to a private file for tar -T; returns the list
 * file's directory (caller removes it), or NULL after sending step-end. */
static char *persist_list(const mx_msg *step, long long t0, const char *root)
{
    mx_buf list;
    mx_buf_init(&list);
    mx_err err;
    mx_agent_say(step->id, MX_STREAM_STDOUT, "Persisting to the workspace from %s:", root);
    for (size_t i = 0; i < step->npaths; i++) {
        const char *p = step->paths[i];
        const char *why = mx_agent_ws_bad_pattern(p);
        long n = why ? 0 : mx_agent_ws_expand(root, p, &list, &err);
        if (why || n <= 0) {
            if (why)
                user_error(step, t0, "persist_to_workspace: path \"%s\" %s", p, why);
            else if (n < 0)
                end_failed(step, t0, err.msg);
            else
                user_error(step, t0,
                           "The specified paths did not match any files in %s: \"%s\" matches "
                           "nothing",
                           root, p);
            mx_buf_free(&list);
            return NULL;
        }
        mx_agent_say(step->id, MX_STREAM_STDOUT, "  %s (%ld match%s)", p, n, n == 1 ? "" : "es");
    }
    char tmpl[] = "/tmp/mexec-persist-XXXXXX";
    char *dir = mkdtemp(tmpl) ? mx_xstrdup(tmpl) : NULL;
    if (!dir) mx_fail_errno(&err, MX_INFRA, "mkdtemp");
    mx_autofree char *file = dir ? mx_path_join(dir, "paths") : NULL;
    if (dir && mx_write_file(file, list.data, list.len, 0600, &err) < 0) {
        mx_rm_rf(dir, NULL);
        free(dir);
        dir = NULL;
    }
    mx_buf_free(&list);
    if (!dir) end_failed(step, t0, err.msg);
    return dir;
}

static int persist(const mx_msg *step, mx_agent_in *in, long long t0, const char *home)
{
    if (!step->workdir || !step->archive || step->npaths == 0) {
        end_failed(step, t0, "persist step needs a root, paths and an archive");
        return 0;
    }
    mx_autofree char *root = mx_agent_expand_home(step->workdir, home);
    struct stat st;
    if (stat(root, &st) < 0) {
        user_error(step, t0, "persist_to_workspace: root %s: %s", root, strerror(errno));
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) {
        user_error(step, t0, "persist_to_workspace: root %s is not a directory", root);
        return 0;
    }
    mx_autofree char *dir = persist_list(step, t0, root);
    if (!dir) return 0;
    mx_autofree char *list = mx_path_join(dir, "paths");
    mx_err err;
    /* created here so that tar, which keeps an existing file's mode, writes it private */
    if (mx_write_file(step->archive, "", 0, 0600, &err) < 0) {
        mx_rm_rf(dir, NULL);
        end_failed(step, t0, err.msg);
        return 0;
    }
    char *const argv[] = {"tar", "-c", "-f", step->archive, "--null", "-T", list, NULL};
    mx_agent_exit ex;
    int rc = mx_agent_exec(step, in, argv, root, environ, &ex);
    mx_rm_rf(dir, NULL);
    if (!exec_ok(&ex)) unlink(step->archive); /* a partial layer is no layer */
    if (rc == 0) end_exec(step, t0, &ex);
    return rc;
}

static void unlink_archives(const mx_msg *step)
{
    for (size_t i = 0; i < step->narchives; i++)
        unlink(step->archives[i]);
}

static int attach(const mx_msg *step, mx_agent_in *in, long long t0, const char *home)
{
    if (!step->workdir) {
        unlink_archives(step);
        end_failed(step, t0, "attach step has no directory");
        return 0;
    }
    mx_autofree char *at = mx_agent_expand_home(step->workdir, home);
    mx_err err;
    if (mx_mkdir_p(at, 0755, &err) < 0) {
        unlink_archives(step);
        end_failed(step, t0, err.msg);
        return 0;
    }
    size_t n = step->narchives;
    if (n == 0) {
        mx_agent_say(step->id, MX_STREAM_STDOUT,
                     "The workspace is empty: the upstream jobs persisted nothing");
        mx_agent_send_end(step, 0, MX_END_EXITED, mx_agent_now_ms() - t0, NULL);
        return 0;
    }
    mx_agent_say(step->id, MX_STREAM_STDOUT, "Attaching %zu workspace layer%s at %s", n,
                 n == 1 ? "" : "s", at);
    mx_agent_exit ex = {.reason = MX_END_EXITED};
    int rc = 0;
    /* in order: a later layer's files replace an earlier one's, as the host intends */
    for (size_t i = 0; i < n && rc == 0 && exec_ok(&ex); i++) {
        char *const argv[] = {"tar", "-x", "-f", step->archives[i], "--no-same-owner",
                              "-C",  at,   NULL};
        rc = mx_agent_exec(step, in, argv, at, environ, &ex);
    }
    /* before step-end, as for checkout: a finished step leaves no upload behind */
    unlink_archives(step);
    if (rc == 0) end_exec(step, t0, &ex);
    return rc;
}

int mx_agent_run_workspace_step(const mx_msg *step, mx_agent_in *in)
{
    long long t0 = mx_agent_now_ms();
    const char *home = getenv("HOME") ? getenv("HOME") : "/";
    if (step->kind == MX_STEP_PERSIST) return persist(step, in, t0, home);
    return attach(step, in, t0, home);
}
