#include "vm_seed.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
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

int mx_vm_seed_create(const mx_vm *vm, mx_err *err)
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
        const char *argv[] = {"genisoimage", "-quiet",  "-output", vm->seed, "-volid",
                              "cidata",      "-joliet", "-rock",   dir,      NULL};
        rc = mx_proc_check(argv, NULL, NULL, err);
        if (rc == 0 && chmod(vm->seed, 0600) < 0) rc = mx_fail_errno(err, MX_INFRA, "chmod seed");
    }
    /* the staging copy holds the private host key: it goes as soon as the image exists */
    mx_rm_rf(dir, NULL);
    return rc < 0 ? -1 : 0;
}
