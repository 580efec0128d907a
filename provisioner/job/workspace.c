/* The host's side of a workflow's workspace: which layers an attach step unpacks, whether
 * they may be unpacked (no write through an earlier layer's symbolic link, no file persisted by
 * two concurrent jobs), and where this job's layers go.  Layers are listed with libarchive
 * (workspace_tar.c): plain tar, headers only. */
#include "workspace.h"
#include "mx_num.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include "mx_cleanup.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <search.h>
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

long long mx_ws_total_bytes(const mx_ws_view *w)
{
    long long total = 0;
    DIR *d = w->root ? opendir(w->root) : NULL;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        mx_autofree char *dir = mx_path_join(w->root, e->d_name);
        DIR *jd = opendir(dir);
        if (!jd) continue; /* the lock file, say */
        for (struct dirent *l; (l = readdir(jd));) {
            struct stat st;
            mx_autofree char *p = mx_path_join(dir, l->d_name);
            /* layers, and a download under way (a hidden temporary file) */
            if (layer_number(l->d_name) >= 0 || (l->d_name[0] == '.' && strstr(l->d_name, ".tar.")))
                if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) total += (long long)st.st_size;
        }
        closedir(jd);
    }
    closedir(d);
    return total;
}

char *mx_ws_layer_path(const mx_ws_view *w, size_t k)
{
    return mx_xasprintf("%s/%03zu.tar", w->persist_dir, k);
}

/* ---- what attaching the layers would do ---- */

/* The files (not directories) one upstream job persisted, over all its layers: sorted, each
 * once. */
typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int by_string(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
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

/* A symbolic link some member made: the path and where it came from. */
typedef struct link_made {
    char *path;
    size_t layer;
} link_made;

static int by_path(const void *a, const void *b)
{
    return strcmp(((const link_made *)a)->path, ((const link_made *)b)->path);
}

static void link_free(void *p)
{
    link_made *l = p;
    free(l->path);
    free(l);
}

typedef struct scan {
    const mx_ws_view *w;
    const mx_ws_layers *l;
    size_t k;     /* the layer being read */
    names *files; /* per upstream job, for the concurrency rule (NULL: not needed) */
    void *links;  /* tsearch tree of link_made */
    size_t nlinks;
    size_t name_bytes;
    char *refusal;
} scan;

static const char *file_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The link made at path or at one of its parents (the whole path too when whole), or NULL. */
static const link_made *through_link(scan *s, const char *path, int whole)
{
    size_t len = strlen(path);
    char *p = mx_xstrdup(path);
    const link_made *found = NULL;
    for (size_t i = 1; i <= len && !found; i++) {
        if (i < len && p[i] != '/') continue;
        if (i == len && !whole) break;
        char c = p[i];
        p[i] = '\0';
        link_made key = {.path = p};
        void *hit = tfind(&key, &s->links, by_path);
        if (hit) found = *(link_made **)hit;
        p[i] = c;
    }
    free(p);
    return found;
}

static void refuse_through(scan *s, const mx_ws_member *m, const link_made *via)
{
    const mx_ws_layer *here = &s->l->v[s->k], *there = &s->l->v[via->layer];
    s->refusal = mx_xasprintf(
        "\"%s\" in workspace layer %s of job \"%s\" %s the symbolic link \"%s\" that layer %s "
        "of job \"%s\" made: unpacked in order, it could write outside the attach directory, "
        "so the workspace is not attached",
        m->path, file_name(here->path), s->w->upstream[here->upstream].job,
        m->kind == MX_WS_HARDLINK ? "is a hard link through" : "would be written through",
        via->path, file_name(there->path), s->w->upstream[there->upstream].job);
}

static int on_member(void *ctx, const mx_ws_member *m, mx_err *err)
{
    scan *s = ctx;
    const link_made *via = through_link(s, m->path, 0);
    if (!via && m->kind == MX_WS_HARDLINK) via = through_link(s, m->link, 1);
    if (via) {
        refuse_through(s, m, via);
        return mx_fail(err, MX_JOB_FAILED, "refused");
    }
    if (m->kind == MX_WS_SYMLINK) {
        if (++s->nlinks > MX_WS_MAX_SYMLINKS) {
            s->refusal = mx_xasprintf("the workspace layers hold more than %d symbolic links",
                                      MX_WS_MAX_SYMLINKS);
            return mx_fail(err, MX_JOB_FAILED, "refused");
        }
        link_made *l = mx_xcalloc(1, sizeof *l);
        l->path = mx_xstrdup(m->path);
        l->layer = s->k;
        void *slot = tsearch(l, &s->links, by_path);
        if (!slot) mx_oom();                        /* tsearch fails only when memory runs out */
        if (*(link_made **)slot != l) link_free(l); /* made again: the first one counts */
    }
    names *f = s->files ? &s->files[s->l->v[s->k].upstream] : NULL;
    if (f && m->kind != MX_WS_DIR) {
        s->name_bytes += strlen(m->path) + 1;
        if (s->name_bytes > MX_WS_MAX_NAME_BYTES) {
            s->refusal = mx_xasprintf("the workspace layers hold more than %u MiB of names",
                                      MX_WS_MAX_NAME_BYTES >> 20);
            return mx_fail(err, MX_JOB_FAILED, "refused");
        }
        if (f->n == f->cap) {
            f->cap = f->cap ? 2 * f->cap : 64;
            f->v = mx_xrealloc(f->v, f->cap * sizeof *f->v);
        }
        f->v[f->n++] = mx_xstrdup(m->path);
    }
    return 0;
}

int mx_ws_check_layers(const mx_ws_view *w, const mx_ws_layers *l, char **refusal, mx_err *err)
{
    *refusal = NULL;
    size_t n = w->nupstream;
    scan s = {.w = w, .l = l};
    s.files = mx_xcalloc(n ? n : 1, sizeof *s.files);
    int rc = 0;
    for (size_t k = 0; rc == 0 && !s.refusal && k < l->n; k++) {
        s.k = k;
        /* only jobs that may have run beside another one need their names kept */
        size_t u = l->v[k].upstream;
        int needed = 0;
        for (size_t o = 0; o < n && !needed; o++)
            needed = concurrent(w, u, o);
        names *files = s.files;
        if (!needed) s.files = NULL;
        mx_err scan_err;
        if (mx_ws_layer_scan(l->v[k].path, on_member, &s, &scan_err) < 0 && !s.refusal) {
            if (scan_err.status == MX_JOB_FAILED)
                s.refusal = mx_xasprintf("workspace layer %s of job \"%s\": %s",
                                         file_name(l->v[k].path), w->upstream[u].job, scan_err.msg);
            else
                *err = scan_err, rc = -1;
        }
        s.files = files;
    }
    for (size_t u = 0; rc == 0 && !s.refusal && u < n; u++)
        names_sort_unique(&s.files[u]);
    for (size_t i = 0; rc == 0 && !s.refusal && i < n; i++) {
        for (size_t j = i + 1; !s.refusal && j < n; j++) {
            const char *same = concurrent(w, i, j) ? first_common(&s.files[i], &s.files[j]) : NULL;
            if (same)
                s.refusal = mx_xasprintf(
                    "Concurrent upstream jobs persisted the same file: \"%s\" is in the "
                    "workspace layers of both \"%s\" and \"%s\", and neither job requires the "
                    "other, so which one wins would depend on timing",
                    same, w->upstream[i].job, w->upstream[j].job);
        }
    }
    for (size_t u = 0; u < n; u++)
        names_free(&s.files[u]);
    free(s.files);
    tdestroy(s.links, link_free);
    if (rc == 0)
        *refusal = s.refusal;
    else
        free(s.refusal);
    return rc;
}
