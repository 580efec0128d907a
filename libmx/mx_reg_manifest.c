/* Manifests and indexes: the Accept list that makes a registry answer with what it stores
 * (without the OCI types distribution 2.8 answers 404 for OCI content; with only Docker v2 it
 * down-selects a manifest list to amd64 itself), digest checks, and platform selection. */
#include "mx_reg_int.h"

#include "mx_sha256.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* containerd's limit: no real manifest or index comes near it */
#define MANIFEST_LIMIT (4 * 1024 * 1024)
#define SCHEMA1 "application/vnd.docker.distribution.manifest.v1"

static const char ACCEPT[] = MX_REG_MT_OCI_INDEX
    ", " MX_REG_MT_DOCKER_LIST ", " MX_REG_MT_OCI_MANIFEST ", " MX_REG_MT_DOCKER_MANIFEST;

static void desc_free(mx_reg_desc *d)
{
    free(d->media_type);
    free(d->digest);
    *d = (mx_reg_desc){0};
}

void mx_reg_manifest_free(mx_reg_manifest *m)
{
    free(m->media_type);
    free(m->digest);
    free(m->body);
    free(m->index_digest);
    free(m->index_media_type);
    desc_free(&m->config);
    for (size_t i = 0; i < m->nlayers; i++)
        desc_free(&m->layers[i]);
    free(m->layers);
    *m = (mx_reg_manifest){0};
}

static int is_index(const char *mt)
{
    return strcmp(mt, MX_REG_MT_OCI_INDEX) == 0 || strcmp(mt, MX_REG_MT_DOCKER_LIST) == 0;
}

static int is_image(const char *mt)
{
    return strcmp(mt, MX_REG_MT_OCI_MANIFEST) == 0 || strcmp(mt, MX_REG_MT_DOCKER_MANIFEST) == 0;
}

/* The media type: the manifest's own field when present (OCI makes it optional), else the
 * Content-Type without parameters. */
static char *media_type_of(json_t *j, const char *content_type)
{
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    if (mt) return mx_xstrdup(mt);
    if (!content_type) return NULL;
    size_t n = strcspn(content_type, "; ");
    return mx_xstrndup(content_type, n);
}

static int parse_desc(mx_reg_client *c, json_t *j, const char *where, mx_reg_desc *d, mx_err *err)
{
    const char *mt = json_string_value(json_object_get(j, "mediaType"));
    const char *dg = json_string_value(json_object_get(j, "digest"));
    json_t *sz = json_object_get(j, "size");
    if (!dg || !json_is_integer(sz) || json_integer_value(sz) < 0)
        return mx_fail(err, MX_INFRA, "registry %s: %s: descriptor without digest or size",
                       c->registry, where);
    if (!mx_reg_digest_valid(dg))
        return mx_fail(err, MX_INFRA, "registry %s: %s: unsupported digest \"%.80s\"", c->registry,
                       where, dg);
    d->media_type = mx_xstrdup(mt ? mt : "");
    d->digest = mx_xstrdup(dg);
    d->size = (long long)json_integer_value(sz);
    return 0;
}

/* GET one manifest (by tag or digest) and check it against the digest it was asked by, and
 * against Docker-Content-Digest. */
static int fetch_raw(mx_reg_client *c, const char *repo, const char *tag_or_digest,
                     const char *want_digest, mx_reg_resp *r, char digest[MX_SHA256_DIGEST_LEN],
                     mx_err *err)
{
    char *path = mx_xasprintf("/v2/%s/manifests/%s", repo, tag_or_digest);
    char *scope = mx_reg_pull_scope(repo);
    r->body_limit = MANIFEST_LIMIT;
    int rc = mx_reg_request(c, "GET", path, scope, ACCEPT, r, err);
    if (rc == 0 && r->status != 200) rc = mx_reg_http_error(c, "GET", path, r, err);
    if (rc == 0 && mx_sha256_digest(r->body.data ? r->body.data : "", r->body.len, digest, err) < 0)
        rc = -1;
    if (rc == 0 && want_digest && strcmp(digest, want_digest) != 0)
        rc = mx_fail(err, MX_INFRA, "registry %s: GET %s: digest mismatch: got %s", c->registry,
                     path, digest);
    if (rc == 0 && r->docker_digest && strncmp(r->docker_digest, "sha256:", 7) == 0 &&
        strcmp(r->docker_digest, digest) != 0)
        rc = mx_fail(err, MX_INFRA,
                     "registry %s: GET %s: Docker-Content-Digest %s but the body hashes to %s",
                     c->registry, path, r->docker_digest, digest);
    free(path);
    free(scope);
    return rc;
}

static const char *norm_arch(const char *a)
{
    if (strcmp(a, "x86_64") == 0 || strcmp(a, "x86-64") == 0) return "amd64";
    if (strcmp(a, "aarch64") == 0) return "arm64";
    return a;
}

