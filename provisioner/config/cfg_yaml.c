#include "cfg_yaml.h"
#include "mx_buf.h"
#include "mx_fs.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

static void map_add(mx_node *m, mx_node *k, mx_node *v);
static void seq_add(mx_node *s, mx_node *v);

/* Nesting deeper than this is rejected: it is no config, and recursion must stay bounded. */
#define MAX_DEPTH 256

typedef struct anchor {
    char *name;
    mx_node *node; /* a copy: merges may free the original while the anchor is still usable */
    size_t size;   /* its nodes: what each alias of it costs */
} anchor;

typedef struct loader {
    yaml_parser_t parser;
    const char *file;
    anchor *anchors;
    size_t nanchors;
    size_t nodes; /* made so far, copies included (MX_YAML_MAX_NODES) */
    mx_err *err;
} loader;

int mx_node_fail(mx_err *e, const mx_node *at, const char *fmt, ...)
{
    char text[1536];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (at) return mx_fail(e, MX_USAGE, "%s:%d:%d: %s", at->file, at->line, at->col, text);
    return mx_fail(e, MX_USAGE, "%s", text);
}

static mx_node *new_node(mx_node_kind kind, const char *file, yaml_mark_t mark)
{
    mx_node *n = mx_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->file = mx_xstrdup(file);
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

void mx_node_free(mx_node *n)
{
    if (!n) return;
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == MX_NODE_MAP) {
            mx_node_free(n->keys[i]);
            mx_node_free(n->vals[i]);
        } else if (n->kind == MX_NODE_SEQ) {
            mx_node_free(n->items[i]);
        }
    }
    free(n->keys);
    free(n->vals);
    free(n->items);
    free(n->value);
    free(n->file);
    free(n);
}

mx_node *mx_node_copy(const mx_node *n)
{
    mx_node *c = mx_xcalloc(1, sizeof *c);
    c->kind = n->kind;
    c->quoted = n->quoted;
    c->value = n->value ? mx_xstrdup(n->value) : NULL;
    c->file = mx_xstrdup(n->file);
    c->line = n->line;
    c->col = n->col;
    c->n = n->n;
    c->cap = n->n;
    if (n->kind == MX_NODE_MAP) {
        c->keys = mx_xcalloc(n->n, sizeof *c->keys);
        c->vals = mx_xcalloc(n->n, sizeof *c->vals);
        for (size_t i = 0; i < n->n; i++) {
            c->keys[i] = mx_node_copy(n->keys[i]);
            c->vals[i] = mx_node_copy(n->vals[i]);
        }
    } else if (n->kind == MX_NODE_SEQ) {
        c->items = mx_xcalloc(n->n, sizeof *c->items);
        for (size_t i = 0; i < n->n; i++)
            c->items[i] = mx_node_copy(n->items[i]);
    }
    return c;
}

static size_t count(const mx_node *n, size_t so_far, size_t stop)
{
    so_far++;
    for (size_t i = 0; i < n->n && so_far < stop; i++) {
        if (n->kind == MX_NODE_MAP) {
            so_far = count(n->keys[i], so_far, stop);
            if (so_far < stop) so_far = count(n->vals[i], so_far, stop);
        } else if (n->kind == MX_NODE_SEQ) {
            so_far = count(n->items[i], so_far, stop);
        }
    }
    return so_far < stop ? so_far : stop;
}

size_t mx_node_count(const mx_node *n, size_t stop)
{
    return n && stop ? count(n, 0, stop) : 0;
}

mx_node *mx_node_new(mx_node_kind kind, const mx_node *at)
{
    mx_node *n = mx_xcalloc(1, sizeof *n);
    n->kind = kind;
    n->file = mx_xstrdup(at ? at->file : "-");
    n->line = at ? at->line : 0;
    n->col = at ? at->col : 0;
    return n;
}

mx_node *mx_node_new_scalar(const char *value, const mx_node *at)
{
    mx_node *n = mx_node_new(MX_NODE_SCALAR, at);
    n->value = mx_xstrdup(value);
    return n;
}

void mx_node_map_put(mx_node *m, const char *key, mx_node *v)
{
    mx_node_map_add(m, mx_node_new_scalar(key, v), v);
}

