/* Environment variables given to `mexec run` on its command line, and which of them are
 * secrets.
 *
 * Why three forms: `-e KEY=VALUE` puts the value on mexec's argv, which every user of the host
 * can read (ps, /proc/PID/cmdline); `-e KEY` takes the value from mexec's own environment and
 * `--env-file FILE` from a file only its owner can read, so secrets need never be on argv.
 * Values given those two ways are secrets: masked in all output, like context values. */
#ifndef MX_CLI_ENV_H
#define MX_CLI_ENV_H

#include "cfg_job.h"
#include "mx_err.h"

/* Keys whose values are secrets (owned strings). */
typedef struct mx_cli_secret_keys {
    char **v;
    size_t n;
} mx_cli_secret_keys;

void mx_cli_secret_keys_free(mx_cli_secret_keys *k);

/* One -e argument: "KEY=VALUE", or "KEY" (value from mexec's environment; an error if unset,
 * and then the key is a secret). */
int mx_cli_env_arg(const char *arg, mx_envlist *env, mx_cli_secret_keys *secret, mx_err *err);

/* --env-file FILE: lines "KEY=VALUE" (the value literal to the end of the line, no quotes or
 * expansion), "KEY" (from mexec's environment), blank lines and "#" comments.  The file must
 * be a regular file that neither group nor others may read or write (mode 0600 or stricter),
 * as ssh demands of a private key.  Every key it sets is a secret. */
int mx_cli_env_file(const char *path, mx_envlist *env, mx_cli_secret_keys *secret, mx_err *err);

#endif
