/* Host settings: /etc/mexec/host.yaml, or $MEXEC_HOST_CONFIG. A missing file means defaults. */
#ifndef MX_HOST_CONFIG_H
#define MX_HOST_CONFIG_H

#define MX_WARM_SPARES_MAX 8
#define MX_WARM_SPARE_TIMEOUT_S 1800

#include "accel.h"
#include "host_steps.h"
#include "mx_err.h"
#include "resource_class.h"

#define MX_HOST_CONFIG_DEFAULT "/etc/mexec/host.yaml"

/* How the guest's dockerd treats one registry (host:port as the guest reaches it). */
typedef struct mx_registry_cfg {
    char *host;
    char *ca;     /* CA certificate file on the host -> /etc/docker/certs.d/HOST/ca.crt */
    int insecure; /* plain HTTP or unverified TLS: only when the user asks */
    /* the invoking user's logins for this registry (~/.docker/config.json) may go into jobs */
    int forward_credentials;
    /* the address the guest resolves HOST to (its /etc/hosts), for a registry that has no DNS
     * name the guest can resolve (a private network, the tests' fake ECR); NULL: DNS */
    char *address;
} mx_registry_cfg;

/* host.yaml `image_mirrors:` keys and the environment variable each sets for the recipes
 * (images/NAME/recipe.sh read them): {"ubuntu", "MEXEC_UBUNTU_MIRROR"}, ... */
#define MX_IMAGE_MIRRORS 3
extern const char *const mx_image_mirror_keys[MX_IMAGE_MIRRORS][2];

typedef struct mx_host_config {
    char *libvirt_uri;
    char *image_store;     /* built machine images, keyed by recipe hash */
    char *state_dir;       /* one directory per running job */
    char *images_dir;      /* recipes and catalog.yaml */
    char *default_image;   /* NULL: the catalog's default */
    char *docker_vm_image; /* the VM image of docker executor jobs; NULL: default_image */
    char *contexts_dir;    /* NULL: $HOME/.config/mexec/contexts */
    char *orb_api;         /* CircleCI's orb API (GraphQL endpoint); NULL: none, cache only */
    int boot_timeout_s;
    /* instant starts from snapshots (snapshot.h); host.yaml instant_starts: false always boots */
    int instant_starts;
    /* warm spares (spare.h): restored VMs kept paused per image + class, ready to be claimed by
     * the next job (host.yaml warm_spares: N, 0 none), each ended after warm_spare_timeout
     * seconds unclaimed */
    int warm_spares;
    int warm_spare_timeout_s;
    mx_accel_mode accel; /* accel: auto (default) | kvm | tcg */
    mx_registry_cfg *registries;
    size_t nregistries;
    char **mirrors; /* registry-mirrors for the guest's dockerd */
    size_t nmirrors;
    /* host loopback TCP ports guests reach at 10.0.2.2 (docs/host-setup.md; vm_net.h adds the
     * registries and mirrors above that are at 10.0.2.2) */
    int *guest_services;
    size_t nguest_services;
    /* docker-credential-* helpers that may run (NULL-terminated); NULL: none */
    char **credential_helpers;
    /* hosts of the registries with forward_credentials: true (NULL-terminated, never NULL) */
    char **forward_credentials;
    /* aws.web_identity_token_file: the OIDC token for ECR role logins, a host file */
    char *aws_web_identity_token_file;
    mx_rclass_table classes;
    /* archive mirrors the image recipes build from, by mx_image_mirror_keys; NULL: unset */
    char *image_mirrors[MX_IMAGE_MIRRORS];
    /* capacity: what all of mexec's running VMs together may use; 0 = unset, the default
     * (mx_capacity_total) follows the host */
    int capacity_vcpus;
    int capacity_memory_mib;
    mx_host_steps steps; /* caches, artifacts, test results, SSH keys (host_steps.h) */
    /* workspace: what the host takes from an upstream job's guest (workflow_ws.c) */
    int ws_layer_max_mib;   /* one persisted layer */
    int ws_max_mib;         /* all layers of one workflow run */
    int ws_layer_timeout_s; /* downloading one layer */
} mx_host_config;

/* A layer is downloaded from a guest the job controls: its size is refused above these before a
 * byte moves, and its transfer cut off after the time (a guest can claim a 1 TB file and send
 * it slowly).  CircleCI's own workspaces are meant for build outputs of a few GB at most. */
#define MX_WS_LAYER_MAX_MIB 2048
#define MX_WS_MAX_MIB 5120
#define MX_WS_LAYER_TIMEOUT_S 1800

int mx_host_config_load(mx_host_config *hc, mx_err *err);
/* The host settings file mx_host_config_load reads: $MEXEC_HOST_CONFIG or the default. */
const char *mx_host_config_path(void);
void mx_host_config_free(mx_host_config *hc);

#endif
