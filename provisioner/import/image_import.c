/* mexec image import: the steps of image_import.h in order, in a locked work directory under
 * IMAGE_STORE/imported/.work/ that either becomes the image (one rename) or is removed; after a
 * SIGKILL `mexec gc` removes it (its lock is free). */
#include "image_import.h"
#include "mx_cleanup.h"
#include "mx_fs.h"
#include "mx_sha256.h"
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int sha256_file(const char *path, char out[65], mx_err *err)
{
    mx_autoclose int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mx_fail_errno(err, MX_INFRA, "open %s", path);
    mx_sha256 h;
    if (mx_sha256_init(&h, err) < 0) return -1;
    mx_autofree char *buf = mx_xmalloc(1 << 20);
    ssize_t n;
    while ((n = read(fd, buf, 1 << 20)) > 0)
        mx_sha256_update(&h, buf, (size_t)n);
    if (n < 0) {
        mx_sha256_free(&h);
        return mx_fail_errno(err, MX_INFRA, "read %s", path);
    }
    char d[MX_SHA256_DIGEST_LEN];
    if (mx_sha256_final(&h, d, err) < 0) return -1;
    snprintf(out, 65, "%s", d + strlen("sha256:"));
    return 0;
}

/* probe.sh's KEY=VALUE lines as JSON: os fields, and the list of what the image had. */
static json_t *facts_json(const mx_buf *facts, json_t **found)
{
    json_t *os = json_object();
    *found = json_array();
    if (!os || !*found) mx_oom();
    static const char *const keys[] = {"id", "version_id", "codename", "pretty_name", "arch"};
    for (const char *l = facts->data; l && *l;) {
        const char *nl = strchr(l, '\n');
        size_t n = nl ? (size_t)(nl - l) : strlen(l);
        mx_autofree char *line = mx_xstrndup(l, n > 200 ? 200 : n);
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = '\0';
            /* jansson refuses invalid UTF-8: such a value is left out */
            json_t *v = json_string(eq + 1);
            if (v && strcmp(line, "have") == 0) json_array_append(*found, v);
            for (size_t i = 0; v && i < sizeof keys / sizeof *keys; i++)
                if (strcmp(line, keys[i]) == 0) json_object_set(os, keys[i], v);
            json_decref(v);
        }
        l = nl ? nl + 1 : NULL;
    }
    return os;
}

static int write_manifest(const char *work, const mx_import_opts *o, const mx_import_file *f,
                          const mx_import_report *rep, mx_err *err)
{
    mx_autofree char *base = mx_path_join(work, "base.qcow2");
    char base_sha[65];
    if (sha256_file(base, base_sha, err) < 0) return -1;
    struct stat st;
    if (stat(base, &st) < 0) return mx_fail_errno(err, MX_INFRA, "stat %s", base);
    char date[32];
    time_t now = time(NULL);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    char absfile[4096];
    const char *file = realpath(o->file, absfile) ? absfile : o->file;
    json_t *found = NULL;
    json_t *os = facts_json(&rep->facts, &found);
    json_t *installed = json_array();
    for (size_t i = 0; installed && i < rep->ninstalled; i++)
        json_array_append_new(installed, json_string(rep->installed[i]));
    mx_autojson json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s, s:b, s:s, s:I, s:I}, s:o, s:{s:s, s:f, s:o, s:o, s:I}, "
        "s:{s:s, s:I}}",
        "ref", o->ref, "kind", "imported", "firmware", "bios", "source", "file", file, "sha256",
        f->sha256, "sha256_checked", o->sha256 != NULL, "format", f->format, "size",
        (json_int_t)f->size, "virtual_size", (json_int_t)f->vsize, "os", os, "import", "date", date,
        "first_boot_s", rep->boot_s, "found", found, "installed", installed, "virtual_size",
        (json_int_t)(o->disk_bytes > f->vsize ? o->disk_bytes : f->vsize), "base", "sha256",
        base_sha, "size", (json_int_t)st.st_size);
    if (!doc) return mx_fail(err, MX_INFRA, "encode the manifest");
    mx_autofree char *path = mx_path_join(work, "manifest.json");
    char *text = json_dumps(doc, JSON_INDENT(2));
    if (!text) return mx_fail(err, MX_INFRA, "encode the manifest");
    int rc = mx_write_file(path, text, strlen(text), 0644, err);
    free(text);
    return rc;
}

/* The work directory, with an exclusive lock held while we live (mexec gc's orphan test). */
static char *make_work(const mx_host_config *hc, int *lock_fd, mx_err *err)
{
    mx_autofree char *root = mx_imported_work_root(hc);
    if (mx_mkdir_p(root, 0700, err) < 0) return NULL;
    char *work = mx_path_join(root, "XXXXXX");
    if (!mkdtemp(work)) {
        mx_fail_errno(err, MX_INFRA, "create %s", work);
        free(work);
        return NULL;
    }
    mx_autofree char *lock = mx_path_join(work, "lock");
    *lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX | LOCK_NB) < 0) {
        mx_fail_errno(err, MX_INFRA, "lock %s", lock);
        mx_rm_rf(work, NULL);
        free(work);
        return NULL;
    }
    return work;
}