void mx_node_map_del(mx_node *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i]->value, key) != 0) continue;
        mx_node_free(m->keys[i]);
        mx_node_free(m->vals[i]);
        memmove(m->keys + i, m->keys + i + 1, (m->n - i - 1) * sizeof *m->keys);
        memmove(m->vals + i, m->vals + i + 1, (m->n - i - 1) * sizeof *m->vals);
        m->n--;
        return;
    }
}

void mx_node_seq_add(mx_node *s, mx_node *v)
{
    seq_add(s, v);
}

void mx_node_map_add(mx_node *m, mx_node *k, mx_node *v)
{
    map_add(m, k, v);
}

/* Room for one more entry. */
static void grow(mx_node *n)
{
    if (n->n < n->cap) return;
    n->cap = n->cap ? 2 * n->cap : 4;
    if (n->kind == MX_NODE_MAP) {
        n->keys = mx_xrealloc(n->keys, n->cap * sizeof *n->keys);
        n->vals = mx_xrealloc(n->vals, n->cap * sizeof *n->vals);
    } else {
        n->items = mx_xrealloc(n->items, n->cap * sizeof *n->items);
    }
}

static void map_add(mx_node *m, mx_node *k, mx_node *v)
{
    grow(m);
    m->keys[m->n] = k;
    m->vals[m->n] = v;
    m->n++;
}

static void seq_add(mx_node *s, mx_node *v)
{
    grow(s);
    s->items[s->n++] = v;
}

mx_node *mx_node_get(const mx_node *n, const char *key)
{
    if (!n || n->kind != MX_NODE_MAP) return NULL;
    for (size_t i = 0; i < n->n; i++)
        if (strcmp(n->keys[i]->value, key) == 0) return n->vals[i];
    return NULL;
}

int mx_node_is_null(const mx_node *n)
{
    if (!n) return 1;
    if (n->kind != MX_NODE_SCALAR || n->quoted) return 0;
    return !*n->value || strcmp(n->value, "~") == 0 || strcasecmp(n->value, "null") == 0;
}

