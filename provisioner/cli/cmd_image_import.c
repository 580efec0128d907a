/* mexec image import | rm, and the imported rows of mexec image list. */
#include "catalog.h"
#include "mx_num.h"
#include "cli.h"
#include "snapshot.h"
#include "spare.h"
#include "host_config.h"
#include "image_import.h"
#include "mx_cleanup.h"
#include "signals.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEFAULT_DISK_GIB 16

static const char import_usage[] =
    "usage: mexec image import NAME:TAG FILE [--sha256 HEX] [--disk-size GIB] [--fetch-only]\n"
    "  FILE: a stock cloud image (qcow2 or raw whole disk that boots with BIOS and runs\n"
    "  cloud-init).  Import checks it, converts it, boots it once to install docker, git, jq\n"
    "  and curl where missing (with packages the host downloads) and to clean it, and stores\n"
    "  it as NAME:TAG (docs/images.md).  --disk-size: grow the disk to GIB (default 16).\n"
    "  --fetch-only: boot and download the packages into the host's cache, import nothing.\n";

static int parse_gib(const char *s, unsigned long long *bytes)
{
    long long v;
    if (*s < '1' || *s > '9' || mx_parse_int(s, 1, 4096, &v) < 0) return -1;
    *bytes = (unsigned long long)v * 1024ULL * 1024 * 1024;
    return 0;
}

int mx_cmd_image_import(int argc, char **argv)
{
    mx_import_opts o = {.disk_bytes = DEFAULT_DISK_GIB * 1024ULL * 1024 * 1024};
    const char *pos[2] = {NULL, NULL};
    size_t npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--sha256") == 0 && i + 1 < argc) {
            o.sha256 = argv[++i];
        } else if (strcmp(argv[i], "--disk-size") == 0 && i + 1 < argc) {
            if (parse_gib(argv[++i], &o.disk_bytes) < 0) {
                fprintf(stderr, "mexec: --disk-size takes a number of GiB (1-4096), not \"%s\"\n",
                        argv[i]);
                return MX_USAGE;
            }
        } else if (strcmp(argv[i], "--fetch-only") == 0) {
            o.fetch_only = 1;
        } else if (argv[i][0] != '-' && npos < 2) {
            pos[npos++] = argv[i];
        } else {
            fputs(import_usage, stderr);
            return MX_USAGE;
        }
    }
    if (npos != 2) {
        fputs(import_usage, stderr);
        return MX_USAGE;
    }
    o.ref = pos[0];
    o.file = pos[1];
    mx_host_config hc;
    mx_catalog cat;
    mx_err err;
    int rc = mx_cmd_image_load(&hc, &cat, &err);
    if (rc == 0) rc = mx_image_import(&hc, &cat, &o, &mx_stop, &err);
    mx_catalog_free(&cat);
    mx_host_config_free(&hc);
    if (rc < 0 && mx_stop) return 128 + mx_stop;
    if (rc < 0) return mx_cli_report(&err);
    if (!o.fetch_only) printf("%s imported\n", o.ref);
    return MX_OK;
}

int mx_cmd_image_rm(int argc, char **argv)
{
    if (argc != 2) {
        fputs("usage: mexec image rm NAME:TAG   (an imported image; a catalog image's "
              "instant-start snapshots)\n",
              stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_catalog cat;
    mx_err err;
    int rc = mx_cmd_image_load(&hc, &cat, &err);
    if (rc == 0 && cat.images && mx_node_get(cat.images, argv[1])) {
        /* a build is shared by its tags and rebuilt from the recipe: what rm frees is the
         * snapshots made from it (snapshot.h) */
        mx_image img;
        rc = mx_catalog_resolve(&cat, &hc, argv[1], &img, &err);
        int n = 0;
        long long bytes = rc == 0 ? mx_snapshot_usage(img.dir, &n) : 0;
        /* the warm spares restored from them first (spare.h) */
        int spares = rc == 0 ? mx_spare_end_image(&hc, img.dir) : 0;
        if (spares) printf("%s: ended %d warm spare%s\n", argv[1], spares, spares == 1 ? "" : "s");
        if (rc == 0) rc = mx_snapshot_rm_all(img.dir, &err);
        if (rc == 0)
            printf("%s: removed %d instant-start snapshot%s (%.0f MiB); the image build stays "
                   "(it is rebuilt from its recipe when that changes)\n",
                   argv[1], n, n == 1 ? "" : "s", (double)bytes / 1048576.0);
        mx_image_free(&img);
        mx_catalog_free(&cat);
        mx_host_config_free(&hc);
        return rc < 0 ? mx_cli_report(&err) : MX_OK;
    }
    if (rc == 0) rc = mx_imported_remove(&hc, argv[1], &err);
    mx_catalog_free(&cat);
    mx_host_config_free(&hc);
    if (rc < 0) return mx_cli_report(&err);
    printf("%s removed\n", argv[1]);
    return MX_OK;
}

static int list_row(const mx_image *img, void *ud, mx_err *err)
{
    (void)ud, (void)err;
    mx_cmd_image_row(img, "");
    return 0;
}

int mx_cmd_image_list_imported(const mx_host_config *hc, mx_err *err)
{
    return mx_imported_each(hc, list_row, NULL, err);
}
