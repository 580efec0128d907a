#include "host_config.h"
#include "mx_num.h"
#include "cfg_yaml.h"
#include "install_dirs.h"
#include "orb_registry.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

const char *const mx_image_mirror_keys[MX_IMAGE_MIRRORS][2] = {
    {"ubuntu", "MEXEC_UBUNTU_MIRROR"},
    {"ubuntu-security", "MEXEC_UBUNTU_SECURITY_MIRROR"},
    {"debian", "MEXEC_DEBIAN_MIRROR"},
};

/* Under TCG a systemd image needs ~20 s; a loaded host many times that. */
#define DEFAULT_BOOT_TIMEOUT_S 300

static void set_str(char **dst, const mx_node *v)
{
    free(*dst);
    *dst = mx_xstrdup(v->value);
}

static int parse_int(const mx_node *v, const char *what, int min, int max, int *out, mx_err *err)
{
    if (v->kind != MX_NODE_SCALAR) return mx_node_fail(err, v, "%s must be a number", what);
    long long n;
    if (mx_parse_int(v->value, min, max, &n) < 0)
        return mx_node_fail(err, v, "%s must be a whole number from %d to %d", what, min, max);
    *out = (int)n;
    return 0;
}

static int parse_classes(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m, "resource_classes must be a map of NAME: {vcpus, memory_mib}");
    for (size_t i = 0; i < m->n; i++) {
        const mx_node *c = m->vals[i];
        const mx_node *cpus = mx_node_get(c, "vcpus"), *mem = mx_node_get(c, "memory_mib");
        if (!cpus || !mem)
            return mx_node_fail(err, c, "resource class \"%s\" needs vcpus and memory_mib",
                                m->keys[i]->value);
        int v = 0, mb = 0, arm = 0;
        if (parse_int(cpus, "vcpus", 1, 1024, &v, err) < 0 ||
            parse_int(mem, "memory_mib", 64, 16 * 1024 * 1024, &mb, err) < 0)
            return -1;
        const mx_node *a = mx_node_get(c, "arm");
        if (a && mx_node_bool(a, &arm) < 0)
            return mx_node_fail(err, a, "arm must be true or false");
        mx_rclass_set(&hc->classes, m->keys[i]->value, v, mb, arm);
    }
    return 0;
}

static int parse_capacity(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m, "capacity must be a map {vcpus: N, memory_mib: M}");
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->value;
        int rc;
        if (strcmp(k, "vcpus") == 0)
            rc = parse_int(m->vals[i], "capacity vcpus", 1, 65536, &hc->capacity_vcpus, err);
        else if (strcmp(k, "memory_mib") == 0)
            rc = parse_int(m->vals[i], "capacity memory_mib", 1, 1 << 30, &hc->capacity_memory_mib,
                           err);
        else
            rc = mx_node_fail(err, m->keys[i],
                              "unknown capacity setting \"%s\" (known: vcpus, memory_mib)", k);
        if (rc < 0) return -1;
    }
    return 0;
}

static int parse_workspace(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m,
                            "workspace must be a map {layer_max_mib, max_mib, layer_timeout}");
    for (size_t i = 0; i < m->n; i++) {
        const char *k = m->keys[i]->value;
        int rc;
        if (strcmp(k, "layer_max_mib") == 0)
            rc = parse_int(m->vals[i], "workspace layer_max_mib", 1, 1 << 30, &hc->ws_layer_max_mib,
                           err);
        else if (strcmp(k, "max_mib") == 0)
            rc = parse_int(m->vals[i], "workspace max_mib", 1, 1 << 30, &hc->ws_max_mib, err);
        else if (strcmp(k, "layer_timeout") == 0)
            rc = parse_int(m->vals[i], "workspace layer_timeout", 10, 86400,
                           &hc->ws_layer_timeout_s, err);
        else
            rc = mx_node_fail(err, m->keys[i],
                              "unknown workspace setting \"%s\" (known: layer_max_mib, max_mib, "
                              "layer_timeout)",
                              k);
        if (rc < 0) return -1;
    }
    return 0;
}

