/* How the CLI reports an error that travelled up in an mx_err (cli.h). */
#include "cli.h"
#include "mx_err.h"

#include <stdio.h>

int mx_cli_report(const mx_err *err)
{
    fprintf(stderr, "mexec: %s\n", err->msg);
    return err->status ? err->status : MX_INFRA;
}
