#include "catalog.h"
#include "image_tag.h"
#include "image_import_store.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <dirent.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mx_catalog_load(const char *images_dir, mx_catalog *cat, mx_err *err)
{
    memset(cat, 0, sizeof *cat);
    cat->path = mx_path_join(images_dir, "catalog.yaml");
    if (mx_yaml_load_file(cat->path, &cat->root, err) < 0) return mx_wrap(err, "image catalog");
    const mx_node *images = mx_node_get(cat->root, "images");
    if (!images || images->kind != MX_NODE_MAP)
        return mx_node_fail(err, images ? images : cat->root, "catalog needs an images: map");
    for (size_t i = 0; i < images->n; i++) {
        const mx_node *k = images->keys[i], *v = images->vals[i];
        if (!strchr(k->value, ':'))
            return mx_node_fail(err, k, "catalog entries are NAME:TAG, not \"%s\"", k->value);
        const mx_node *r = mx_node_get(v, "recipe");
        if (!r || r->kind != MX_NODE_SCALAR || strchr(r->value, '/') || r->value[0] == '.')
            return mx_node_fail(err, v, "catalog entry %s needs recipe: DIRECTORY-NAME", k->value);
    }
    cat->images = images;
    const mx_node *d = mx_node_get(cat->root, "default");
    if (d && d->kind == MX_NODE_SCALAR) cat->default_ref = mx_xstrdup(d->value);
    return 0;
}

void mx_catalog_free(mx_catalog *cat)
{
    free(cat->path);
    free(cat->default_ref);
    mx_node_free(cat->root);
    memset(cat, 0, sizeof *cat);
}

char *mx_catalog_refs(const mx_catalog *cat)
{
    mx_buf b;
    mx_buf_init(&b);
    for (size_t i = 0; cat->images && i < cat->images->n; i++)
        mx_buf_printf(&b, "%s%s", i ? ", " : "", cat->images->keys[i]->value);
    return mx_buf_steal(&b);
}

typedef struct pathlist {
    char **v;
    size_t n;
} pathlist;

static int collect(const char *root, const char *rel, pathlist *out, mx_err *err)
{
    mx_autofree char *dir = rel[0] ? mx_path_join(root, rel) : mx_xstrdup(root);
    DIR *d = opendir(dir);
    if (!d) return mx_fail_errno(err, MX_INFRA, "read directory %s", dir);
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        mx_autofree char *r = rel[0] ? mx_path_join(rel, e->d_name) : mx_xstrdup(e->d_name);
        mx_autofree char *full = mx_path_join(root, r);
        struct stat st;
        if (lstat(full, &st) < 0) {
            rc = mx_fail_errno(err, MX_INFRA, "stat %s", full);
        } else if (S_ISDIR(st.st_mode)) {
            rc = collect(root, r, out, err);
        } else if (S_ISREG(st.st_mode)) {
            out->v = mx_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = mx_steal(&r);
        }
    }
    closedir(d);
    return rc;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mx_hash_dirs(const char *const dirs[], size_t ndirs, char out[65], mx_err *err)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return mx_fail(err, MX_INFRA, "cannot initialize SHA-256");
    }
    int rc = 0;
    for (size_t d = 0; d < ndirs && rc == 0; d++) {
        pathlist pl = {0};
        rc = collect(dirs[d], "", &pl, err);
        if (rc == 0 && pl.n) qsort(pl.v, pl.n, sizeof *pl.v, cmp_str);
        for (size_t i = 0; i < pl.n; i++) {
            if (rc == 0) {
                mx_buf content;
                mx_buf_init(&content);
                mx_autofree char *full = mx_path_join(dirs[d], pl.v[i]);
                rc = mx_read_file(full, &content, err);
                /* name, length, contents: no two different trees feed the same bytes */
                char len[32];
                int ll = snprintf(len, sizeof len, "%zu", content.len) + 1;
                if (rc == 0 && (EVP_DigestUpdate(ctx, pl.v[i], strlen(pl.v[i]) + 1) != 1 ||
                                EVP_DigestUpdate(ctx, len, (size_t)ll) != 1 ||
                                EVP_DigestUpdate(ctx, content.data, content.len) != 1))
                    rc = mx_fail(err, MX_INFRA, "SHA-256 update failed");
                mx_buf_free(&content);
            }
            free(pl.v[i]);
        }
        free(pl.v);
    }
    unsigned char md[32];
    unsigned int mdlen = 0;
    if (rc == 0 && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        rc = mx_fail(err, MX_INFRA, "SHA-256 final failed");
    EVP_MD_CTX_free(ctx);
    if (rc == 0)
        for (unsigned i = 0; i < 32; i++)
            snprintf(out + 2 * i, 3, "%02x", md[i]);
    return rc;
}

