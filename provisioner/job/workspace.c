/* The host's side of a workflow's workspace: which layers an attach step unpacks, whether
 * concurrent upstream jobs clash, and where this job's layers go.  Layers are plain tar files,
 * so tar itself lists what they hold. */
#include "workspace.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"
#include "mx_proc.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* "NNN.tar" -> NNN; -1 for any other name (a download's temporary file, for one). */
static long layer_number(const char *name)
{
    size_t digits = strspn(name, "0123456789");
    if (digits == 0 || digits > 9 || strcmp(name + digits, ".tar") != 0) return -1;
    long long n;
    return mx_parse_int_prefix(name, 0, 999999999, &n, NULL) == 0 ? (long)n : -1;
}

typedef struct numbered {
    long n;
    char *name;
} numbered;

static int by_number(const void *a, const void *b)
{
    const numbered *x = a, *y = b;
    return x->n < y->n ? -1 : x->n > y->n;
}

/* Appends the layers of upstream job u to out, by number. */
static int list_dir(const char *dir, size_t u, mx_ws_layers *out, mx_err *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT) return 0;
        return mx_fail_errno(err, MX_INFRA, "open workspace layers %s", dir);
    }
    numbered *v = NULL;
    size_t n = 0;
    for (;;) {
        errno = 0; /* readdir's only way to tell an error from the end */
        struct dirent *e = readdir(d);
        if (!e) break;
        long k = layer_number(e->d_name);
        if (k < 0) continue;
        v = mx_xrealloc(v, (n + 1) * sizeof *v);
        v[n++] = (numbered){k, mx_xstrdup(e->d_name)};
    }
    int rc = errno ? mx_fail_errno(err, MX_INFRA, "read workspace layers %s", dir) : 0;
    closedir(d);
    if (n) qsort(v, n, sizeof *v, by_number);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0) {
            out->v = mx_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = (mx_ws_layer){u, mx_path_join(dir, v[i].name)};
        }
        free(v[i].name);
    }
    free(v);
    return rc;
}

int mx_ws_layers_list(const mx_ws_view *w, mx_ws_layers *out, mx_err *err)
{
    memset(out, 0, sizeof *out);
    for (size_t u = 0; u < w->nupstream; u++) {
        if (list_dir(w->upstream[u].layers_dir, u, out, err) < 0) {
            mx_ws_layers_free(out);
            return -1;
        }
    }
    return 0;
}

void mx_ws_layers_free(mx_ws_layers *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].path);
    free(l->v);
    memset(l, 0, sizeof *l);
}

char *mx_ws_layer_path(const mx_ws_view *w, size_t k)
{
    return mx_xasprintf("%s/%03zu.tar", w->persist_dir, k);
}

/* ---- conflicts ---- */

/* The files (not directories) one upstream job persisted, over all its layers: sorted, each
 * once. */
typedef struct names {
    char **v;
    size_t n;
} names;

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* tar -t prints "./x" or "x" depending on how the layer was made: both are the same file. */
static const char *normalize(const char *name)
{
    for (;;) {
        if (name[0] == '/')
            name++;
        else if (name[0] == '.' && name[1] == '/')
            name += 2;
        else
            return name;
    }
}

static int add_members(const char *layer, names *out, mx_err *err)
{
    mx_buf listing;
    mx_buf_init(&listing);
    const char *argv[] = {"tar", "-t", "-f", layer, NULL};
    if (mx_proc_check(argv, NULL, &listing, err) < 0) {
        mx_buf_free(&listing);
        return mx_wrap(err, "list workspace layer %s", layer);
    }
    for (char *line = listing.data; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl) *nl = '\0';
        const char *name = normalize(line);
        size_t len = strlen(name);
        if (len > 0 && name[len - 1] != '/') {
            out->v = mx_xrealloc(out->v, (out->n + 1) * sizeof *out->v);
            out->v[out->n++] = mx_xstrdup(name);
        }
        line = nl ? nl + 1 : line + strlen(line);
    }
    mx_buf_free(&listing);
    return 0;
}

static void names_sort_unique(names *s)
{
    if (s->n == 0) return;
    qsort(s->v, s->n, sizeof *s->v, by_string);
    size_t k = 1;
    for (size_t i = 1; i < s->n; i++) {
        if (strcmp(s->v[i], s->v[k - 1]) == 0)
            free(s->v[i]);
        else
            s->v[k++] = s->v[i];
    }
    s->n = k;
}

static void names_free(names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

static int concurrent(const mx_ws_view *w, size_t i, size_t j)
{
    size_t n = w->nupstream;
    return i != j && !w->ordered[i * n + j] && !w->ordered[j * n + i];
}

/* The first name in both sorted sets, or NULL. */
static const char *first_common(const names *a, const names *b)
{
    size_t i = 0, j = 0;
    while (i < a->n && j < b->n) {
        int c = strcmp(a->v[i], b->v[j]);
        if (c == 0) return a->v[i];
        if (c < 0)
            i++;
        else
            j++;
    }
    return NULL;
}

int mx_ws_find_conflict(const mx_ws_view *w, const mx_ws_layers *l, char **conflict, mx_err *err)
{
    *conflict = NULL;
    size_t n = w->nupstream;
    names *files = mx_xcalloc(n ? n : 1, sizeof *files);
    int rc = 0;
    /* only jobs that may have run beside another one need their layers listed */
    for (size_t k = 0; rc == 0 && k < l->n; k++) {
        size_t u = l->v[k].upstream;
        int needed = 0;
        for (size_t o = 0; o < n && !needed; o++)
            needed = concurrent(w, u, o);
        if (needed) rc = add_members(l->v[k].path, &files[u], err);
    }
    for (size_t u = 0; rc == 0 && u < n; u++)
        names_sort_unique(&files[u]);
    for (size_t i = 0; rc == 0 && !*conflict && i < n; i++) {
        for (size_t j = i + 1; !*conflict && j < n; j++) {
            const char *same = concurrent(w, i, j) ? first_common(&files[i], &files[j]) : NULL;
            if (same)
                *conflict = mx_xasprintf(
                    "Concurrent upstream jobs persisted the same file: \"%s\" is in the "
                    "workspace layers of both \"%s\" and \"%s\", and neither job requires the "
                    "other, so which one wins would depend on timing",
                    same, w->upstream[i].job, w->upstream[j].job);
        }
    }
    for (size_t u = 0; u < n; u++)
        names_free(&files[u]);
    free(files);
    return rc;
}
