/* mexec config validate|process: the config half of mexec, offline, like `circleci config`.
 * It lives in mx_host (not a cmd_*.c of the mexec target) only because of build ordering. */
#include "cfg_git.h"
#include "cfg_process.h"
#include "checkout.h"
#include "cli.h"
#include "host_config.h"
#include "mx_cleanup.h"
#include "mx_term.h"
#include "mx_utf8.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char config_usage[] =
    "usage: mexec config validate [-c CONFIG] [--param KEY=VALUE]... [--lock FILE] [--offline]\n"
    "       mexec config process [-c CONFIG] [--param KEY=VALUE]... [--branch B] [--tag T]\n"
    "                            [--lock FILE] [--offline]\n";

static int report(const mx_err *err)
{
    /* a config's strings may hold escape sequences: nothing may act on the terminal */
    mx_autofree char *safe = mx_term_text(err->msg);
    fprintf(stderr, "mexec: %s\n", safe);
    return err->status ? err->status : MX_INFRA;
}

int mx_cmd_config(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "validate") != 0 && strcmp(argv[1], "process") != 0)) {
        if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
            fputs(config_usage, stdout);
            return MX_OK;
        }
        fputs(config_usage, stderr);
        return MX_USAGE;
    }
    int process = strcmp(argv[1], "process") == 0;
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'}, {"param", required_argument, 0, 'p'},
        {"branch", required_argument, 0, 'b'}, {"tag", required_argument, 0, 't'},
        {"lock", required_argument, 0, 'L'},   {"offline", no_argument, 0, 'O'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0},
    };
    const char *lock = NULL;
    int offline = 0;
    const char *path = ".circleci/config.yml";
    MX_AUTO(mx_envlist) params = {0};
    mx_cfg_opts o = {.params = &params};
    int rc = MX_OK, c;
    optind = 1;
    while ((c = getopt_long(argc - 1, argv + 1, "c:h", opts, NULL)) != -1) {
        const char *eq;
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'p': {
            eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "mexec: --param takes KEY=VALUE, not \"%s\"\n", optarg);
                rc = MX_USAGE;
                break;
            }
            mx_autofree char *k = mx_xstrndup(optarg, (size_t)(eq - optarg));
            mx_err uerr;
            if (mx_utf8_require(optarg, "--param", &uerr) < 0) {
                fprintf(stderr, "mexec: %s\n", uerr.msg);
                rc = MX_USAGE;
            }
            mx_envlist_set(&params, k, eq + 1);
            break;
        }
        case 'b':
            o.branch = optarg;
            break;
        case 't':
            o.tag = optarg;
            break;
        case 'L':
            lock = optarg;
            break;
        case 'O':
            offline = 1;
            break;
        case 'h':
            fputs(config_usage, stdout);
            return MX_OK;
        default:
            rc = MX_USAGE;
        }
    }
    mx_err uerr;
    if (rc == MX_OK && (mx_utf8_require(o.branch, "--branch", &uerr) < 0 ||
                        mx_utf8_require(o.tag, "--tag", &uerr) < 0)) {
        fprintf(stderr, "mexec: %s\n", uerr.msg);
        rc = MX_USAGE;
    }
    if (rc == MX_OK && optind < argc - 1) {
        fprintf(stderr, "mexec: unexpected argument \"%s\"\n", argv[optind + 1]);
        rc = MX_USAGE;
    }
    if (rc != MX_OK) return rc;
    /* the pipeline values come from the project's git repository, as the circleci CLI's do;
     * the build is of the checked-out branch unless --branch or --tag says otherwise */
    mx_pipeline_info info;
    mx_autofree char *project = mx_checkout_project_dir(path);
    mx_pipeline_info_read(project, path, &info);
    if (!o.branch && !o.tag) o.branch = info.branch;
    o.info = &info;
    mx_err err = {0};
    MX_AUTOPTR(mx_node) root = NULL;
    MX_AUTOPTR(mx_node) doc = NULL;
    MX_AUTO(mx_buf) out = {0};
    /* registry orbs: the host's orb API, the user's cache, the lock file beside the config */
    mx_host_config hc;
    mx_orb_resolver orbs;
    memset(&orbs, 0, sizeof orbs);
    o.orbs = &orbs;
    if (mx_host_config_load(&hc, &err) < 0 ||
        mx_orb_resolver_for_config(&orbs, hc.orb_api, offline, path, lock, &err) < 0 ||
        mx_yaml_load_file(path, &root, &err) < 0 || mx_cfg_validate(root, &o, &err) < 0)
        rc = -1;
    else if (process)
        rc = mx_cfg_process(root, &o, &doc, &err) < 0 || mx_cfg_emit(doc, &out, &err) < 0 ? -1 : 0;
    if (rc < 0) {
        /* an unreadable file is the user's to fix, like a bad one */
        if (err.status == MX_INFRA && !root) err.status = MX_USAGE;
        rc = report(&err);
    } else if (process) {
        fwrite(out.data, 1, out.len, stdout);
    } else {
        printf("Config file at %s is valid.\n", path);
    }
    mx_err lerr = {0};
    if (rc == 0 && mx_orb_resolver_save(&orbs, &lerr) < 0)
        fprintf(stderr, "mexec: warning: the orb lock file was not written: %s\n", lerr.msg);
    mx_pipeline_info_free(&info);
    mx_orb_resolver_free(&orbs);
    mx_host_config_free(&hc);
    return rc;
}
