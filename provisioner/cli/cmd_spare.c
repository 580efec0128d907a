/* `mexec __spare NAME:TAG CLASS VCPUS MIB`: a warm spare's holder (spare.h), started detached by
 * mx_spare_spawn after a job or by `mexec image prepare`; not for people to run.  The size comes
 * from the job that asked (a fitted or docker class resolves differently), so the snapshot key
 * is that job's. */
#include "catalog.h"
#include "cli.h"
#include "host_config.h"
#include "job_run.h"
#include "mx_cleanup.h"
#include "mx_num.h"
#include "resource_class.h"
#include "snapshot.h"
#include "spare.h"

#include <stdio.h>

int mx_cmd_spare(int argc, char **argv)
{
    long long vcpus, mib;
    if (argc != 5 || mx_parse_int(argv[3], 1, 1024, &vcpus) < 0 ||
        mx_parse_int(argv[4], 128, 16 * 1024 * 1024, &mib) < 0) {
        fputs("usage: mexec __spare NAME:TAG CLASS VCPUS MIB (started by mexec itself)\n", stderr);
        return MX_USAGE;
    }
    mx_host_config hc;
    mx_catalog cat;
    mx_err err;
    mx_image img = {0};
    mx_snapshot snap = {0};
    mx_autofree char *agent = NULL;
    mx_rclass rc = {.name = argv[2], .vcpus = (int)vcpus, .memory_mib = (int)mib};
    int r = mx_cmd_image_load(&hc, &cat, &err);
    if (r == 0) r = mx_catalog_resolve_built(&cat, &hc, argv[1], &img, &err);
    if (r == 0 && !(agent = mx_agent_binary(&err))) r = -1;
    /* only an existing snapshot: making one is a job's (or image prepare's) business */
    if (r == 0) r = mx_snapshot_get(&hc, &img, &rc, agent, 0, &snap, &err);
    if (r > 0) r = mx_spare_hold(&hc, &img, &rc, &snap, &err);
    mx_snapshot_free(&snap);
    mx_image_free(&img);
    mx_catalog_free(&cat);
    mx_host_config_free(&hc);
    if (r < 0) return mx_cli_report(&err);
    return MX_OK;
}
