#include "vm_seed.h"
#include "mx_sha256.h"
#include "mx_b64.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_proc.h"
#include "host_config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static json_t *must(json_t *j)
{
    if (!j) mx_oom();
    return j;
}

/* What stock cloud-init images need besides the user and keys, for every cloud-init from Ubuntu
 * 20.04's to 24.04's: ssh_genkeytypes lists a type (the schema wants one) whose key ssh_keys
 * installs, so none is generated; the hostname resolves without DNS (sudo looks it up); the
 * locale is one that exists without generating it (locale-gen costs seconds under TCG). */
char *mx_vm_seed_cloud_config(const char *authorized_key, const char *host_key,
                              const char *host_pub, const mx_seed_file *files, size_t nfiles)
{
    /* json_pack refuses strings that are not UTF-8 (a damaged key file): NULL, not abort */
    mx_autojson json_t *doc = json_pack(
        "{s:[{s:s, s:[s,s], s:s, s:s, s:b, s:[s]}], s:{s:s, s:s}, s:b, s:[s], s:s, s:s}", "users",
        "name", "circleci", "groups", "docker", "sudo", "sudo", "ALL=(ALL) NOPASSWD:ALL", "shell",
        "/bin/bash", "lock_passwd", 1, "ssh_authorized_keys", authorized_key, "ssh_keys",
        "ed25519_private", host_key, "ed25519_public", host_pub, "ssh_deletekeys", 1,
        "ssh_genkeytypes", "ed25519", "manage_etc_hosts", "localhost", "locale", "C.UTF-8");
    if (!doc) return NULL;
    if (nfiles) {
        json_t *wf = must(json_array());
        if (json_object_set_new(doc, "write_files", wf) != 0) mx_oom();
        for (size_t i = 0; i < nfiles; i++) {
            mx_autofree char *b64 = mx_b64_encode(files[i].data, files[i].len);
            json_t *f = json_pack("{s:s, s:s, s:s, s:s}", "path", files[i].path, "encoding", "b64",
                                  "content", b64, "permissions", "0644");
            if (!f) return NULL; /* a path that is not UTF-8 */
            if (json_array_append_new(wf, f) != 0) mx_oom();
        }
    }
    char *json = json_dumps(doc, JSON_INDENT(2));
    if (!json) mx_oom();
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
            mx_oom();
    for (size_t i = 0; i < hc->nmirrors; i++)
        if (json_array_append_new(mirrors, must(json_string(hc->mirrors[i]))) != 0) mx_oom();
    if (json_array_size(insecure) == 0 && json_array_size(mirrors) == 0) return NULL;
    if (json_array_size(insecure) && json_object_set(doc, "insecure-registries", insecure) != 0)
        mx_oom();
    if (json_array_size(mirrors) && json_object_set(doc, "registry-mirrors", mirrors) != 0)
        mx_oom();
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text) mx_oom();
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

typedef struct seed_files {
    mx_seed_file *v;
    size_t n;
} seed_files;

static void add_file(seed_files *f, char *path, char *data, size_t len)
{
    f->v = mx_xrealloc(f->v, (f->n + 1) * sizeof *f->v);
    f->v[f->n++] = (mx_seed_file){.path = path, .data = data, .len = len};
}

static void free_files(seed_files *f)
{
    for (size_t i = 0; i < f->n; i++) {
        free(f->v[i].path);
        free(f->v[i].data);
    }
    free(f->v);
}

/* The guest dockerd's configuration from the host's settings: daemon.json and registry CAs;
 * and /etc/hosts when registries have an address: (mx_vm_seed_hosts). */
static int docker_settings(const mx_host_config *hc, const char *hostname, seed_files *f,
                           mx_err *err)
{
    char *daemon = mx_vm_seed_daemon_json(hc);
    if (daemon) add_file(f, mx_xstrdup("/etc/docker/daemon.json"), daemon, strlen(daemon));
    char *hosts = mx_vm_seed_hosts(hc, hostname);
    if (hosts) add_file(f, mx_xstrdup("/etc/hosts"), hosts, strlen(hosts));
    for (size_t i = 0; i < hc->nregistries; i++) {
        if (!hc->registries[i].ca) continue;
        mx_buf ca;
        mx_buf_init(&ca);
        if (mx_read_file(hc->registries[i].ca, &ca, err) < 0)
            return mx_wrap(err, "guest docker settings");
        size_t len = ca.len;
        add_file(f, mx_xasprintf("/etc/docker/certs.d/%s/ca.crt", hc->registries[i].host),
                 mx_buf_steal(&ca), len);
    }
    return 0;
}

/* Packs the guest dockerd's configuration into mexec/files.tar (files only, no directory
 * entries, so extracting over / cannot change the mode of an existing directory). */
