#include "cache_key.h"
#include "mx_buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One action between "{{" and "}}", trimmed: its text and where it ends. */
typedef struct action {
    const char *s;
    size_t len;
} action;

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Finds the next action at or after *p; copies the literal text before it to out (if any).
 * Returns 1 with *a set and *p past the action, 0 at the end, -1 on an unclosed "{{". */
static int next_action(const char **p, mx_buf *out, action *a, mx_err *err)
{
    const char *open = strstr(*p, "{{");
    if (!open) {
        if (out) mx_buf_adds(out, *p);
        *p += strlen(*p);
        return 0;
    }
    if (out) mx_buf_add(out, *p, (size_t)(open - *p));
    const char *close = strstr(open + 2, "}}");
    if (!close) return mx_fail(err, MX_USAGE, "cache key \"%s\": \"{{\" without \"}}\"", open);
    const char *s = open + 2, *e = close;
    /* Go's trim markers "{{- " and " -}}" */
    if (*s == '-' && is_space(s[1])) s++;
    if (e - s >= 2 && e[-1] == '-' && is_space(e[-2])) e--;
    while (s < e && is_space(*s))
        s++;
    while (e > s && is_space(e[-1]))
        e--;
    a->s = s;
    a->len = (size_t)(e - s);
    *p = close + 2;
    return 1;
}

static int is_word(const action *a, const char *w)
{
    return a->len == strlen(w) && strncmp(a->s, w, a->len) == 0;
}

/* checksum "FILE": the file name (caller frees), or NULL if a is not a checksum action;
 * -1-like failure is reported through *bad. */
static char *checksum_arg(const action *a, int *bad)
{
    *bad = 0;
    if (a->len < 8 || strncmp(a->s, "checksum", 8) != 0 || !is_space(a->s[8])) return NULL;
    const char *q = a->s + 8, *end = a->s + a->len;
    while (q < end && is_space(*q))
        q++;
    /* a Go string: "..." (backslash escapes of quote and backslash) or `...` */
    if (q >= end || (*q != '"' && *q != '`') || end[-1] != *q || end - q < 2) {
        *bad = 1;
        return NULL;
    }
    mx_buf b;
    mx_buf_init(&b);
    for (const char *c = q + 1; c < end - 1; c++) {
        if (*q == '"' && *c == '\\' && c + 1 < end - 1) c++;
        mx_buf_add(&b, c, 1);
    }
    if (b.len == 0) {
        mx_buf_free(&b);
        *bad = 1;
        return NULL;
    }
    mx_buf_adds(&b, "");
    return mx_buf_steal(&b);
}

static int unknown(const char *tmpl, const action *a, mx_err *err)
{
    return mx_fail(err, MX_USAGE,
                   "cache key \"%s\": unknown template action \"{{ %.*s }}\" (known: .Branch, "
                   ".Revision, .Environment.NAME, .BuildNum, checksum \"FILE\", epoch, arch)",
                   tmpl, (int)a->len, a->s);
}

int mx_cache_key_needs(const char *tmpl, char ***files, size_t *nfiles, int *arch, mx_err *err)
{
    const char *p = tmpl;
    action a = {0};
    int r;
    while ((r = next_action(&p, NULL, &a, err)) > 0) {
        int bad;
        char *file = checksum_arg(&a, &bad);
        if (bad) return unknown(tmpl, &a, err);
        if (file) {
            int seen = 0;
            for (size_t i = 0; i < *nfiles && !seen; i++)
                seen = strcmp((*files)[i], file) == 0;
            if (seen) {
                free(file);
            } else {
                *files = mx_xrealloc(*files, (*nfiles + 1) * sizeof **files);
                (*files)[(*nfiles)++] = file;
            }
        } else if (is_word(&a, "arch")) {
            *arch = 1;
        } else if (!is_word(&a, ".Branch") && !is_word(&a, ".Revision") && !is_word(&a, "epoch") &&
                   !is_word(&a, ".BuildNum") &&
                   !(a.len > 13 && strncmp(a.s, ".Environment.", 13) == 0)) {
            return unknown(tmpl, &a, err);
        }
    }
    return r;
}

static int add_checksum(mx_buf *out, const mx_key_facts *f, const char *file, const char *tmpl,
                        mx_err *err)
{
    for (size_t i = 0; i < f->nfiles; i++) {
        if (strcmp(f->files[i], file) != 0) continue;
        if (f->sums[i]) {
            mx_buf_adds(out, f->sums[i]);
            return 0;
        }
        return mx_fail(err, MX_JOB_FAILED, "cache key \"%s\": checksum \"%s\": %s", tmpl, file,
                       f->sum_errors && f->sum_errors[i] ? f->sum_errors[i] : "not computed");
    }
    return mx_fail(err, MX_JOB_FAILED, "cache key \"%s\": checksum \"%s\": not computed", tmpl,
                   file);
}

static int render_action(mx_buf *out, const action *a, const mx_key_facts *f, const char *tmpl,
                         mx_err *err)
{
    int bad;
    char *file = checksum_arg(a, &bad);
    if (bad) return unknown(tmpl, a, err);
    if (file) {
        int rc = add_checksum(out, f, file, tmpl, err);
        free(file);
        return rc;
    }
    if (is_word(a, ".Branch")) {
        mx_buf_adds(out, f->branch ? f->branch : "");
    } else if (is_word(a, ".Revision")) {
        mx_buf_adds(out, f->revision ? f->revision : "");
    } else if (is_word(a, "epoch")) {
        mx_buf_printf(out, "%lld", f->epoch);
    } else if (is_word(a, "arch")) {
        if (!f->arch) return mx_fail(err, MX_JOB_FAILED, "cache key \"%s\": arch unknown", tmpl);
        mx_buf_adds(out, f->arch);
    } else if (is_word(a, ".BuildNum")) {
        const char *v = f->env ? mx_envlist_get(f->env, "CIRCLE_BUILD_NUM") : NULL;
        mx_buf_adds(out, v ? v : "<no value>");
    } else if (a->len > 13 && strncmp(a->s, ".Environment.", 13) == 0) {
        char *name = mx_xstrndup(a->s + 13, a->len - 13);
        const char *v = f->env ? mx_envlist_get(f->env, name) : NULL;
        free(name);
        mx_buf_adds(out, v ? v : "<no value>"); /* what Go's template prints for a missing key */
    } else {
        return unknown(tmpl, a, err);
    }
    return 0;
}

int mx_cache_key_render(const char *tmpl, const mx_key_facts *f, char **out, mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    const char *p = tmpl;
    action a = {0};
    int r;
    while ((r = next_action(&p, &b, &a, err)) > 0)
        if (render_action(&b, &a, f, tmpl, err) < 0) {
            r = -1;
            break;
        }
    if (r == 0 && b.len > MX_CACHE_KEY_MAX)
        r = mx_fail(err, MX_JOB_FAILED, "cache key \"%s\" renders to %zu bytes (at most %d)", tmpl,
                    b.len, MX_CACHE_KEY_MAX);
    if (r == 0 && b.len == 0)
        r = mx_fail(err, MX_JOB_FAILED, "cache key \"%s\" renders to nothing", tmpl);
    if (r < 0) {
        mx_buf_free(&b);
        return -1;
    }
    *out = mx_buf_steal(&b);
    return 0;
}
