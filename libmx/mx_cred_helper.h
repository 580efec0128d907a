/* Docker credential helpers (docker/docker-credential-helpers protocol).
 *
 * `docker-credential-NAME get` reads the server URL on stdin and answers
 * {"ServerURL":..,"Username":..,"Secret":..} (Username "<token>" means Secret is an identity
 * token); `list` answers {"serverURL": "username", ...}.  A failing helper prints its reason on
 * stdout; "credentials not found in native keychain" means "no credentials", not an error.
 *
 * Why the name checks: the name comes from user-supplied JSON (DOCKER_AUTH_CONFIG), and it
 * becomes part of a program path, so "../../bin/sh" must never reach exec. */
#ifndef MX_CRED_HELPER_H
#define MX_CRED_HELPER_H

#include "mx_cred_value.h"
#include "mx_err.h"

#include <jansson.h>

/* 0 if name is a plain helper name ([A-Za-z0-9._-], not only dots); else an error saying why. */
int mx_cred_helper_check_name(const char *name, mx_err *err);
/* 0 if name may run under the allow-list (NULL-terminated; NULL or empty: none may run); the
 * error says which host setting allows it. */
int mx_cred_helper_check_allowed(const char *name, const char *const *allowed, mx_err *err);

/* Runs `docker-credential-NAME get`, the program looked up in search_path (colon-separated;
 * NULL: $PATH).  Returns 1 with *out filled, 0 if the helper has no credentials for server,
 * -1 on error (missing helper, failure, bad reply). */
int mx_cred_helper_get(const char *name, const char *server, const char *search_path, mx_cred *out,
                       mx_err *err);
/* Runs `docker-credential-NAME list`; *out is a JSON object server -> username. */
int mx_cred_helper_list(const char *name, const char *search_path, json_t **out, mx_err *err);

#endif
