/* Registry client (OCI distribution API v2), shared by the host and the guest agent.
 *
 * One client talks to one registry: it answers auth challenges itself (Basic, or Bearer tokens
 * fetched from the realm the registry names, cached per scope), retries transient failures with
 * backoff, and checks every manifest and blob it returns against its SHA-256 digest, because a
 * registry serves a corrupted stored blob under its original digest.
 *
 * Errors always name the registry and, for HTTP failures, the status:
 *   "registry 127.0.0.1:5001: GET /v2/x/manifests/1: HTTP 401 Unauthorized: UNAUTHORIZED: ..." */
#ifndef MX_REG_H
#define MX_REG_H

#include "mx_err.h"
#include "mx_reg_ref.h"
#include "mx_reg_retry.h"

#include <stddef.h>

#define MX_REG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define MX_REG_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define MX_REG_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define MX_REG_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"

typedef struct mx_reg_client mx_reg_client;

typedef struct mx_reg_creds {
    const char *username;
    const char *password;
} mx_reg_creds;

typedef struct mx_reg_opts {
    const char *ca_file;           /* PEM file to trust for this registry (CURLOPT_CAINFO) */
    int insecure_http;             /* speak plain HTTP to this registry */
    const mx_reg_backoff *backoff; /* NULL: mx_reg_backoff_default */
    /* Waits between retries; NULL sleeps.  Tests record the waits instead of sleeping. */
    void (*sleep_ms)(void *arg, long ms);
    void *sleep_arg;
    int parallel; /* concurrent blob downloads in mx_reg_pull_to_dir (0: 6) */
} mx_reg_opts;

/* registry: "host[:port]" ("docker.io" is served by registry-1.docker.io).  creds and opts may
 * be NULL; the client copies what it needs. */
mx_reg_client *mx_reg_client_new(const char *registry, const mx_reg_creds *creds,
                                 const mx_reg_opts *opts, mx_err *err);
void mx_reg_client_free(mx_reg_client *c);

/* GET /v2/: the registry is up and speaks the API.  *auth_required (may be NULL) says whether
 * it challenged an anonymous request. */
int mx_reg_ping(mx_reg_client *c, int *auth_required, mx_err *err);
/* What `docker login` checks: the credentials are accepted (Basic: /v2/ answers 200 with
 * them; Bearer: the token server issues a token with no scope and /v2/ accepts it). */
int mx_reg_login(mx_reg_client *c, mx_err *err);

typedef struct mx_reg_platform {
    const char *os;      /* NULL: "linux" */
    const char *arch;    /* NULL: "amd64" */
    const char *variant; /* NULL: any (arm64 entries without one count as "v8") */
} mx_reg_platform;

typedef struct mx_reg_desc {
    char *media_type;
    char *digest;
    long long size;
} mx_reg_desc;

typedef struct mx_reg_manifest {
    char *media_type; /* of the image manifest below */
    char *digest;     /* sha256 of body, verified */
    char *body;       /* the manifest's bytes exactly as served (NUL-terminated) */
    size_t body_len;
    /* When the reference named an index / manifest list: its digest and media type. */
    char *index_digest;
    char *index_media_type;
    mx_reg_desc config;
    mx_reg_desc *layers;
    size_t nlayers;
} mx_reg_manifest;

/* Fetches ref's image manifest; an index or manifest list is resolved to the child for
 * platform (NULL: linux/amd64). */
int mx_reg_get_manifest(mx_reg_client *c, const mx_reg_ref *ref, const mx_reg_platform *platform,
                        mx_reg_manifest *out, mx_err *err);
void mx_reg_manifest_free(mx_reg_manifest *m);

/* Where blob bytes go.  write returns 0 or -1 (which aborts the transfer).  reset (optional)
 * discards what was written so a failed transfer can be retried from the start; without it
 * a transfer that failed after delivering bytes is not retried. */
typedef struct mx_reg_sink {
    int (*write)(void *arg, const void *data, size_t len);
    int (*reset)(void *arg);
    void *arg;
} mx_reg_sink;

/* Streams blob `digest` of repository `repo` into sink, verifying its SHA-256 (and its size
 * when size >= 0) before returning 0.  On a mismatch the sink has received the bad bytes: a
 * caller keeps them only after success (mx_reg_fetch_blob_to_file does). */
int mx_reg_fetch_blob(mx_reg_client *c, const char *repo, const char *digest, long long size,
                      const mx_reg_sink *sink, mx_err *err);
/* Same, into path (written as path.partial, renamed only once verified). */
int mx_reg_fetch_blob_to_file(mx_reg_client *c, const char *repo, const char *digest,
                              long long size, const char *path, mx_err *err);

/* Pulls ref into dir as an OCI image layout (oci-layout, index.json with the tag as
 * org.opencontainers.image.ref.name, blobs/sha256/...), layers fetched in parallel. */
int mx_reg_pull_to_dir(mx_reg_client *c, const mx_reg_ref *ref, const mx_reg_platform *platform,
                       const char *dir, mx_err *err);

#endif
