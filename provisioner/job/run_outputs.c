#include "run_outputs.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#define _XOPEN_SOURCE_EXTENDED 1
#include <ftw.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char *mx_run_id_new(void)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    return mx_xasprintf("%s-%ld", stamp, (long)getpid());
}

char *mx_run_artifacts_default(void)
{
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) return mx_xstrdup("/tmp/mexec-artifacts");
    return mx_path_join(cwd, "mexec-artifacts");
}

typedef struct found {
    char *path;
    long long size;
} found;

static found *files;
static size_t nfiles, cap;
static size_t skip; /* the length of the run directory's name and its "/" */

static int add(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)ftw;
    if (flag != FTW_F || !S_ISREG(st->st_mode)) return 0;
    if (nfiles == cap) files = mx_xrealloc(files, (cap = cap ? cap * 2 : 64) * sizeof *files);
    files[nfiles++] = (found){mx_xstrdup(path + skip), (long long)st->st_size};
    return 0;
}

static int by_path(const void *a, const void *b)
{
    return strcmp(((const found *)a)->path, ((const found *)b)->path);
}

size_t mx_run_outputs_report(const char *artifacts_dir, const char *run_id, FILE *out)
{
    if (!artifacts_dir || !run_id) return 0;
    mx_autofree char *dir = mx_path_join(artifacts_dir, run_id);
    files = NULL;
    nfiles = cap = 0;
    skip = strlen(dir) + 1;
    /* FTW_PHYS: a symlink is never followed (the tree holds none; this makes sure) */
    if (nftw(dir, add, 16, FTW_PHYS) < 0 || nfiles == 0) {
        free(files);
        return 0;
    }
    qsort(files, nfiles, sizeof *files, by_path);
    long long total = 0;
    for (size_t i = 0; i < nfiles; i++)
        total += files[i].size;
    fprintf(out, "\nArtifacts and test results of this run (%zu files, %lld bytes) in %s:\n",
            nfiles, total, dir);
    for (size_t i = 0; i < nfiles; i++) {
        /* names came from guests: no control character reaches the terminal */
        for (unsigned char *p = (unsigned char *)files[i].path; *p; p++)
            if (*p < 0x20 || *p == 0x7f) *p = '?';
        fprintf(out, "  %12lld  %s\n", files[i].size, files[i].path);
        free(files[i].path);
    }
    fflush(out);
    free(files);
    files = NULL;
    return nfiles;
}
