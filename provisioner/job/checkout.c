#include "checkout.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"

#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How deep submodule git dirs are looked for below .git/modules. */
#define MAX_MODULE_DEPTH 16

char *mx_checkout_project_dir(const char *config_path)
{
    char real[PATH_MAX];
    if (!realpath(config_path, real)) return mx_dirname(config_path);
    mx_autofree char *dir = mx_dirname(real);
    const char *base = strrchr(dir, '/');
    if (base && strcmp(base + 1, ".circleci") == 0) return mx_dirname(dir);
    return mx_steal(&dir);
}

static char *git_line(const char *dir, const char *const *args)
{
    const char *argv[8] = {"git", "-C", dir};
    size_t n = 3;
    for (; args[n - 3] && n < 7; n++)
        argv[n] = args[n - 3];
    argv[n] = NULL;
    mx_buf out;
    mx_buf_init(&out);
    mx_err ignored;
    if (mx_proc_run(argv, NULL, &out, &ignored) != 0) {
        mx_buf_free(&out);
        return NULL;
    }
    while (out.len && out.data[out.len - 1] == '\n')
        out.data[--out.len] = '\0';
    return mx_buf_steal(&out);
}

void mx_checkout_git_info(const char *project_dir, char **sha, char **branch)
{
    static const char *const head[] = {"rev-parse", "HEAD", NULL};
    static const char *const br[] = {"rev-parse", "--abbrev-ref", "HEAD", NULL};
    *sha = git_line(project_dir, head);
    *branch = git_line(project_dir, br);
}

/* Writes the NUL-separated list of paths to pack; returns 1 if in git, 0 if not, -1 on error. */
static int git_file_list(const char *dir, const char *list_path, mx_err *err)
{
    static const char *const top_args[] = {"rev-parse", "--show-toplevel", NULL};
    mx_autofree char *top = git_line(dir, top_args);
    if (!top) return 0;
    const char *argv[] = {
        "git", "-C", dir, "ls-files", "-z", "--cached", "--others", "--exclude-standard", NULL};
    mx_buf out;
    mx_buf_init(&out);
    if (mx_proc_check(argv, NULL, &out, err) < 0) {
        mx_buf_free(&out);
        return -1;
    }
    /* tracked files deleted in the working tree are listed too: pack what exists */
    mx_buf keep;
    mx_buf_init(&keep);
    for (size_t at = 0; at < out.len;) {
        const char *p = out.data + at;
        size_t l = strlen(p);
        mx_autofree char *full = mx_path_join(dir, p);
        struct stat st;
        if (lstat(full, &st) == 0) mx_buf_add(&keep, p, l + 1);
        at += l + 1;
    }
    char real[PATH_MAX];
    if (realpath(dir, real) && strcmp(real, top) == 0) mx_buf_add(&keep, ".git", 5);
    int rc = mx_write_file(list_path, keep.data ? keep.data : "", keep.len, 0600, err);
    mx_buf_free(&out);
    mx_buf_free(&keep);
    return rc < 0 ? -1 : 1;
}

int mx_checkout_check(const char *project_dir, int explicit_dir, mx_err *err)
{
    static const char *const top_args[] = {"rev-parse", "--show-toplevel", NULL};
    if (explicit_dir) return 0;
    mx_autofree char *top = git_line(project_dir, top_args);
    if (top) return 0;
    return mx_fail(err, MX_USAGE,
                   "checkout: %s is not in a git work tree, and mexec packs a directory that is "
                   "not only when told which one: pass --project-dir %s to pack all of it",
                   project_dir, project_dir);
}

typedef struct paths {
    char **v;
    size_t n;
} paths;

static void paths_add(paths *p, char *s)
{
    p->v = mx_xrealloc(p->v, (p->n + 1) * sizeof *p->v);
    p->v[p->n++] = s;
}

static void paths_free(paths *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->v[i]);
    free(p->v);
    memset(p, 0, sizeof *p);
}

static int regular(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The config files of the git dirs at and below root/rel (relative names): a git dir (it has
 * HEAD) contributes config and config.worktree, and its modules/ holds submodules' git dirs
 * (under their names, which may have several components).  Worktrees' dirs are under
 * .git/worktrees. */
static void find_configs(const char *root, const char *rel, int depth, paths *out)
{
    if (depth > MAX_MODULE_DEPTH) return;
    mx_autofree char *dir = mx_path_join(root, rel);
    mx_autofree char *head = mx_path_join(dir, "HEAD");
    if (mx_path_exists(head)) {
        static const char *const names[] = {"config", "config.worktree"};
        for (size_t i = 0; i < 2; i++) {
            char *r = mx_path_join(rel, names[i]);
            mx_autofree char *full = mx_path_join(root, r);
            if (regular(full))
                paths_add(out, r);
            else
                free(r);
        }
        static const char *const below[] = {"modules", "worktrees"};
        for (size_t i = 0; i < 2; i++) {
            mx_autofree char *sub = mx_path_join(rel, below[i]);
            find_configs(root, sub, depth + 1, out);
        }
        return;
    }
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        mx_autofree char *sub = mx_path_join(rel, de->d_name);
        mx_autofree char *full = mx_path_join(root, sub);
        struct stat st;
        if (lstat(full, &st) == 0 && S_ISDIR(st.st_mode)) find_configs(root, sub, depth + 1, out);
    }
    closedir(d);
}

