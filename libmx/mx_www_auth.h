/* WWW-Authenticate header parsing (RFC 7235 challenges, as registries send them).
 *
 * Why its own file: registries differ in what they send (Docker Hub and GHCR send one Bearer
 * challenge, some proxies send Basic and Bearer together, HTTP/2 lower-cases the header name),
 * and the header grammar is ambiguous enough (commas separate both challenges and parameters)
 * that it deserves a parser and a corpus of tests of its own.  It is also a fuzz target. */
#ifndef MX_WWW_AUTH_H
#define MX_WWW_AUTH_H

#include "mx_err.h"

#include <stddef.h>

typedef struct mx_www_param {
    char *name; /* lower-cased: parameter names are case-insensitive */
    char *value;
} mx_www_param;

typedef struct mx_www_challenge {
    char *scheme;  /* as sent; compare with strcasecmp */
    char *token68; /* "Negotiate abc==" style credentials, else NULL */
    mx_www_param *params;
    size_t nparams;
} mx_www_challenge;

typedef struct mx_www_auth {
    mx_www_challenge *ch;
    size_t n;
} mx_www_auth;

void mx_www_auth_init(mx_www_auth *a);
void mx_www_auth_free(mx_www_auth *a);

/* Parses one header value (without "WWW-Authenticate:") and appends its challenges to *a, so a
 * response with several WWW-Authenticate headers is parsed by calling this once per header.
 * On malformed input returns -1 with *err set and leaves *a as it was. */
int mx_www_auth_parse(mx_www_auth *a, const char *value, mx_err *err);

/* The first challenge whose scheme matches (case-insensitively), or NULL. */
const mx_www_challenge *mx_www_auth_find(const mx_www_auth *a, const char *scheme);
/* The value of a parameter (name matched case-insensitively), or NULL. */
const char *mx_www_param_get(const mx_www_challenge *c, const char *name);

#endif
