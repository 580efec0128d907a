/* Docker's ~/.docker/config.json: read, change the auth entries, write it back exactly as the
 * docker CLI would.
 *
 * Why byte-exact: the guest's docker CLI and tools that diff or checksum the file must see what
 * `docker login` itself writes (tab indentation, Go's field order and escaping, no trailing
 * newline, mode 0600).  Keys mexec does not know are kept (the docker CLI would drop them). */
#ifndef MX_DOCKERCFG_H
#define MX_DOCKERCFG_H

#include "mx_cred_value.h"
#include "mx_err.h"

#include <jansson.h>
#include <stddef.h>

typedef struct mx_dockercfg {
    json_t *root; /* always an object once initialized */
} mx_dockercfg;

/* An empty configuration ({"auths": {}}). */
void mx_dockercfg_init(mx_dockercfg *cfg);
void mx_dockercfg_free(mx_dockercfg *cfg);

/* Parses and checks the shapes docker relies on (auths entries, base64 `auth` of user:password,
 * credsStore, credHelpers).  `source` ("$DOCKER_AUTH_CONFIG", a path) prefixes errors, which
 * never quote the document (it holds secrets).  Empty text is an empty configuration. */
int mx_dockercfg_parse(mx_dockercfg *cfg, const char *text, size_t len, const char *source,
                       mx_err *err);
/* Reads path; a missing file gives an empty configuration and *found = 0. */
int mx_dockercfg_load(mx_dockercfg *cfg, const char *path, int *found, mx_err *err);

/* Calls fn for each `auths` entry that carries credentials (placeholder entries written next to
 * a credsStore are skipped).  The mx_cred is only valid during the call.  Stops at fn's
 * non-zero return and passes it on. */
typedef int (*mx_dockercfg_auth_fn)(void *ctx, const char *key, const mx_cred *cred);
int mx_dockercfg_each_auth(const mx_dockercfg *cfg, mx_dockercfg_auth_fn fn, void *ctx);
/* Calls fn for each credHelpers entry (registry key -> helper name). */
typedef int (*mx_dockercfg_helper_fn)(void *ctx, const char *key, const char *helper);
int mx_dockercfg_each_helper(const mx_dockercfg *cfg, mx_dockercfg_helper_fn fn, void *ctx);
/* The credsStore helper name, or NULL. */
const char *mx_dockercfg_creds_store(const mx_dockercfg *cfg);

/* Stores credentials for server as the docker CLI does (`auth` = base64(user:password), plus
 * `identitytoken`).  Every existing entry naming the same registry in another spelling
 * ("https://host/v1/", "HOST") is removed first, so a stale token is never kept next to it. */
void mx_dockercfg_set_auth(mx_dockercfg *cfg, const char *server, const char *username,
                           const char *password, const char *identity_token);
/* An empty placeholder entry, as `docker login` leaves next to a credsStore. */
void mx_dockercfg_set_placeholder(mx_dockercfg *cfg, const char *server);
/* Removes all entries naming server's registry; returns how many. */
int mx_dockercfg_remove_auth(mx_dockercfg *cfg, const char *server);
/* Sets (or with NULL removes) credsStore. */
void mx_dockercfg_set_creds_store(mx_dockercfg *cfg, const char *helper);

/* The file's bytes as the docker CLI writes them (Go's json.MarshalIndent with "\t"); caller
 * frees. */
char *mx_dockercfg_render(const mx_dockercfg *cfg, size_t *len);
/* Writes path atomically (temporary file in the same directory, then rename), mode 0600,
 * creating the directory (0700) if needed.  A symlinked config.json is followed. */
int mx_dockercfg_save(const mx_dockercfg *cfg, const char *path, mx_err *err);

#endif
