#include "checkout.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

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

int mx_checkout_archive(const char *project_dir, const char *archive, mx_err *err)
{
    mx_autofree char *list = mx_xasprintf("%s.list", archive);
    int in_git = git_file_list(project_dir, list, err);
    if (in_git < 0) return mx_wrap(err, "list files of %s", project_dir);
    int rc;
    if (in_git) {
        /* tar recurses into listed directories: that packs .git whole */
        const char *argv[] = {"tar",       "-c",     "-f", archive, "-C",
                              project_dir, "--null", "-T", list,    NULL};
        rc = mx_proc_check(argv, NULL, NULL, err);
    } else {
        const char *argv[] = {"tar", "-c", "-f", archive, "-C", project_dir, ".", NULL};
        rc = mx_proc_check(argv, NULL, NULL, err);
    }
    unlink(list);
    if (rc < 0) return mx_wrap(err, "pack %s", project_dir);
    return 0;
}
