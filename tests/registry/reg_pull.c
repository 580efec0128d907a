/* mx-reg-pull: pull one image with the registry client into an OCI layout.
 *
 * Why: bench/pull.sh times the library against skopeo, and a person debugging a registry wants
 * the same code path from a shell.  The password is read from a file, never from argv.
 *
 *   mx-reg-pull [--insecure] [--ca FILE] [--user NAME --password-file FILE]
 *               [--platform OS/ARCH[/VARIANT]] REF DIR */
#include "mx_buf.h"
#include "mx_fs.h"
#include "mx_reg.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int usage(void)
{
    fprintf(stderr, "usage: mx-reg-pull [--insecure] [--ca FILE] [--user NAME --password-file "
                    "FILE] [--platform OS/ARCH[/VARIANT]] REF DIR\n");
    return MX_USAGE;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"insecure", no_argument, NULL, 'k'},       {"ca", required_argument, NULL, 'c'},
        {"user", required_argument, NULL, 'u'},     {"password-file", required_argument, NULL, 'p'},
        {"platform", required_argument, NULL, 'P'}, {NULL, 0, NULL, 0},
    };
    mx_reg_opts o = {0};
    const char *user = NULL, *pwfile = NULL;
    char *plat = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'k':
            o.insecure_http = 1;
            break;
        case 'c':
            o.ca_file = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 'p':
            pwfile = optarg;
            break;
        case 'P':
            plat = optarg;
            break;
        default:
            return usage();
        }
    }
    if (argc - optind != 2 || (pwfile && !user)) return usage();
    mx_err err;
    mx_buf pw;
    mx_buf_init(&pw);
    if (pwfile) {
        if (mx_read_file(pwfile, &pw, &err) < 0) goto fail;
        while (pw.len && (pw.data[pw.len - 1] == '\n' || pw.data[pw.len - 1] == '\r'))
            pw.data[--pw.len] = '\0';
    }
    mx_reg_platform p = {0};
    if (plat) {
        p.os = strtok(plat, "/");
        p.arch = strtok(NULL, "/");
        p.variant = strtok(NULL, "/");
        if (!p.os || !p.arch) return usage();
    }
    mx_reg_ref ref;
    if (mx_reg_ref_parse(argv[optind], &ref, &err) < 0) goto fail;
    mx_reg_creds creds = {user, pw.data ? pw.data : ""};
    mx_reg_client *c = mx_reg_client_new(ref.domain, user ? &creds : NULL, &o, &err);
    int rc = c ? mx_reg_pull_to_dir(c, &ref, plat ? &p : NULL, argv[optind + 1], &err) : -1;
    mx_reg_client_free(c);
    mx_reg_ref_free(&ref);
    mx_buf_free(&pw);
    if (rc == 0) return 0;
fail:
    fprintf(stderr, "mx-reg-pull: %s\n", err.msg);
    return err.status ? err.status : MX_INFRA;
}
