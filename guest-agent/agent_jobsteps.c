/* The guest's half of the steps that keep things on the host (CircleCI's save_cache,
 * restore_cache, store_artifacts, store_test_results, add_ssh_keys).  The host renders cache
 * keys, chooses caches and moves the files; here the agent computes checksums, packs and
 * unpacks with tar (supervised as a run step is: output streams, cancel and no_output_timeout
 * apply), and writes SSH keys.
 *
 *   checksum  SHA-256 (base64, as CircleCI's {{ checksum }}) of each path, and {{ arch }}
 *   pack      what the paths match (glob(3), dotfiles too), into archive with names from "/"
 *   collect   one path (a tree or a file) into archive, names relative to it; step-end says
 *             "dir" or "file" (or "empty": nothing there, no archive)
 *   unpack    archive at workdir, then removed
 *   ssh-keys  ~/.ssh/NAME (0600, ~/.ssh 0700); "config" is appended to ~/.ssh/config */
#include "agent.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
/* SHA256_Init & co., not EVP: in the static agent EVP_sha256() drags in OpenSSL 3's provider
 * loading (dlopen, getaddrinfo), which --fatal-warnings refuses; the plain digest functions are
 * deprecated in OpenSSL 3 but self-contained. */
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

extern char **environ;

static const char *home(void)
{
    const char *h = getenv("HOME");
    return h && *h ? h : "/";
}

/* A step path as the guest names it: "~" expanded, relative ones under workdir. */
static char *resolve(const mx_msg *step, const char *path)
{
    mx_autofree char *p = mx_agent_expand_home(path, home());
    if (p[0] == '/') return mx_steal(&p);
    mx_autofree char *wd = mx_agent_expand_home(step->workdir ? step->workdir : "~", home());
    return mx_path_join(wd, p);
}

/* step-end with values (and arch) for the host. */
static void send_end_values(const mx_msg *step, int status, long long t0, char **values, size_t n,
                            const char *arch)
{
    mx_msg m = {.type = MX_MSG_STEP_END,
                .id = step->id,
                .exit_status = status,
                .reason = MX_END_EXITED,
                .duration_ms = mx_agent_now_ms() - t0,
                .values = values,
                .nvalues = n,
                .arch = (char *)arch};
    mx_agent_send(&m);
}

static void end_exec(const mx_msg *step, long long t0, const mx_agent_exit *ex)
{
    mx_agent_send_end(step, ex->code, ex->reason, mx_agent_now_ms() - t0,
                      ex->reason == MX_END_FAILED ? ex->why.msg : NULL);
}

/* ---- checksum ---- */

static char *file_sha256(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_xasprintf("error:%s: %s", path, strerror(errno));
    SHA256_CTX ctx;
    SHA256_Init(&ctx);
    char buf[65536];
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0) SHA256_Update(&ctx, buf, (size_t)n);
    int rerr = n < 0 ? errno : 0;
    close(fd);
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &ctx);
    if (rerr) return mx_xasprintf("error:%s: %s", path, strerror(rerr));
    mx_autofree char *b64 = mx_b64_encode(md, sizeof md);
    return mx_xasprintf("sha256:%s", b64);
}

/* CircleCI's {{ arch }}: OS, architecture, then CPU family and model, "linux-amd64-6_85". */
static char *arch(void)
{
    struct utsname u;
    const char *m = uname(&u) == 0 ? u.machine : "unknown";
    if (strcmp(m, "x86_64") == 0) m = "amd64";
    if (strcmp(m, "aarch64") == 0) m = "arm64";
    char family[32] = "0", model[32] = "0";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    int got = 0;
    while (f && got < 2 && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!colon) continue;
        char *v = colon + 1 + strspn(colon + 1, " \t");
        v[strcspn(v, "\n")] = '\0';
        if (strncmp(line, "cpu family", 10) == 0 && got == 0 && strlen(v) < sizeof family)
            snprintf(family, sizeof family, "%s", v), got++;
        else if (strncmp(line, "model\t", 6) == 0 && strlen(v) < sizeof model)
            snprintf(model, sizeof model, "%s", v), got++;
    }
    if (f) fclose(f);
    return mx_xasprintf("linux-%s-%s_%s", m, family, model);
}

