/* The job model of the steps that keep things on the host: save_cache, restore_cache,
 * store_artifacts, store_test_results, add_ssh_keys, with the keys CircleCI documents for each
 * and errors at file:line:col. */
#include "cfg_process_int.h"
#include "cfg_job.h"
#include "cfg_suggest.h"
#include "mx_buf.h"

#include <stdlib.h>
#include <string.h>

/* A non-empty string, or a list of them (one may be written as a string). */
static int strings(const mx_node *n, const char *what, char ***out, size_t *count, mx_err *err)
{
    const mx_node *const *items = &n;
    size_t k = 1;
    if (n->kind == MX_NODE_SEQ) items = (const mx_node *const *)n->items, k = n->n;
    if (n->kind == MX_NODE_MAP || k == 0 || mx_node_is_null(n))
        return mx_node_fail(err, n, "%s must be a string or a non-empty list of strings", what);
    *out = mx_xcalloc(k, sizeof **out);
    for (size_t i = 0; i < k; i++) {
        if (items[i]->kind != MX_NODE_SCALAR || mx_node_is_null(items[i]) || !*items[i]->value)
            return mx_node_fail(err, items[i], "%s must be non-empty strings", what);
        (*out)[(*count)++] = mx_xstrdup(items[i]->value);
    }
    return 0;
}

static int required(const mx_node *map, const char *key, const char *kind, char **out, mx_err *err)
{
    if (mx_cfg_get_string(map, key, out, err) < 0) return -1;
    if (!*out || !**out) return mx_node_fail(err, map, "%s needs \"%s\"", kind, key);
    return 0;
}

static int parse_when(const mx_node *v, mx_step *st, mx_err *err)
{
    if (!v) return 0;
    static const char *const names[] = {"on_success", "on_fail", "always"};
    for (int i = 0; i < 3 && v->kind == MX_NODE_SCALAR; i++)
        if (strcmp(v->value, names[i]) == 0) return st->when = (enum mx_step_when)i, 0;
    return mx_node_fail(err, v, "when must be on_success, on_fail or always");
}

static int save_cache(const mx_node *v, mx_step *st, mx_err *err)
{
    static const char *const keys[] = {"key", "paths", "name", "when", NULL};
    if (mx_cfg_check_keys(v, "save_cache", keys, err) < 0) return -1;
    st->kind = MX_JOB_STEP_SAVE_CACHE;
    if (required(v, "key", "save_cache", &st->key, err) < 0 ||
        mx_cfg_get_string(v, "name", &st->name, err) < 0 ||
        parse_when(mx_node_get(v, "when"), st, err) < 0)
        return -1;
    const mx_node *paths = mx_node_get(v, "paths");
    if (!paths) return mx_node_fail(err, v, "save_cache needs \"paths\"");
    if (strings(paths, "save_cache paths", &st->paths, &st->npaths, err) < 0) return -1;
    if (!st->name) st->name = mx_xstrdup("Saving Cache");
    return 0;
}

static int restore_cache(const mx_node *v, mx_step *st, mx_err *err)
{
    static const char *const keys[] = {"key", "keys", "name", NULL};
    if (mx_cfg_check_keys(v, "restore_cache", keys, err) < 0) return -1;
    st->kind = MX_JOB_STEP_RESTORE_CACHE;
    if (mx_cfg_get_string(v, "name", &st->name, err) < 0) return -1;
    const mx_node *one = mx_node_get(v, "key"), *many = mx_node_get(v, "keys");
    /* CircleCI takes both and tries key: first */
    if (!one && !many) return mx_node_fail(err, v, "restore_cache needs \"key\" or \"keys\"");
    if (one && strings(one, "restore_cache key", &st->keys, &st->nkeys, err) < 0) return -1;
    if (many) {
        char **more = NULL;
        size_t n = 0;
        if (strings(many, "restore_cache keys", &more, &n, err) < 0) {
            for (size_t i = 0; i < n; i++)
                free(more[i]);
            free(more);
            return -1;
        }
        st->keys = mx_xrealloc(st->keys, (st->nkeys + n) * sizeof *st->keys);
        if (n) memcpy(st->keys + st->nkeys, more, n * sizeof *more);
        st->nkeys += n;
        free(more);
    }
    if (!st->name) st->name = mx_xstrdup("Restoring Cache");
    return 0;
}

static int store(const char *kind, const mx_node *v, mx_step *st, mx_err *err)
{
    int artifacts = strcmp(kind, "store_artifacts") == 0;
    static const char *const akeys[] = {"path", "destination", "name", NULL};
    static const char *const tkeys[] = {"path", "name", NULL};
    if (mx_cfg_check_keys(v, kind, artifacts ? akeys : tkeys, err) < 0) return -1;
    st->kind = artifacts ? MX_JOB_STEP_ARTIFACTS : MX_JOB_STEP_TEST_RESULTS;
    if (required(v, "path", kind, &st->path, err) < 0 ||
        mx_cfg_get_string(v, "name", &st->name, err) < 0 ||
        (artifacts && mx_cfg_get_string(v, "destination", &st->destination, err) < 0))
        return -1;
    /* a destination names a place among the job's artifacts: it may not leave it */
    for (const char *p = st->destination; p && *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return mx_node_fail(err, mx_node_get(v, "destination"),
                                "store_artifacts destination \"%s\" may not contain \"..\"",
                                st->destination);
        p += n + strspn(p + n, "/");
    }
    if (!st->name)
        st->name = mx_xstrdup(artifacts ? "Uploading artifacts" : "Uploading test results");
    return 0;
}

static int ssh_keys(const mx_node *v, mx_step *st, mx_err *err)
{
    st->kind = MX_JOB_STEP_SSH_KEYS;
    if (v && !mx_node_is_null(v)) {
        static const char *const keys[] = {"fingerprints", "name", NULL};
        if (v->kind != MX_NODE_MAP)
            return mx_node_fail(err, v, "add_ssh_keys takes a map (fingerprints: [...])");
        if (mx_cfg_check_keys(v, "add_ssh_keys", keys, err) < 0 ||
            mx_cfg_get_string(v, "name", &st->name, err) < 0)
            return -1;
        const mx_node *fp = mx_node_get(v, "fingerprints");
        if (fp && !mx_node_is_null(fp) &&
            strings(fp, "add_ssh_keys fingerprints", &st->keys, &st->nkeys, err) < 0)
            return -1;
    }
    if (!st->name) st->name = mx_xstrdup("Add SSH Keys");
    return 0;
}

int mx_cfg_parse_job_step(const char *kind, const mx_node *item, const mx_node *v, mx_step *st,
                          mx_err *err)
{
    int rc;
    if (strcmp(kind, "add_ssh_keys") == 0) {
        rc = ssh_keys(v, st, err);
    } else if (strcmp(kind, "save_cache") == 0 || strcmp(kind, "restore_cache") == 0 ||
               strcmp(kind, "store_artifacts") == 0 || strcmp(kind, "store_test_results") == 0) {
        if (!v || v->kind != MX_NODE_MAP)
            return mx_node_fail(err, v ? v : item, "%s takes a map", kind);
        if (kind[0] == 's' && kind[1] == 'a')
            rc = save_cache(v, st, err);
        else if (kind[0] == 'r')
            rc = restore_cache(v, st, err);
        else
            rc = store(kind, v, st, err);
    } else {
        return 0;
    }
    return rc < 0 ? -1 : 1;
}
