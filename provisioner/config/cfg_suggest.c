#include "cfg_suggest.h"

#include <stdlib.h>
#include <string.h>

size_t mx_cfg_edit_distance(const char *a, const char *b, size_t cap)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > cap) return cap + 1;
    size_t *row = mx_xcalloc(lb + 1, sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0], best = i;
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v) v = up + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best) best = v;
        }
        if (best > cap) { /* no path can come back under the cap */
            free(row);
            return cap + 1;
        }
    }
    size_t d = row[lb];
    free(row);
    return d > cap ? cap + 1 : d;
}

const char *mx_cfg_suggest(const char *word, const char *const *cands, size_t n)
{
    size_t len = strlen(word);
    /* short words are too easy to "correct" into something unrelated */
    size_t cap = len < 4 ? 1 : len < 9 ? 2 : 3;
    const char *best = NULL;
    size_t bestd = cap + 1;
    for (size_t i = 0; i < n; i++) {
        size_t d = mx_cfg_edit_distance(word, cands[i], cap);
        if (d < bestd) best = cands[i], bestd = d;
    }
    return best;
}

void mx_cfg_suggest_add(mx_buf *b, const char *word, const char *const *cands, size_t n)
{
    const char *s = mx_cfg_suggest(word, cands, n);
    if (s) mx_buf_printf(b, "; did you mean \"%s\"?", s);
}

void mx_cfg_suggest_keys(mx_buf *b, const char *word, const mx_node *map)
{
    if (!map || map->kind != MX_NODE_MAP) return;
    const char **c = mx_xcalloc(map->n + 1, sizeof *c);
    for (size_t i = 0; i < map->n; i++)
        c[i] = map->keys[i]->value;
    mx_cfg_suggest_add(b, word, c, map->n);
    free(c);
}

int mx_cfg_check_keys(const mx_node *map, const char *what, const char *const *allowed, mx_err *err)
{
    size_t n = 0;
    while (allowed[n])
        n++;
    for (size_t i = 0; i < map->n; i++) {
        const char *k = map->keys[i]->value;
        int ok = 0;
        for (size_t a = 0; a < n && !ok; a++)
            ok = strcmp(allowed[a], k) == 0;
        if (ok) continue;
        mx_buf msg;
        mx_buf_init(&msg);
        mx_buf_printf(&msg, "unknown key \"%s\" in %s", k, what);
        mx_cfg_suggest_add(&msg, k, allowed, n);
        mx_buf_adds(&msg, " (allowed: ");
        for (size_t a = 0; a < n; a++)
            mx_buf_printf(&msg, "%s%s", a ? ", " : "", allowed[a]);
        mx_buf_adds(&msg, ")");
        mx_node_fail(err, map->keys[i], "%s", msg.data);
        mx_buf_free(&msg);
        return -1;
    }
    return 0;
}
