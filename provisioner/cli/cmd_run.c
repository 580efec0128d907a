/* mexec run: one job (--job) or a whole workflow (--workflow) of a CircleCI config, each job in
 * a fresh VM. */
#include "checkout.h"
#include "cli.h"
#include "cli_env.h"
#include "host_config.h"
#include "job_run.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_term.h"
#include "mx_utf8.h"
#include "run_outputs.h"
#include "signals.h"
#include "workflow_run.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char usage_line[] =
    "usage: mexec run [-c CONFIG] (--job NAME | --workflow NAME)\n"
    "                 [-e KEY=VALUE | -e KEY]... [--env-file FILE]... [--context NAME]...\n"
    "                 [--param KEY=VALUE]... [--branch B | --tag T] [--project-dir DIR]\n"
    "                 [--fit-to-host] [--keep-on-failure] [--lock FILE] [--offline]\n"
    "                 [--approve NAME]... [--approve-all] [--artifacts-dir DIR] [--no-build]\n"
    "                 [--cold]\n";

static int add_kv(mx_envlist *list, const char *flag, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        mx_autofree char *safe = mx_term_text(kv);
        fprintf(stderr, "mexec: %s takes KEY=VALUE, not \"%s\"\n", flag, safe);
        return -1;
    }
    char *k = mx_xstrndup(kv, (size_t)(eq - kv));
    /* -e values are bytes and reach the job exactly; names, and --param values (pasted into
     * the config's text), must be UTF-8 */
    mx_err err;
    int param = strcmp(flag, "--param") == 0;
    if (mx_utf8_require(k, param ? "--param name" : "-e name", &err) < 0 ||
        (param && mx_utf8_require(eq + 1, "--param value", &err) < 0)) {
        fprintf(stderr, "mexec: %s\n", err.msg);
        free(k);
        return -1;
    }
    mx_envlist_set(list, k, eq + 1);
    free(k);
    return 0;
}

typedef struct run_args {
    mx_run_opts o;
    mx_cfg_opts cfg;
    mx_envlist params;
    const char *workflow;
    mx_cli_secret_keys secret_keys; /* -e KEY, --env-file */
    char *project_dir;              /* --project-dir, resolved */
    const char *lock;               /* --lock FILE: the orb lock file */
    int offline;                    /* --offline: registry orbs from the cache only */
    mx_wf_approvals approvals;      /* --approve NAME, --approve-all */
    char *artifacts_dir;            /* --artifacts-dir, absolute; default ./mexec-artifacts */
    char *run_id;
} run_args;

static void free_args(run_args *a)
{
    mx_envlist_free(&a->o.cli_env);
    mx_envlist_free(&a->params);
    mx_cli_secret_keys_free(&a->secret_keys);
    free(a->o.contexts);
    free(a->project_dir);
    free(a->approvals.names);
    free(a->artifacts_dir);
    free(a->run_id);
}

/* -e, --env-file: a message printed and -1 on a problem. */
static int add_env(run_args *a, int env_file, const char *arg)
{
    mx_err err;
    int rc = env_file ? mx_cli_env_file(arg, &a->o.cli_env, &a->secret_keys, &err)
                      : mx_cli_env_arg(arg, &a->o.cli_env, &a->secret_keys, &err);
    if (rc < 0) fprintf(stderr, "mexec: %s\n", err.msg);
    return rc;
}

/* --project-dir DIR: an existing directory, kept as an absolute path (its name is the
 * project's, CIRCLE_PROJECT_REPONAME). */
