/* How the CLI reports an error that travelled up in an mx_err (cli.h). */
#include "cli.h"
#include "mx_cleanup.h"
#include "mx_err.h"
#include "mx_term.h"

#include <stdio.h>

int mx_cli_report(const mx_err *err)
{
    /* errors quote the config and the guest: nothing in them may act on the terminal */
    mx_autofree char *safe = mx_term_text(err->msg);
    fprintf(stderr, "mexec: %s\n", safe);
    return err->status ? err->status : MX_INFRA;
}