static int checksum(const mx_msg *step, long long t0)
{
    char **values = mx_xcalloc(step->npaths + 1, sizeof *values);
    for (size_t i = 0; i < step->npaths; i++) {
        mx_autofree char *p = resolve(step, step->paths[i]);
        values[i] = file_sha256(p);
    }
    mx_autofree char *a = arch();
    send_end_values(step, 0, t0, values, step->npaths, a);
    for (size_t i = 0; i < step->npaths; i++)
        free(values[i]);
    free(values);
    return 0;
}

/* ---- pack, collect ---- */

/* The list file for tar -T (names NUL-separated, each "./"-prefixed so that none reads as an
 * option) in a private directory; NULL with *err. */
static char *write_list(const mx_buf *list, mx_err *err)
{
    char tmpl[] = "/tmp/mexec-pack-XXXXXX";
    if (!mkdtemp(tmpl)) {
        mx_fail_errno(err, MX_INFRA, "mkdtemp");
        return NULL;
    }
    mx_autofree char *file = mx_path_join(tmpl, "paths");
    if (mx_write_file(file, list->data ? list->data : "", list->len, 0600, err) < 0) {
        mx_rm_rf(tmpl, NULL);
        return NULL;
    }
    return mx_xstrdup(tmpl);
}

/* Runs tar -c into step->archive (created 0600 first) in dir; tar's exit status 1 (a file
 * changed while read) is a warning for caches.  Sends step-end, with what as its one value
 * when tar succeeded (NULL: none). */
static int run_tar_create(const mx_msg *step, mx_agent_in *in, long long t0, char *const *argv,
                          const char *dir, int changed_ok, const char *what)
{
    mx_err err;
    if (mx_write_file(step->archive, "", 0, 0600, &err) < 0) {
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
        return 0;
    }
    mx_agent_exit ex;
    int rc = mx_agent_exec(step, in, argv, dir, environ, &ex);
    if (rc < 0) return -1;
    if (changed_ok && ex.reason == MX_END_EXITED && ex.code == 1) {
        mx_agent_say(step->id, MX_STREAM_STDERR, "Warning: files changed while they were saved");
        ex.code = 0;
    }
    if (ex.reason != MX_END_EXITED || ex.code != 0) {
        unlink(step->archive);
        end_exec(step, t0, &ex);
    } else {
        char *v[] = {(char *)what};
        send_end_values(step, 0, t0, v, what ? 1 : 0, NULL);
    }
    return 0;
}

static void end_empty(const mx_msg *step, long long t0)
{
    char *v[] = {"empty"};
    send_end_values(step, 0, t0, v, 1, NULL);
}

static int pack(const mx_msg *step, mx_agent_in *in, long long t0)
{
    mx_buf list;
    mx_buf_init(&list);
    size_t total = 0;
    for (size_t i = 0; i < step->npaths; i++) {
        mx_autofree char *pattern = resolve(step, step->paths[i]);
        glob_t g;
        memset(&g, 0, sizeof g);
        int r = glob(pattern, GLOB_PERIOD | GLOB_NOSORT, NULL, &g);
        size_t n = 0;
        for (size_t k = 0; r == 0 && k < g.gl_pathc; k++) {
            const char *base = strrchr(g.gl_pathv[k], '/');
            base = base ? base + 1 : g.gl_pathv[k];
            if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) continue;
            mx_buf_printf(&list, ".%s", g.gl_pathv[k]); /* "/a/b" -> "./a/b", from "/" */
            mx_buf_add(&list, "", 1);
            n++;
        }
        globfree(&g);
        if (n)
            mx_agent_say(step->id, MX_STREAM_STDOUT, "  %s (%zu match%s)", pattern, n,
                         n == 1 ? "" : "es");
        else
            mx_agent_say(step->id, MX_STREAM_STDOUT, "  %s: no such file or directory, skipped",
                         pattern);
        total += n;
    }
    if (total == 0) {
        mx_buf_free(&list);
        end_empty(step, t0);
        return 0;
    }
    mx_err err;
    mx_autofree char *dir = write_list(&list, &err);
    mx_buf_free(&list);
    if (!dir) {
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
        return 0;
    }
    mx_autofree char *lf = mx_path_join(dir, "paths");
    char *const argv[] = {"tar", "-c", "-f", step->archive, "--null", "-T", lf, NULL};
    int rc = run_tar_create(step, in, t0, argv, "/", 1, NULL);
    mx_rm_rf(dir, NULL);
    return rc;
}

