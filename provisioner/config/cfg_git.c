#include "cfg_git.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_proc.h"

#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

/* git's answer is small; anything larger is not what was asked for */
#define GIT_OUT_CAP (256u << 10)

/* One git command in dir: its stdout without trailing newlines, or NULL if it failed. */
static char *git(const char *dir, const char *const *args)
{
    const char *argv[12] = {"git", "-C", dir};
    size_t n = 3;
    for (; args[n - 3] && n < 11; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    mx_buf out;
    mx_buf_init(&out);
    mx_err ignored;
    if (mx_proc_run(argv, NULL, &out, &ignored) != 0 || out.len > GIT_OUT_CAP) {
        mx_buf_free(&out);
        return NULL;
    }
    while (out.len && out.data[out.len - 1] == '\n')
        out.data[--out.len] = '\0';
    if (!out.len) {
        mx_buf_free(&out);
        return NULL;
    }
    return mx_buf_steal(&out);
}

char *mx_git_remote_public(const char *url)
{
    const char *scheme = strstr(url, "://");
    if (!scheme) return mx_xstrdup(url);
    const char *host = scheme + 3;
    const char *slash = strchr(host, '/');
    const char *at = strchr(host, '@');
    if (!at || (slash && at > slash)) return mx_xstrdup(url);
    return mx_xasprintf("%.*s%s", (int)(host - url), url, at + 1);
}

int mx_git_remote_parse(const char *url, char **host, char **owner, char **repo)
{
    *host = *owner = *repo = NULL;
    const char *h, *path;
    size_t hlen;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        h = scheme + 3;
        const char *slash = strchr(h, '/');
        if (!slash) return -1;
        const char *at = memchr(h, '@', (size_t)(slash - h));
        if (at) h = at + 1;
        const char *colon = memchr(h, ':', (size_t)(slash - h)); /* a port */
        hlen = (size_t)((colon ? colon : slash) - h);
        path = slash + 1;
    } else {
        /* scp-like: [user@]host:path, where host has no slash */
        const char *colon = strchr(url, ':');
        if (!colon || memchr(url, '/', (size_t)(colon - url))) return -1;
        h = url;
        const char *at = memchr(url, '@', (size_t)(colon - url));
        if (at) h = at + 1;
        hlen = (size_t)(colon - h);
        path = colon + 1;
    }
    while (*path == '/')
        path++;
    size_t plen = strlen(path);
    while (plen && path[plen - 1] == '/')
        plen--;
    if (plen > 4 && strncmp(path + plen - 4, ".git", 4) == 0) plen -= 4;
    const char *last = NULL;
    for (const char *p = path; p < path + plen; p++)
        if (*p == '/') last = p;
    if (!hlen || !last || last == path || last + 1 == path + plen) return -1;
    *host = mx_xstrndup(h, hlen);
    *owner = mx_xstrndup(path, (size_t)(last - path));
    *repo = mx_xstrndup(last + 1, (size_t)(path + plen - last - 1));
    return 0;
}

static char *remote_url(const char *dir)
{
    static const char *const origin[] = {"remote", "get-url", "origin", NULL};
    char *u = git(dir, origin);
    if (u) return u;
    static const char *const list[] = {"remote", NULL};
    mx_autofree char *remotes = git(dir, list);
    if (!remotes) return NULL;
    remotes[strcspn(remotes, "\n")] = '\0';
    const char *first[] = {"remote", "get-url", remotes, NULL};
    return git(dir, first);
}

static char *default_branch(const char *dir)
{
    static const char *const head[] = {"symbolic-ref", "--quiet", "--short",
                                       "refs/remotes/origin/HEAD", NULL};
    char *ref = git(dir, head);
    if (ref) {
        const char *slash = strchr(ref, '/');
        char *b = mx_xstrdup(slash ? slash + 1 : ref);
        free(ref);
        return b;
    }
    static const char *const names[] = {"main", "master"};
    for (size_t i = 0; i < 2; i++) {
        char *full = mx_xasprintf("refs/heads/%s", names[i]);
        const char *verify[] = {"rev-parse", "--verify", "--quiet", full, NULL};
        char *sha = git(dir, verify);
        free(full);
        if (sha) {
            free(sha);
            return mx_xstrdup(names[i]);
        }
    }
    return NULL;
}

static char *base_revision(const char *dir, const char *default_br)
{
    static const char *const up[] = {"rev-parse", "--verify", "--quiet", "@{upstream}", NULL};
    char *sha = git(dir, up);
    if (sha || !default_br) return sha;
    mx_autofree char *remote = mx_xasprintf("origin/%s", default_br);
    const char *mb[] = {"merge-base", "HEAD", remote, NULL};
    sha = git(dir, mb);
    if (sha) return sha;
    const char *mb_local[] = {"merge-base", "HEAD", default_br, NULL};
    return git(dir, mb_local);
}