static char *read_trimmed(const char *path)
{
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file(path, &b, NULL) < 0) return NULL;
    while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
        b.data[--b.len] = '\0';
    return mx_buf_steal(&b);
}

/* base.qcow2's sha256 from the build's manifest.json (the recipe writes it), or NULL. */
static char *manifest_sha256(const char *manifest)
{
    mx_autojson json_t *m = json_load_file(manifest, 0, NULL);
    const char *h = json_string_value(
        json_object_get(json_object_get(json_object_get(m, "artifacts"), "base.qcow2"), "sha256"));
    return h ? mx_xstrdup(h) : NULL;
}

void mx_image_refresh(mx_image *img)
{
    free(img->cmdline);
    free(img->sha256);
    img->cmdline = img->sha256 = NULL;
    mx_autofree char *cmdline_path = mx_path_join(img->dir, "cmdline");
    img->built = mx_path_exists(img->base) && mx_path_exists(img->kernel) &&
                 mx_path_exists(img->initrd) && mx_path_exists(cmdline_path);
    if (img->built) img->cmdline = read_trimmed(cmdline_path);
    if (img->built && !img->cmdline) img->built = 0;
    if (img->built) img->sha256 = manifest_sha256(img->manifest);
}

/* An unknown ref: for a dated tag of an image the catalog has, the dated tags it knows. */
static int unknown_ref(const mx_catalog *cat, const char *ref, mx_err *err)
{
    const char *colon = strrchr(ref, ':');
    const char *tag = colon ? colon + 1 : "";
    size_t name_len = colon ? (size_t)(colon - ref) : strlen(ref);
    mx_buf known;
    mx_buf_init(&known);
    for (size_t i = 0; mx_tag_kind_of(tag) == MX_TAG_DATED && i < cat->images->n; i++) {
        const char *k = cat->images->keys[i]->value;
        if (mx_ref_has_name(k, ref, name_len) && mx_tag_kind_of(mx_ref_tag(k)) == MX_TAG_DATED)
            mx_buf_printf(&known, "%s%s", known.len ? ", " : "", mx_ref_tag(k));
    }
    if (known.len) {
        mx_fail(err, MX_USAGE,
                "machine image %s: %s is not a dated tag the catalog %s knows for %.*s (known: "
                "%s; or current, edge)",
                ref, tag, cat->path, (int)name_len, ref, known.data);
    } else {
        mx_autofree char *refs = mx_catalog_refs(cat);
        mx_fail(err, MX_USAGE, "machine image \"%s\" is not in the catalog %s (available: %s)", ref,
                cat->path, refs);
    }
    mx_buf_free(&known);
    return -1;
}

/* A dated tag: the build its record names, if it has been frozen. */
static int resolve_frozen(const mx_host_config *hc, mx_image *img, mx_err *err)
{
    img->dated = 1;
    img->tag_record = mx_tag_record_path(hc->image_store, img->recipe, mx_ref_tag(img->ref));
    char hash[65];
    int r = mx_tag_record_read(img->tag_record, hash, err);
    if (r < 0) return mx_wrap(err, "machine image %s", img->ref);
    if (r > 0) {
        free(img->recipe_hash);
        img->recipe_hash = mx_xstrdup(hash);
        img->frozen = 1;
    }
    return 0;
}

