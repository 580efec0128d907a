#include "cfg_cond.h"
#include "cfg_params.h"
#include "cfg_suggest.h"
#include "mx_cleanup.h"
#include "mx_regex.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

/* Booleans compare by meaning (yes == true), everything else by text. */
static const char *canon(const mx_node *n)
{
    int b;
    if (mx_node_bool(n, &b) == 0) return b ? "true" : "false";
    if (mx_node_is_null(n)) return "";
    return n->value;
}

static int node_equal(const mx_node *a, const mx_node *b)
{
    if (a->kind != b->kind) return 0;
    if (a->kind == MX_NODE_SCALAR) return strcmp(canon(a), canon(b)) == 0;
    if (a->n != b->n) return 0;
    for (size_t i = 0; i < a->n; i++) {
        if (a->kind == MX_NODE_SEQ) {
            if (!node_equal(a->items[i], b->items[i])) return 0;
        } else {
            const mx_node *o = mx_node_get(b, a->keys[i]->value);
            if (!o || !node_equal(a->vals[i], o)) return 0;
        }
    }
    return 1;
}

static int eval(const mx_node *c, int depth, int *out, mx_err *err);

static int eval_list(const mx_node *op, const mx_node *v, int depth, int is_and, int *out,
                     mx_err *err)
{
    if (v->kind != MX_NODE_SEQ || v->n == 0)
        return mx_node_fail(err, v, "%s takes a list of conditions", op->value);
    *out = is_and;
    for (size_t i = 0; i < v->n; i++) {
        int r = 0;
        if (eval(v->items[i], depth + 1, &r, err) < 0) return -1;
        if (is_and && !r) *out = 0;
        if (!is_and && r) *out = 1;
    }
    return 0;
}

static int eval_matches(const mx_node *v, int *out, mx_err *err)
{
    const mx_node *pat = mx_node_get(v, "pattern"), *val = mx_node_get(v, "value");
    if (v->kind != MX_NODE_MAP || !pat || !val || pat->kind != MX_NODE_SCALAR ||
        val->kind != MX_NODE_SCALAR)
        return mx_node_fail(err, v, "matches takes a map with pattern: and value:");
    static const char *const keys[] = {"pattern", "value", NULL};
    if (mx_cfg_check_keys(v, "matches", keys, err) < 0) return -1;
    /* CircleCI anchors the pattern to the whole value (so does mx_regex) */
    mx_autofree char *shown = mx_xasprintf("\"%s\"", pat->value);
    mx_regex rx;
    mx_err why;
    if (mx_regex_compile(&rx, pat->value, shown, &why) < 0)
        return mx_node_fail(err, pat, "%s", why.msg);
    *out = mx_regex_match(&rx, canon(val));
    mx_regex_free(&rx);
    return 0;
}

static int eval(const mx_node *c, int depth, int *out, mx_err *err)
{
    if (depth > MAX_DEPTH) return mx_node_fail(err, c, "conditions nest too deeply");
    if (c->kind == MX_NODE_SCALAR) {
        *out = mx_cfg_truthy(c);
        return 0;
    }
    if (c->kind == MX_NODE_SEQ)
        return mx_node_fail(err, c,
                            "a condition is a value or a map (equal, and, or, not, "
                            "matches), not a list");
    if (c->n != 1) {
        *out = c->n > 0; /* a plain map is a (truthy) value */
        if (c->n == 0) return 0;
        return mx_node_fail(err, c,
                            "a logic statement has exactly one key (equal, and, or, not, "
                            "matches)");
    }
    const mx_node *op = c->keys[0], *v = c->vals[0];
    if (strcmp(op->value, "and") == 0) return eval_list(op, v, depth, 1, out, err);
    if (strcmp(op->value, "or") == 0) return eval_list(op, v, depth, 0, out, err);
    if (strcmp(op->value, "not") == 0) {
        int r = 0;
        if (eval(v, depth + 1, &r, err) < 0) return -1;
        *out = !r;
        return 0;
    }
    if (strcmp(op->value, "equal") == 0) {
        if (v->kind != MX_NODE_SEQ || v->n < 2)
            return mx_node_fail(err, v, "equal takes a list of two or more values");
        *out = 1;
        for (size_t i = 1; i < v->n; i++)
            if (!node_equal(v->items[0], v->items[i])) *out = 0;
        return 0;
    }
    if (strcmp(op->value, "matches") == 0) return eval_matches(v, out, err);
    static const char *const ops[] = {"and", "or", "not", "equal", "matches"};
    mx_buf m;
    mx_buf_init(&m);
    mx_buf_printf(&m, "unknown logic statement \"%s\"", op->value);
    mx_cfg_suggest_add(&m, op->value, ops, 5);
    mx_buf_adds(&m, " (and, or, not, equal, matches)");
    mx_node_fail(err, op, "%s", m.data);
    mx_buf_free(&m);
    return -1;
}

int mx_cfg_cond_eval(const mx_node *cond, int *out, mx_err *err)
{
    return eval(cond, 0, out, err);
}
