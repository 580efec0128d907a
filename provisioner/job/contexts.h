/* Local CircleCI contexts: CONTEXTS_DIR/NAME.yaml, a map of variable -> value.
 *
 * Every value loaded from a context is a secret: it is added to the masking set, so nothing
 * mexec prints ever shows it (CircleCI masks context values the same way). */
#ifndef MX_CONTEXTS_H
#define MX_CONTEXTS_H

#include "cfg_job.h"
#include "host_config.h"
#include "mx_err.h"
#include "mx_mask.h"

/* The directory to read: $MEXEC_CONTEXTS_DIR, host config contexts_dir, else
 * $HOME/.config/mexec/contexts.  Caller frees. */
char *mx_contexts_dir(const mx_host_config *hc);

/* Loads each named context in order (later ones override earlier ones) into env, and their
 * values into secrets.  An unknown context is an error naming it and the directory. */
int mx_contexts_load(const char *dir, const char *const *names, size_t n, mx_envlist *env,
                     mx_secrets *secrets, mx_err *err);

#endif