/* Packs the listed files (git) or the whole directory, leaving out every git config file;
 * the ones in `clean` are appended from stage, rewritten. */
static int pack(const char *dir, const char *list, const paths *clean, const char *stage,
                const char *archive, mx_err *err)
{
    /* literal names; ".git/config" unanchored also catches nested repositories' */
    const char **argv = mx_xcalloc(clean->n + 24, sizeof *argv);
    char **owned = mx_xcalloc(clean->n + 1, sizeof *owned);
    size_t n = 0;
    const char *head[] = {"tar",
                          "-c",
                          "-f",
                          archive,
                          "-C",
                          dir,
                          "--no-wildcards",
                          "--no-anchored",
                          "--exclude=.git/config",
                          "--exclude=.git/config.worktree",
                          "--anchored"};
    for (size_t i = 0; i < sizeof head / sizeof *head; i++)
        argv[n++] = head[i];
    for (size_t i = 0; i < clean->n; i++)
        argv[n++] = owned[i] = mx_xasprintf("--exclude=%s", clean->v[i]);
    if (list) {
        argv[n++] = "--null";
        argv[n++] = "-T";
        argv[n++] = list;
    } else {
        argv[n++] = ".";
    }
    argv[n] = NULL;
    int rc = mx_proc_check(argv, NULL, NULL, err);
    for (size_t i = 0; i < clean->n; i++)
        free(owned[i]);
    free(owned);
    free(argv);
    if (rc < 0 || clean->n == 0) return rc;
    /* then the rewritten configs, under the same names */
    const char **app = mx_xcalloc(clean->n + 10, sizeof *app);
    n = 0;
    const char *ahead[] = {"tar", "-r", "-f", archive, "-C", stage, "--no-wildcards", "--"};
    for (size_t i = 0; i < sizeof ahead / sizeof *ahead; i++)
        app[n++] = ahead[i];
    for (size_t i = 0; i < clean->n; i++)
        app[n++] = clean->v[i];
    app[n] = NULL;
    rc = mx_proc_check(app, NULL, NULL, err);
    free(app);
    return rc;
}

/* Writes the rewritten configs into stage, under their names. */
static int stage_configs(const char *dir, const paths *clean, const char *stage, mx_err *err)
{
    for (size_t i = 0; i < clean->n; i++) {
        mx_autofree char *src = mx_path_join(dir, clean->v[i]);
        mx_autofree char *dst = mx_path_join(stage, clean->v[i]);
        mx_autofree char *parent = mx_dirname(dst);
        if (mx_mkdir_p(parent, 0700, err) < 0) return -1;
        if (mx_checkout_clean_git_config(src, dst, err) < 0) return -1;
    }
    return 0;
}

int mx_checkout_archive(const char *project_dir, int explicit_dir, const char *archive, mx_err *err)
{
    mx_autofree char *list = mx_xasprintf("%s.list", archive);
    mx_autofree char *stage = mx_xasprintf("%s.gitcfg", archive);
    int in_git = git_file_list(project_dir, list, err);
    if (in_git < 0) return mx_wrap(err, "list files of %s", project_dir);
    if (!in_git && mx_checkout_check(project_dir, explicit_dir, err) < 0) return -1;
    paths clean = {0};
    /* the repository's own git dir goes along (at its top): its configs, rewritten */
    mx_autofree char *gitdir = mx_path_join(project_dir, ".git");
    struct stat st;
    if (in_git && lstat(gitdir, &st) == 0 && S_ISDIR(st.st_mode))
        find_configs(project_dir, ".git", 0, &clean);
    mx_err ignored;
    int rc = stage_configs(project_dir, &clean, stage, err);
    if (rc == 0) rc = pack(project_dir, in_git ? list : NULL, &clean, stage, archive, err);
    mx_rm_rf(stage, &ignored);
    unlink(list);
    paths_free(&clean);
    if (rc < 0) return mx_wrap(err, "pack %s", project_dir);
    return 0;
}