/* HEAD's subject, body, author and committer date, NUL-separated in one call. */
static void head_commit(const char *dir, mx_pipeline_info *pi)
{
    const char *argv[] = {"git",
                          "-C",
                          dir,
                          "log",
                          "-1",
                          "--no-show-signature",
                          "--format=%H%x00%s%x00%b%x00%an%x00%ae%x00%cI",
                          "HEAD",
                          NULL};
    mx_buf out;
    mx_buf_init(&out);
    mx_err ignored;
    if (mx_proc_run(argv, NULL, &out, &ignored) != 0 || out.len > GIT_OUT_CAP) {
        mx_buf_free(&out);
        return;
    }
    char **fields[] = {&pi->revision,    &pi->commit_subject, &pi->commit_body,
                       &pi->author_name, &pi->author_email,   &pi->commit_time};
    const char *p = out.data, *end = out.data + out.len;
    for (size_t i = 0; i < 6 && p && p <= end; i++) {
        const char *nul = memchr(p, '\0', (size_t)(end - p));
        size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
        while (len && (p[len - 1] == '\n' || p[len - 1] == '\r'))
            len--;
        *fields[i] = mx_xstrndup(p, len);
        p = nul ? nul + 1 : NULL;
    }
    mx_buf_free(&out);
}

static const char *vcs_of(const char *host)
{
    if (!host) return NULL;
    if (strcmp(host, "github.com") == 0) return "github";
    if (strcmp(host, "gitlab.com") == 0) return "gitlab";
    if (strcmp(host, "bitbucket.org") == 0) return "bitbucket";
    return NULL;
}

void mx_pipeline_info_read(const char *project_dir, const char *config_path, mx_pipeline_info *pi)
{
    memset(pi, 0, sizeof *pi);
    char real[PATH_MAX];
    const char *dir = realpath(project_dir, real) ? real : project_dir;
    head_commit(dir, pi);
    static const char *const br[] = {"symbolic-ref", "--quiet", "--short", "HEAD", NULL};
    pi->branch = git(dir, br);
    pi->default_branch = default_branch(dir);
    if (pi->revision) pi->base_revision = base_revision(dir, pi->default_branch);
    char *url = remote_url(dir);
    if (url) {
        pi->remote_url = mx_git_remote_public(url);
        if (mx_git_remote_parse(pi->remote_url, &pi->host, &pi->owner, &pi->repo) < 0) {
            free(pi->host), free(pi->owner), free(pi->repo);
            pi->host = pi->owner = pi->repo = NULL;
        }
        free(url);
    }
    const char *v = vcs_of(pi->host);
    pi->vcs = v ? mx_xstrdup(v) : NULL;
    if (!pi->repo) {
        const char *base = strrchr(dir, '/');
        if (base && base[1]) pi->repo = mx_xstrdup(base + 1);
    }
    char cfg_real[PATH_MAX];
    if (config_path && realpath(config_path, cfg_real)) {
        size_t dl = strlen(dir);
        if (strncmp(cfg_real, dir, dl) == 0 && cfg_real[dl] == '/')
            pi->config_file = mx_xstrdup(cfg_real + dl + 1);
    }
}

static char *uuid4(void)
{
    uint8_t b[16];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t r = getrandom(b + got, sizeof b - got, 0);
        if (r <= 0) break;
        got += (size_t)r;
    }
    if (got < sizeof b) {
        /* no entropy source: still unique enough to tell runs apart */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uint64_t)getpid();
        for (size_t i = 0; i < sizeof b; i++, x = x * 6364136223846793005u + 1442695040888963407u)
            b[i] = (uint8_t)(x >> 56);
    }
    b[6] = (uint8_t)((b[6] & 0x0f) | 0x40); /* version 4 */
    b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    return mx_xasprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                        b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                        b[12], b[13], b[14], b[15]);
}

void mx_pipeline_info_new_ids(mx_pipeline_info *pi)
{
    free(pi->id);
    free(pi->workflow_id);
    free(pi->received_at);
    pi->id = uuid4();
    pi->workflow_id = uuid4();
    char stamp[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm)) strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    pi->received_at = mx_xstrdup(stamp);
}

void mx_pipeline_info_free(mx_pipeline_info *pi)
{
    char **all[] = {&pi->id,
                    &pi->workflow_id,
                    &pi->revision,
                    &pi->branch,
                    &pi->default_branch,
                    &pi->base_revision,
                    &pi->remote_url,
                    &pi->host,
                    &pi->owner,
                    &pi->repo,
                    &pi->vcs,
                    &pi->commit_subject,
                    &pi->commit_body,
                    &pi->author_name,
                    &pi->author_email,
                    &pi->commit_time,
                    &pi->received_at,
                    &pi->config_file};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
}

char *mx_pipeline_git_url(const mx_pipeline_info *pi)
{
    if (!pi || !pi->host || !pi->owner || !pi->repo) return NULL;
    return mx_xasprintf("https://%s/%s/%s", pi->host, pi->owner, pi->repo);
}

char *mx_pipeline_slug(const mx_pipeline_info *pi)
{
    if (!pi || !pi->vcs || !pi->owner || !pi->repo) return NULL;
    const char *p = strcmp(pi->vcs, "github") == 0   ? "gh"
                    : strcmp(pi->vcs, "gitlab") == 0 ? "gl"
                                                     : "bb";
    return mx_xasprintf("%s/%s/%s", p, pi->owner, pi->repo);
}
