/* Image references ("busybox", "ghcr.io/o/n:tag", "host:5000/ns/name@sha256:...") parsed with
 * the rules of the docker CLI (distribution/reference), so mexec names the same image the
 * guest's docker would. */
#ifndef MX_REG_REF_H
#define MX_REG_REF_H

#include "mx_err.h"

#define MX_REG_DOCKER_HUB "docker.io"
/* Docker Hub's API endpoint: "docker.io" names the registry, this host serves it. */
#define MX_REG_DOCKER_HUB_HOST "registry-1.docker.io"

typedef struct mx_reg_ref {
    char *domain; /* registry name as users write it: "docker.io", "127.0.0.1:5000" */
    char *host;   /* where to connect: domain, except registry-1.docker.io for Docker Hub */
    char *path;   /* repository: "library/busybox" */
    char *tag;    /* "latest" when neither tag nor digest was given; NULL if only a digest */
    char *digest; /* "sha256:<64 hex>" or NULL */
} mx_reg_ref;

/* Parses s into *ref (all fields owned by ref).  Returns -1 (MX_USAGE) naming what is wrong. */
int mx_reg_ref_parse(const char *s, mx_reg_ref *ref, mx_err *err);
void mx_reg_ref_free(mx_reg_ref *ref);
/* "host/path:tag", "host/path@digest" or "host/path:tag@digest"; caller frees. */
char *mx_reg_ref_string(const mx_reg_ref *ref);
/* Checks that d is "sha256:" and 64 lower-case hex digits (the only algorithm supported;
 * checked before a digest is ever used in a file name or URL). */
int mx_reg_digest_valid(const char *d);

#endif