/* arm64 images without a variant are v8; 32-bit arm ones are v7 (containerd's platforms). */
static const char *norm_variant(const char *arch, const char *v)
{
    if (v && *v) return v;
    if (strcmp(arch, "arm64") == 0) return "v8";
    if (strcmp(arch, "arm") == 0) return "v7";
    return "";
}

static int select_child(mx_reg_client *c, json_t *index, const mx_reg_platform *p, mx_reg_desc *out,
                        mx_err *err)
{
    const char *os = p && p->os ? p->os : "linux";
    const char *arch = norm_arch(p && p->arch ? p->arch : "amd64");
    const char *want_v = p && p->variant ? norm_variant(arch, p->variant) : NULL;
    json_t *list = json_object_get(index, "manifests");
    if (!json_is_array(list))
        return mx_fail(err, MX_INFRA, "registry %s: index has no manifests array", c->registry);
    size_t i;
    json_t *m;
    json_array_foreach(list, i, m)
    {
        json_t *pl = json_object_get(m, "platform");
        const char *mos = json_string_value(json_object_get(pl, "os"));
        const char *march = json_string_value(json_object_get(pl, "architecture"));
        if (!mos || !march || strcmp(mos, os) != 0 || strcmp(norm_arch(march), arch) != 0) continue;
        const char *mv = norm_variant(arch, json_string_value(json_object_get(pl, "variant")));
        if (want_v && strcmp(mv, want_v) != 0) continue;
        return parse_desc(c, m, "index entry", out, err);
    }
    return mx_fail(err, MX_USAGE, "registry %s: no manifest for platform %s/%s%s%s in the index",
                   c->registry, os, arch, want_v ? "/" : "", want_v ? want_v : "");
}

static int parse_image(mx_reg_client *c, json_t *j, mx_reg_manifest *m, mx_err *err)
{
    if (parse_desc(c, json_object_get(j, "config"), "manifest config", &m->config, err) < 0)
        return -1;
    json_t *layers = json_object_get(j, "layers");
    if (!json_is_array(layers))
        return mx_fail(err, MX_INFRA, "registry %s: manifest has no layers array", c->registry);
    size_t n = json_array_size(layers);
    m->layers = mx_xcalloc(n ? n : 1, sizeof *m->layers);
    for (size_t i = 0; i < n; i++) {
        if (parse_desc(c, json_array_get(layers, i), "manifest layer", &m->layers[i], err) < 0)
            return -1;
        m->nlayers++;
    }
    return 0;
}

int mx_reg_get_manifest(mx_reg_client *c, const mx_reg_ref *ref, const mx_reg_platform *platform,
                        mx_reg_manifest *out, mx_err *err)
{
    *out = (mx_reg_manifest){0};
    mx_reg_resp r;
    mx_reg_resp_init(&r);
    char digest[MX_SHA256_DIGEST_LEN];
    json_t *j = NULL;
    mx_reg_desc child = {0};
    int rc = -1;
    const char *what = ref->digest ? ref->digest : ref->tag;
    /* at most two rounds: the reference, then the platform's child of an index */
    for (int round = 0; round < 2; round++) {
        if (fetch_raw(c, ref->path, what, round ? child.digest : ref->digest, &r, digest, err) < 0)
            goto out;
        json_error_t je;
        json_decref(j);
        j = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &je);
        if (!j || !json_is_object(j)) {
            mx_fail(err, MX_INFRA, "registry %s: manifest %s is not a JSON object", c->registry,
                    what);
            goto out;
        }
        char *mt = media_type_of(j, r.content_type);
        if (!mt || (!is_index(mt) && !is_image(mt))) {
            mx_fail(err, MX_USAGE, "registry %s: manifest %s has unsupported media type %s%s",
                    c->registry, what, mt ? mt : "(none)",
                    mt && strncmp(mt, SCHEMA1, strlen(SCHEMA1)) == 0
                        ? " (schema 1 is deprecated and not supported)"
                        : "");
            free(mt);
            goto out;
        }
        if (is_index(mt)) {
            if (round) {
                mx_fail(err, MX_INFRA, "registry %s: index %s points to another index", c->registry,
                        what);
                free(mt);
                goto out;
            }
            out->index_digest = mx_xstrdup(digest);
            out->index_media_type = mt;
            if (select_child(c, j, platform, &child, err) < 0) goto out;
            what = child.digest;
            continue;
        }
        out->media_type = mt;
        out->digest = mx_xstrdup(digest);
        out->body_len = r.body.len;
        out->body = mx_buf_steal(&r.body);
        if (parse_image(c, j, out, err) < 0) goto out;
        rc = 0;
        break;
    }
out:
    if (rc < 0) {
        mx_wrap(err, "manifest of %s/%s", ref->domain, ref->path);
        mx_reg_manifest_free(out);
    }
    json_decref(j);
    desc_free(&child);
    mx_reg_resp_free(&r);
    return rc;
}
