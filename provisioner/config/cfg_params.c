#include "cfg_params.h"
#include "mx_cleanup.h"
#include "mx_num.h"
#include "cfg_suggest.h"
#include "mx_buf.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const types[] = {"string", "boolean",  "integer",      "enum",
                                    "steps",  "executor", "env_var_name", NULL};

static int is_integer(const char *s)
{
    if (*s == '-' || *s == '+') s++;
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

static int env_name_ok(const char *k)
{
    if (!*k || isdigit((unsigned char)*k)) return 0;
    for (; *k; k++)
        if (!isalnum((unsigned char)*k) && *k != '_') return 0;
    return 1;
}

int mx_cfg_truthy(const mx_node *n)
{
    if (!n) return 0;
    if (n->kind != MX_NODE_SCALAR) return n->n > 0;
    if (mx_node_is_null(n) || !*n->value) return 0;
    int b;
    if (mx_node_bool(n, &b) == 0) return b;
    long long v;
    if (!n->quoted && is_integer(n->value))
        return mx_parse_int(n->value, LLONG_MIN, LLONG_MAX, &v) < 0 || v != 0;
    return 1;
}

static int check_decl(const mx_node *name, const mx_node *d, mx_err *err)
{
    if (d->kind != MX_NODE_MAP)
        return mx_node_fail(err, d, "parameter \"%s\" must be a map with type:", name->value);
    static const char *const keys[] = {"type", "default", "description", "enum", NULL};
    if (mx_cfg_check_keys(d, "a parameter declaration", keys, err) < 0) return -1;
    const mx_node *t = mx_node_get(d, "type");
    if (!t) return mx_node_fail(err, d, "parameter \"%s\" needs a type", name->value);
    int known = 0;
    for (size_t i = 0; types[i] && t->kind == MX_NODE_SCALAR; i++)
        known |= strcmp(types[i], t->value) == 0;
    if (!known) {
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "parameter \"%s\": unknown type \"%s\"", name->value,
                      t->kind == MX_NODE_SCALAR ? t->value : "?");
        if (t->kind == MX_NODE_SCALAR) mx_cfg_suggest_add(&m, t->value, types, 7);
        mx_buf_adds(&m, " (types: string, boolean, integer, enum, steps, executor, env_var_name)");
        mx_node_fail(err, t, "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    const mx_node *e = mx_node_get(d, "enum");
    if (strcmp(t->value, "enum") == 0) {
        if (!e || e->kind != MX_NODE_SEQ || e->n == 0)
            return mx_node_fail(err, e ? e : d, "enum parameter \"%s\" needs enum: [values]",
                                name->value);
        for (size_t i = 0; i < e->n; i++)
            if (e->items[i]->kind != MX_NODE_SCALAR)
                return mx_node_fail(err, e->items[i], "enum values must be scalars");
    } else if (e) {
        return mx_node_fail(err, e, "enum: is for parameters of type enum");
    }
    return 0;
}

/* The value of a parameter of the declared type, normalized (booleans as true/false, strings
 * marked quoted so "1.0" stays a string), or an error at the value. */
static int typed_value(const mx_node *name, const mx_node *d, const mx_node *v, const char *what,
                       mx_node **out, mx_err *err)
{
    const char *t = mx_node_get(d, "type")->value;
    const char *pn = name->value;
    if (strcmp(t, "steps") == 0) {
        if (mx_node_is_null(v)) {
            *out = mx_node_new(MX_NODE_SEQ, v);
            return 0;
        }
        if (v->kind != MX_NODE_SEQ)
            return mx_node_fail(err, v, "%s: parameter \"%s\" takes a list of steps, not %s", what,
                                pn, mx_node_kind_name(v));
        *out = mx_node_copy(v);
        return 0;
    }
    if (strcmp(t, "executor") == 0) {
        /* a map without name: is an executor a caller already resolved to its definition */
        int resolved =
            v->kind == MX_NODE_MAP && (mx_node_get(v, "machine") || mx_node_get(v, "docker") ||
                                       mx_node_get(v, "macos") || mx_node_get(v, "windows"));
        if (v->kind == MX_NODE_SEQ || mx_node_is_null(v) ||
            (v->kind == MX_NODE_MAP && !mx_node_get(v, "name") && !resolved))
            return mx_node_fail(
                err, v, "%s: parameter \"%s\" takes an executor name or a map with name:", what,
                pn);
        *out = mx_node_copy(v);
        return 0;
    }
    if (v->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, v, "%s: parameter \"%s\" is of type %s, not %s", what, pn, t,
                            mx_node_kind_name(v));
    const char *s = mx_node_is_null(v) ? "" : v->value;
    MX_AUTOPTR(mx_node) r = mx_node_new_scalar(s, v);
    if (strcmp(t, "boolean") == 0) {
        int b;
        if (mx_node_bool(v, &b) < 0)
            return mx_node_fail(err, v, "%s: parameter \"%s\" is a boolean; \"%s\" is not", what,
                                pn, s);
        free(r->value);
        r->value = mx_xstrdup(b ? "true" : "false");
    } else if (strcmp(t, "integer") == 0) {
        if (v->quoted || !is_integer(s))
            return mx_node_fail(err, v, "%s: parameter \"%s\" is an integer; \"%s\" is not", what,
                                pn, s);
    } else {
        r->quoted = 1;
        if (strcmp(t, "env_var_name") == 0 && !env_name_ok(s))
            return mx_node_fail(err, v,
                                "%s: parameter \"%s\" is an env_var_name; \"%s\" is not a valid "
                                "environment variable name",
                                what, pn, s);
        if (strcmp(t, "enum") == 0) {
            const mx_node *e = mx_node_get(d, "enum");
            int ok = 0;
            MX_AUTO(mx_buf) vals = {0};
            for (size_t i = 0; i < e->n; i++) {
                ok |= strcmp(e->items[i]->value, s) == 0;
                mx_buf_printf(&vals, "%s%s", i ? ", " : "", e->items[i]->value);
            }
            if (!ok)
                return mx_node_fail(err, v,
                                    "%s: parameter \"%s\" is an enum; \"%s\" is not one of: %s",
                                    what, pn, s, vals.data);
        }
    }
    *out = mx_steal(&r);
    return 0;
}

static int reserved_key(const char *const *reserved, const char *k)
{
    for (; reserved && *reserved; reserved++)
        if (strcmp(*reserved, k) == 0) return 1;
    return 0;
}

int mx_cfg_params_bind(const mx_node *decls, const mx_node *args, const char *const *reserved,
                       const mx_node *at, const char *what, mx_node **out, mx_err *err)
{
    *out = NULL;
    if (decls && mx_node_is_null(decls)) decls = NULL;
    if (decls && decls->kind != MX_NODE_MAP)
        return mx_node_fail(err, decls, "%s: parameters must be a map", what);
    if (args && mx_node_is_null(args)) args = NULL;
    if (args && args->kind != MX_NODE_MAP)
        return mx_node_fail(err, args, "%s takes a map of arguments, not %s", what,
                            mx_node_kind_name(args));
    for (size_t i = 0; args && i < args->n; i++) {
        const char *k = args->keys[i]->value;
        if (reserved_key(reserved, k) || mx_node_get(decls, k)) continue;
        mx_buf m;
        mx_buf_init(&m);
        mx_buf_printf(&m, "%s has no parameter \"%s\"", what, k);
        mx_cfg_suggest_keys(&m, k, decls);
        if (decls && decls->n) {
            mx_buf_adds(&m, " (parameters: ");
            for (size_t j = 0; j < decls->n; j++)
                mx_buf_printf(&m, "%s%s", j ? ", " : "", decls->keys[j]->value);
            mx_buf_adds(&m, ")");
        }
        mx_node_fail(err, args->keys[i], "%s", m.data);
        mx_buf_free(&m);
        return -1;
    }
    mx_node *bound = mx_node_new(MX_NODE_MAP, at);
    for (size_t i = 0; decls && i < decls->n; i++) {
        const mx_node *name = decls->keys[i], *d = decls->vals[i];
        if (check_decl(name, d, err) < 0) goto fail;
        const mx_node *v = mx_node_get(args, name->value);
        if (!v) v = mx_node_get(d, "default");
        if (!v) {
            mx_node_fail(err, args ? args : at, "%s needs parameter \"%s\" (type %s, no default)",
                         what, name->value, mx_node_get(d, "type")->value);
            goto fail;
        }
        mx_node *val = NULL;
        if (typed_value(name, d, v, what, &val, err) < 0) goto fail;
        mx_node_map_put(bound, name->value, val);
    }
    *out = bound;
    return 0;
fail:
    mx_node_free(bound);
    return -1;
}

/* ---- limits ---- */

int mx_cfg_charge(mx_cfg_budget *b, size_t nodes, size_t bytes, const mx_node *at, mx_err *err)
{
    if (!b) return 0;
    if (nodes > MX_CFG_MAX_NODES - b->nodes || nodes + b->nodes > MX_CFG_MAX_NODES)
        return mx_node_fail(err, at,
                            "expanding the config here makes it larger than %d nodes (commands "
                            "that invoke commands, or parameters pasted into themselves, grow "
                            "exponentially)",
                            MX_CFG_MAX_NODES);
    if (bytes > MX_CFG_MAX_BYTES - b->bytes)
        return mx_node_fail(err, at,
                            "expanding the config here makes its text larger than %u MiB "
                            "(parameters pasted into themselves grow exponentially)",
                            MX_CFG_MAX_BYTES >> 20);
    b->nodes += nodes;
    b->bytes += bytes;
    return 0;
}

/* Nodes and scalar bytes of n, stopping once either passes its limit. */
static void tree_cost(const mx_node *n, size_t *nodes, size_t *bytes)
{
    if (*nodes > MX_CFG_MAX_NODES || *bytes > MX_CFG_MAX_BYTES) return;
    (*nodes)++;
    if (n->value) *bytes += strlen(n->value);
    for (size_t i = 0; i < n->n; i++) {
        if (n->kind == MX_NODE_MAP) {
            tree_cost(n->keys[i], nodes, bytes);
            tree_cost(n->vals[i], nodes, bytes);
        } else if (n->kind == MX_NODE_SEQ) {
            tree_cost(n->items[i], nodes, bytes);
        }
    }
}

int mx_cfg_charge_tree(mx_cfg_budget *b, const mx_node *n, const mx_node *at, mx_err *err)
{
    if (!b || !n) return 0;
    size_t nodes = 0, bytes = 0;
    tree_cost(n, &nodes, &bytes);
    return mx_cfg_charge(b, nodes, bytes, at, err);
}

/* ---- substitution ---- */

typedef struct ref {
    size_t start, end; /* of the whole "<< ... >>" */
    char *name;        /* "parameters.x" */
} ref;

/* Finds the next << parameters.x >> / << pipeline.x >> / << matrix.x >> at or after `from`
 * (only << pipeline.x >> when pipeline_only).  Other "<<" (heredocs, << include(...) >>) are
 * left alone. */
static int next_ref(const char *s, size_t from, int pipeline_only, ref *r)
{
    /* a plain scan: strstr from each "<<" measures the rest of the string again under the
     * sanitizers, quadratic in a value that holds many (a parameter pasted into itself) */
    for (const char *p = s + from; *p; p++) {
        if (p[0] != '<' || p[1] != '<') continue;
        const char *q = p + 2;
        while (*q == ' ' || *q == '\t')
            q++;
        const char *id = q;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '.')
            q++;
        size_t idlen = (size_t)(q - id);
        while (*q == ' ' || *q == '\t')
            q++;
        if (idlen == 0 || strncmp(q, ">>", 2) != 0) continue;
        static const char *const prefixes[] = {"parameters.", "pipeline.", "matrix."};
        int ok = 0;
        for (size_t i = 0; i < 3; i++) {
            if (pipeline_only && i != 1) continue;
            ok |= idlen > strlen(prefixes[i]) && strncmp(id, prefixes[i], strlen(prefixes[i])) == 0;
        }
        if (!ok) continue;
        r->start = (size_t)(p - s);
        r->end = (size_t)(q + 2 - s);
        r->name = mx_xstrndup(id, idlen);
        return 1;
    }
    return 0;
}

static void list_keys(mx_buf *m, const mx_node *map)
{
    if (!map || map->n == 0) return;
    mx_buf_adds(m, " (defined: ");
    for (size_t i = 0; i < map->n; i++)
        mx_buf_printf(m, "%s%s", i ? ", " : "", map->keys[i]->value);
    mx_buf_adds(m, ")");
}

static const mx_node *resolve(const char *name, const mx_cfg_scope *s, const mx_node *at,
                              mx_err *err)
{
    const mx_node *table;
    const char *key, *kind;
    if (strncmp(name, "parameters.", 11) == 0)
        table = s->params, key = name + 11, kind = "parameter";
    else if (strncmp(name, "pipeline.", 9) == 0)
        table = s->pipeline, key = name + 9, kind = "pipeline value";
    else
        table = s->matrix, key = name + 7, kind = "matrix parameter";
    const mx_node *v = mx_node_get(table, key);
    if (v) return v;
    mx_buf m;
    mx_buf_init(&m);
    if (table == s->params && !table)
        mx_buf_printf(&m,
                      "undefined parameter << %s >>: only jobs, commands and executors have "
                      "parameters",
                      name);
    else if (table == s->matrix && !table)
        mx_buf_printf(&m,
                      "undefined << %s >>: matrix values exist only in a workflow job with "
                      "matrix:",
                      name);
    else {
        mx_buf_printf(&m, "undefined %s << %s >>", kind, name);
        if (table == s->params && s->owner) mx_buf_printf(&m, " in %s", s->owner);
        mx_cfg_suggest_keys(&m, key, table);
        if (table == s->pipeline)
            mx_buf_adds(&m, " (pipeline values: docs/config.md; parameters are "
                            "<< pipeline.parameters.NAME >>)");
        else
            list_keys(&m, table);
    }
    mx_node_fail(err, at, "%s", m.data);
    mx_buf_free(&m);
    return NULL;
}

/* *splice is set when the result is a list that replaced a whole scalar (to be spliced into a
 * surrounding list). */
static int subst_scalar(const mx_node *in, const mx_cfg_scope *s, mx_node **out, int *splice,
                        mx_err *err)
{
    ref r;
    if (!next_ref(in->value, 0, s->pipeline_only, &r)) {
        if (mx_cfg_charge(s->budget, 1, strlen(in->value), in, err) < 0) return -1;
        *out = mx_node_copy(in);
        return 0;
    }
    if (r.start == 0 && in->value[r.end] == '\0') {
        const mx_node *v = resolve(r.name, s, in, err);
        free(r.name);
        if (!v || mx_cfg_charge_tree(s->budget, v, in, err) < 0) return -1;
        *out = mx_node_copy(v);
        *splice = v->kind == MX_NODE_SEQ;
        return 0;
    }
    mx_buf b;
    mx_buf_init(&b);
    size_t pos = 0;
    int more = 1;
    while (more) {
        mx_buf_add(&b, in->value + pos, r.start - pos);
        const mx_node *v = resolve(r.name, s, in, err);
        if (v && v->kind != MX_NODE_SCALAR) {
            mx_node_fail(err, in, "<< %s >> is %s and cannot be part of a string", r.name,
                         mx_node_kind_name(v));
            v = NULL;
        }
        free(r.name);
        if (!v) {
            mx_buf_free(&b);
            return -1;
        }
        const char *text = mx_node_is_null(v) ? "" : v->value;
        /* checked before growing: one scalar pasted into itself doubles at every level */
        size_t room = s->budget ? MX_CFG_MAX_BYTES - s->budget->bytes : SIZE_MAX;
        if (b.len > room || strlen(text) > room - b.len) {
            mx_buf_free(&b);
            return mx_cfg_charge(s->budget, 0, SIZE_MAX, in, err); /* fails, saying why */
        }
        mx_buf_adds(&b, text);
        pos = r.end;
        more = next_ref(in->value, pos, s->pipeline_only, &r);
    }
    mx_buf_adds(&b, in->value + pos);
    if (mx_cfg_charge(s->budget, 1, b.len, in, err) < 0) {
        mx_buf_free(&b);
        return -1;
    }
    mx_node *n = mx_node_new_scalar(b.data ? b.data : "", in);
    n->quoted = in->quoted;
    mx_buf_free(&b);
    *out = n;
    return 0;
}

/* ---- parameter sections ---- */

/* A section tag at p: "<<#NAME>>" (kind '#'), "<<^NAME>>" ('^') or "<</NAME>>" ('/'), spaces
 * allowed inside the brackets; its length, and the name (caller frees), or 0. */
static size_t section_tag(const char *p, char *kind, char **name)
{
    if (strncmp(p, "<<", 2) != 0) return 0;
    const char *q = p + 2;
    while (*q == ' ')
        q++;
    if (*q != '#' && *q != '^' && *q != '/') return 0;
    *kind = *q++;
    while (*q == ' ')
        q++;
    const char *id = q;
    while (isalnum((unsigned char)*q) || *q == '_' || *q == '-' || *q == '.')
        q++;
    size_t idlen = (size_t)(q - id);
    while (*q == ' ')
        q++;
    if (idlen == 0 || strncmp(q, ">>", 2) != 0 ||
        (strncmp(id, "parameters.", 11) != 0 && strncmp(id, "pipeline.", 9) != 0 &&
         strncmp(id, "matrix.", 7) != 0))
        return 0;
    *name = mx_xstrndup(id, idlen);
    return (size_t)(q + 2 - p);
}

/* CircleCI's parameter sections, as published orbs use them in cache keys:
 * "<<#parameters.x>>TEXT<</parameters.x>>" is TEXT when x is true (or a non-empty value),
 * else nothing; "<<^parameters.x>>...<</parameters.x>>" the opposite.  Sections may nest.
 * *out is NULL when text has none. */
static int expand_sections(const char *text, const mx_cfg_scope *s, const mx_node *at, char **out,
                           mx_err *err)
{
    *out = NULL;
    if (!strstr(text, "<<")) return 0;
    mx_buf b;
    mx_buf_init(&b);
    mx_buf_adds(&b, "");
    int found = 0, depth = 0, skipping_at = -1; /* depth at which an off section began */
    char *stack[32];
    for (const char *p = text; *p;) {
        char kind;
        char *name = NULL;
        size_t n = section_tag(p, &kind, &name);
        if (!n) {
            if (skipping_at < 0) mx_buf_add(&b, p, 1);
            p++;
            continue;
        }
        found = 1;
        p += n;
        if (kind == '/') {
            int ok = depth > 0 && strcmp(stack[depth - 1], name) == 0;
            if (!ok) {
                mx_node_fail(err, at, "<</%s>> closes no open <<#%s>> section", name, name);
                free(name);
                goto fail;
            }
            free(stack[--depth]);
            free(name);
            if (skipping_at == depth) skipping_at = -1;
            continue;
        }
        if (depth == 32) {
            free(name);
            mx_node_fail(err, at, "parameter sections nest too deep");
            goto fail;
        }
        if (skipping_at < 0) {
            const mx_node *v = resolve(name, s, at, err);
            if (!v) {
                free(name);
                goto fail;
            }
            if (mx_cfg_truthy(v) != (kind == '#')) skipping_at = depth;
        }
        stack[depth++] = name;
    }
    if (depth > 0) {
        mx_node_fail(err, at, "<<#%s>> is not closed (<</%s>>)", stack[depth - 1],
                     stack[depth - 1]);
        goto fail;
    }
    if (found) *out = mx_buf_steal(&b);
    mx_buf_free(&b);
    return 0;
fail:
    while (depth > 0)
        free(stack[--depth]);
    mx_buf_free(&b);
    return -1;
}

/* subst_scalar after the sections are decided. */
static int subst_scalar_sections(const mx_node *in, const mx_cfg_scope *s, mx_node **out,
                                 int *splice, mx_err *err)
{
    char *text = NULL;
    /* pipeline-only substitution (pipeline parameters' defaults) leaves sections to the
     * expansion that knows the parameters */
    if (!s->pipeline_only && expand_sections(in->value, s, in, &text, err) < 0) return -1;
    if (!text) return subst_scalar(in, s, out, splice, err);
    mx_node *tmp = mx_node_new_scalar(text, in);
    tmp->quoted = in->quoted;
    free(text);
    int rc = subst_scalar(tmp, s, out, splice, err);
    mx_node_free(tmp);
    return rc;
}

static int subst(const mx_node *in, const mx_cfg_scope *s, mx_node **out, int *splice, mx_err *err)
{
    *splice = 0;
    if (in->kind == MX_NODE_SCALAR) return subst_scalar_sections(in, s, out, splice, err);
    if (mx_cfg_charge(s->budget, 1, 0, in, err) < 0) return -1;
    mx_node *n = mx_node_new(in->kind, in);
    for (size_t i = 0; i < in->n; i++) {
        mx_node *v = NULL, *k = NULL;
        int sp = 0, ksp = 0;
        if (subst(in->kind == MX_NODE_MAP ? in->vals[i] : in->items[i], s, &v, &sp, err) < 0)
            goto fail;
        if (in->kind == MX_NODE_SEQ) {
            if (!sp) {
                mx_node_seq_add(n, v);
                continue;
            }
            for (size_t j = 0; j < v->n; j++) {
                mx_node_seq_add(n, v->items[j]);
                v->items[j] = NULL;
            }
            v->n = 0;
            mx_node_free(v);
            continue;
        }
        if (subst(in->keys[i], s, &k, &ksp, err) < 0) {
            mx_node_free(v);
            goto fail;
        }
        if (!k || k->kind != MX_NODE_SCALAR) {
            mx_node_fail(err, in->keys[i], "a map key must become a string");
            mx_node_free(k);
            mx_node_free(v);
            goto fail;
        }
        mx_node_map_add(n, k, v);
    }
    *out = n;
    return 0;
fail:
    mx_node_free(n);
    return -1;
}

int mx_cfg_subst(const mx_node *in, const mx_cfg_scope *s, mx_node **out, mx_err *err)
{
    int splice;
    return subst(in, s, out, &splice, err);
}

int mx_cfg_subst_pipeline(mx_node **bound, const mx_node *pipeline, mx_err *err)
{
    mx_cfg_scope s = {.pipeline = pipeline, .pipeline_only = 1};
    mx_node *out = NULL;
    if (mx_cfg_subst(*bound, &s, &out, err) < 0) return -1;
    mx_node_free(*bound);
    *bound = out;
    return 0;
}
