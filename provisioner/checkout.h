/* `checkout` for a local run: the project's working tree, as git sees it, packed for the guest.
 *
 * The project directory is the one holding .circleci/.  Inside a git work tree the archive holds
 * tracked and untracked-but-not-ignored files (uncommitted edits included, as a developer
 * reproducing a CI failure wants) and, at the repository top, .git itself so git works in the
 * guest; outside git, the whole directory. */
#ifndef MX_CHECKOUT_H
#define MX_CHECKOUT_H

#include "mx_err.h"

/* Caller frees. */
char *mx_checkout_project_dir(const char *config_path);
int mx_checkout_archive(const char *project_dir, const char *archive, mx_err *err);
/* HEAD's sha and branch, when project_dir is in a git work tree (else NULLs). */
void mx_checkout_git_info(const char *project_dir, char **sha, char **branch);

#endif
