#include "vm_seed.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "host_config.h"
#include "vm.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *must(json_t *j)
{
    if (!j) abort();
    return j;
}

char *mx_vm_seed_user_data(const char *authorized_key, const char *host_key, const char *host_pub)
{
    mx_autojson json_t *doc = must(
        json_pack("{s:[{s:s, s:[s,s], s:s, s:s, s:b, s:[s]}], s:{s:s, s:s}, s:b, s:[]}", "users",
                  "name", "circleci", "groups", "docker", "sudo", "sudo", "ALL=(ALL) NOPASSWD:ALL",
                  "shell", "/bin/bash", "lock_passwd", 1, "ssh_authorized_keys", authorized_key,
                  "ssh_keys", "ed25519_private", host_key, "ed25519_public", host_pub,
                  "ssh_deletekeys", 1, "ssh_genkeytypes"));
    char *json = json_dumps(doc, JSON_INDENT(2));
    if (!json) abort();
    char *out = mx_xasprintf("#cloud-config\n%s\n", json);
    free(json);
    return out;
}

static char *read_text(const char *path, mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file(path, &b, err) < 0) return NULL;
    return mx_buf_steal(&b);
}

static int put(const char *dir, const char *name, const char *text, mode_t mode, mx_err *err)
{
    mx_autofree char *p = mx_path_join(dir, name);
    return mx_write_file(p, text, strlen(text), mode, err);
}

char *mx_vm_seed_daemon_json(const mx_host_config *hc)
{
    mx_autojson json_t *doc = must(json_object());
    mx_autojson json_t *insecure = must(json_array());
    mx_autojson json_t *mirrors = must(json_array());
    for (size_t i = 0; i < hc->nregistries; i++)
        if (hc->registries[i].insecure &&
            json_array_append_new(insecure, must(json_string(hc->registries[i].host))) != 0)
            abort();
    for (size_t i = 0; i < hc->nmirrors; i++)
        if (json_array_append_new(mirrors, must(json_string(hc->mirrors[i]))) != 0) abort();
    if (json_array_size(insecure) == 0 && json_array_size(mirrors) == 0) return NULL;
    if (json_array_size(insecure) && json_object_set(doc, "insecure-registries", insecure) != 0)
        abort();
    if (json_array_size(mirrors) && json_object_set(doc, "registry-mirrors", mirrors) != 0) abort();
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text) abort();
    return text;
}

char *mx_vm_seed_hosts(const mx_host_config *hc, const char *hostname)
{
    mx_buf b;
    mx_buf_init(&b);
    for (size_t i = 0; i < hc->nregistries; i++) {
        const mx_registry_cfg *r = &hc->registries[i];
        /* an IPv6 literal needs no name */
        if (!r->address || r->host[0] == '[') continue;
        size_t n = strcspn(r->host, ":"); /* a name, not HOST:PORT */
        mx_buf_printf(&b, "%s\t%.*s\n", r->address, (int)n, r->host);
    }
    if (!b.len) {
        mx_buf_free(&b);
        return NULL;
    }
    /* the whole file, as the image's seed unit writes it (it extracts files.tar after) */
    char *text = mx_xasprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n::1\tlocalhost "
                              "ip6-localhost ip6-loopback\nff02::1\tip6-allnodes\n"
                              "ff02::2\tip6-allrouters\n# registries (mexec host.yaml)\n%s",
                              hostname, b.data);
    mx_buf_free(&b);
    return text;
}

static int stage_file(const char *root, const char *rel, const char *text, size_t len, mx_err *err)
{
    mx_autofree char *path = mx_path_join(root, rel);
    mx_autofree char *dir = mx_dirname(path);
    if (mx_mkdir_p(dir, 0755, err) < 0) return -1;
    return mx_write_file(path, text, len, 0644, err);
}

/* Packs the guest dockerd's configuration into mexec/files.tar (files only, no directory
 * entries, so extracting over / cannot change the mode of an existing directory). */
