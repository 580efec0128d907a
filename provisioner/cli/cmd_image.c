/* mexec image build|list|path: machine images from the recipes in the catalog (import and rm:
 * cmd_image_import.c). */
#include "catalog.h"
#include "cli.h"
#include "host_config.h"
#include "image_build.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "job_run.h"
#include "resource_class.h"
#include "signals.h"
#include "snapshot.h"
#include "spare.h"
#include "ssh.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Builds ref unless it is built (a dated tag: freezes it to that build). */
static int build(const mx_catalog *cat, const mx_host_config *hc, const char *ref, mx_err *err)
{
    mx_image img;
    int rc = mx_catalog_resolve(cat, hc, ref, &img, err);
    int was_built = img.built;
    if (rc == 0) rc = mx_image_ensure(hc, &img, 0, err);
    if (rc == 0 && was_built) printf("%s is built: %s\n", img.ref, img.dir);
    mx_image_free(&img);
    return rc;
}

static long long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long long)st.st_size : -1;
}

static const char *frozen_column(const mx_image *img)
{
    if (!img->recipe_dir) return "-"; /* imported: not built from a recipe */
    if (img->frozen) return "yes";
    return img->dated ? "at-build" : "no";
}

int mx_cmd_image_load(mx_host_config *hc, mx_catalog *cat, mx_err *err)
{
    memset(cat, 0, sizeof *cat);
    int rc = mx_host_config_load(hc, err);
    if (rc == 0) rc = mx_catalog_load(hc->images_dir, cat, err);
    return rc;
}

void mx_cmd_image_row(const mx_image *img, const char *note)
{
    long long sz = img->built ? file_size(img->base) : -1;
    char size[32] = "-", snaps[48] = "-";
    if (sz >= 0) snprintf(size, sizeof size, "%.0f MiB", (double)sz / 1048576.0);
    int n = 0;
    long long sb = img->built ? mx_snapshot_usage(img->dir, &n) : 0;
    /* instant-start snapshots (snapshot.h): their disk is the cost of instant starts */
    if (n > 0) snprintf(snaps, sizeof snaps, "%d, %.0f MiB", n, (double)sb / 1048576.0);
    printf("%-24s %-12s %-6s %-9s %-13.12s %-13.12s %-9s %s%s\n", img->ref, img->recipe,
           img->built ? "yes" : "no", frozen_column(img), img->recipe_hash,
           img->sha256 ? img->sha256 : "-", size, snaps, note);
}

/* Every catalog entry: built or not, frozen or following the recipe, which build, its size;
 * then the imported images. */
static int list(const mx_catalog *cat, const mx_host_config *hc, mx_err *err)
{
    printf("%-24s %-12s %-6s %-9s %-13s %-13s %-9s %s\n", "IMAGE", "RECIPE", "BUILT", "FROZEN",
           "RECIPE-HASH", "SHA256", "SIZE", "SNAPSHOTS");
    for (size_t i = 0; i < cat->images->n; i++) {
        mx_image img;
        if (mx_catalog_resolve(cat, hc, cat->images->keys[i]->value, &img, err) < 0) {
            mx_image_free(&img);
            return -1;
        }
        int def = cat->default_ref && strcmp(cat->default_ref, img.ref) == 0;
        mx_cmd_image_row(&img, def ? " (default)" : "");
        mx_image_free(&img);
    }
    return mx_cmd_image_list_imported(hc, err);
}

