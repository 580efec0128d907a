/* host_config: defaults, MEXEC_HOST_CONFIG overrides, and errors that point into the file. */
#include "test_util.h"

#include "host_config.h"

typedef struct fixture {
    char *dir;
} fixture;

static int setup(void **state)
{
    fixture *f = mx_xcalloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    unsetenv("MEXEC_IMAGES_DIR");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    unsetenv("MEXEC_HOST_CONFIG");
    unsetenv("MEXEC_IMAGES_DIR");
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

/* Writes host.yaml into the fixture dir and points MEXEC_HOST_CONFIG at it. */
static char *use_config(fixture *f, const char *text)
{
    char *path = tu_write(f->dir, "host.yaml", text);
    assert_int_equal(setenv("MEXEC_HOST_CONFIG", path, 1), 0);
    return path;
}

static const mx_rclass *find_class(const mx_host_config *hc, const char *name)
{
    for (size_t i = 0; i < hc->classes.n; i++)
        if (strcmp(hc->classes.v[i].name, name) == 0) return &hc->classes.v[i];
    return NULL;
}

static void test_overrides(void **state)
{
    fixture *f = *state;
    free(use_config(f, "# site settings\n"
                       "libvirt_uri: qemu:///session\n"
                       "image_store: /srv/mexec/images\n"
                       "state_dir: /srv/mexec/jobs\n"
                       "images_dir: /srv/mexec/recipes\n"
                       "default_image: debian-12:edge\n"
                       "boot_timeout: 900\n"
                       "instant_starts: false\n"
                       "accel: tcg\n"
                       "capacity:\n"
                       "  vcpus: 3\n"
                       "  memory_mib: 6000\n"
                       "workspace: {layer_max_mib: 100, max_mib: 300, layer_timeout: 60}\n"
                       "resource_classes:\n"
                       "  medium: {vcpus: 1, memory_mib: 2048}\n"
                       "  big.arm:\n"
                       "    vcpus: 64\n"
                       "    memory_mib: 131072\n"
                       "    arm: yes\n"));
    mx_host_config hc;
    mx_err err = {0};
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(hc.libvirt_uri, "qemu:///session");
    assert_string_equal(hc.image_store, "/srv/mexec/images");
    assert_string_equal(hc.state_dir, "/srv/mexec/jobs");
    assert_string_equal(hc.images_dir, "/srv/mexec/recipes");
    assert_int_equal(hc.accel, MX_ACCEL_TCG);
    assert_string_equal(hc.default_image, "debian-12:edge");
    assert_int_equal(hc.boot_timeout_s, 900);
    assert_int_equal(hc.instant_starts, 0);
    assert_int_equal(hc.capacity_vcpus, 3);
    assert_int_equal(hc.capacity_memory_mib, 6000);
    assert_int_equal(hc.ws_layer_max_mib, 100);
    assert_int_equal(hc.ws_max_mib, 300);
    assert_int_equal(hc.ws_layer_timeout_s, 60);
    const mx_rclass *m = find_class(&hc, "medium");
    assert_non_null(m);
    assert_int_equal(m->vcpus, 1);
    assert_int_equal(m->memory_mib, 2048);
    assert_int_equal(m->arm, 0);
    const mx_rclass *b = find_class(&hc, "big.arm");
    assert_non_null(b);
    assert_int_equal(b->vcpus, 64);
    assert_int_equal(b->memory_mib, 131072);
    assert_int_equal(b->arm, 1);
    /* the rest of the built-in table is still there */
    const mx_rclass *l = find_class(&hc, "large");
    assert_non_null(l);
    assert_int_equal(l->vcpus, 4);
    mx_host_config_free(&hc);
}

static void test_registries_and_mirrors(void **state)
{
    fixture *f = *state;
    free(tu_write(f->dir, "ca.crt", "-----BEGIN CERTIFICATE-----\n"));
    char *text = mx_xasprintf("registries:\n"
                              "  10.0.2.2:5443: {ca: %s/ca.crt}\n"
                              "  10.0.2.2:5000: {insecure: true}\n"
                              "contexts_dir: /srv/contexts\n"
                              "registry_mirrors: [http://10.0.2.2:5001]\n"
                              "guest_services: [8080, 5001]\n"
                              "credential_helpers: [pass, ecr-login]\n",
                              f->dir);
    free(use_config(f, text));
    free(text);
    mx_host_config hc;
    mx_err err = {0};
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(hc.nregistries, 2);
    assert_string_equal(hc.registries[0].host, "10.0.2.2:5443");
    assert_non_null(strstr(hc.registries[0].ca, "/ca.crt"));
    assert_int_equal(hc.registries[0].insecure, 0);
    assert_string_equal(hc.registries[1].host, "10.0.2.2:5000");
    assert_null(hc.registries[1].ca);
    assert_int_equal(hc.registries[1].insecure, 1);
    assert_int_equal(hc.nmirrors, 1);
    assert_string_equal(hc.mirrors[0], "http://10.0.2.2:5001");
    assert_int_equal(hc.nguest_services, 2);
    assert_int_equal(hc.guest_services[0], 8080);
    assert_int_equal(hc.guest_services[1], 5001);
    assert_string_equal(hc.contexts_dir, "/srv/contexts");
    assert_string_equal(hc.credential_helpers[0], "pass");
    assert_string_equal(hc.credential_helpers[1], "ecr-login");
    assert_null(hc.credential_helpers[2]);
    assert_null(hc.forward_credentials[0]); /* none unless asked */
    mx_host_config_free(&hc);

    /* whose logins go into jobs, and the host-side OIDC token file */
    free(use_config(f, "registries:\n"
                       "  docker.io: {forward_credentials: true}\n"
                       "  10.0.2.2:5000: {insecure: true, forward_credentials: false}\n"
                       "  ghcr.io: {forward_credentials: true}\n"
                       "aws: {web_identity_token_file: /run/mexec/oidc-token}\n"));
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_int_equal(hc.registries[0].forward_credentials, 1);
    assert_int_equal(hc.registries[1].forward_credentials, 0);
    assert_string_equal(hc.forward_credentials[0], "docker.io");
    assert_string_equal(hc.forward_credentials[1], "ghcr.io");
    assert_null(hc.forward_credentials[2]);
    assert_string_equal(hc.aws_web_identity_token_file, "/run/mexec/oidc-token");
    assert_null(hc.registries[0].address);
    assert_null(hc.docker_vm_image);
    mx_host_config_free(&hc);

    /* a registry the guest cannot resolve by DNS; the docker executor's VM image */
    free(use_config(f, "registries:\n"
                       "  123456789012.dkr.ecr.us-east-1.amazonaws.com: {address: 10.0.2.2}\n"
                       "  v6.example:5000: {address: 'fd00::2'}\n"
                       "docker_vm_image: debian-12:edge\n"));
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(hc.registries[0].address, "10.0.2.2");
    assert_string_equal(hc.registries[1].address, "fd00::2");
    assert_string_equal(hc.docker_vm_image, "debian-12:edge");
    mx_host_config_free(&hc);

    /* archive mirrors for the image recipes, each reaching its recipe as one variable */
    free(use_config(f, "image_mirrors:\n"
                       "  ubuntu: http://apt-cache:3142/ubuntu\n"
                       "  debian: http://apt-cache:3142/debian\n"));
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(mx_image_mirror_keys[0][1], "MEXEC_UBUNTU_MIRROR");
    assert_string_equal(hc.image_mirrors[0], "http://apt-cache:3142/ubuntu");
    assert_null(hc.image_mirrors[1]); /* ubuntu-security: the recipe's default */
    assert_string_equal(mx_image_mirror_keys[2][1], "MEXEC_DEBIAN_MIRROR");
    assert_string_equal(hc.image_mirrors[2], "http://apt-cache:3142/debian");
    mx_host_config_free(&hc);

    /* a CA that does not exist, and a registry name that would escape certs.d */
    free(use_config(f, "registries:\n  r.example:443: {ca: /nonexistent/ca.crt}\n"));
    assert_int_equal(mx_host_config_load(&hc, &err), -1);
    assert_non_null(
        strstr(err.msg, "host.yaml:2:23: CA file \"/nonexistent/ca.crt\" does not exist"));
    mx_host_config_free(&hc);
    free(use_config(f, "registries:\n  ../x: {insecure: true}\n"));
    assert_int_equal(mx_host_config_load(&hc, &err), -1);
    assert_non_null(strstr(err.msg, "host.yaml:2:3: \"../x\" is not HOST[:PORT]"));
    mx_host_config_free(&hc);
}

static void test_defaults_with_empty_map(void **state)
{
    fixture *f = *state;
    free(use_config(f, "{}\n"));
    assert_int_equal(setenv("MEXEC_IMAGES_DIR", "/opt/images", 1), 0);
    mx_host_config hc;
    mx_err err = {0};
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(hc.libvirt_uri, "qemu:///system");
    assert_string_equal(hc.image_store, "/var/lib/mexec/images");
    assert_string_equal(hc.state_dir, "/var/lib/mexec/jobs");
    assert_string_equal(hc.images_dir, "/opt/images");
    assert_null(hc.default_image);
    assert_int_equal(hc.boot_timeout_s, 300);
    assert_int_equal(hc.instant_starts, 1);
    /* no helper may run and nobody's logins are forwarded unless the host says so */
    assert_null(hc.credential_helpers);
    assert_non_null(hc.forward_credentials);
    assert_null(hc.forward_credentials[0]);
    assert_null(hc.aws_web_identity_token_file);
    assert_string_equal(hc.orb_api, "https://circleci.com/graphql-unstable");
    /* unset: the capacity follows the host (mx_capacity_total) */
    assert_int_equal(hc.capacity_vcpus, 0);
    assert_int_equal(hc.capacity_memory_mib, 0);
    assert_int_equal(hc.ws_layer_max_mib, MX_WS_LAYER_MAX_MIB);
    assert_int_equal(hc.ws_max_mib, MX_WS_MAX_MIB);
    assert_int_equal(hc.ws_layer_timeout_s, MX_WS_LAYER_TIMEOUT_S);
    assert_non_null(find_class(&hc, "2xlarge+"));
    mx_host_config_free(&hc);
    free(use_config(f, "workspace: {layer_max_mib: 0}\n"));
    assert_int_equal(mx_host_config_load(&hc, &err), -1);
    tu_assert_contains(err.msg, "workspace layer_max_mib must be a whole number from 1");
    mx_host_config_free(&hc);
    free(use_config(f, "workspace: {layer_max: 1}\n"));
    assert_int_equal(mx_host_config_load(&hc, &err), -1);
    tu_assert_contains(err.msg, "unknown workspace setting \"layer_max\"");
    mx_host_config_free(&hc);
}

/* orb_api: a URL, or none for no registry at all */
static void test_orb_api(void **state)
{
    fixture *f = *state;
    mx_host_config hc;
    mx_err err = {0};
    free(use_config(f, "orb_api: http://127.0.0.1:8080/graphql-unstable\n"));
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_string_equal(hc.orb_api, "http://127.0.0.1:8080/graphql-unstable");
    mx_host_config_free(&hc);
    free(use_config(f, "orb_api: none\n"));
    if (mx_host_config_load(&hc, &err) < 0) fail_msg("%s", err.msg);
    assert_null(hc.orb_api);
    mx_host_config_free(&hc);
}

static void test_no_config_at_default_path(void **state)
{
    (void)state;
    if (mx_path_exists(MX_HOST_CONFIG_DEFAULT)) skip(); /* this host has one: not a clean slate */
    unsetenv("MEXEC_HOST_CONFIG");
    mx_host_config hc;
    mx_err err = {0};
    assert_int_equal(mx_host_config_load(&hc, &err), 0);
    assert_string_equal(hc.libvirt_uri, "qemu:///system");
    mx_host_config_free(&hc);
    /* an empty variable means the default too */
    setenv("MEXEC_HOST_CONFIG", "", 1);
    assert_int_equal(mx_host_config_load(&hc, &err), 0);
    mx_host_config_free(&hc);
}

static void load_fails(fixture *f, const char *text, const char *want)
{
    char *path = use_config(f, text);
    mx_host_config hc;
    mx_err err = {0};
    int rc = mx_host_config_load(&hc, &err);
    mx_host_config_free(&hc);
    if (rc == 0) fail_msg("accepted host config:\n%s", text);
    assert_int_equal(err.status, MX_USAGE);
    char *full = mx_xasprintf("%s%s", path, want);
    if (!strstr(err.msg, full)) fail_msg("error \"%s\", want \"%s\"", err.msg, full);
    free(full);
    free(path);
}

static void test_errors(void **state)
{
    fixture *f = *state;
    load_fails(
        f, "libvirt_uri: qemu:///system\nboot_timout: 30\n",
        ":2:1: unknown host setting \"boot_timout\" (known: libvirt_uri, accel, "
        "image_store, state_dir, images_dir, default_image, docker_vm_image, contexts_dir, "
        "orb_api, boot_timeout, instant_starts, warm_spares, warm_spare_timeout, registries, "
        "registry_mirrors, "
        "image_mirrors, guest_services, credential_helpers, aws, resource_classes, "
        "capacity, "
        "cache_dir, cache_max_bytes, artifacts_max_bytes, test_results_max_bytes, "
        "ssh_keys, workspace)");
    load_fails(f, "guest_services: 5000\n", ":1:17: guest_services must be a list");
    load_fails(f, "guest_services: [5000, 0]\n",
               ":1:24: a guest service (a host loopback TCP port) must be a whole number from 1 "
               "to 65535");
    load_fails(f, "guest_services: [127.0.0.1:5000]\n",
               ":1:18: a guest service (a host loopback TCP port) must be a whole number");
    load_fails(f, "guest_services: [[1]]\n",
               ":1:18: a guest service (a host loopback TCP port) must be a number");
    load_fails(f, "image_mirrors: [http://m]\n", ":1:16: image_mirrors must be a map");
    load_fails(f, "image_mirrors:\n  fedora: http://m\n",
               ":2:3: unknown image mirror \"fedora\" (known: ubuntu, ubuntu-security, debian)");
    load_fails(f, "image_mirrors: {ubuntu: [a]}\n", ":1:25: image mirror ubuntu must be a URL");
    load_fails(f, "image_mirrors: {ubuntu: ''}\n", ":1:25: image mirror ubuntu must be a URL");
    load_fails(f, "image_mirrors: {debian: \"a\\nb\"}\n",
               ":1:25: image mirror debian must be a URL");
    load_fails(f, "accel: hvf\n", ":1:8: accel must be auto, kvm or tcg");
    load_fails(f, "instant_starts: sometimes\n", ":1:17: instant_starts must be true or false");
    load_fails(f, "registries:\n  ecr.example: {address: ecr.local}\n",
               ":2:26: address must be an IPv4 or IPv6 address");
    load_fails(f, "registries:\n  ghcr.io: {forward_credentials: sure}\n",
               ":2:34: forward_credentials must be true or false");
    load_fails(f, "aws: {web_identity_token_file: token.jwt}\n",
               ":1:32: web_identity_token_file must be an absolute path");
    load_fails(f, "aws: {endpoint: http://x}\n",
               ":1:7: unknown aws setting \"endpoint\" (known: web_identity_token_file)");
    load_fails(f, "aws: [x]\n", ":1:6: aws must be a map");
    load_fails(f, "boot_timeout: 1\n",
               ":1:15: boot_timeout must be a whole number from 5 to 86400");
    load_fails(f, "boot_timeout: 30s\n", ":1:15: boot_timeout must be a whole number");
    load_fails(f, "boot_timeout: [1]\n", ":1:15: boot_timeout must be a number");
    load_fails(f, "image_store: [a, b]\n", ":1:14: image_store must be a string");
    load_fails(f, "resource_classes: [medium]\n", ":1:19: resource_classes must be a map");
    load_fails(f, "resource_classes:\n  tiny: {vcpus: 1}\n",
               ":2:9: resource class \"tiny\" needs vcpus and memory_mib");
    load_fails(f, "resource_classes:\n  tiny: {vcpus: 0, memory_mib: 512}\n",
               ":2:17: vcpus must be a whole number from 1 to 1024");
    load_fails(f, "resource_classes:\n  tiny: {vcpus: 1, memory_mib: 512, arm: maybe}\n",
               ":2:42: arm must be true or false");
    load_fails(f, "capacity: 4\n", ":1:11: capacity must be a map {vcpus: N, memory_mib: M}");
    load_fails(f, "capacity: {vcpus: 0}\n",
               ":1:19: capacity vcpus must be a whole number from 1 to 65536");
    load_fails(f, "capacity:\n  memory_mib: -512\n",
               ":2:15: capacity memory_mib must be a whole number from 1 to 1073741824");
    load_fails(f, "capacity: {vcpus: 2.5}\n", ":1:19: capacity vcpus must be a whole number");
    load_fails(f, "capacity: {memory_mib: 4GiB}\n",
               ":1:24: capacity memory_mib must be a whole number");
    load_fails(f, "capacity: {vcpus: [2]}\n", ":1:19: capacity vcpus must be a number");
    load_fails(f, "capacity: {vcpus: 2, memory: 4096}\n",
               ":1:22: unknown capacity setting \"memory\" (known: vcpus, memory_mib)");
    load_fails(f, "orb_api: circleci.com\n", ":1:10: orb_api must be an http(s) URL or none");
    load_fails(f, "- a list\n", ":1:1: host config must be a map");
    load_fails(f, "a: [\n", ":2:1:");
}

static void test_missing_explicit_file(void **state)
{
    fixture *f = *state;
    char *path = mx_path_join(f->dir, "absent.yaml");
    setenv("MEXEC_HOST_CONFIG", path, 1);
    mx_host_config hc;
    mx_err err = {0};
    assert_int_equal(mx_host_config_load(&hc, &err), -1);
    mx_host_config_free(&hc);
    assert_int_equal(err.status, MX_USAGE);
    char *want = mx_xasprintf("host config %s does not exist", path);
    assert_string_equal(err.msg, want);
    free(want);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(test_registries_and_mirrors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_defaults_with_empty_map, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_config_at_default_path, setup, teardown),
        cmocka_unit_test_setup_teardown(test_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_orb_api, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_explicit_file, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