static int docker_files(const mx_host_config *hc, const char *hostname, const char *seed_dir,
                        const char *stage, mx_err *err)
{
    const char *argv[64] = {"tar",
                            "-c",
                            "-f",
                            NULL,
                            "-C",
                            stage,
                            "--owner=0",
                            "--group=0",
                            "--numeric-owner",
                            "--mode=u=rw,go=r"};
    size_t argc = 10;
    mx_autofree char *tarfile = mx_path_join(seed_dir, "mexec/files.tar");
    argv[3] = tarfile;
    char *owned[64] = {0};
    size_t nowned = 0;
    int rc = 0;
    mx_autofree char *daemon = mx_vm_seed_daemon_json(hc);
    if (daemon) {
        rc = stage_file(stage, "etc/docker/daemon.json", daemon, strlen(daemon), err);
        argv[argc++] = "etc/docker/daemon.json";
    }
    mx_autofree char *hosts = rc == 0 ? mx_vm_seed_hosts(hc, hostname) : NULL;
    if (hosts) {
        rc = stage_file(stage, "etc/hosts", hosts, strlen(hosts), err);
        argv[argc++] = "etc/hosts";
    }
    for (size_t i = 0; rc == 0 && i < hc->nregistries && argc < 60; i++) {
        if (!hc->registries[i].ca) continue;
        mx_buf ca;
        mx_buf_init(&ca);
        char *rel = mx_xasprintf("etc/docker/certs.d/%s/ca.crt", hc->registries[i].host);
        owned[nowned++] = rel;
        rc = mx_read_file(hc->registries[i].ca, &ca, err);
        if (rc == 0) rc = stage_file(stage, rel, ca.data, ca.len, err);
        mx_buf_free(&ca);
        argv[argc++] = rel;
    }
    if (rc == 0 && argc > 10) {
        argv[argc] = NULL;
        rc = mx_proc_check(argv, NULL, NULL, err);
    }
    for (size_t i = 0; i < nowned; i++)
        free(owned[i]);
    mx_rm_rf(stage, NULL);
    return rc < 0 ? mx_wrap(err, "guest docker settings") : 0;
}

int mx_vm_seed_create(const mx_vm *vm, const mx_host_config *hc, mx_err *err)
{
    mx_autofree char *dir = mx_path_join(vm->dir, "seed");
    mx_autofree char *sub = mx_path_join(dir, "mexec");
    mx_autofree char *host_key_path = mx_path_join(vm->dir, "host_key");
    mx_autofree char *client_pub = read_text(vm->client_pub, err);
    mx_autofree char *host_key = client_pub ? read_text(host_key_path, err) : NULL;
    mx_autofree char *host_pub = host_key ? read_text(vm->host_pub, err) : NULL;
    if (!host_pub) return -1;
    if (mx_mkdir_p(sub, 0700, err) < 0) return -1;
    mx_autofree char *meta =
        mx_xasprintf("instance-id: %s\nlocal-hostname: %s\n", vm->domain_name, vm->domain_name);
    mx_autofree char *user = mx_vm_seed_user_data(client_pub, host_key, host_pub);
    mx_autofree char *hostname = mx_xasprintf("%s\n", vm->domain_name);
    int rc = 0;
    if (put(dir, "meta-data", meta, 0600, err) < 0 || put(dir, "user-data", user, 0600, err) < 0 ||
        put(sub, "ssh_host_ed25519_key", host_key, 0600, err) < 0 ||
        put(sub, "ssh_host_ed25519_key.pub", host_pub, 0644, err) < 0 ||
        put(sub, "authorized_keys", client_pub, 0600, err) < 0 ||
        put(sub, "hostname", hostname, 0644, err) < 0) {
        rc = -1;
    } else {
        mx_autofree char *stage = mx_path_join(vm->dir, "seed-files");
        rc = docker_files(hc, vm->domain_name, dir, stage, err);
    }
    if (rc == 0) {
        const char *argv[] = {"genisoimage", "-quiet",  "-output", vm->seed, "-volid",
                              "cidata",      "-joliet", "-rock",   dir,      NULL};
        rc = mx_proc_check(argv, NULL, NULL, err);
        if (rc == 0 && chmod(vm->seed, 0600) < 0) rc = mx_fail_errno(err, MX_INFRA, "chmod seed");
    }
    /* the staging copy holds the private host key: it goes as soon as the image exists */
    mx_rm_rf(dir, NULL);
    return rc < 0 ? -1 : 0;
}
