#include "image_tag.h"
#include "mx_buf.h"
#include "mx_cleanup.h"
#include "mx_fs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int month_ok(const char *mm)
{
    int m = (mm[0] - '0') * 10 + (mm[1] - '0');
    return m >= 1 && m <= 12;
}

mx_tag_kind mx_tag_kind_of(const char *tag)
{
    if (strcmp(tag, "current") == 0) return MX_TAG_CURRENT;
    if (strcmp(tag, "edge") == 0) return MX_TAG_EDGE;
    size_t n = strlen(tag);
    /* YYYY.MM.N (2022.04.1): a release number of one or two digits, from 1 */
    if (n >= 9 && n <= 10 && digits(tag, 4) && tag[4] == '.' && digits(tag + 5, 2) &&
        month_ok(tag + 5) && tag[7] == '.' && digits(tag + 8, n - 8) && tag[8] != '0')
        return MX_TAG_DATED;
    /* YYYYMM-NN (202201-02) */
    if (n == 9 && digits(tag, 6) && month_ok(tag + 4) && tag[6] == '-' && digits(tag + 7, 2))
        return MX_TAG_DATED;
    return MX_TAG_OTHER;
}

const char *mx_ref_tag(const char *ref)
{
    const char *c = strrchr(ref, ':');
    return c ? c + 1 : "";
}

int mx_ref_has_name(const char *ref, const char *name, size_t name_len)
{
    const char *c = strrchr(ref, ':');
    return c && (size_t)(c - ref) == name_len && strncmp(ref, name, name_len) == 0;
}

char *mx_tag_record_path(const char *image_store, const char *recipe, const char *tag)
{
    return mx_xasprintf("%s/%s/tags/%s.json", image_store, recipe, tag);
}

static int is_hash(const char *s)
{
    return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

int mx_tag_record_read(const char *path, char hash[65], mx_err *err)
{
    if (!mx_path_exists(path)) return 0;
    json_error_t je;
    mx_autojson json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return mx_fail(err, MX_INFRA, "frozen tag record %s:%d:%d: %s", path, je.line, je.column,
                       je.text);
    const char *b = json_string_value(json_object_get(doc, "build"));
    if (!is_hash(b))
        return mx_fail(err, MX_INFRA,
                       "frozen tag record %s has no \"build\" (the recipe hash of the build)",
                       path);
    memcpy(hash, b, 65);
    return 1;
}

static json_t *record_json(const char *ref, const char *recipe, const char *recipe_hash,
                           const char *manifest, mx_err *err)
{
    json_error_t je;
    mx_autojson json_t *m = json_load_file(manifest, 0, &je);
    json_t *arts = m ? json_object_get(m, "artifacts") : NULL;
    if (!json_is_object(arts)) {
        mx_fail(err, MX_INFRA, "manifest %s has no \"artifacts\"%s%s", manifest, m ? "" : ": ",
                m ? "" : je.text);
        return NULL;
    }
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    json_t *r = json_pack("{s:s, s:s, s:s, s:s, s:O}", "ref", ref, "recipe", recipe, "build",
                          recipe_hash, "frozen_at", when, "artifacts", arts);
    if (!r) mx_fail(err, MX_INFRA, "cannot build the frozen tag record for %s", ref);
    return r;
}

int mx_tag_record_create(const char *path, const char *ref, const char *recipe,
                         const char *recipe_hash, const char *manifest, int *existing, mx_err *err)
{
    *existing = 0;
    mx_autojson json_t *rec = record_json(ref, recipe, recipe_hash, manifest, err);
    if (!rec) return -1;
    mx_autofree char *json = json_dumps(rec, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!json) return mx_fail(err, MX_INFRA, "cannot encode %s", path);
    mx_autofree char *text = mx_xasprintf("%s\n", json);
    mx_autofree char *dir = mx_dirname(path);
    mx_autofree char *tmp = mx_xasprintf("%s.%ld.tmp", path, (long)getpid());
    if (mx_mkdir_p(dir, 0755, err) < 0 || mx_write_file(tmp, text, strlen(text), 0644, err) < 0)
        return -1;
    /* link(2) fails if the record exists: the first build to freeze a tag wins, whole */
    if (link(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        if (e == EEXIST) {
            *existing = 1;
            return 0;
        }
        errno = e;
        return mx_fail_errno(err, MX_INFRA, "create %s", path);
    }
    unlink(tmp);
    return 0;
}
