/* Image references and registry keys reduced to one comparable form: "host/path".
 *
 * Why: the same registry is spelled many ways ("docker.io", "index.docker.io",
 * "https://index.docker.io/v1/", "Registry.Example.com:5000/ns/"), and credentials are looked
 * up by path prefix, so both sides must be normalized the same way. */
#ifndef MX_CRED_REF_H
#define MX_CRED_REF_H

#include "mx_err.h"

#define MX_DOCKER_HUB "docker.io"

/* "ubuntu:22.04" -> "docker.io/library/ubuntu"; "Quay.IO/org/img@sha256:.." -> "quay.io/org/img".
 * Host lower-cased, docker.io aliases folded, tag and digest dropped.  Caller frees. */
char *mx_cred_image_path(const char *image, mx_err *err);

/* A credential key as written in config.json / DOCKER_AUTH_CONFIG / credHelpers:
 * "https://index.docker.io/v1/" -> "docker.io", "registry.example.com/ns/" ->
 * "registry.example.com/ns" (a key with a scheme keeps only its host, as docker's legacy form; tags
 * dropped).  Caller frees; NULL for an empty key. */
char *mx_cred_key_path(const char *key);

/* The host part of a normalized path (a new string). */
char *mx_cred_path_host(const char *path);

/* 1 if host is one of docker.io's spellings (already lower-case). */
int mx_cred_is_docker_hub(const char *host);

#endif