static int parse_registries(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m,
                            "registries must be a map of HOST:PORT: {ca, insecure, "
                            "forward_credentials, address}");
    hc->registries = mx_xcalloc(m->n, sizeof *hc->registries);
    free(hc->forward_credentials); /* the empty default */
    hc->forward_credentials = mx_xcalloc(m->n + 1, sizeof *hc->forward_credentials);
    size_t nfwd = 0;
    for (size_t i = 0; i < m->n; i++) {
        const mx_node *r = m->vals[i], *ca = mx_node_get(r, "ca"),
                      *ins = mx_node_get(r, "insecure"),
                      *fwd = mx_node_get(r, "forward_credentials"),
                      *addr = mx_node_get(r, "address");
        mx_registry_cfg *rc = &hc->registries[hc->nregistries++];
        rc->host = mx_xstrdup(m->keys[i]->value);
        if (r->kind != MX_NODE_MAP)
            return mx_node_fail(err, r,
                                "registry %s takes {ca: FILE, insecure: BOOL, "
                                "forward_credentials: BOOL, address: IP}",
                                rc->host);
        if (strchr(rc->host, '/') || strstr(rc->host, ".."))
            return mx_node_fail(err, m->keys[i], "\"%s\" is not HOST[:PORT]", rc->host);
        if (ca) {
            if (ca->kind != MX_NODE_SCALAR || !mx_path_exists(ca->value))
                return mx_node_fail(err, ca, "CA file \"%s\" does not exist",
                                    ca->kind == MX_NODE_SCALAR ? ca->value : "?");
            rc->ca = mx_xstrdup(ca->value);
        }
        if (ins && mx_node_bool(ins, &rc->insecure) < 0)
            return mx_node_fail(err, ins, "insecure must be true or false");
        if (fwd && mx_node_bool(fwd, &rc->forward_credentials) < 0)
            return mx_node_fail(err, fwd, "forward_credentials must be true or false");
        if (rc->forward_credentials) hc->forward_credentials[nfwd++] = mx_xstrdup(rc->host);
        if (addr) {
            unsigned char buf[sizeof(struct in6_addr)];
            if (addr->kind != MX_NODE_SCALAR || (inet_pton(AF_INET, addr->value, buf) != 1 &&
                                                 inet_pton(AF_INET6, addr->value, buf) != 1))
                return mx_node_fail(err, addr, "address must be an IPv4 or IPv6 address");
            rc->address = mx_xstrdup(addr->value);
        }
    }
    return 0;
}

static int parse_aws(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m, "aws must be a map {web_identity_token_file: PATH}");
    for (size_t i = 0; i < m->n; i++) {
        const mx_node *v = m->vals[i];
        if (strcmp(m->keys[i]->value, "web_identity_token_file") != 0)
            return mx_node_fail(err, m->keys[i],
                                "unknown aws setting \"%s\" (known: web_identity_token_file)",
                                m->keys[i]->value);
        /* read at each login (tokens rotate), so it need not exist yet; but it is a host path */
        if (v->kind != MX_NODE_SCALAR || v->value[0] != '/')
            return mx_node_fail(err, v, "web_identity_token_file must be an absolute path");
        set_str(&hc->aws_web_identity_token_file, v);
    }
    return 0;
}

static int parse_mirrors(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_SEQ)
        return mx_node_fail(err, m, "registry_mirrors must be a list of URLs");
    hc->mirrors = mx_xcalloc(m->n, sizeof *hc->mirrors);
    for (size_t i = 0; i < m->n; i++) {
        if (m->items[i]->kind != MX_NODE_SCALAR)
            return mx_node_fail(err, m->items[i], "a registry mirror is a URL");
        hc->mirrors[hc->nmirrors++] = mx_xstrdup(m->items[i]->value);
    }
    return 0;
}

static int parse_guest_services(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_SEQ)
        return mx_node_fail(err, m, "guest_services must be a list of host loopback ports");
    if (m->n > 64) return mx_node_fail(err, m, "guest_services lists more than 64 ports");
    hc->guest_services = mx_xcalloc(m->n, sizeof *hc->guest_services);
    for (size_t i = 0; i < m->n; i++)
        if (parse_int(m->items[i], "a guest service (a host loopback TCP port)", 1, 65535,
                      &hc->guest_services[hc->nguest_services++], err) < 0)
            return -1;
    return 0;
}