static int collect(const mx_msg *step, mx_agent_in *in, long long t0)
{
    if (step->npaths != 1) {
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, "collect takes one path");
        return 0;
    }
    mx_autofree char *p = resolve(step, step->paths[0]);
    struct stat st;
    if (stat(p, &st) < 0) {
        mx_agent_say(step->id, MX_STREAM_STDOUT, "%s: %s; nothing to upload", p, strerror(errno));
        end_empty(step, t0);
        return 0;
    }
    if (S_ISDIR(st.st_mode)) {
        char *const argv[] = {"tar", "-c", "-f", step->archive, ".", NULL};
        return run_tar_create(step, in, t0, argv, p, 0, "dir");
    }
    mx_autofree char *dir = mx_dirname(p);
    const char *slash = strrchr(p, '/');
    char *const argv[] = {"tar", "-c", "-f", step->archive, "--", (char *)(slash + 1), NULL};
    return run_tar_create(step, in, t0, argv, dir, 0, "file");
}

/* ---- unpack ---- */

static int unpack(const mx_msg *step, mx_agent_in *in, long long t0)
{
    mx_autofree char *at = resolve(step, step->workdir ? step->workdir : "/");
    if (!step->archive) {
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, "unpack needs archive");
        return 0;
    }
    char *const argv[] = {"tar", "-x", "-f", step->archive, "--no-same-owner", "-C", at, NULL};
    mx_agent_exit ex;
    int rc = mx_agent_exec(step, in, argv, at, environ, &ex);
    unlink(step->archive); /* a finished step leaves no upload behind */
    if (rc == 0) end_exec(step, t0, &ex);
    return rc;
}

/* ---- ssh-keys ---- */

static int valid_name(const char *n)
{
    return *n && strcmp(n, ".") != 0 && strcmp(n, "..") != 0 && !strchr(n, '/');
}

static int write_key(const char *dir, const mx_kv *k, mx_err *err)
{
    mx_autofree char *path = mx_path_join(dir, k->key);
    if (strcmp(k->key, "config") != 0)
        return mx_write_file(path, k->value, strlen(k->value), 0600, err);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    int rc = mx_write_all(fd, k->value, strlen(k->value));
    if (close(fd) < 0 || rc < 0) return mx_fail_errno(err, MX_INFRA, "write %s", path);
    return 0;
}

static int ssh_keys(const mx_msg *step, long long t0)
{
    mx_autofree char *dir = mx_path_join(home(), ".ssh");
    mx_err err;
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        mx_fail_errno(&err, MX_INFRA, "mkdir %s", dir);
        mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0, err.msg);
        return 0;
    }
    for (size_t i = 0; i < step->nkeys; i++) {
        const mx_kv *k = &step->keys[i];
        if (!valid_name(k->key) || write_key(dir, k, &err) < 0) {
            mx_agent_send_end(step, 1, MX_END_FAILED, mx_agent_now_ms() - t0,
                              valid_name(k->key) ? err.msg : "bad key file name");
            return 0;
        }
        if (strcmp(k->key, "config") != 0)
            mx_agent_say(step->id, MX_STREAM_STDOUT, "Added %s/%s", dir, k->key);
    }
    mx_agent_send_end(step, 0, MX_END_EXITED, mx_agent_now_ms() - t0, NULL);
    return 0;
}

int mx_agent_run_job_step(const mx_msg *step, mx_agent_in *in)
{
    long long t0 = mx_agent_now_ms();
    if ((step->kind == MX_STEP_PACK || step->kind == MX_STEP_COLLECT) && !step->archive) {
        mx_agent_send_end(step, 1, MX_END_FAILED, 0, "the step needs an archive");
        return 0;
    }
    switch (step->kind) {
    case MX_STEP_CHECKSUM:
        return checksum(step, t0);
    case MX_STEP_PACK:
        return pack(step, in, t0);
    case MX_STEP_COLLECT:
        return collect(step, in, t0);
    case MX_STEP_UNPACK:
        return unpack(step, in, t0);
    default:
        return ssh_keys(step, t0);
    }
}
