#include "agent_split.h"
#include "mx_buf.h"

#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

typedef struct order {
    const mx_split_item *items;
    const double *w;
} order;

static order sort_ctx; /* qsort has no context argument; the split is single-threaded */

static int heaviest_first(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    if (sort_ctx.w[i] != sort_ctx.w[j]) return sort_ctx.w[i] > sort_ctx.w[j] ? -1 : 1;
    return strcmp(sort_ctx.items[i].name, sort_ctx.items[j].name);
}

void mx_split_assign(const mx_split_item *items, size_t n, int total, int *node)
{
    if (total < 1) total = 1;
    double known = 0;
    size_t nknown = 0;
    for (size_t i = 0; i < n; i++)
        if (items[i].weight >= 0) known += items[i].weight, nknown++;
    double fill = nknown ? known / (double)nknown : 1;
    double *w = mx_xcalloc(n ? n : 1, sizeof *w);
    size_t *idx = mx_xcalloc(n ? n : 1, sizeof *idx);
    for (size_t i = 0; i < n; i++) {
        w[i] = items[i].weight >= 0 ? items[i].weight : fill;
        idx[i] = i;
    }
    sort_ctx = (order){items, w};
    qsort(idx, n, sizeof *idx, heaviest_first);
    double *load = mx_xcalloc((size_t)total, sizeof *load);
    for (size_t k = 0; k < n; k++) {
        int best = 0;
        for (int t = 1; t < total; t++)
            if (load[t] < load[best]) best = t;
        node[idx[k]] = best;
        load[best] += w[idx[k]];
    }
    free(load);
    free(idx);
    free(w);
}

static char **dedup_names; /* qsort context, as above */

static int by_name_then_index(const void *a, const void *b)
{
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int c = strcmp(dedup_names[i], dedup_names[j]);
    return c ? c : (i < j ? -1 : i > j);
}

size_t mx_split_dedup(char **names, size_t n)
{
    size_t *idx = mx_xcalloc(n ? n : 1, sizeof *idx);
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    dedup_names = names;
    qsort(idx, n, sizeof *idx, by_name_then_index);
    /* of equal names the first in the input sorts first and stays */
    unsigned char *drop = mx_xcalloc(n ? n : 1, 1);
    for (size_t k = 1; k < n; k++)
        if (strcmp(names[idx[k]], names[idx[k - 1]]) == 0) drop[idx[k]] = 1;
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (drop[i])
            free(names[i]);
        else
            names[kept++] = names[i];
    }
    free(drop);
    free(idx);
    return kept;
}

/* Matches the path's segments against the pattern's. */
static int match_segments(char **q, size_t nq, char **p, size_t np)
{
    if (nq == 0) return np == 0;
    if (strcmp(q[0], "**") == 0) {
        for (size_t skip = 0; skip <= np; skip++)
            if (match_segments(q + 1, nq - 1, p + skip, np - skip)) return 1;
        return 0;
    }
    if (np == 0) return 0;
    if (fnmatch(q[0], p[0], 0) != 0) return 0;
    return match_segments(q + 1, nq - 1, p + 1, np - 1);
}

/* Splits s on '/' (empty segments dropped, except that a leading "/" is kept as one). */
static size_t segments(char *s, char ***out)
{
    size_t n = 0, cap = 8;
    char **v = mx_xcalloc(cap, sizeof *v);
    if (*s == '/') v[n++] = "/";
    for (char *tok = strtok(s, "/"); tok; tok = strtok(NULL, "/")) {
        if (strcmp(tok, ".") == 0 && n > 0) continue;
        if (n == cap) v = mx_xrealloc(v, (cap *= 2) * sizeof *v);
        v[n++] = tok;
    }
    *out = v;
    return n;
}

int mx_glob_match(const char *pattern, const char *path)
{
    char *q = mx_xstrdup(pattern), *p = mx_xstrdup(path);
    char **qv, **pv;
    size_t nq = segments(q, &qv), np = segments(p, &pv);
    /* "./a" and "a" name the same file */
    char **qs = qv, **ps = pv;
    if (nq && strcmp(qs[0], ".") == 0) qs++, nq--;
    if (np && strcmp(ps[0], ".") == 0) ps++, np--;
    int m = match_segments(qs, nq, ps, np);
    free(qv);
    free(pv);
    free(q);
    free(p);
    return m;
}

/* The matching "}" of the "{" at s[open], or 0; *comma says whether it has a top-level ",". */
static size_t brace_end(const char *s, size_t open, int *comma)
{
    int depth = 0;
    *comma = 0;
    for (size_t i = open; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++;
        } else if (s[i] == '{') {
            depth++;
        } else if (s[i] == '}') {
            if (--depth == 0) return i;
        } else if (s[i] == ',' && depth == 1) {
            *comma = 1;
        }
    }
    return 0;
}

int mx_glob_braces(const char *pattern, char **out, int max)
{
    size_t open = 0, close = 0;
    int comma = 0;
    for (size_t i = 0; pattern[i]; i++) {
        if (pattern[i] == '\\' && pattern[i + 1]) {
            i++;
            continue;
        }
        if (pattern[i] == '{' && (close = brace_end(pattern, i, &comma)) && comma) {
            open = i;
            break;
        }
        close = 0;
    }
    if (!close) {
        if (max < 1) return -1;
        out[0] = mx_xstrdup(pattern);
        return 1;
    }
    int n = 0;
    size_t start = open + 1;
    int depth = 0;
    for (size_t i = open + 1; i <= close; i++) {
        char c = pattern[i];
        if (c == '\\' && i + 1 < close) {
            i++;
            continue;
        }
        if (c == '{') depth++;
        if (c == '}' && i < close) depth--;
        if ((c == ',' && depth == 0) || i == close) {
            char *alt = mx_xasprintf("%.*s%.*s%s", (int)open, pattern, (int)(i - start),
                                     pattern + start, pattern + close + 1);
            int k = mx_glob_braces(alt, out + n, max - n);
            free(alt);
            if (k < 0) {
                for (int j = 0; j < n; j++)
                    free(out[j]);
                return -1;
            }
            n += k;
            start = i + 1;
        }
    }
    return n;
}

char *mx_glob_base(const char *pattern)
{
    mx_buf b;
    mx_buf_init(&b);
    const char *s = pattern;
    if (*s == '/') mx_buf_adds(&b, "/");
    while (*s) {
        s += strspn(s, "/");
        size_t n = strcspn(s, "/");
        if (n == 0) break;
        if (!s[n]) break; /* the last segment names what is matched, not where to look */
        if (strcspn(s, "*?[\\") < n) break;
        if (b.len && b.data[b.len - 1] != '/') mx_buf_adds(&b, "/");
        mx_buf_add(&b, s, n);
        s += n;
    }
    if (b.len == 0) mx_buf_adds(&b, ".");
    return mx_buf_steal(&b);
}
