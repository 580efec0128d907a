/* Imported images in the image store: IMAGE_STORE/imported/NAME/TAG/{base.qcow2,manifest.json}.
 *
 * An image appears by one rename of its finished work directory and disappears by one rename
 * out of the way, so a job resolving it sees it whole or not at all; a job already running
 * keeps its open base file even when the image is removed under it. */
#include "image_import_store.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_PART 64

static int valid_part(const char *s, size_t n)
{
    if (n == 0 || n > MAX_PART) return 0;
    if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789", s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789._-", s[i]) || s[i] == '\0') return 0;
    return 1;
}

int mx_imported_parse_ref(const char *ref, char **name, char **tag, mx_err *err)
{
    const char *colon = ref ? strchr(ref, ':') : NULL;
    if (!colon || strchr(colon + 1, ':') || !valid_part(ref, (size_t)(colon - ref)) ||
        !valid_part(colon + 1, strlen(colon + 1)))
        return mx_fail(err, MX_USAGE,
                       "\"%s\" is not an image reference NAME:TAG (lower-case letters, digits, "
                       "'.', '_' and '-', starting with a letter or digit, %d characters each "
                       "at most)",
                       ref ? ref : "", MAX_PART);
    *name = mx_xstrndup(ref, (size_t)(colon - ref));
    *tag = mx_xstrdup(colon + 1);
    return 0;
}

char *mx_imported_root(const mx_host_config *hc)
{
    return mx_path_join(hc->image_store, MX_IMPORTED_DIR);
}

char *mx_imported_work_root(const mx_host_config *hc)
{
    mx_autofree char *root = mx_imported_root(hc);
    return mx_path_join(root, ".work");
}

static char *image_dir(const mx_host_config *hc, const char *name, const char *tag)
{
    mx_autofree char *root = mx_imported_root(hc);
    mx_autofree char *n = mx_path_join(root, name);
    return mx_path_join(n, tag);
}

/* Fills img from a finished import's directory. */
static int load(const char *dir, const char *ref, mx_image *img, mx_err *err)
{
    mx_autofree char *manifest = mx_path_join(dir, "manifest.json");
    json_error_t je;
    mx_autojson json_t *doc = json_load_file(manifest, 0, &je);
    if (!doc) return mx_fail(err, MX_INFRA, "imported image %s: %s: %s", ref, manifest, je.text);
    const char *firmware = NULL, *sha = "";
    if (json_unpack_ex(doc, &je, 0, "{s:s, s?{s?s}}", "firmware", &firmware, "source", "sha256",
                       &sha) < 0)
        return mx_fail(err, MX_INFRA, "imported image %s: %s: %s", ref, manifest, je.text);
    if (strcmp(firmware, "bios") != 0)
        return mx_fail(err, MX_INFRA, "imported image %s: %s: unknown firmware \"%s\"", ref,
                       manifest, firmware);
    memset(img, 0, sizeof *img);
    img->ref = mx_xstrdup(ref);
    img->recipe = mx_xstrdup("(imported)");
    img->recipe_hash = mx_xstrdup(sha);
    img->dir = mx_xstrdup(dir);
    img->base = mx_path_join(dir, "base.qcow2");
    img->manifest = mx_steal(&manifest);
    img->firmware = mx_xstrdup(firmware);
    img->built = mx_path_exists(img->base);
    if (!img->built) {
        mx_image_free(img);
        return mx_fail(err, MX_INFRA, "imported image %s has no base.qcow2 in %s", ref, dir);
    }
    return 0;
}

int mx_imported_resolve(const mx_host_config *hc, const char *ref, mx_image *img, mx_err *err)
{
    mx_autofree char *name = NULL, *tag = NULL;
    mx_err ignored;
    if (!hc->image_store || mx_imported_parse_ref(ref, &name, &tag, &ignored) < 0)
        return 0; /* cannot be one */
    mx_autofree char *dir = image_dir(hc, name, tag);
    if (!mx_path_exists(dir)) return 0;
    return load(dir, ref, img, err) < 0 ? -1 : 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir that are valid reference parts, sorted (hidden work directories are not). */
static char **names(const char *dir, size_t *n)
{
    char **v = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    struct dirent *e;
    while ((e = readdir(d)))
        if (valid_part(e->d_name, strlen(e->d_name))) {
            v = mx_xrealloc(v, (*n + 1) * sizeof *v);
            v[(*n)++] = mx_xstrdup(e->d_name);
        }
    closedir(d);
    if (*n) qsort(v, *n, sizeof *v, cmp_str);
    return v;
}

static void free_names(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int mx_imported_each(const mx_host_config *hc, mx_imported_fn fn, void *ud, mx_err *err)
{
    mx_autofree char *root = mx_imported_root(hc);
    size_t nn = 0;
    char **nv = names(root, &nn);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nn; i++) {
        mx_autofree char *ndir = mx_path_join(root, nv[i]);
        size_t nt = 0;
        char **tv = names(ndir, &nt);
        for (size_t j = 0; rc == 0 && j < nt; j++) {
            mx_autofree char *ref = mx_xasprintf("%s:%s", nv[i], tv[j]);
            mx_autofree char *dir = mx_path_join(ndir, tv[j]);
            mx_image img;
            rc = load(dir, ref, &img, err);
            if (rc == 0) {
                rc = fn(&img, ud, err);
                mx_image_free(&img);
            }
        }
        free_names(tv, nt);
    }
    free_names(nv, nn);
    return rc;
}

int mx_imported_remove(const mx_host_config *hc, const char *ref, mx_err *err)
{
    mx_autofree char *name = NULL, *tag = NULL;
    if (mx_imported_parse_ref(ref, &name, &tag, err) < 0) return -1;
    mx_autofree char *dir = image_dir(hc, name, tag);
    if (!mx_path_exists(dir))
        return mx_fail(err, MX_USAGE, "no imported image %s (mexec image list shows them)", ref);
    /* out of the way first, in one step: a job resolving it now sees nothing, not half */
    mx_autofree char *work = mx_imported_work_root(hc);
    if (mx_mkdir_p(work, 0700, err) < 0) return -1;
    mx_autofree char *gone = mx_path_join(work, "removing-XXXXXX");
    if (!mkdtemp(gone)) return mx_fail_errno(err, MX_INFRA, "create %s", gone);
    mx_autofree char *target = mx_path_join(gone, "image");
    if (rename(dir, target) < 0) {
        int e = errno;
        rmdir(gone);
        errno = e;
        return mx_fail_errno(err, MX_INFRA, "move %s away", dir);
    }
    if (mx_rm_rf(gone, err) < 0) return -1;
    /* the NAME directory goes with its last tag (a failure means another tag is there) */
    mx_autofree char *root = mx_imported_root(hc);
    mx_autofree char *ndir = mx_path_join(root, name);
    rmdir(ndir);
    return 0;
}
