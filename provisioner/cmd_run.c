/* mexec run: one job (--job) or a whole workflow (--workflow) of a CircleCI config, each job in
 * a fresh VM. */
#include "checkout.h"
#include "cli.h"
#include "host_config.h"
#include "job_run.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "signals.h"
#include "workflow_run.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_line[] =
    "usage: mexec run [-c CONFIG] (--job NAME | --workflow NAME) [-e KEY=VALUE]...\n"
    "                 [--context NAME]... [--param KEY=VALUE]... [--branch B | --tag T]\n"
    "                 [--fit-to-host] [--keep-on-failure] [--no-build]\n";

static int add_kv(mx_envlist *list, const char *flag, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "mexec: %s takes KEY=VALUE, not \"%s\"\n", flag, kv);
        return -1;
    }
    char *k = mx_xstrndup(kv, (size_t)(eq - kv));
    mx_envlist_set(list, k, eq + 1);
    free(k);
    return 0;
}

typedef struct run_args {
    mx_run_opts o;
    mx_cfg_opts cfg;
    mx_envlist params;
    const char *workflow;
} run_args;

static void free_args(run_args *a)
{
    mx_envlist_free(&a->o.cli_env);
    mx_envlist_free(&a->params);
    free(a->o.contexts);
}

/* Returns -1 on bad usage (message printed), 1 for --help, else 0. */
static int parse(int argc, char **argv, run_args *a)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"job", required_argument, 0, 'j'},
        {"workflow", required_argument, 0, 'w'},
        {"env", required_argument, 0, 'e'},
        {"context", required_argument, 0, 'C'},
        {"param", required_argument, 0, 'p'},
        {"branch", required_argument, 0, 'b'},
        {"tag", required_argument, 0, 't'},
        {"fit-to-host", no_argument, 0, 'F'},
        {"keep-on-failure", no_argument, 0, 'K'},
        {"no-build", no_argument, 0, 'N'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    int c, bad = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:j:w:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            a->o.config_path = optarg;
            break;
        case 'j':
            a->o.job_name = optarg;
            break;
        case 'w':
            a->workflow = optarg;
            break;
        case 'e':
            bad |= add_kv(&a->o.cli_env, "-e", optarg) < 0;
            break;
        case 'p':
            bad |= add_kv(&a->params, "--param", optarg) < 0;
            break;
        case 'b':
            a->cfg.branch = optarg;
            break;
        case 't':
            a->cfg.tag = optarg;
            break;
        case 'F':
            a->o.fit_to_host = 1;
            break;
        case 'K':
            a->o.keep_on_failure = 1;
            break;
        case 'N':
            a->o.no_build = 1;
            break;
        case 'C':
            a->o.contexts =
                mx_xrealloc(a->o.contexts, (a->o.ncontexts + 1) * sizeof *a->o.contexts);
            a->o.contexts[a->o.ncontexts++] = optarg;
            break;
        case 'h':
            fputs(usage_line, stdout);
            return 1;
        default:
            bad = 1; /* getopt has said what was wrong */
        }
    }
    if (bad) return -1;
    const char *why = NULL;
    if (optind < argc)
        why = "unexpected argument";
    else if (!a->o.job_name && !a->workflow)
        why = "run needs --job NAME or --workflow NAME";
    else if (a->o.job_name && a->workflow)
        why = "give --job or --workflow, not both";
    else if (a->cfg.branch && a->cfg.tag)
        why = "give --branch or --tag, not both";
    if (why) {
        fprintf(stderr, "mexec: %s%s%s\n%s", why, optind < argc ? " " : "",
                optind < argc ? argv[optind] : "", usage_line);
        return -1;
    }
    return 0;
}

int mx_cmd_run(int argc, char **argv)
{
    run_args a;
    memset(&a, 0, sizeof a);
    a.o.config_path = ".circleci/config.yml";
    int p = parse(argc, argv, &a);
    if (p != 0) {
        free_args(&a);
        return p > 0 ? MX_OK : MX_USAGE;
    }
    /* like CircleCI, a build is of the project's current branch unless told otherwise */
    mx_autofree char *sha = NULL, *branch = NULL;
    mx_autofree char *project = mx_checkout_project_dir(a.o.config_path);
    mx_checkout_git_info(project, &sha, &branch);
    if (!a.cfg.branch && !a.cfg.tag && branch && strcmp(branch, "HEAD") != 0) a.cfg.branch = branch;
    a.cfg.revision = sha;
    a.cfg.params = &a.params;
    a.o.cfg = &a.cfg;

    mx_host_config hc;
    mx_err err;
    int rc;
    if (mx_host_config_load(&hc, &err) < 0) {
        rc = mx_cli_report(&err);
    } else {
        int r =
            a.workflow ? mx_workflow_run(&hc, &a.o, a.workflow, &err) : mx_job_run(&hc, &a.o, &err);
        if (mx_stop) {
            fprintf(stderr, "mexec: interrupted by signal %d; VMs and files removed\n",
                    (int)mx_stop);
            rc = 128 + (int)mx_stop;
        } else {
            rc = r < 0 ? mx_cli_report(&err) : r;
        }
    }
    mx_host_config_free(&hc);
    free_args(&a);
    return rc;
}
