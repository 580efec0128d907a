/* `checkout` for a local run: the project's working tree, as git sees it, packed for the guest.
 *
 * The project directory is the one holding .circleci/, or the one the user names
 * (--project-dir).  Inside a git work tree the archive holds tracked and
 * untracked-but-not-ignored files (uncommitted edits included, as a developer reproducing a
 * CI failure wants) and, at the repository top, .git itself so git works in the guest.
 *
 * What the guest must not get (issue 11, item 7): a directory that is not a git work tree is
 * packed only when the user named it (`-c ~/ci.yml` would otherwise pack $HOME, ~/.ssh
 * included); and the .git/config files that go along are rewritten without credentials
 * (user info in URLs, credential.*, http.*.extraheader, include paths).  Nested repositories
 * that git lists as untracked directories go without their config. */
#ifndef MX_CHECKOUT_H
#define MX_CHECKOUT_H

#include "mx_err.h"

/* Caller frees. */
char *mx_checkout_project_dir(const char *config_path);
/* 0 if project_dir may be packed: it is in a git work tree, or the user named it
 * (explicit_dir).  Else an MX_USAGE error saying how to name it. */
int mx_checkout_check(const char *project_dir, int explicit_dir, mx_err *err);
/* Packs project_dir into the tar file archive (after mx_checkout_check). */
int mx_checkout_archive(const char *project_dir, int explicit_dir, const char *archive,
                        mx_err *err);
/* HEAD's sha and branch, when project_dir is in a git work tree (else NULLs). */
void mx_checkout_git_info(const char *project_dir, char **sha, char **branch);

/* --- checkout_gitcfg.c --- */

/* url without credentials: "https://user:token@host/x" -> "https://host/x" (for http(s), ftp
 * and other schemes the whole user info goes; for ssh only a password).  Caller frees. */
char *mx_git_url_without_credentials(const char *url);
/* Writes to dst the git config file src without credential.*, include.*, includeIf.*,
 * http.*.extraheader, and with credentials removed from every URL in values and section
 * names. */
int mx_checkout_clean_git_config(const char *src, const char *dst, mx_err *err);

#endif