static int parse_image_mirrors(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_MAP)
        return mx_node_fail(err, m, "image_mirrors must be a map {ubuntu: URL, ...}");
    for (size_t i = 0; i < m->n; i++) {
        const mx_node *k = m->keys[i], *v = m->vals[i];
        size_t j = 0;
        while (j < MX_IMAGE_MIRRORS && strcmp(k->value, mx_image_mirror_keys[j][0]) != 0)
            j++;
        if (j == MX_IMAGE_MIRRORS)
            return mx_node_fail(err, k,
                                "unknown image mirror \"%s\" (known: ubuntu, ubuntu-security, "
                                "debian)",
                                k->value);
        /* it reaches the recipe as one environment variable: one line, not empty */
        if (v->kind != MX_NODE_SCALAR || !*v->value || strpbrk(v->value, "\n\r"))
            return mx_node_fail(err, v, "image mirror %s must be a URL", k->value);
        free(hc->image_mirrors[j]);
        hc->image_mirrors[j] = mx_xstrdup(v->value);
    }
    return 0;
}

static int parse_helpers(mx_host_config *hc, const mx_node *m, mx_err *err)
{
    if (m->kind != MX_NODE_SEQ)
        return mx_node_fail(err, m, "credential_helpers must be a list of helper names");
    hc->credential_helpers = mx_xcalloc(m->n + 1, sizeof *hc->credential_helpers);
    for (size_t i = 0; i < m->n; i++) {
        const mx_node *h = m->items[i];
        if (h->kind != MX_NODE_SCALAR || !*h->value || strchr(h->value, '/'))
            return mx_node_fail(err, h, "a credential helper is a name such as pass or ecr-login");
        hc->credential_helpers[i] = mx_xstrdup(h->value);
    }
    return 0;
}