static int docker_files(const seed_files *f, const char *seed_dir, const char *stage, mx_err *err)
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
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < f->n && argc < 60; i++) {
        const char *rel = f->v[i].path + 1; /* relative to / */
        rc = stage_file(stage, rel, f->v[i].data, f->v[i].len, err);
        argv[argc++] = rel;
    }
    if (rc == 0 && argc > 10) {
        argv[argc] = NULL;
        rc = mx_proc_check(argv, NULL, NULL, err);
    }
    mx_rm_rf(stage, NULL);
    return rc < 0 ? mx_wrap(err, "guest docker settings") : 0;
}

int mx_vm_seed_files_tar(const mx_host_config *hc, const char *hostname, const char *work,
                         mx_buf *tar, char sha256[65], mx_err *err)
{
    seed_files files = {0};
    int rc = docker_settings(hc, hostname, &files, err);
    /* the key of what the guest gets: path, length, contents of each file */
    mx_buf h;
    mx_buf_init(&h);
    for (size_t i = 0; rc == 0 && i < files.n; i++) {
        mx_buf_printf(&h, "%s\n%zu\n", files.v[i].path, files.v[i].len);
        mx_buf_add(&h, files.v[i].data, files.v[i].len);
    }
    sha256[0] = '\0';
    if (rc == 0 && files.n) {
        char d[MX_SHA256_DIGEST_LEN];
        rc = mx_sha256_digest(h.data, h.len, d, err);
        if (rc == 0) memcpy(sha256, d + 7, 65);
    }
    mx_buf_free(&h);
    if (rc == 0 && files.n) {
        mx_autofree char *stage = mx_path_join(work, "seed-files");
        mx_autofree char *sub = mx_path_join(work, "mexec");
        mx_autofree char *path = mx_path_join(sub, "files.tar");
        rc = mx_mkdir_p(sub, 0700, err);
        if (rc == 0) rc = docker_files(&files, work, stage, err);
        if (rc == 0) rc = mx_read_file(path, tar, err);
        mx_rm_rf(sub, NULL);
    }
    free_files(&files);
    return rc < 0 ? -1 : 0;
}

int mx_vm_seed_create(const mx_seed_paths *p, const mx_host_config *hc, mx_err *err)
{
    mx_autofree char *dir = mx_path_join(p->dir, "seed");
    mx_autofree char *sub = mx_path_join(dir, "mexec");
    mx_autofree char *host_key_path = mx_path_join(p->dir, "host_key");
    mx_autofree char *client_pub = read_text(p->client_pub, err);
    mx_autofree char *host_key = client_pub ? read_text(host_key_path, err) : NULL;
    mx_autofree char *host_pub = host_key ? read_text(p->host_pub, err) : NULL;
    if (!host_pub) return -1;
    if (mx_mkdir_p(sub, 0700, err) < 0) return -1;
    mx_autofree char *meta =
        mx_xasprintf("instance-id: %s\nlocal-hostname: %s\n", p->name, p->name);
    seed_files files = {0};
    if (docker_settings(hc, p->name, &files, err) < 0) {
        free_files(&files);
        return -1;
    }
    mx_autofree char *user =
        mx_vm_seed_cloud_config(client_pub, host_key, host_pub, files.v, files.n);
    if (!user) {
        free_files(&files);
        return mx_fail(err, MX_INFRA,
                       "the job's SSH keys or the guest's settings files are not text "
                       "(UTF-8)");
    }
    mx_autofree char *hostname = mx_xasprintf("%s\n", p->name);
    int rc = 0;
    if (put(dir, "meta-data", meta, 0600, err) < 0 || put(dir, "user-data", user, 0600, err) < 0 ||
        put(sub, "ssh_host_ed25519_key", host_key, 0600, err) < 0 ||
        put(sub, "ssh_host_ed25519_key.pub", host_pub, 0644, err) < 0 ||
        put(sub, "authorized_keys", client_pub, 0600, err) < 0 ||
        put(sub, "hostname", hostname, 0644, err) < 0) {
        rc = -1;
    } else {
        mx_autofree char *stage = mx_path_join(p->dir, "seed-files");
        rc = docker_files(&files, dir, stage, err);
    }
    free_files(&files);
    if (rc == 0) {
        const char *argv[] = {"genisoimage", "-quiet",  "-output", p->seed, "-volid",
                              "cidata",      "-joliet", "-rock",   dir,     NULL};
        rc = mx_proc_check(argv, NULL, NULL, err);
        if (rc == 0 && chmod(p->seed, 0600) < 0) rc = mx_fail_errno(err, MX_INFRA, "chmod seed");
    }
    /* the staging copy holds the private host key: it goes as soon as the image exists */
    mx_rm_rf(dir, NULL);
    return rc < 0 ? -1 : 0;
}
