/* mexec image build|list|path: machine images from the recipes in the catalog (import and rm:
 * cmd_image_import.c). */
#include "catalog.h"
#include "cli.h"
#include "host_config.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "signals.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int build(const mx_catalog *cat, const mx_host_config *hc, const char *ref, mx_err *err)
{
    mx_image img;
    int rc = mx_catalog_resolve(cat, hc, ref, &img, err);
    if (rc < 0) return -1;
    if (img.built) {
        printf("%s is built: %s\n", img.ref, img.dir);
        mx_image_free(&img);
        return 0;
    }
    mx_autofree char *store = mx_path_join(hc->image_store, img.recipe);
    mx_autofree char *tmpl = mx_path_join(store, ".build-XXXXXX");
    mx_autofree char *script = mx_path_join(img.recipe_dir, "recipe.sh");
    if (mx_mkdir_p(store, 0755, err) < 0 || !mkdtemp(tmpl)) {
        if (err->msg[0] == '\0') mx_fail_errno(err, MX_INFRA, "create %s", tmpl);
        mx_image_free(&img);
        return -1;
    }
    fprintf(stderr, "mexec: building %s from %s (recipe hash %.12s)\n", img.ref, script,
            img.recipe_hash);
    const char *argv[] = {"bash", script, tmpl, NULL};
    int status = mx_proc_run_inherit(argv, &mx_stop, err);
    if (status == 0 && chmod(tmpl, 0755) < 0)
        status = mx_fail_errno(err, MX_INFRA, "chmod %s", tmpl);
    if (status == 0 && rename(tmpl, img.dir) < 0)
        status = mx_fail_errno(err, MX_INFRA, "move the build to %s", img.dir);
    if (status != 0) {
        if (status > 0)
            mx_fail(err, MX_INFRA, "recipe %s failed with exit status %d", script, status);
        mx_rm_rf(tmpl, NULL);
        mx_image_free(&img);
        return -1;
    }
    printf("%s built: %s\n", img.ref, img.dir);
    mx_image_free(&img);
    return 0;
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static int list(const mx_catalog *cat, const mx_host_config *hc, mx_err *err)
{
    printf("%-24s %-14s %-8s %-14s %s\n", "IMAGE", "RECIPE", "BUILT", "RECIPE-HASH", "SIZE");
    for (size_t i = 0; i < cat->images->n; i++) {
        mx_image img;
        if (mx_catalog_resolve(cat, hc, cat->images->keys[i]->value, &img, err) < 0) return -1;
        long long sz = img.built ? file_size(img.base) : -1;
        char size[32] = "-";
        if (sz >= 0) snprintf(size, sizeof size, "%.0f MiB", (double)sz / 1048576.0);
        const char *def =
            cat->default_ref && strcmp(cat->default_ref, img.ref) == 0 ? " (default)" : "";
        printf("%-24s %-14s %-8s %-14.12s %s%s\n", img.ref, img.recipe, img.built ? "yes" : "no",
               img.recipe_hash, size, def);
        mx_image_free(&img);
    }
    return mx_cmd_image_list_imported(hc, err);
}

/* Prints the directory of a built image (for scripts such as bench/boot.sh). */
static int path(const mx_catalog *cat, const mx_host_config *hc, const char *ref, mx_err *err)
{
    mx_image img;
    if (mx_catalog_resolve_built(cat, hc, ref, &img, err) < 0) return -1;
    puts(img.dir);
    mx_image_free(&img);
    return 0;
}

int mx_cmd_image(int argc, char **argv)
{
    const char *verb = argc >= 2 ? argv[1] : "";
    if (strcmp(verb, "import") == 0) return mx_cmd_image_import(argc - 1, argv + 1);
    if (strcmp(verb, "rm") == 0) return mx_cmd_image_rm(argc - 1, argv + 1);
    int with_ref = strcmp(verb, "build") == 0 || strcmp(verb, "path") == 0;
    if (!(with_ref && argc == 3) && !(strcmp(verb, "list") == 0 && argc == 2)) {
        fputs("usage: mexec image build NAME:TAG | mexec image path NAME:TAG | mexec image list\n"
              "       mexec image import NAME:TAG FILE [--sha256 HEX] | mexec image rm NAME:TAG\n",
              stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_catalog cat;
    mx_err err;
    memset(&cat, 0, sizeof cat);
    int rc = mx_host_config_load(&hc, &err);
    if (rc == 0) rc = mx_catalog_load(hc.images_dir, &cat, &err);
    if (rc == 0) {
        if (strcmp(verb, "build") == 0)
            rc = build(&cat, &hc, argv[2], &err);
        else if (strcmp(verb, "path") == 0)
            rc = path(&cat, &hc, argv[2], &err);
        else
            rc = list(&cat, &hc, &err);
    }
    mx_catalog_free(&cat);
    mx_host_config_free(&hc);
    if (rc < 0) return mx_cli_report(&err);
    return MX_OK;
}
