/* Host settings: /etc/mexec/host.yaml, or $MEXEC_HOST_CONFIG. A missing file means defaults. */
#ifndef MX_HOST_CONFIG_H
#define MX_HOST_CONFIG_H

#include "accel.h"
#include "mx_err.h"
#include "resource_class.h"

#define MX_HOST_CONFIG_DEFAULT "/etc/mexec/host.yaml"

/* How the guest's dockerd treats one registry (host:port as the guest reaches it). */
typedef struct mx_registry_cfg {
    char *host;
    char *ca;     /* CA certificate file on the host -> /etc/docker/certs.d/HOST/ca.crt */
    int insecure; /* plain HTTP or unverified TLS: only when the user asks */
} mx_registry_cfg;

typedef struct mx_host_config {
    char *libvirt_uri;
    char *image_store;   /* built machine images, keyed by recipe hash */
    char *state_dir;     /* one directory per running job */
    char *images_dir;    /* recipes and catalog.yaml */
    char *default_image; /* NULL: the catalog's default */
    char *contexts_dir;  /* NULL: $HOME/.config/mexec/contexts */
    int boot_timeout_s;
    mx_accel_mode accel; /* accel: auto (default) | kvm | tcg */
    mx_registry_cfg *registries;
    size_t nregistries;
    char **mirrors; /* registry-mirrors for the guest's dockerd */
    size_t nmirrors;
    /* host loopback TCP ports guests reach at 10.0.2.2 (docs/host-setup.md; vm_net.h adds the
     * registries and mirrors above that are at 10.0.2.2) */
    int *guest_services;
    size_t nguest_services;
    /* docker-credential-* helpers a config.json may name (NULL-terminated); NULL: any */
    char **credential_helpers;
    mx_rclass_table classes;
    /* capacity: what all of mexec's running VMs together may use; 0 = unset, the default
     * (mx_capacity_total) follows the host */
    int capacity_vcpus;
    int capacity_memory_mib;
} mx_host_config;

int mx_host_config_load(mx_host_config *hc, mx_err *err);
void mx_host_config_free(mx_host_config *hc);

#endif