int mx_node_bool(const mx_node *n, int *out)
{
    if (!n || n->kind != MX_NODE_SCALAR || n->quoted) return -1;
    static const char *const t[] = {"true", "yes", "on", "y"}, *const f[] = {"false", "no", "off",
                                                                             "n"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(n->value, t[i]) == 0) return *out = 1, 0;
        if (strcasecmp(n->value, f[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

const char *mx_node_kind_name(const mx_node *n)
{
    if (!n) return "nothing";
    switch (n->kind) {
    case MX_NODE_SCALAR:
        return "a scalar";
    case MX_NODE_MAP:
        return "a map";
    case MX_NODE_SEQ:
        return "a list";
    }
    return "?";
}

static int parser_fail(loader *l)
{
    yaml_parser_t *p = &l->parser;
    const char *problem = p->problem ? p->problem : "malformed YAML";
    if (p->context)
        return mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: %s %s", l->file, p->problem_mark.line + 1,
                       p->problem_mark.column + 1, problem, p->context);
    return mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: %s", l->file, p->problem_mark.line + 1,
                   p->problem_mark.column + 1, problem);
}

/* Counts `more` nodes about to be made at line:col (1-based); fails once the file would
 * hold more than MX_YAML_MAX_NODES. */
static int charge(loader *l, size_t more, size_t line, size_t col, const char *what)
{
    if (more <= MX_YAML_MAX_NODES && l->nodes + more <= MX_YAML_MAX_NODES) {
        l->nodes += more;
        return 0;
    }
    return mx_fail(l->err, MX_USAGE,
                   "%s:%zu:%zu: %s makes the config larger than %d nodes (anchors are copied at "
                   "every alias; is this an alias bomb?)",
                   l->file, line, col, what, MX_YAML_MAX_NODES);
}

static int remember_anchor(loader *l, const yaml_char_t *name, mx_node *n)
{
    if (!name) return 0;
    size_t size = mx_node_count(n, MX_YAML_MAX_NODES + 1);
    if (charge(l, size, (size_t)n->line, (size_t)n->col, "this anchor") < 0) return -1;
    l->anchors = mx_xrealloc(l->anchors, (l->nanchors + 1) * sizeof *l->anchors);
    l->anchors[l->nanchors].name = mx_xstrdup((const char *)name);
    l->anchors[l->nanchors].node = mx_node_copy(n);
    l->anchors[l->nanchors].size = size;
    l->nanchors++;
    return 0;
}

static int parse_node(loader *l, yaml_event_t *ev, int depth, mx_node **out);

/* "<<: *base" or "<<: [*a, *b]": keys of the merged maps that the map lacks are added. */
static int apply_merge(loader *l, mx_node *m, size_t at)
{
    mx_node *src = m->vals[at];
    mx_node **maps = &src;
    size_t nmaps = 1;
    if (src->kind == MX_NODE_SEQ) maps = src->items, nmaps = src->n;
    mx_node *key = m->keys[at];
    /* keep the written keys in their order (environment, job lists) */
    memmove(m->keys + at, m->keys + at + 1, (m->n - at - 1) * sizeof *m->keys);
    memmove(m->vals + at, m->vals + at + 1, (m->n - at - 1) * sizeof *m->vals);
    m->n--;
    int rc = 0;
    for (size_t i = 0; i < nmaps && rc == 0; i++) {
        if (maps[i]->kind != MX_NODE_MAP) {
            rc = mx_node_fail(l->err, maps[i], "a merge key (<<) takes a map or a list of maps");
            break;
        }
        for (size_t k = 0; k < maps[i]->n && rc == 0; k++) {
            if (mx_node_get(m, maps[i]->keys[k]->value)) continue;
            size_t size = 1 + mx_node_count(maps[i]->vals[k], MX_YAML_MAX_NODES + 1);
            rc = charge(l, size, (size_t)key->line, (size_t)key->col, "this merge (<<)");
            if (rc == 0) map_add(m, mx_node_copy(maps[i]->keys[k]), mx_node_copy(maps[i]->vals[k]));
        }
    }
    mx_node_free(key);
    mx_node_free(src);
    return rc;
}

static int parse_map(loader *l, mx_node *m, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&l->parser, &ev)) return parser_fail(l);
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        mx_node *k = NULL, *v = NULL;
        int rc = parse_node(l, &ev, depth + 1, &k);
        yaml_event_delete(&ev);
        if (rc < 0) return -1;
        if (k->kind != MX_NODE_SCALAR) {
            mx_node_fail(l->err, k, "map keys must be plain strings");
            mx_node_free(k);
            return -1;
        }
        if (!yaml_parser_parse(&l->parser, &ev)) {
            mx_node_free(k);
            return parser_fail(l);
        }
        rc = parse_node(l, &ev, depth + 1, &v);
        yaml_event_delete(&ev);
        if (rc < 0) {
            mx_node_free(k);
            return -1;
        }
        if (!(strcmp(k->value, "<<") == 0 && !k->quoted) && mx_node_get(m, k->value)) {
            mx_node_fail(l->err, k, "duplicate key \"%s\"", k->value);
            mx_node_free(k);
            mx_node_free(v);
            return -1;
        }
        map_add(m, k, v);
    }
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->keys[i]->value, "<<") == 0 && !m->keys[i]->quoted) {
            if (apply_merge(l, m, i) < 0) return -1;
            i = (size_t)-1; /* start over: entries moved */
        }
    }
    return 0;
}

static int parse_seq(loader *l, mx_node *s, int depth)
{
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&l->parser, &ev)) return parser_fail(l);
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        mx_node *v = NULL;
        int rc = parse_node(l, &ev, depth + 1, &v);
        yaml_event_delete(&ev);
        if (rc < 0) return -1;
        seq_add(s, v);
    }
}