static int apply(mx_host_config *hc, const mx_node *root, mx_err *err)
{
    if (root->kind != MX_NODE_MAP) return mx_node_fail(err, root, "host config must be a map");
    for (size_t i = 0; i < root->n; i++) {
        const char *k = root->keys[i]->value;
        const mx_node *v = root->vals[i];
        int steps = mx_host_steps_apply(&hc->steps, k, v, err);
        if (steps < 0) return -1;
        if (steps) continue;
        if (strcmp(k, "resource_classes") == 0) {
            if (parse_classes(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "capacity") == 0) {
            if (parse_capacity(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "workspace") == 0) {
            if (parse_workspace(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "registries") == 0) {
            if (parse_registries(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "credential_helpers") == 0) {
            if (parse_helpers(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "guest_services") == 0) {
            if (parse_guest_services(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "image_mirrors") == 0) {
            if (parse_image_mirrors(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "aws") == 0) {
            if (parse_aws(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "registry_mirrors") == 0) {
            if (parse_mirrors(hc, v, err) < 0) return -1;
            continue;
        }
        if (strcmp(k, "instant_starts") == 0) {
            if (mx_node_bool(v, &hc->instant_starts) < 0)
                return mx_node_fail(err, v, "instant_starts must be true or false");
            continue;
        }
        if (strcmp(k, "warm_spares") == 0) {
            if (parse_int(v, "warm_spares", 0, MX_WARM_SPARES_MAX, &hc->warm_spares, err) < 0)
                return -1;
            continue;
        }
        if (strcmp(k, "warm_spare_timeout") == 0) {
            if (parse_int(v, "warm_spare_timeout", 10, 7 * 86400, &hc->warm_spare_timeout_s, err) <
                0)
                return -1;
            continue;
        }
        if (strcmp(k, "boot_timeout") == 0) {
            if (parse_int(v, "boot_timeout", 5, 86400, &hc->boot_timeout_s, err) < 0) return -1;
            continue;
        }
        if (v->kind != MX_NODE_SCALAR) return mx_node_fail(err, v, "%s must be a string", k);
        if (strcmp(k, "accel") == 0) {
            if (mx_accel_mode_parse(v->value, &hc->accel) < 0)
                return mx_node_fail(err, v, "accel must be auto, kvm or tcg");
            continue;
        }
        if (strcmp(k, "libvirt_uri") == 0)
            set_str(&hc->libvirt_uri, v);
        else if (strcmp(k, "image_store") == 0)
            set_str(&hc->image_store, v);
        else if (strcmp(k, "state_dir") == 0)
            set_str(&hc->state_dir, v);
        else if (strcmp(k, "images_dir") == 0)
            set_str(&hc->images_dir, v);
        else if (strcmp(k, "contexts_dir") == 0)
            set_str(&hc->contexts_dir, v);
        else if (strcmp(k, "default_image") == 0)
            set_str(&hc->default_image, v);
        else if (strcmp(k, "orb_api") == 0) {
            /* "none": never ask a registry (orbs come from the cache or the orb directory) */
            if (strcmp(v->value, "none") != 0 && strncmp(v->value, "https://", 8) != 0 &&
                strncmp(v->value, "http://", 7) != 0)
                return mx_node_fail(err, v, "orb_api must be an http(s) URL or none");
            free(hc->orb_api);
            hc->orb_api = strcmp(v->value, "none") == 0 ? NULL : mx_xstrdup(v->value);
        } else if (strcmp(k, "docker_vm_image") == 0) {
            set_str(&hc->docker_vm_image, v);
        } else
            return mx_node_fail(
                err, root->keys[i],
                "unknown host setting \"%s\" (known: libvirt_uri, accel, image_store, "
                "state_dir, images_dir, default_image, docker_vm_image, contexts_dir, orb_api, "
                "boot_timeout, instant_starts, warm_spares, warm_spare_timeout, registries, "
                "registry_mirrors, image_mirrors, "
                "guest_services, "
                "credential_helpers, aws, "
                "resource_classes, capacity, cache_dir, cache_max_bytes, artifacts_max_bytes, "
                "test_results_max_bytes, ssh_keys, workspace)",
                k);
    }
    return 0;
}

const char *mx_host_config_path(void)
{
    const char *path = getenv("MEXEC_HOST_CONFIG");
    return path && *path ? path : MX_HOST_CONFIG_DEFAULT;
}

int mx_host_config_load(mx_host_config *hc, mx_err *err)
{
    memset(hc, 0, sizeof *hc);
    hc->libvirt_uri = mx_xstrdup("qemu:///system");
    hc->image_store = mx_xstrdup("/var/lib/mexec/images");
    hc->state_dir = mx_xstrdup("/var/lib/mexec/jobs");
    hc->images_dir = getenv("MEXEC_IMAGES_DIR") ? mx_xstrdup(getenv("MEXEC_IMAGES_DIR"))
                                                : mx_install_images_dir();
    hc->boot_timeout_s = DEFAULT_BOOT_TIMEOUT_S;
    hc->instant_starts = 1;
    hc->warm_spares = 1;
    hc->warm_spare_timeout_s = MX_WARM_SPARE_TIMEOUT_S;
    hc->forward_credentials = mx_xcalloc(1, sizeof *hc->forward_credentials);
    hc->orb_api = mx_xstrdup(MX_ORB_API_DEFAULT);
    hc->ws_layer_max_mib = MX_WS_LAYER_MAX_MIB;
    hc->ws_max_mib = MX_WS_MAX_MIB;
    hc->ws_layer_timeout_s = MX_WS_LAYER_TIMEOUT_S;
    mx_rclass_defaults(&hc->classes);
    mx_host_steps_defaults(&hc->steps);

    const char *path = getenv("MEXEC_HOST_CONFIG");
    int explicit = path && *path;
    if (!explicit) path = MX_HOST_CONFIG_DEFAULT;
    if (!mx_path_exists(path)) {
        if (explicit) return mx_fail(err, MX_USAGE, "host config %s does not exist", path);
        return 0;
    }
    mx_node *root = NULL;
    if (mx_yaml_load_file(path, &root, err) < 0) return -1;
    int rc = apply(hc, root, err);
    mx_node_free(root);
    return rc;
}

void mx_host_config_free(mx_host_config *hc)
{
    free(hc->libvirt_uri);
    free(hc->image_store);
    free(hc->state_dir);
    free(hc->images_dir);
    free(hc->default_image);
    free(hc->docker_vm_image);
    free(hc->contexts_dir);
    free(hc->orb_api);
    for (size_t i = 0; i < hc->nregistries; i++) {
        free(hc->registries[i].host);
        free(hc->registries[i].ca);
        free(hc->registries[i].address);
    }
    free(hc->registries);
    for (size_t i = 0; i < hc->nmirrors; i++)
        free(hc->mirrors[i]);
    free(hc->mirrors);
    free(hc->guest_services);
    for (size_t i = 0; i < MX_IMAGE_MIRRORS; i++)
        free(hc->image_mirrors[i]);
    for (char **h = hc->credential_helpers; h && *h; h++)
        free(*h);
    free(hc->credential_helpers);
    for (char **h = hc->forward_credentials; h && *h; h++)
        free(*h);
    free(hc->forward_credentials);
    free(hc->aws_web_identity_token_file);
    mx_rclass_free(&hc->classes);
    mx_host_steps_free(&hc->steps);
    memset(hc, 0, sizeof *hc);
}