int mx_catalog_resolve(const mx_catalog *cat, const mx_host_config *hc, const char *ref,
                       mx_image *img, mx_err *err)
{
    memset(img, 0, sizeof *img);
    if (!ref) ref = hc->default_image ? hc->default_image : cat->default_ref;
    if (!ref)
        return mx_fail(err, MX_USAGE, "no default machine image (set default: in %s)", cat->path);
    const mx_node *e = mx_node_get(cat->images, ref);
    if (!e) {
        /* the catalog's references come first: import refuses to take one of them */
        int imported = mx_imported_resolve(hc, ref, img, err);
        if (imported != 0) return imported < 0 ? -1 : 0;
        return unknown_ref(cat, ref, err);
    }
    img->ref = mx_xstrdup(ref);
    img->recipe = mx_xstrdup(mx_node_get(e, "recipe")->value);
    const mx_node *pin = mx_node_get(e, "sha256");
    if (pin && pin->kind == MX_NODE_SCALAR) img->pin = mx_xstrdup(pin->value);
    mx_autofree char *images_dir = mx_dirname(cat->path);
    img->recipe_dir = mx_path_join(images_dir, img->recipe);
    mx_autofree char *common = mx_path_join(images_dir, "common");
    const char *dirs[2] = {img->recipe_dir, common};
    char hash[65];
    if (!mx_path_exists(img->recipe_dir))
        return mx_fail(err, MX_USAGE, "recipe %s for %s does not exist", img->recipe_dir, ref);
    if (mx_hash_dirs(dirs, mx_path_exists(common) ? 2 : 1, hash, err) < 0)
        return mx_wrap(err, "hash recipe %s", img->recipe);
    img->recipe_hash = mx_xstrdup(hash);
    if (mx_tag_kind_of(mx_ref_tag(ref)) == MX_TAG_DATED && resolve_frozen(hc, img, err) < 0)
        return -1;
    mx_autofree char *store = mx_path_join(hc->image_store, img->recipe);
    img->dir = mx_path_join(store, img->recipe_hash);
    img->base = mx_path_join(img->dir, "base.qcow2");
    img->kernel = mx_path_join(img->dir, "vmlinux");
    img->initrd = mx_path_join(img->dir, "initrd.img");
    img->manifest = mx_path_join(img->dir, "manifest.json");
    mx_image_refresh(img);
    return 0;
}

int mx_catalog_resolve_built(const mx_catalog *cat, const mx_host_config *hc, const char *ref,
                             mx_image *img, mx_err *err)
{
    if (mx_catalog_resolve(cat, hc, ref, img, err) < 0) return -1;
    return mx_image_require_built(img, err);
}

int mx_image_require_built(const mx_image *img, mx_err *err)
{
    if (!img->built && img->frozen)
        return mx_fail(err, MX_INFRA,
                       "machine image %s is frozen to the build %s, which is no longer in the "
                       "store; today's recipe would make a different image: remove %s to "
                       "freeze a new build",
                       img->ref, img->dir, img->tag_record);
    if (!img->built)
        return mx_fail(err, MX_INFRA,
                       "machine image %s is not built yet (recipe %s, hash %.12s); run: mexec "
                       "image build %s",
                       img->ref, img->recipe, img->recipe_hash, img->ref);
    if (img->pin && (!img->sha256 || strcmp(img->pin, img->sha256) != 0))
        return mx_fail(err, MX_INFRA,
                       "machine image %s: the catalog pins base.qcow2 sha256 %s, the build in %s "
                       "has %s",
                       img->ref, img->pin, img->dir, img->sha256 ? img->sha256 : "none recorded");
    return 0;
}