static int parse_node(loader *l, yaml_event_t *ev, int depth, mx_node **out)
{
    if (depth > MAX_DEPTH)
        return mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: nesting deeper than %d levels", l->file,
                       ev->start_mark.line + 1, ev->start_mark.column + 1, MAX_DEPTH);
    mx_node *n = NULL;
    size_t line = ev->start_mark.line + 1, col = ev->start_mark.column + 1;
    if (ev->type != YAML_ALIAS_EVENT && charge(l, 1, line, col, "this node") < 0) return -1;
    int rc = 0;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        n = new_node(MX_NODE_SCALAR, l->file, ev->start_mark);
        n->value = mx_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
        n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
        rc = remember_anchor(l, ev->data.scalar.anchor, n);
        break;
    case YAML_MAPPING_START_EVENT:
        n = new_node(MX_NODE_MAP, l->file, ev->start_mark);
        rc = parse_map(l, n, depth);
        if (rc == 0) rc = remember_anchor(l, ev->data.mapping_start.anchor, n);
        break;
    case YAML_SEQUENCE_START_EVENT:
        n = new_node(MX_NODE_SEQ, l->file, ev->start_mark);
        rc = parse_seq(l, n, depth);
        if (rc == 0) rc = remember_anchor(l, ev->data.sequence_start.anchor, n);
        break;
    case YAML_ALIAS_EVENT: {
        const char *name = (const char *)ev->data.alias.anchor;
        const anchor *a = NULL;
        for (size_t i = l->nanchors; i-- > 0 && !a;)
            if (strcmp(l->anchors[i].name, name) == 0) a = &l->anchors[i];
        if (!a)
            return mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: unknown anchor *%s", l->file, line, col,
                           name);
        char what[160];
        snprintf(what, sizeof what, "alias *%.100s", name);
        if (charge(l, a->size, line, col, what) < 0) return -1;
        n = mx_node_copy(a->node);
        break;
    }
    default:
        return mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: unexpected YAML event", l->file, line, col);
    }
    if (rc < 0) {
        mx_node_free(n);
        return -1;
    }
    *out = n;
    return 0;
}

static int load(loader *l, mx_node **root)
{
    yaml_event_t ev;
    mx_node *doc = NULL;
    int rc = -1, state = 0; /* 0: before doc, 1: in doc, 2: after doc */
    for (;;) {
        if (!yaml_parser_parse(&l->parser, &ev)) {
            parser_fail(l);
            goto out;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (state == 2) {
                mx_fail(l->err, MX_USAGE, "%s:%zu:%zu: only one YAML document is allowed", l->file,
                        ev.start_mark.line + 1, ev.start_mark.column + 1);
                yaml_event_delete(&ev);
                goto out;
            }
            state = 1;
        } else if (t == YAML_DOCUMENT_END_EVENT) {
            state = 2;
        } else if (t != YAML_STREAM_START_EVENT) {
            int r = parse_node(l, &ev, 0, &doc);
            if (r < 0) {
                yaml_event_delete(&ev);
                goto out;
            }
        }
        yaml_event_delete(&ev);
    }
    if (!doc) {
        mx_fail(l->err, MX_USAGE, "%s:1:1: the file is empty", l->file);
        goto out;
    }
    *root = doc;
    doc = NULL;
    rc = 0;
out:
    mx_node_free(doc);
    for (size_t i = 0; i < l->nanchors; i++) {
        free(l->anchors[i].name);
        mx_node_free(l->anchors[i].node);
    }
    free(l->anchors);
    return rc;
}

int mx_yaml_load_string(const char *name, const char *text, size_t len, mx_node **root, mx_err *err)
{
    loader l = {.file = name, .err = err};
    if (!yaml_parser_initialize(&l.parser))
        return mx_fail(err, MX_INFRA, "cannot initialize the YAML parser");
    yaml_parser_set_input_string(&l.parser, (const unsigned char *)text, len);
    int rc = load(&l, root);
    yaml_parser_delete(&l.parser);
    return rc;
}

int mx_yaml_load_file(const char *path, mx_node **root, mx_err *err)
{
    mx_buf b;
    mx_buf_init(&b);
    if (mx_read_file_max(path, MX_YAML_MAX_FILE_BYTES, &b, err) < 0) {
        mx_buf_free(&b);
        return -1;
    }
    int rc = mx_yaml_load_string(path, b.data, b.len, root, err);
    mx_buf_free(&b);
    return rc;
}