static int set_project_dir(run_args *a, const char *dir)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(dir, real) || stat(real, &st) < 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "mexec: --project-dir %s is not a directory\n", dir);
        return -1;
    }
    free(a->project_dir);
    a->project_dir = mx_xstrdup(real);
    return 0;
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
        {"cold", no_argument, 0, 'Z'},
        {"env-file", required_argument, 0, 'E'},
        {"project-dir", required_argument, 0, 'P'},
        {"lock", required_argument, 0, 'L'},
        {"offline", no_argument, 0, 'O'},
        {"approve", required_argument, 0, 'A'},
        {"approve-all", no_argument, 0, 'a'},
        {"artifacts-dir", required_argument, 0, 'R'},
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
            bad |= add_env(a, 0, optarg) < 0;
            break;
        case 'E':
            bad |= add_env(a, 1, optarg) < 0;
            break;
        case 'P':
            bad |= set_project_dir(a, optarg) < 0;
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
        case 'Z':
            a->o.cold = 1;
            break;
        case 'L':
            a->lock = optarg;
            break;
        case 'O':
            a->offline = 1;
            break;
        case 'A':
            a->approvals.names =
                mx_xrealloc(a->approvals.names, (a->approvals.n + 1) * sizeof *a->approvals.names);
            a->approvals.names[a->approvals.n++] = optarg;
            break;
        case 'a':
            a->approvals.all = 1;
            break;
        case 'R': {
            /* absolute, so that every job (and node) process names the same place */
            char real[PATH_MAX];
            free(a->artifacts_dir);
            a->artifacts_dir = optarg[0] == '/' || !getcwd(real, sizeof real)
                                   ? mx_xstrdup(optarg)
                                   : mx_path_join(real, optarg);
            break;
        }
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
    a->o.cli_secret_keys = a->secret_keys.v;
    a->o.ncli_secret_keys = a->secret_keys.n;
    a->o.project_dir = a->project_dir;
    const char *why = NULL;
    if (optind < argc)
        why = "unexpected argument";
    else if (!a->o.job_name && !a->workflow)
        why = "run needs --job NAME or --workflow NAME";
    else if (a->o.job_name && a->workflow)
        why = "give --job or --workflow, not both";
    else if (a->cfg.branch && a->cfg.tag)
        why = "give --branch or --tag, not both";
    else if (a->o.job_name && (a->approvals.n || a->approvals.all))
        why = "--approve and --approve-all are for --workflow (approval jobs are in workflows)";
    mx_err err;
    if (!why && (mx_utf8_require(a->cfg.branch, "--branch", &err) < 0 ||
                 mx_utf8_require(a->cfg.tag, "--tag", &err) < 0)) {
        fprintf(stderr, "mexec: %s\n", err.msg);
        return -1;
    }
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
    mx_autofree char *project =
        a.project_dir ? mx_xstrdup(a.project_dir) : mx_checkout_project_dir(a.o.config_path);
    mx_checkout_git_info(project, &sha, &branch);
    if (!a.cfg.branch && !a.cfg.tag && branch && strcmp(branch, "HEAD") != 0) a.cfg.branch = branch;
    mx_err berr;
    if (a.cfg.branch == branch &&
        mx_utf8_require(branch, "the checked-out git branch (give --branch NAME)", &berr) < 0) {
        free_args(&a);
        return mx_cli_report(&berr);
    }
    a.cfg.revision = sha;
    /* pipeline values and CIRCLE_* variables: from git, with this run's own ids */
    mx_pipeline_info info;
    mx_pipeline_info_read(project, a.o.config_path, &info);
    mx_pipeline_info_new_ids(&info);
    a.cfg.info = &info;
    a.cfg.params = &a.params;
    a.o.cfg = &a.cfg;
    if (!a.artifacts_dir) a.artifacts_dir = mx_run_artifacts_default();
    a.run_id = mx_run_id_new();
    a.o.artifacts_dir = a.artifacts_dir;
    a.o.run_id = a.run_id;

    mx_host_config hc;
    mx_err err;
    int rc;
    mx_orb_resolver orbs;
    memset(&orbs, 0, sizeof orbs);
    a.cfg.orbs = &orbs;
    if (mx_host_config_load(&hc, &err) < 0 ||
        mx_orb_resolver_for_config(&orbs, hc.orb_api, a.offline, a.o.config_path, a.lock, &err) <
            0) {
        rc = mx_cli_report(&err);
    } else {
        int r = a.workflow ? mx_workflow_run(&hc, &a.o, a.workflow, &a.approvals, &err)
                           : mx_job_run(&hc, &a.o, &err);
        mx_run_outputs_report(a.artifacts_dir, a.run_id, stdout);
        if (mx_stop) {
            fprintf(stderr, "mexec: interrupted by signal %d; VMs and files removed\n",
                    (int)mx_stop);
            rc = 128 + (int)mx_stop;
        } else {
            rc = r < 0 ? mx_cli_report(&err) : r;
        }
        /* what the run resolved is pinned for the next one (the config was processed) */
        mx_err lerr;
        if (orbs.lock_changed && mx_orb_resolver_save(&orbs, &lerr) < 0)
            fprintf(stderr, "mexec: warning: the orb lock file was not written: %s\n", lerr.msg);
    }
    mx_host_config_free(&hc);
    mx_orb_resolver_free(&orbs);
    mx_pipeline_info_free(&info);
    free_args(&a);
    return rc;
}