/* Moves the finished work directory to IMAGE_STORE/imported/NAME/TAG in one rename. */
static int publish(const mx_host_config *hc, const char *work, const char *name, const char *tag,
                   const char *ref, mx_err *err)
{
    static const char *const scratch[] = {"lock",    "facts",     "status",
                                          "keyring", "debs.list", "converted.qcow2"};
    for (size_t i = 0; i < sizeof scratch / sizeof *scratch; i++) {
        mx_autofree char *p = mx_path_join(work, scratch[i]);
        if (unlink(p) < 0 && errno != ENOENT) return mx_fail_errno(err, MX_INFRA, "remove %s", p);
    }
    mx_autofree char *root = mx_imported_root(hc);
    mx_autofree char *ndir = mx_path_join(root, name);
    mx_autofree char *dest = mx_path_join(ndir, tag);
    if (mx_mkdir_p(ndir, 0755, err) < 0) return -1;
    /* readable like the recipe builds beside it (mexec runs with umask 077) */
    if (chmod(root, 0755) < 0 || chmod(ndir, 0755) < 0 || chmod(work, 0755) < 0)
        return mx_fail_errno(err, MX_INFRA, "chmod %s", work);
    /* rename() onto an existing non-empty directory fails: two imports of one reference
     * cannot both win */
    if (rename(work, dest) < 0) {
        if (errno == EEXIST || errno == ENOTEMPTY)
            return mx_fail(err, MX_USAGE, "%s was imported meanwhile by another run", ref);
        return mx_fail_errno(err, MX_INFRA, "move the image to %s", dest);
    }
    return 0;
}

static int run_steps(const mx_host_config *hc, const mx_import_opts *o, const char *work,
                     const char *name, const char *tag, volatile sig_atomic_t *stop, mx_err *err)
{
    const mx_import_limits *lim = &mx_import_default_limits;
    mx_autofree char *source = mx_path_join(work, "source");
    mx_autofree char *converted = mx_path_join(work, "converted.qcow2");
    mx_autofree char *base = mx_path_join(work, "base.qcow2");
    mx_import_file f;
    mx_sink_note("import: "
                 "copying %s%s",
                 o->file, o->sha256 ? " and checking its sha256" : "");
    if (mx_import_copy_verified(o->file, source, o->sha256, lim, stop, &f, err) < 0) return -1;
    mx_sink_note("import: "
                 "sha256 %s%s",
                 f.sha256, o->sha256 ? " (as given)" : " (not checked: no --sha256)");
    if (mx_import_probe(source, lim, &f, err) < 0) return mx_wrap(err, "%s", o->file);
    mx_sink_note("import: "
                 "%s image, %.1f GiB disk; converting it into a standalone qcow2",
                 f.format, (double)f.vsize / (1024.0 * 1024 * 1024));
    if (mx_import_convert(source, &f, converted, o->disk_bytes, lim, stop, err) < 0) return -1;
    unlink(source);
    if (mx_import_check_bootable(converted, work, err) < 0) return mx_wrap(err, "%s", o->file);
    mx_import_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = mx_import_guest(hc, o->ref, converted, work, base, o->fetch_only, &rep, stop, err);
    if (rc == 0 && o->fetch_only) {
        mx_autofree char *cache = mx_import_deb_cache(hc);
        mx_sink_note("import: "
                     "--fetch-only: the packages this image needs are in %s; nothing imported",
                     cache);
    } else if (rc == 0) {
        mx_sink_note("import: "
                     "%zu packages installed; writing the manifest",
                     rep.ninstalled);
        rc = write_manifest(work, o, &f, &rep, err);
        if (rc == 0) rc = publish(hc, work, name, tag, o->ref, err);
    }
    mx_import_report_free(&rep);
    return rc;
}

int mx_image_import(const mx_host_config *hc, const mx_catalog *cat, const mx_import_opts *o,
                    volatile sig_atomic_t *stop, mx_err *err)
{
    mx_autofree char *name = NULL, *tag = NULL;
    if (mx_imported_parse_ref(o->ref, &name, &tag, err) < 0) return -1;
    if (cat->images && mx_node_get(cat->images, o->ref))
        return mx_fail(err, MX_USAGE,
                       "%s is an image of the catalog %s (built from a recipe); import it under "
                       "another name or tag",
                       o->ref, cat->path);
    mx_image existing;
    int have = mx_imported_resolve(hc, o->ref, &existing, err);
    if (have > 0) mx_image_free(&existing);
    if (have != 0 && !o->fetch_only)
        return have < 0 ? -1
                        : mx_fail(err, MX_USAGE,
                                  "%s is imported already; mexec image rm %s first to replace it",
                                  o->ref, o->ref);
    int lock_fd = -1;
    mx_autofree char *work = make_work(hc, &lock_fd, err);
    if (!work) return -1;
    long long t0 = time(NULL);
    int rc = run_steps(hc, o, work, name, tag, stop, err);
    /* published (renamed away) on success; a failure or --fetch-only leaves nothing */
    if (rc < 0 || o->fetch_only) mx_rm_rf(work, NULL);
    close(lock_fd);
    if (rc == 0 && !o->fetch_only)
        mx_sink_note("import: "
                     "%s imported in %lld s",
                     o->ref, (long long)time(NULL) - t0);
    return rc;
}
