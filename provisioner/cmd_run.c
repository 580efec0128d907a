/* mexec run: one job of a CircleCI config in a fresh VM. */
#include "cli.h"
#include "host_config.h"
#include "job_run.h"
#include "mx_buf.h"
#include "signals.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int add_cli_env(mx_envlist *env, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        fprintf(stderr, "mexec: -e takes KEY=VALUE, not \"%s\"\n", kv);
        return -1;
    }
    char *k = mx_xstrndup(kv, (size_t)(eq - kv));
    mx_envlist_set(env, k, eq + 1);
    free(k);
    return 0;
}

int mx_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, 0, 'c'},
        {"job", required_argument, 0, 'j'},
        {"env", required_argument, 0, 'e'},
        {"context", required_argument, 0, 'C'},
        {"fit-to-host", no_argument, 0, 'F'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    mx_run_opts o = {.config_path = ".circleci/config.yml"};
    int rc = MX_OK, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:j:e:h", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o.config_path = optarg;
            break;
        case 'j':
            o.job_name = optarg;
            break;
        case 'e':
            if (add_cli_env(&o.cli_env, optarg) < 0) rc = MX_USAGE;
            break;
        case 'F':
            o.fit_to_host = 1;
            break;
        case 'C':
            o.contexts = mx_xrealloc(o.contexts, (o.ncontexts + 1) * sizeof *o.contexts);
            o.contexts[o.ncontexts++] = optarg;
            break;
        case 'h':
            puts("usage: mexec run [-c CONFIG] --job NAME [-e KEY=VALUE]... [--context NAME]... "
                 "[--fit-to-host]");
            mx_envlist_free(&o.cli_env);
            free(o.contexts);
            return MX_OK;
        default: /* getopt has said what was wrong */
            rc = MX_USAGE;
        }
    }
    if (rc == MX_OK && optind < argc) {
        fprintf(stderr, "mexec: unexpected argument \"%s\"\n", argv[optind]);
        rc = MX_USAGE;
    }
    if (rc == MX_OK && !o.job_name) {
        fputs("mexec: run needs --job NAME\n", stderr);
        rc = MX_USAGE;
    }
    if (rc != MX_OK) {
        mx_envlist_free(&o.cli_env);
        free(o.contexts);
        return rc;
    }
    mx_host_config hc;
    mx_err err;
    if (mx_host_config_load(&hc, &err) < 0) {
        rc = mx_cli_report(&err);
    } else {
        int r = mx_job_run(&hc, &o, &err);
        if (mx_stop) {
            fprintf(stderr, "mexec: interrupted by signal %d; VM and files removed\n",
                    (int)mx_stop);
            rc = 128 + (int)mx_stop;
        } else {
            rc = r < 0 ? mx_cli_report(&err) : r;
        }
    }
    mx_host_config_free(&hc);
    mx_envlist_free(&o.cli_env);
    free(o.contexts);
    return rc;
}
