/* One registry credential as the resolver (mx_cred.h), docker config.json (mx_dockercfg.h) and
 * credential helpers (mx_cred_helper.h) all hand it around; its own header so that those need
 * not include each other. */
#ifndef MX_CRED_VALUE_H
#define MX_CRED_VALUE_H

typedef struct mx_cred {
    char *username;       /* NULL with an identity token from a helper ("<token>") */
    char *password;       /* may be NULL */
    char *identity_token; /* OAuth refresh token; NULL if none */
    char *server;         /* the registry key as its source wrote it */
    char *source;         /* "$DOCKER_AUTH_CONFIG", a file path, "env DOCKER_LOGIN", ... */
    /* Set when resolution found nothing usable but the user's config.json has credentials for
     * the registry that the host does not forward: server and source then name them. */
    int withheld;
} mx_cred;

/* Frees the fields (secrets wiped first) and zeroes *c; NULL is fine. */
void mx_cred_clear(mx_cred *c);

#endif