/* Starts the warm spares host.yaml asks for (spare.h) and waits until one answers. */
static int prepare_spare(const mx_host_config *hc, const mx_image *img, const mx_rclass *rc,
                         const mx_snapshot *snap, mx_err *err)
{
    if (hc->warm_spares <= 0 || !hc->instant_starts) return 0;
    int ready = 0;
    if (mx_spare_count(hc, snap->key, &ready) == 0 &&
        mx_spare_spawn(hc, snap->key, img->ref, rc, err) < 0)
        return -1;
    long long start = mx_now_ms(), until = start + (long long)hc->boot_timeout_s * 1000;
    /* the holder starts in the background: it has a few seconds to show its directory */
    while (!mx_stop && mx_now_ms() < until &&
           (mx_spare_count(hc, snap->key, &ready) > 0 || mx_now_ms() - start < 15000) && !ready) {
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (ready) {
        printf("%s for %s: %d warm spare%s ready (`mexec ps`; ended after %d s unused)\n", img->ref,
               rc->name, ready, ready == 1 ? "" : "s", hc->warm_spare_timeout_s);
        return 0;
    }
    mx_autofree char *parent = mx_dirname(hc->state_dir);
    return mx_fail(err, MX_INFRA, "%s for %s: no warm spare came up (see %s/spares.log)", img->ref,
                   rc->name, parent);
}

/* mexec image prepare NAME:TAG [CLASS]: the instant-start snapshot of an image for a class
 * (default: the catalog's default class, medium), made now rather than by the first run. */
static int prepare(const mx_catalog *cat, const mx_host_config *hc, const char *ref,
                   const char *cls, mx_err *err)
{
    mx_image img;
    mx_rclass rc = {0};
    mx_snapshot snap = {0};
    mx_autofree char *agent = NULL;
    int r = mx_catalog_resolve(cat, hc, ref, &img, err);
    if (r == 0) r = mx_image_ensure(hc, &img, 0, err);
    mx_host_caps caps;
    mx_host_caps_read(&caps);
    int fitted = 0;
    if (r == 0) r = mx_rclass_resolve(&hc->classes, cls, &caps, 0, &rc, &fitted, err);
    if (r == 0 && !(agent = mx_agent_binary(err))) r = -1;
    if (r == 0) {
        r = mx_snapshot_get(hc, &img, &rc, agent, 0, &snap, err);
        if (r == 0) {
            fprintf(stderr, "mexec: preparing the instant-start snapshot of %s for %s...\n",
                    img.ref, rc.name);
            r = mx_snapshot_get(hc, &img, &rc, agent, 1, &snap, err);
        } else if (r > 0) {
            printf("%s for %s: the snapshot is ready: %s\n", img.ref, rc.name, snap.dir);
            r = 0;
        }
        if (r > 0) {
            int n = 0;
            printf("%s for %s: snapshot made: %s (%.0f MiB for this image's snapshots)\n", img.ref,
                   rc.name, snap.dir, (double)mx_snapshot_usage(img.dir, &n) / 1048576.0);
            r = 0;
        }
        if (r == 0 && snap.dir) r = prepare_spare(hc, &img, &rc, &snap, err);
    }
    mx_snapshot_free(&snap);
    mx_image_free(&img);
    return r;
}

/* Prints the directory of a built image (for scripts such as bench/boot.sh). */
static int path(const mx_catalog *cat, const mx_host_config *hc, const char *ref, mx_err *err)
{
    mx_image img;
    if (mx_catalog_resolve_built(cat, hc, ref, &img, err) < 0) {
        mx_image_free(&img);
        return -1;
    }
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
    int is_prepare = strcmp(verb, "prepare") == 0 && (argc == 3 || argc == 4);
    if (!(with_ref && argc == 3) && !(strcmp(verb, "list") == 0 && argc == 2) && !is_prepare) {
        fputs("usage: mexec image build NAME:TAG | mexec image path NAME:TAG | mexec image list\n"
              "       mexec image prepare NAME:TAG [CLASS]   (instant-start snapshot)\n"
              "       mexec image import NAME:TAG FILE [--sha256 HEX] | mexec image rm NAME:TAG\n",
              stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_catalog cat;
    mx_err err;
    int rc = mx_cmd_image_load(&hc, &cat, &err);
    if (rc == 0) {
        if (strcmp(verb, "build") == 0)
            rc = build(&cat, &hc, argv[2], &err);
        else if (strcmp(verb, "path") == 0)
            rc = path(&cat, &hc, argv[2], &err);
        else if (is_prepare)
            rc = prepare(&cat, &hc, argv[2], argc == 4 ? argv[3] : "medium", &err);
        else
            rc = list(&cat, &hc, &err);
    }
    mx_catalog_free(&cat);
    mx_host_config_free(&hc);
    if (mx_stop) {
        fprintf(stderr, "mexec: interrupted by signal %d; the unfinished build was removed\n",
                (int)mx_stop);
        return 128 + (int)mx_stop;
    }
    if (rc < 0) return mx_cli_report(&err);
    return MX_OK;
}
